import { Migration } from '@mikro-orm/migrations';
import { backfillSearchKeys } from '../search-keys.ts';

// Hand edit: the search key compares byte for byte (utf8mb4_bin): it is already folded, and a
// binary LIKE over the index is cheaper than a collation-aware one. The generator's
// "modify ... default null" lines for other columns (a MariaDB reflection artefact) were left out.
export class Migration20261205125921_search_keys extends Migration {

  override async up(): Promise<void> {
    // Run now, in order (addSql would queue them after the backfill).
    await this.execute(`alter table \`files\` add \`search_key\` varchar(255) collate utf8mb4_bin not null default '';`);
    await backfillSearchKeys((sql, params) => this.execute(sql, params) as Promise<Record<string, unknown>[]>);
    await this.execute(`alter table \`files\` add index \`files_search_idx\`(\`owner_id\`, \`trash_key\`, \`search_key\`, \`updated_at\`);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table \`files\` drop index \`files_search_idx\`;`);
    this.addSql(`alter table \`files\` drop column \`search_key\`;`);
  }

}
