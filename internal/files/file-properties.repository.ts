/**
 * The statements of WebDAV dead properties (file-properties.entities.ts). Reads of many files are
 * one statement (a PROPFIND page asks once, whatever its size); a PROPPATCH's sets and removes run
 * in one transaction, so they all happen or none does (RFC 4918 §9.2: "all directives ... MUST be
 * processed ... either all are executed or none are"). Copy and purge run inside the caller's
 * transaction (FilesRepository.insertTree / purge).
 */
import type { SqlEntityManager as EntityManager } from '@mikro-orm/knex';
import type { Orm } from '../platform/db/orm.ts';
import { AppError } from '../platform/errors.ts';
import { FilePropertyRow } from './file-properties.entities.ts';
import { FileRow } from './files.entities.ts';
import { lockFileRow } from './files.statements.ts';

export interface DeadProperty {
  namespace: string;
  name: string;
  /** The property element as XML text. */
  value: string;
}

export type PropertyChange = ({ op: 'set' } & DeadProperty) | { op: 'remove'; namespace: string; name: string };

/** Ids per IN (...) list: well under every dialect's bound-parameter limit. */
const ID_BATCH = 500;

const batches = <T>(items: readonly T[]): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ID_BATCH) out.push(items.slice(i, i + ID_BATCH));
  return out;
};

export class FilePropertiesRepository {
  constructor(private readonly orm: Orm) {}

  private em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  /** The dead properties of the owner's files among `fileIds` (one statement per 500 ids). */
  async forFiles(ownerId: string, fileIds: readonly string[]): Promise<Map<string, DeadProperty[]>> {
    const byFile = new Map<string, DeadProperty[]>();
    for (const ids of batches([...new Set(fileIds)])) {
      const rows = await this.em().execute<Record<string, string>[]>(
        `select p.file_id, p.namespace, p.name, p.value from file_properties p join files f on f.id = p.file_id
         where f.owner_id = ? and p.file_id in (${ids.map(() => '?').join(', ')}) order by p.file_id, p.namespace, p.name`,
        [ownerId, ...ids],
        'all',
      );
      for (const row of rows) {
        const list = byFile.get(String(row.file_id)) ?? [];
        list.push({ namespace: String(row.namespace), name: String(row.name), value: String(row.value) });
        byFile.set(String(row.file_id), list);
      }
    }
    return byFile;
  }

  /**
   * Applies the changes in order, in one transaction; then the file may hold at most `maxCount`
   * properties (BAD_INPUT too_many_properties, nothing changed).
   */
  async patch(fileId: string, changes: readonly PropertyChange[], maxCount: number): Promise<void> {
    await this.em().transactional(async (tx) => {
      // Patches of one file one after the other (each deletes then inserts its rows).
      await lockFileRow(tx, fileId);
      for (const change of changes) {
        await tx.nativeDelete(FilePropertyRow, { fileId, namespace: change.namespace, name: change.name });
        if (change.op === 'set') await tx.insert(FilePropertyRow, { fileId, namespace: change.namespace, name: change.name, value: change.value });
      }
      if ((await tx.count(FilePropertyRow, { fileId })) > maxCount) {
        throw new AppError('BAD_INPUT', `A file can have at most ${maxCount} properties`, { details: { reason: 'too_many_properties' } });
      }
    });
  }

  /** Copies properties to copies (key: the copy's id, value: its original's), in one transaction. */
  async copy(pairs: ReadonlyMap<string, string>): Promise<void> {
    await this.em().transactional((tx) => copyProperties(tx, pairs));
  }

  /** Whether the owner has this live file (the service's ownership check before a patch). */
  async ownsLive(ownerId: string, fileId: string): Promise<boolean> {
    return (await this.em().count(FileRow, { id: fileId, ownerId, trashKey: '', trashedAt: null })) > 0;
  }
}

/** Copies the properties of each pair's source (value) to its copy (key): the caller's transaction (a tree copy). */
export async function copyProperties(tx: EntityManager, pairs: ReadonlyMap<string, string>): Promise<void> {
  const targets = new Map<string, string[]>();
  for (const [to, from] of pairs) targets.set(from, [...(targets.get(from) ?? []), to]);
  for (const ids of batches([...targets.keys()])) {
    const rows = await tx.find(FilePropertyRow, { fileId: { $in: ids } });
    const copies = rows.flatMap((row) => (targets.get(row.fileId) ?? []).map((to) => ({ fileId: to, namespace: row.namespace, name: row.name, value: row.value })));
    if (copies.length > 0) await tx.insertMany(FilePropertyRow, copies);
  }
}

/** Deletes the properties of purged files (the caller's transaction). */
export async function deleteProperties(tx: EntityManager, fileIds: readonly string[]): Promise<void> {
  for (const ids of batches(fileIds)) await tx.nativeDelete(FilePropertyRow, { fileId: { $in: ids } });
}
