import { Migration } from '@mikro-orm/migrations';

export class Migration20261129101023_transfer extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`transfer_jobs\` (\`id\` text not null, \`blob_id\` text not null, \`from_backend\` text not null, \`to_backend\` text not null, \`mode\` text not null, \`status\` text not null, \`active_key\` text null, \`attempts\` integer not null default 0, \`last_error\` text null, \`source_key\` text null, \`bytes\` bigint not null default 0, \`started_at\` datetime null, \`created_at\` datetime not null, \`updated_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`transfer_jobs_status_idx\` on \`transfer_jobs\` (\`status\`, \`updated_at\`);`);
    this.addSql(`create index \`transfer_jobs_blob_idx\` on \`transfer_jobs\` (\`blob_id\`);`);
    this.addSql(`create unique index \`transfer_jobs_active_unique\` on \`transfer_jobs\` (\`active_key\`);`);
  }

}
