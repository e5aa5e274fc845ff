import { Migration } from '@mikro-orm/migrations';

export class Migration20261205030039_upload_integrity extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table \`upload_sessions\` add column \`block_hashes\` mediumtext null;`);
    this.addSql(`alter table \`upload_sessions\` add column \`assembled_hash\` text null;`);
  }

}
