import { Migration } from '@mikro-orm/migrations';

export class Migration20261129092133_accounts extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`refresh_tokens\` (\`id\` text not null, \`user_id\` text not null, \`family_id\` text not null, \`token_hash\` text not null, \`expires_at\` datetime not null, \`used_at\` datetime null, \`revoked_at\` datetime null, \`created_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`refresh_tokens_user_idx\` on \`refresh_tokens\` (\`user_id\`);`);
    this.addSql(`create index \`refresh_tokens_family_idx\` on \`refresh_tokens\` (\`family_id\`);`);
    this.addSql(`create unique index \`refresh_tokens_hash_unique\` on \`refresh_tokens\` (\`token_hash\`);`);

    this.addSql(`create table \`users\` (\`id\` text not null, \`username\` text not null, \`username_key\` text not null, \`email\` text not null, \`password_hash\` text not null, \`is_admin\` integer not null default false, \`created_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create unique index \`users_username_key_unique\` on \`users\` (\`username_key\`);`);
    this.addSql(`create unique index \`users_email_unique\` on \`users\` (\`email\`);`);
  }

}
