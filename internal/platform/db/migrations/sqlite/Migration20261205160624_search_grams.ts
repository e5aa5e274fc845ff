import { Migration } from '@mikro-orm/migrations';

export class Migration20261205160624_search_grams extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index \`files_recent_idx\` on \`files\` (\`owner_id\`, \`trash_key\`, \`updated_at\`, \`id\`, \`search_key\`);`);
  }

}
