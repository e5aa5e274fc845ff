import { Migration } from '@mikro-orm/migrations';

export class Migration20261205093706_upload_links extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`upload_link_arrivals\` (\`id\` varchar(36) not null, \`link_id\` varchar(36) not null, \`owner_id\` varchar(36) not null, \`file_id\` varchar(36) not null, \`name\` varchar(255) not null, \`size\` bigint not null, \`received_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`upload_link_arrivals\` add index \`upload_link_arrivals_link_idx\`(\`link_id\`, \`received_at\`);`);
    this.addSql(`alter table \`upload_link_arrivals\` add index \`upload_link_arrivals_owner_idx\`(\`owner_id\`, \`received_at\`);`);

    this.addSql(`create table \`upload_link_reservations\` (\`session_id\` varchar(36) not null, \`link_id\` varchar(36) not null, \`bytes\` bigint not null, \`created_at\` datetime(3) not null, primary key (\`session_id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`upload_link_reservations\` add index \`upload_link_reservations_link_idx\`(\`link_id\`);`);

    this.addSql(`create table \`upload_links\` (\`id\` varchar(36) not null, \`owner_id\` varchar(36) not null, \`folder_id\` varchar(36) not null, \`token\` varchar(64) not null, \`password_hash\` varchar(255) null, \`expires_at\` datetime(3) null, \`max_files\` int null, \`max_bytes\` bigint null, \`files_reserved\` int not null default 0, \`bytes_reserved\` bigint not null default 0, \`files_received\` int not null default 0, \`bytes_received\` bigint not null default 0, \`revoked_at\` datetime(3) null, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`upload_links\` add index \`upload_links_owner_idx\`(\`owner_id\`, \`created_at\`);`);
    this.addSql(`alter table \`upload_links\` add unique \`upload_links_token_unique\`(\`token\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`upload_link_arrivals\`;`);

    this.addSql(`drop table if exists \`upload_link_reservations\`;`);

    this.addSql(`drop table if exists \`upload_links\`;`);
  }

}
