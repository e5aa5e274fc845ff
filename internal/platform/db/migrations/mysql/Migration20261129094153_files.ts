import { Migration } from '@mikro-orm/migrations';
// Hand edit: name_key is compared byte for byte (utf8mb4_bin); the service lower-cases it. A
// case- and accent-insensitive server default would make "é" and "e" collide.

export class Migration20261129094153_files extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`blobs\` (\`id\` varchar(36) not null, \`content_hash\` varchar(64) not null, \`size\` bigint not null, \`backend\` varchar(63) not null, \`storage_key\` varchar(512) not null, \`ref_count\` int not null default 0, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`blobs\` add index \`blobs_backend_idx\`(\`backend\`);`);
    this.addSql(`alter table \`blobs\` add unique \`blobs_content_unique\`(\`content_hash\`, \`size\`);`);

    this.addSql(`create table \`files\` (\`id\` varchar(36) not null, \`owner_id\` varchar(36) not null, \`parent_id\` varchar(36) null, \`name\` varchar(255) not null, \`name_key\` varchar(255) collate utf8mb4_bin not null, \`path\` text not null, \`is_folder\` tinyint(1) not null, \`size\` bigint not null default 0, \`blob_id\` varchar(36) null, \`content_hash\` varchar(64) null, \`mime_type\` varchar(255) null, \`trash_key\` varchar(36) not null default '', \`trashed_at\` datetime(3) null, \`trashed_by\` varchar(36) null, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`files\` add index \`files_children_idx\`(\`owner_id\`, \`parent_id\`, \`trash_key\`, \`is_folder\`, \`name_key\`);`);
    this.addSql(`alter table \`files\` add index \`files_trashed_by_idx\`(\`trashed_by\`);`);
    this.addSql(`alter table \`files\` add index \`files_blob_idx\`(\`blob_id\`);`);
    this.addSql(`alter table \`files\` add unique \`files_name_unique\`(\`owner_id\`, \`parent_id\`, \`name_key\`, \`trash_key\`);`);

    this.addSql(`create table \`quotas\` (\`user_id\` varchar(36) not null, \`limit_bytes\` bigint not null, \`used_bytes\` bigint not null default 0, primary key (\`user_id\`)) default character set utf8mb4 engine = InnoDB;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`blobs\`;`);

    this.addSql(`drop table if exists \`files\`;`);

    this.addSql(`drop table if exists \`quotas\`;`);
  }

}
