import { Migration } from '@mikro-orm/migrations';

export class Migration20261205125928_file_versions extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`file_versions\` (\`id\` varchar(36) not null, \`file_id\` varchar(36) not null, \`owner_id\` varchar(36) not null, \`seq\` int not null, \`blob_id\` varchar(36) not null, \`size\` bigint not null, \`content_hash\` varchar(64) not null, \`mime_type\` varchar(255) null, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`file_versions\` add index \`file_versions_blob_idx\`(\`blob_id\`);`);
    this.addSql(`alter table \`file_versions\` add index \`file_versions_created_idx\`(\`created_at\`);`);
    this.addSql(`alter table \`file_versions\` add unique \`file_versions_seq_unique\`(\`file_id\`, \`seq\`);`);

    this.addSql(`alter table \`upload_sessions\` add \`conflict\` varchar(16) not null default 'FAIL';`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`file_versions\`;`);

    this.addSql(`alter table \`upload_sessions\` drop column \`conflict\`;`);
  }

}
