import { Migration } from '@mikro-orm/migrations';
// Hand edit: namespace and name compare byte for byte (utf8mb4_bin): XML names are case-sensitive,
// so <x:Author> and <x:author> are two properties. The generator's "modify ... default null"
// lines for other tables (a MariaDB reflection artefact, no change) were left out.

export class Migration20261205071321_file_properties extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`file_properties\` (\`file_id\` varchar(36) not null, \`namespace\` varchar(255) collate utf8mb4_bin not null, \`name\` varchar(255) collate utf8mb4_bin not null, \`value\` text not null, primary key (\`file_id\`, \`namespace\`, \`name\`)) default character set utf8mb4 engine = InnoDB;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`file_properties\`;`);
  }

}
