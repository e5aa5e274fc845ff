import { Migration } from '@mikro-orm/migrations';

export class Migration20261129094153_files extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`blobs\` (\`id\` text not null, \`content_hash\` text not null, \`size\` bigint not null, \`backend\` text not null, \`storage_key\` text not null, \`ref_count\` integer not null default 0, \`created_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`blobs_backend_idx\` on \`blobs\` (\`backend\`);`);
    this.addSql(`create unique index \`blobs_content_unique\` on \`blobs\` (\`content_hash\`, \`size\`);`);

    this.addSql(`create table \`files\` (\`id\` text not null, \`owner_id\` text not null, \`parent_id\` text null, \`name\` text not null, \`name_key\` text not null, \`path\` text not null, \`is_folder\` integer not null, \`size\` bigint not null default 0, \`blob_id\` text null, \`content_hash\` text null, \`mime_type\` text null, \`trash_key\` text not null default '', \`trashed_at\` datetime null, \`trashed_by\` text null, \`created_at\` datetime not null, \`updated_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`files_children_idx\` on \`files\` (\`owner_id\`, \`parent_id\`, \`trash_key\`, \`is_folder\`, \`name_key\`);`);
    this.addSql(`create index \`files_trashed_by_idx\` on \`files\` (\`trashed_by\`);`);
    this.addSql(`create index \`files_blob_idx\` on \`files\` (\`blob_id\`);`);
    this.addSql(`create unique index \`files_name_unique\` on \`files\` (\`owner_id\`, \`parent_id\`, \`name_key\`, \`trash_key\`);`);

    this.addSql(`create table \`quotas\` (\`user_id\` text not null, \`limit_bytes\` bigint not null, \`used_bytes\` bigint not null default 0, primary key (\`user_id\`));`);
  }

}
