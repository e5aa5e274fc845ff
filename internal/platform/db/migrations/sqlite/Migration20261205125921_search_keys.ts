import { Migration } from '@mikro-orm/migrations';
import { backfillSearchKeys } from '../search-keys.ts';

// Hand edit: an FTS5 index with the trigram tokenizer over the search keys (external content: the
// keys live in `files`, the index holds only trigrams), kept by triggers, so a LIKE '%abc%' on it
// is answered from the index (SQLite FTS5 §4.3.5). Keyed by files' rowid: Stratus never VACUUMs,
// which is the only thing that renumbers the rowids of a table without an INTEGER PRIMARY KEY.
export class Migration20261205125921_search_keys extends Migration {

  override async up(): Promise<void> {
    // Run now, in order (addSql would queue them after the backfill).
    const run = (sql: string, params?: unknown[]) => this.execute(sql, params) as Promise<Record<string, unknown>[]>;
    await run(`alter table \`files\` add column \`search_key\` text not null default '';`);
    await backfillSearchKeys(run);
    await run(`create index \`files_search_idx\` on \`files\` (\`owner_id\`, \`trash_key\`, \`search_key\`, \`updated_at\`);`);
    await run(`create virtual table \`files_name_fts\` using fts5(\`search_key\`, content = 'files', content_rowid = 'rowid', tokenize = 'trigram');`);
    await run(`insert into \`files_name_fts\`(rowid, \`search_key\`) select rowid, \`search_key\` from \`files\`;`);
    await run(`create trigger \`files_name_fts_insert\` after insert on \`files\` begin insert into \`files_name_fts\`(rowid, \`search_key\`) values (new.rowid, new.\`search_key\`); end;`);
    await run(`create trigger \`files_name_fts_delete\` after delete on \`files\` begin insert into \`files_name_fts\`(\`files_name_fts\`, rowid, \`search_key\`) values ('delete', old.rowid, old.\`search_key\`); end;`);
    await run(`create trigger \`files_name_fts_update\` after update of \`search_key\` on \`files\` begin insert into \`files_name_fts\`(\`files_name_fts\`, rowid, \`search_key\`) values ('delete', old.rowid, old.\`search_key\`); insert into \`files_name_fts\`(rowid, \`search_key\`) values (new.rowid, new.\`search_key\`); end;`);
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger if exists `files_name_fts_update`;');
    this.addSql('drop trigger if exists `files_name_fts_delete`;');
    this.addSql('drop trigger if exists `files_name_fts_insert`;');
    this.addSql('drop table if exists `files_name_fts`;');
    this.addSql('drop index if exists `files_search_idx`;');
    this.addSql('alter table `files` drop column `search_key`;');
  }

}
