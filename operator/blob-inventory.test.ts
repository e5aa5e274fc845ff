/** SqlBlobInventory counts blobs per backend with one query on the Stratus schema (SQLite here). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { allEntities } from '../internal/entities.ts';
import { BlobRow } from '../internal/files/files.entities.ts';
import { openDatabase } from '../internal/platform/db/orm.ts';
import { SqlBlobInventory } from './blob-inventory.ts';

describe('SqlBlobInventory', () => {
  it('counts the blobs recorded on a backend and forwards migrations', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'stratus-inventory-'));
    const orm = await openDatabase({ kind: 'sqlite', file: path.join(dir, 'db.sqlite') }, allEntities);
    try {
      const em = orm.em.fork();
      const blob = (id: string, backend: string): BlobRow =>
        Object.assign(new BlobRow(), { id, contentHash: id.padEnd(64, '0'), size: 1, backend, storageKey: `k/${id}`, refCount: 1, createdAt: new Date() });
      await em.insertMany(BlobRow, [blob('a', 'ceph'), blob('b', 'ceph'), blob('c', 'oss')]);
      const moved: string[] = [];
      const inventory = new SqlBlobInventory(orm, { enqueue: (from, to) => Promise.resolve(void moved.push(`${from}->${to}`)) });
      expect(await inventory.countBlobs('ceph')).toBe(2);
      expect(await inventory.countBlobs('oss')).toBe(1);
      expect(await inventory.countBlobs('cos')).toBe(0);
      await inventory.enqueueMigration('ceph', 'oss');
      expect(moved).toEqual(['ceph->oss']);
    } finally {
      await orm.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
