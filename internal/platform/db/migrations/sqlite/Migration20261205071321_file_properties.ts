import { Migration } from '@mikro-orm/migrations';

export class Migration20261205071321_file_properties extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`file_properties\` (\`file_id\` text not null, \`namespace\` text not null, \`name\` text not null, \`value\` text not null, primary key (\`file_id\`, \`namespace\`, \`name\`));`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`file_properties\`;`);
  }

}
