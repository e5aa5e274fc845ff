import { Migration } from '@mikro-orm/migrations';

export class Migration20261205133710_activity_detail extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`activity_events\` add \`detail\` varchar(128) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`activity_events\` drop column \`detail\`;`);
  }

}
