import { Migration } from '@mikro-orm/migrations';

export class Migration20261129100709_shares extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`shares\` (\`id\` text not null, \`owner_id\` text not null, \`file_id\` text not null, \`token\` text not null, \`password_hash\` text null, \`expires_at\` datetime null, \`max_downloads\` integer null, \`downloads\` integer not null default 0, \`views\` integer not null default 0, \`revoked_at\` datetime null, \`created_at\` datetime not null, \`updated_at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`shares_owner_idx\` on \`shares\` (\`owner_id\`, \`created_at\`);`);
    this.addSql(`create index \`shares_file_idx\` on \`shares\` (\`file_id\`);`);
    this.addSql(`create unique index \`shares_token_unique\` on \`shares\` (\`token\`);`);
  }

}
