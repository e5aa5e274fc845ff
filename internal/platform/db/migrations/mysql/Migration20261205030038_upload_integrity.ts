import { Migration } from '@mikro-orm/migrations';

export class Migration20261205030038_upload_integrity extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`upload_sessions\` add \`block_hashes\` mediumtext null, add \`assembled_hash\` varchar(64) null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`upload_sessions\` drop column \`block_hashes\`, drop column \`assembled_hash\`;`);
  }

}
