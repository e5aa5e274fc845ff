import { Migration } from '@mikro-orm/migrations';

export class Migration20261129095009_uploads extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`upload_sessions\` (\`id\` text not null, \`owner_id\` text not null, \`parent_id\` text not null, \`name\` text not null, \`size\` bigint not null, \`chunk_size\` integer not null, \`chunk_count\` integer not null, \`content_hash\` text null, \`mime_type\` text null, \`status\` text not null, \`backend\` text not null, \`storage_key\` text not null, \`multipart_id\` text not null, \`file_id\` text null, \`challenge_nonce\` text null, \`challenge_ranges\` text null, \`proof_attempts\` integer not null default 0, \`failure_reason\` text null, \`created_at\` datetime not null, \`updated_at\` datetime not null, \`expires_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`upload_sessions_owner_idx\` on \`upload_sessions\` (\`owner_id\`, \`status\`);`);
    this.addSql(`create index \`upload_sessions_expiry_idx\` on \`upload_sessions\` (\`status\`, \`expires_at\`);`);
  }

}
