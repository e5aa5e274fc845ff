import { Migration } from '@mikro-orm/migrations';

export class Migration20261205093707_upload_links extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`upload_link_arrivals\` (\`id\` text not null, \`link_id\` text not null, \`owner_id\` text not null, \`file_id\` text not null, \`name\` text not null, \`size\` bigint not null, \`received_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`upload_link_arrivals_link_idx\` on \`upload_link_arrivals\` (\`link_id\`, \`received_at\`);`);
    this.addSql(`create index \`upload_link_arrivals_owner_idx\` on \`upload_link_arrivals\` (\`owner_id\`, \`received_at\`);`);

    this.addSql(`create table \`upload_link_reservations\` (\`session_id\` text not null, \`link_id\` text not null, \`bytes\` bigint not null, \`created_at\` datetime not null, primary key (\`session_id\`));`);
    this.addSql(`create index \`upload_link_reservations_link_idx\` on \`upload_link_reservations\` (\`link_id\`);`);

    this.addSql(`create table \`upload_links\` (\`id\` text not null, \`owner_id\` text not null, \`folder_id\` text not null, \`token\` text not null, \`password_hash\` text null, \`expires_at\` datetime null, \`max_files\` integer null, \`max_bytes\` bigint null, \`files_reserved\` integer not null default 0, \`bytes_reserved\` bigint not null default 0, \`files_received\` integer not null default 0, \`bytes_received\` bigint not null default 0, \`revoked_at\` datetime null, \`created_at\` datetime not null, \`updated_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`upload_links_owner_idx\` on \`upload_links\` (\`owner_id\`, \`created_at\`);`);
    this.addSql(`create unique index \`upload_links_token_unique\` on \`upload_links\` (\`token\`);`);
  }

}
