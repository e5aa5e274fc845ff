/**
 * The session row as the uploads repository reads it on the hot path (every chunk: begin, after
 * its lock, record, progress), by hand rather than through `em.findOne`: on both stacks it must be
 * the very row MikroORM reads (every property, with its type: numbers, dates, nulls), without the
 * lazy `blockHashes` (up to 2 MiB), and another person's id must find nothing.
 */
import { MikroORM } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEntities } from '../entities.ts';
import { ormOptions } from '../platform/db/orm.ts';
import type { Dialect } from '../platform/db/migrations/index.ts';
import { createMysqlDatabase, createSqliteDatabase, type TestDatabase } from '../../test/support/db.ts';
import { STACKS } from '../../test/support/runtime.ts';
import { UploadSessionRow } from './uploads.entities.ts';
import { UploadsRepository } from './uploads.repository.ts';

const sessionRow = (ownerId: string, changes: Partial<UploadSessionRow> = {}): UploadSessionRow =>
  Object.assign(new UploadSessionRow(), {
    id: randomUUID(), ownerId, parentId: randomUUID(), name: 'clip ü.mp4', size: 5 * 2 ** 32 + 7, chunkSize: 8 << 20, chunkCount: 2561,
    contentHash: 'a'.repeat(64), mimeType: 'video/mp4', status: 'UPLOADING', backend: 'ceph', storageKey: `blobs/${randomUUID()}`,
    multipartId: '2~abc', fileId: null, challengeNonce: null, challengeRanges: '[{"offset":0,"length":4}]', proofAttempts: 2,
    failureReason: null, blockHashes: 'b'.repeat(64 * 5), assembledHash: null, uploadLinkId: null, tusMetadata: '', conflict: 'RENAME',
    createdAt: new Date('2026-12-01T01:02:03.456Z'), updatedAt: new Date('2026-12-01T01:02:04.567Z'), expiresAt: new Date('2026-12-02T01:02:03.999Z'),
    ...changes,
  });

describe.each(STACKS.map((stack): Dialect => (stack === 'real' ? 'mysql' : 'sqlite')))('the upload session read on %s', (dialect) => {
  let db: TestDatabase;
  let orm: MikroORM;
  let repo: UploadsRepository;
  beforeAll(async () => {
    db = dialect === 'mysql' ? await createMysqlDatabase('upl') : createSqliteDatabase();
    orm = await MikroORM.init(ormOptions(db.options, allEntities));
    await orm.getMigrator().up();
    repo = new UploadsRepository(orm);
  });
  afterAll(async () => {
    await orm?.close();
    await db?.drop();
  });

  it('is the row MikroORM reads, every property with its type, without the lazy block hashes', async () => {
    const owner = randomUUID();
    for (const row of [sessionRow(owner), sessionRow(owner, { contentHash: null, mimeType: null, fileId: randomUUID(), challengeRanges: null, tusMetadata: null, blockHashes: null, assembledHash: 'c'.repeat(64), status: 'PENDING', conflict: 'FAIL' })]) {
      await repo.insert(row);
      const read = await repo.findOwned(owner, row.id);
      const orms = await orm.em.fork().findOneOrFail(UploadSessionRow, { id: row.id });
      expect(read).toBeInstanceOf(UploadSessionRow);
      expect(read).toEqual({ ...orms });
      const { blockHashes: _lazy, ...rest } = row;
      expect(read).toEqual(rest);
      // Not read (the row has it): a chunk of a 100 GiB file must not pull 1.6 MB with it.
      expect(read?.blockHashes).toBeUndefined();
      expect(typeof read?.size).toBe('number');
      expect(read?.expiresAt).toBeInstanceOf(Date);
    }
  });

  it('finds nothing for another person, or for an id that is not there', async () => {
    const row = sessionRow(randomUUID());
    await repo.insert(row);
    expect(await repo.findOwned(randomUUID(), row.id)).toBeNull();
    expect(await repo.findOwned(row.ownerId, randomUUID())).toBeNull();
    // An id that is no UUID at all is a plain miss, not an error (it is a parameter, never SQL).
    expect(await repo.findOwned(row.ownerId, "x' or '1'='1")).toBeNull();
  });
});
