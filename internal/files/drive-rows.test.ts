/**
 * A person's drive rows (root folder, quota) on both stacks (MariaDB + Redis, SQLite + memory):
 * - the migration `*_drive_rows` backfills them for accounts made before registration did;
 * - an account that still lacks them is repaired by the one provisioning function, never refused
 *   with a misleading code (a fresh account's first saveShare was QUOTA_EXCEEDED with 0 used),
 *   while a real over-quota is still refused.
 */
import { MikroORM } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEntities } from '../entities.ts';
import { UserRow } from '../accounts/accounts.entities.ts';
import { ormOptions } from '../platform/db/orm.ts';
import { migrationsFor, type Dialect } from '../platform/db/migrations/index.ts';
import { createLogger } from '../platform/logger.ts';
import type { Viewer } from '../platform/request-context.ts';
import { createCallerFactory } from '../platform/rpc/trpc.ts';
import { createMysqlDatabase, createSqliteDatabase, type TestDatabase } from '../../test/support/db.ts';
import { STACKS, createTestRuntime, type TestRuntime } from '../../test/support/runtime.ts';
import { FileRow, QuotaRow } from './files.entities.ts';
import { createFiles } from './index.ts';

const log = createLogger({ level: 'silent' });
const BACKFILL = 'Migration20261205031500_drive_rows';

// MariaDB for the real stack, SQLite for the embedded one: each half in its test tier (STACKS).
describe.each(STACKS.map((stack): Dialect => (stack === 'real' ? 'mysql' : 'sqlite')))('the drive rows backfill on %s', (dialect) => {
  let db: TestDatabase;
  let orm: MikroORM;
  beforeAll(async () => {
    db = dialect === 'mysql' ? await createMysqlDatabase('mig') : createSqliteDatabase();
    orm = await MikroORM.init(ormOptions(db.options, allEntities, undefined, {}, {}, { defaultQuotaBytes: 777_000 }));
  });
  afterAll(async () => {
    await orm?.close();
    await db?.drop();
  });

  it('gives every existing account one root folder and one quota row (configured limit, used = its files)', async () => {
    const names = migrationsFor(dialect).map((m) => m.name);
    const before = names[names.indexOf(BACKFILL) - 1];
    expect(before).toBeDefined();
    await orm.getMigrator().up({ to: before });
    const em = orm.em.fork();
    const now = new Date('2026-01-02T03:04:05.678Z');
    const user = (name: string) => ({ id: randomUUID(), username: name, usernameKey: name, email: `${name}@example.com`, passwordHash: 'x', isAdmin: false, createdAt: now });
    const [bare, rootOnly, withFiles, complete] = [user('bare'), user('rootonly'), user('withfiles'), user('complete')];
    for (const u of [bare, rootOnly, withFiles, complete]) await em.insert(UserRow, u);
    const node = (ownerId: string, id: string, parentId: string | null, path: string, size: number, trashed = false) => ({
      id, ownerId, parentId, name: parentId ? id.slice(0, 8) : '', nameKey: parentId ? id.slice(0, 8) : '', path, isFolder: size === 0, size,
      blobId: size ? randomUUID() : null, contentHash: null, mimeType: null, trashKey: trashed ? id : '', trashedAt: trashed ? now : null,
      trashedBy: trashed ? id : null, createdAt: now, updatedAt: now,
    });
    await em.insert(FileRow, node(rootOnly.id, rootOnly.id, null, `/${rootOnly.id}/`, 0));
    await em.insert(FileRow, node(complete.id, complete.id, null, `/${complete.id}/`, 0));
    await em.insert(QuotaRow, { userId: complete.id, limitBytes: 5, usedBytes: 3 });
    // Files of a person whose root and quota were never made (a trashed one counts toward the quota).
    for (const [size, trashed] of [[100, false], [200, true]] as const) {
      const id = randomUUID();
      await em.insert(FileRow, node(withFiles.id, id, withFiles.id, `/${withFiles.id}/${id}/`, size, trashed));
    }

    await orm.getMigrator().up();
    expect((await orm.getMigrator().getExecutedMigrations()).map((m) => m.name)).toContain(BACKFILL);
    const check = orm.em.fork();
    for (const u of [bare, rootOnly, withFiles, complete]) {
      const roots = await check.find(FileRow, { ownerId: u.id, parentId: null });
      expect(roots.map((r) => ({ id: r.id, path: r.path, isFolder: r.isFolder, name: r.name, trashKey: r.trashKey })), u.username)
        .toEqual([{ id: u.id, path: `/${u.id}/`, isFolder: true, name: '', trashKey: '' }]);
    }
    const quotas = new Map((await check.find(QuotaRow, {})).map((q) => [q.userId, [Number(q.limitBytes), Number(q.usedBytes)]]));
    expect(quotas.get(bare.id)).toEqual([777_000, 0]);
    expect(quotas.get(rootOnly.id)).toEqual([777_000, 0]);
    expect(quotas.get(withFiles.id)).toEqual([777_000, 300]);
    expect(quotas.get(complete.id)).toEqual([5, 3]);
    expect(quotas.size).toBe(4);
  });
});

describe.each(STACKS)('an account without drive rows on the %s stack', (stack) => {
  let t: TestRuntime;
  let files: ReturnType<typeof createFiles>;
  const as = (v: Viewer) => createCallerFactory(files.router)({ requestId: 't', viewer: v, ip: undefined, log });
  const stranger = (): Viewer => ({ userId: randomUUID(), username: 'u', isAdmin: false });

  beforeAll(async () => {
    t = await createTestRuntime(stack, { DEFAULT_QUOTA_BYTES: '1000' });
    files = createFiles(t.runtime);
  });
  afterAll(() => t?.close());

  async function shareOf(size: number): Promise<string> {
    const owner = stranger();
    const folder = await as(owner).createFolder({ parentId: null, name: 'box' });
    const key = `k-${randomUUID()}`;
    await t.runtime.storage.defaultBackend().store.put(key, Readable.from([Buffer.alloc(size)]), size);
    const file = await as(owner).commitFile({ parentId: folder.id, name: 'f.bin', size, contentHash: randomUUID().replace(/-/g, '').repeat(2), mimeType: null, backend: t.runtime.storage.defaultBackend().name, storageKey: key });
    return (await as(owner).shares.create({ fileId: file.file.id })).token;
  }

  it("saves a share as its first action: made in the one place and charged, not QUOTA_EXCEEDED at 0 used", async () => {
    const token = await shareOf(400);
    const me = stranger();
    const saved = await as(me).shares.save({ token, password: null, targetFolderId: null });
    expect(saved).toMatchObject({ name: 'f.bin', size: 400, parentId: me.userId });
    expect(await as(me).quota()).toEqual({ used: 400, limit: 1000 });
    expect(await t.runtime.orm.em.fork().count(FileRow, { ownerId: me.userId, parentId: null })).toBe(1);
  });

  it('reads its quota and root as the defaults; a real over-quota is still refused', async () => {
    const me = stranger();
    expect(await as(me).quota()).toEqual({ used: 0, limit: 1000 });
    expect(await as(me).node({ id: null })).toMatchObject({ id: me.userId, isFolder: true, parentId: null });
    const token = await shareOf(600);
    await as(me).shares.save({ token, password: null, targetFolderId: null });
    const error = await as(me).shares.save({ token, password: null, targetFolderId: null }).then(() => undefined, (e: { cause?: { code?: string } }) => e.cause?.code);
    expect(error).toBe('QUOTA_EXCEEDED');
    expect(await as(me).quota()).toEqual({ used: 600, limit: 1000 });
  });
});
