import { Migration } from '@mikro-orm/migrations';
import { rekeyFileNames } from '../name-keys.ts';

// Hand written (data): file-name keys recomputed with full Unicode case folding; rows that now
// clash in a folder are renamed "name (n)", never a failed migration (see ../name-keys.ts).
export class Migration20261205050000_name_keys extends Migration {
  override async up(): Promise<void> {
    await rekeyFileNames((sql, params) => this.execute(sql, params) as Promise<Record<string, unknown>[]>);
  }

  override async down(): Promise<void> {
    // The folded keys are stricter than the old ones and the renames are the people's data now.
  }
}
