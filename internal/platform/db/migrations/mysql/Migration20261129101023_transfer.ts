import { Migration } from '@mikro-orm/migrations';

export class Migration20261129101023_transfer extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`transfer_jobs\` (\`id\` varchar(36) not null, \`blob_id\` varchar(36) not null, \`from_backend\` varchar(63) not null, \`to_backend\` varchar(63) not null, \`mode\` varchar(8) not null, \`status\` varchar(16) not null, \`active_key\` varchar(36) null, \`attempts\` int not null default 0, \`last_error\` text null, \`source_key\` varchar(512) null, \`bytes\` bigint not null default 0, \`started_at\` datetime(3) null, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`transfer_jobs\` add index \`transfer_jobs_status_idx\`(\`status\`, \`updated_at\`);`);
    this.addSql(`alter table \`transfer_jobs\` add index \`transfer_jobs_blob_idx\`(\`blob_id\`);`);
    this.addSql(`alter table \`transfer_jobs\` add unique \`transfer_jobs_active_unique\`(\`active_key\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`transfer_jobs\`;`);
  }

}
