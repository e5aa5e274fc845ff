import { Migration } from '@mikro-orm/migrations';

export class Migration20261129095009_uploads extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`upload_sessions\` (\`id\` varchar(36) not null, \`owner_id\` varchar(36) not null, \`parent_id\` varchar(36) not null, \`name\` varchar(255) not null, \`size\` bigint not null, \`chunk_size\` int not null, \`chunk_count\` int not null, \`content_hash\` varchar(64) null, \`mime_type\` varchar(255) null, \`status\` varchar(16) not null, \`backend\` varchar(63) not null, \`storage_key\` varchar(512) not null, \`multipart_id\` varchar(1024) not null, \`file_id\` varchar(36) null, \`challenge_nonce\` varchar(64) null, \`challenge_ranges\` text null, \`proof_attempts\` int not null default 0, \`failure_reason\` varchar(255) null, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, \`expires_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`upload_sessions\` add index \`upload_sessions_owner_idx\`(\`owner_id\`, \`status\`);`);
    this.addSql(`alter table \`upload_sessions\` add index \`upload_sessions_expiry_idx\`(\`status\`, \`expires_at\`);`);

    this.addSql(`alter table \`files\` modify \`parent_id\` varchar(36), modify \`blob_id\` varchar(36), modify \`content_hash\` varchar(64), modify \`mime_type\` varchar(255), modify \`trash_key\` varchar(36) not null default '', modify \`trashed_by\` varchar(36);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`upload_sessions\`;`);

    this.addSql(`alter table \`files\` modify \`parent_id\` varchar(36) default 'NULL', modify \`blob_id\` varchar(36) default 'NULL', modify \`content_hash\` varchar(64) default 'NULL', modify \`mime_type\` varchar(255) default 'NULL', modify \`trash_key\` varchar(36) not null default '\\'\\'', modify \`trashed_by\` varchar(36) default 'NULL';`);
  }

}
