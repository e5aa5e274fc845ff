import { Migration } from '@mikro-orm/migrations';

export class Migration20261205070000_access_tokens extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`access_tokens\` (\`id\` varchar(36) not null, \`user_id\` varchar(36) not null, \`name\` varchar(100) not null, \`token_hash\` varchar(64) not null, \`scopes\` varchar(32) not null, \`created_at\` datetime(3) not null, \`last_used_at\` datetime(3) null, \`expires_at\` datetime(3) null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`access_tokens\` add index \`access_tokens_user_idx\`(\`user_id\`);`);
    this.addSql(`alter table \`access_tokens\` add unique \`access_tokens_hash_unique\`(\`token_hash\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`access_tokens\`;`);
  }

}
