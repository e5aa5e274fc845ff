import { Migration } from '@mikro-orm/migrations';

export class Migration20261205093600_tus_sessions extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`upload_sessions\` add \`upload_link_id\` varchar(36) null, add \`tus_metadata\` text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`upload_sessions\` drop column \`upload_link_id\`, drop column \`tus_metadata\`;`);
  }

}
