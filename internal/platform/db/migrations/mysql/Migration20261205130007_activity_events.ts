import { Migration } from '@mikro-orm/migrations';

export class Migration20261205130007_activity_events extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table \`activity_events\` (\`id\` varchar(36) not null, \`owner_id\` varchar(36) null, \`action\` varchar(24) not null, \`file_id\` varchar(36) null, \`file_name\` varchar(255) null, \`share_id\` varchar(36) null, \`actor_name\` varchar(254) null, \`ip\` varchar(64) null, \`user_agent\` varchar(255) null, \`security\` tinyint(1) not null default false, \`at\` datetime(3) not null, primary key (\`id\`)) default character set utf8mb4 engine = InnoDB;`);
    this.addSql(`alter table \`activity_events\` add index \`activity_owner_at_idx\`(\`owner_id\`, \`at\`, \`id\`);`);
    this.addSql(`alter table \`activity_events\` add index \`activity_owner_file_idx\`(\`owner_id\`, \`file_id\`, \`at\`);`);
    this.addSql(`alter table \`activity_events\` add index \`activity_security_at_idx\`(\`security\`, \`at\`, \`id\`);`);
    this.addSql(`alter table \`activity_events\` add index \`activity_at_idx\`(\`at\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists \`activity_events\`;`);
  }

}
