import { Migration } from '@mikro-orm/migrations';

export class Migration20261205125928_file_versions extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`file_versions\` (\`id\` text not null, \`file_id\` text not null, \`owner_id\` text not null, \`seq\` integer not null, \`blob_id\` text not null, \`size\` bigint not null, \`content_hash\` text not null, \`mime_type\` text null, \`created_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`file_versions_blob_idx\` on \`file_versions\` (\`blob_id\`);`);
    this.addSql(`create index \`file_versions_created_idx\` on \`file_versions\` (\`created_at\`);`);
    this.addSql(`create unique index \`file_versions_seq_unique\` on \`file_versions\` (\`file_id\`, \`seq\`);`);

    this.addSql(`alter table \`upload_sessions\` add column \`conflict\` text not null default 'FAIL';`);
  }

}
