import { Migration } from '@mikro-orm/migrations';

export class Migration20261129100709_shares extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`shares\` (\`id\` varchar(36) not null, \`owner_id\` varchar(36) not null, \`file_id\` varchar(36) not null, \`token\` varchar(64) not null, \`password_hash\` varchar(255) null, \`expires_at\` datetime(3) null, \`max_downloads\` int null, \`downloads\` int not null default 0, \`views\` int not null default 0, \`revoked_at\` datetime(3) null, \`created_at\` datetime(3) not null, \`updated_at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`shares\` add index \`shares_owner_idx\`(\`owner_id\`, \`created_at\`);`);
    this.addSql(`alter table \`shares\` add index \`shares_file_idx\`(\`file_id\`);`);
    this.addSql(`alter table \`shares\` add unique \`shares_token_unique\`(\`token\`);`);

    this.addSql(`alter table \`files\` modify \`parent_id\` varchar(36), modify \`blob_id\` varchar(36), modify \`content_hash\` varchar(64), modify \`mime_type\` varchar(255), modify \`trash_key\` varchar(36) not null default '', modify \`trashed_by\` varchar(36);`);

    this.addSql(`alter table \`upload_sessions\` modify \`content_hash\` varchar(64), modify \`mime_type\` varchar(255), modify \`file_id\` varchar(36), modify \`challenge_nonce\` varchar(64), modify \`challenge_ranges\` text, modify \`failure_reason\` varchar(255);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`shares\`;`);

    this.addSql(`alter table \`upload_sessions\` modify \`content_hash\` varchar(64) default 'NULL', modify \`mime_type\` varchar(255) default 'NULL', modify \`file_id\` varchar(36) default 'NULL', modify \`challenge_nonce\` varchar(64) default 'NULL', modify \`challenge_ranges\` text default ('NULL'), modify \`failure_reason\` varchar(255) default 'NULL';`);

    this.addSql(`alter table \`files\` modify \`parent_id\` varchar(36) default 'NULL', modify \`blob_id\` varchar(36) default 'NULL', modify \`content_hash\` varchar(64) default 'NULL', modify \`mime_type\` varchar(255) default 'NULL', modify \`trash_key\` varchar(36) not null default '\\'\\'', modify \`trashed_by\` varchar(36) default 'NULL';`);
  }

}
