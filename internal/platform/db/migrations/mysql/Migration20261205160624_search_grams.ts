import { Migration } from '@mikro-orm/migrations';

// Hand edit: MariaDB has no n-gram FULLTEXT parser, so search keeps its own trigram index
// (internal/files/search/search.statements.ts explains how it is read):
// - `search_grams` holds one row per distinct trigram of every LIVE item's search key, padded
//   with a space at both ends (so a word's start " ab" and a key's last letters "yz " are
//   trigrams too), with the columns search ranks and filters by copied beside it. A query then
//   reads one trigram's rows in primary-key order instead of every item of the person.
// - Triggers keep it in the same transaction as the write to `files`, whichever code path made it
//   (create, upload commit, rename, move, trash, restore, purge, new version), so it can never
//   disagree with `files`. InnoDB foreign-key cascades would not fire them; `files` has none.
// - Loops, not a sequence table: `seq_1_to_n` is MariaDB's only, and the same text runs on MySQL.
// The generator's "modify ... default null" lines (a MariaDB reflection artefact) were left out.
const GRAM_COLUMNS = '`owner_id`, `gram`, `file_id`, `search_key`, `updated_at`, `is_folder`, `size`, `mime_type`';

export class Migration20261205160624_search_grams extends Migration {

  override async up(): Promise<void> {
    await this.execute(`alter table \`files\` add index \`files_recent_idx\`(\`owner_id\`, \`trash_key\`, \`updated_at\`, \`id\`, \`search_key\`);`);
    await this.execute(`create table \`search_grams\` (
      \`owner_id\` varchar(36) not null,
      \`gram\` varchar(3) character set utf8mb4 collate utf8mb4_bin not null,
      \`file_id\` varchar(36) not null,
      \`search_key\` varchar(255) character set utf8mb4 collate utf8mb4_bin not null,
      \`updated_at\` datetime(3) not null,
      \`is_folder\` tinyint(1) not null,
      \`size\` bigint not null,
      \`mime_type\` varchar(255) null,
      primary key (\`owner_id\`, \`gram\`, \`file_id\`)
    ) engine = InnoDB default character set utf8mb4 collate utf8mb4_general_ci;`);
    // Both procedures walk the padded key's trigrams the same way; only the statement per trigram differs.
    const eachTrigram = (statement: string) => `modifies sql data
    begin
      declare padded varchar(257) character set utf8mb4 collate utf8mb4_bin;
      declare i int default 1;
      set padded = concat(' ', p_key, ' ');
      while i <= char_length(padded) - 2 do
        ${statement};
        set i = i + 1;
      end while;
    end`;
    const params = 'in p_owner varchar(36), in p_id varchar(36), in p_key varchar(255) character set utf8mb4 collate utf8mb4_bin';
    await this.execute(`create procedure \`search_grams_add\`(${params}, in p_updated datetime(3), in p_folder tinyint, in p_size bigint, in p_mime varchar(255))
    ${eachTrigram(`insert ignore into \`search_grams\` (${GRAM_COLUMNS}) values (p_owner, substring(padded, i, 3), p_id, p_key, p_updated, p_folder, p_size, p_mime)`)}`);
    await this.execute(`create procedure \`search_grams_remove\`(${params})
    ${eachTrigram('delete from `search_grams` where `owner_id` = p_owner and `gram` = substring(padded, i, 3) and `file_id` = p_id')}`);
    // Live: not in the trash, and not the root (whose key is '').
    const live = (row: 'new' | 'old') => `${row}.\`trash_key\` = '' and ${row}.\`search_key\` <> ''`;
    const add = 'call `search_grams_add`(new.`owner_id`, new.`id`, new.`search_key`, new.`updated_at`, new.`is_folder`, new.`size`, new.`mime_type`)';
    const remove = 'call `search_grams_remove`(old.`owner_id`, old.`id`, old.`search_key`)';
    const same = ['owner_id', 'search_key', 'trash_key', 'updated_at', 'is_folder', 'size', 'mime_type'].map((c) => `old.\`${c}\` <=> new.\`${c}\``).join(' and ');
    await this.execute(`create trigger \`files_search_grams_insert\` after insert on \`files\` for each row begin if ${live('new')} then ${add}; end if; end`);
    await this.execute(`create trigger \`files_search_grams_update\` after update on \`files\` for each row begin
      if not (${same}) then
        if ${live('old')} then ${remove}; end if;
        if ${live('new')} then ${add}; end if;
      end if;
    end`);
    await this.execute(`create trigger \`files_search_grams_delete\` after delete on \`files\` for each row begin if ${live('old')} then ${remove}; end if; end`);
    // What exists already: every live row's padded key cut at each position (a recursive count
    // to 257, the longest padded key), duplicates folded by the primary key.
    await this.execute(`insert ignore into \`search_grams\` (${GRAM_COLUMNS})
      with recursive \`positions\`(\`i\`) as (select 1 union all select \`i\` + 1 from \`positions\` where \`i\` < 255)
      select f.\`owner_id\`, substring(concat(' ', f.\`search_key\`, ' '), p.\`i\`, 3), f.\`id\`, f.\`search_key\`, f.\`updated_at\`, f.\`is_folder\`, f.\`size\`, f.\`mime_type\`
      from \`files\` f join \`positions\` p on p.\`i\` <= char_length(f.\`search_key\`)
      where f.\`trash_key\` = '' and f.\`search_key\` <> '';`);
  }

  override async down(): Promise<void> {
    this.addSql('drop trigger if exists `files_search_grams_delete`;');
    this.addSql('drop trigger if exists `files_search_grams_update`;');
    this.addSql('drop trigger if exists `files_search_grams_insert`;');
    this.addSql('drop procedure if exists `search_grams_remove`;');
    this.addSql('drop procedure if exists `search_grams_add`;');
    this.addSql('drop table if exists `search_grams`;');
    this.addSql('alter table `files` drop index `files_recent_idx`;');
  }

}
