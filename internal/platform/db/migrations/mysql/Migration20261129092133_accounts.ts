import { Migration } from '@mikro-orm/migrations';

export class Migration20261129092133_accounts extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`refresh_tokens\` (\`id\` varchar(36) not null, \`user_id\` varchar(36) not null, \`family_id\` varchar(36) not null, \`token_hash\` varchar(64) not null, \`expires_at\` datetime(3) not null, \`used_at\` datetime(3) null, \`revoked_at\` datetime(3) null, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`refresh_tokens\` add index \`refresh_tokens_user_idx\`(\`user_id\`);`);
    this.addSql(`alter table \`refresh_tokens\` add index \`refresh_tokens_family_idx\`(\`family_id\`);`);
    this.addSql(`alter table \`refresh_tokens\` add unique \`refresh_tokens_hash_unique\`(\`token_hash\`);`);

    this.addSql(`create table \`users\` (\`id\` varchar(36) not null, \`username\` varchar(32) not null, \`username_key\` varchar(32) not null, \`email\` varchar(254) not null, \`password_hash\` varchar(255) not null, \`is_admin\` tinyint(1) not null default false, \`created_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`users\` add unique \`users_username_key_unique\`(\`username_key\`);`);
    this.addSql(`alter table \`users\` add unique \`users_email_unique\`(\`email\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`refresh_tokens\`;`);

    this.addSql(`drop table if exists \`users\`;`);
  }

}
