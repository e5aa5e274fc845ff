import { Migration } from '@mikro-orm/migrations';

export class Migration20261205093600_tus_sessions extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`upload_sessions\` add column \`upload_link_id\` text null;`);
    this.addSql(`alter table \`upload_sessions\` add column \`tus_metadata\` text null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`upload_sessions\` drop column \`upload_link_id\`;`);
    this.addSql(`alter table \`upload_sessions\` drop column \`tus_metadata\`;`);
  }

}
