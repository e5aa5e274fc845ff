import { Migration } from '@mikro-orm/migrations';
import { BUILT_IN_MIGRATION_SETTINGS, byteLiteral, type MigrationSettings } from '../settings.ts';

// Hand written (data, not schema): every person has a root folder (id = the person's id) and a
// quota row from registration on. Accounts made before that (the rows were made lazily, and a
// fresh account's first saveShare found no quota row) get them here: the limit is
// DEFAULT_QUOTA_BYTES and `used` counts every file they keep, trash included. Idempotent.
export class Migration20261205031500_drive_rows extends Migration {
  protected settings: MigrationSettings = BUILT_IN_MIGRATION_SETTINGS;

  static configure(settings: MigrationSettings): typeof Migration20261205031500_drive_rows {
    return class extends Migration20261205031500_drive_rows {
      protected override settings = settings;
    };
  }

  override async up(): Promise<void> {
    this.addSql(`insert into \`files\` (\`id\`, \`owner_id\`, \`parent_id\`, \`name\`, \`name_key\`, \`path\`, \`is_folder\`, \`size\`, \`blob_id\`, \`content_hash\`, \`mime_type\`, \`trash_key\`, \`trashed_at\`, \`trashed_by\`, \`created_at\`, \`updated_at\`) select \`u\`.\`id\`, \`u\`.\`id\`, null, '', '', '/' || \`u\`.\`id\` || '/', 1, 0, null, null, null, '', null, null, \`u\`.\`created_at\`, \`u\`.\`created_at\` from \`users\` \`u\` where not exists (select 1 from \`files\` \`f\` where \`f\`.\`id\` = \`u\`.\`id\`);`);
    this.addSql(`insert into \`quotas\` (\`user_id\`, \`limit_bytes\`, \`used_bytes\`) select \`u\`.\`id\`, ${byteLiteral(this.settings.defaultQuotaBytes)}, coalesce((select sum(\`f\`.\`size\`) from \`files\` \`f\` where \`f\`.\`owner_id\` = \`u\`.\`id\` and \`f\`.\`is_folder\` = 0), 0) from \`users\` \`u\` where not exists (select 1 from \`quotas\` \`q\` where \`q\`.\`user_id\` = \`u\`.\`id\`);`);
  }

  override async down(): Promise<void> {
    // The rows are data the people own by now: nothing to undo.
  }

}
