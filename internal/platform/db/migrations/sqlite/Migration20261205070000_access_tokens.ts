import { Migration } from '@mikro-orm/migrations';

export class Migration20261205070000_access_tokens extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`access_tokens\` (\`id\` text not null, \`user_id\` text not null, \`name\` text not null, \`token_hash\` text not null, \`scopes\` text not null, \`created_at\` datetime not null, \`last_used_at\` datetime null, \`expires_at\` datetime null, primary key (\`id\`));`);
    this.addSql(`create index \`access_tokens_user_idx\` on \`access_tokens\` (\`user_id\`);`);
    this.addSql(`create unique index \`access_tokens_hash_unique\` on \`access_tokens\` (\`token_hash\`);`);
  }

}
