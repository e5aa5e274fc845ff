import { Migration } from '@mikro-orm/migrations';

export class Migration20261205130007_activity_events extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`activity_events\` (\`id\` text not null, \`owner_id\` text null, \`action\` text not null, \`file_id\` text null, \`file_name\` text null, \`share_id\` text null, \`actor_name\` text null, \`ip\` text null, \`user_agent\` text null, \`security\` integer not null default false, \`at\` datetime not null, primary key (\`id\`));`);
    this.addSql(`create index \`activity_owner_at_idx\` on \`activity_events\` (\`owner_id\`, \`at\`, \`id\`);`);
    this.addSql(`create index \`activity_owner_file_idx\` on \`activity_events\` (\`owner_id\`, \`file_id\`, \`at\`);`);
    this.addSql(`create index \`activity_security_at_idx\` on \`activity_events\` (\`security\`, \`at\`, \`id\`);`);
    this.addSql(`create index \`activity_at_idx\` on \`activity_events\` (\`at\`);`);
  }

}
