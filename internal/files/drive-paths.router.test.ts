/**
 * The drive by paths of names (the procedures WebDAV uses) through a tRPC caller on both stacks
 * (MariaDB, SQLite): resolving names to a node and its folder, keyset pages that cover a folder
 * exactly once, copy and move under a chosen name, and the refusals (a stranger's ids, a folder into
 * itself, a name the drive refuses, a name taken).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../platform/logger.ts';
import type { Viewer } from '../platform/request-context.ts';
import { createCallerFactory } from '../platform/rpc/trpc.ts';
import { STACKS, createTestRuntime, type TestRuntime } from '../../test/support/runtime.ts';
import { createFiles } from './index.ts';

const log = createLogger({ level: 'silent' });

describe.each(STACKS)('drive paths on the %s stack', (stack) => {
  let t: TestRuntime;
  let files: ReturnType<typeof createFiles>;
  const viewer = (): Viewer => ({ userId: randomUUID(), username: 'u', isAdmin: false });
  const as = (v: Viewer) => createCallerFactory(files.router)({ requestId: 't', viewer: v, ip: undefined, log });
  const reason = (promise: Promise<unknown>) =>
    promise.then(() => 'no error', (e: { cause?: { code?: string; details?: { reason?: string } } }) => `${e.cause?.code}:${e.cause?.details?.reason ?? ''}`);

  beforeAll(async () => {
    t = await createTestRuntime(stack);
    files = createFiles(t.runtime);
  });
  afterAll(() => t?.close());

  it('resolves names to the node and the folder that holds it; a missing name has its folder, a missing folder has none', async () => {
    const me = viewer();
    const docs = await as(me).createFolder({ parentId: null, name: 'Docs' });
    const inner = await as(me).createFolder({ parentId: docs.id, name: 'Inner' });

    const root = await as(me).paths.resolve({ names: [] });
    expect(root.node?.isFolder).toBe(true);
    expect(root.parent).toBeNull();
    const found = await as(me).paths.resolve({ names: ['Docs', 'Inner'] });
    expect(found.node?.id).toBe(inner.id);
    expect(found.parent?.id).toBe(docs.id);
    // Names are matched by the drive's name key (case folded), like the rest of the drive.
    expect((await as(me).paths.resolve({ names: ['docs', 'INNER'] })).node?.id).toBe(inner.id);
    const missing = await as(me).paths.resolve({ names: ['Docs', 'new.txt'] });
    expect(missing.node).toBeNull();
    expect(missing.parent?.id).toBe(docs.id);
    const noFolder = await as(me).paths.resolve({ names: ['Nope', 'new.txt'] });
    expect(noFolder).toEqual({ node: null, parent: null });
    // Another person's drive has no such path.
    expect((await as(viewer()).paths.resolve({ names: ['Docs'] })).node).toBeNull();
  });

  it('pages a folder by keyset: every member exactly once, folders first, then by name', async () => {
    const me = viewer();
    const box = await as(me).createFolder({ parentId: null, name: 'Box' });
    const names = Array.from({ length: 7 }, (_, i) => `f${i}`);
    for (const name of names) await as(me).createFolder({ parentId: box.id, name });
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await as(me).paths.page({ folderId: box.id, first: 3, ...(after ? { after } : {}) });
      seen.push(...page.nodes.map((n) => n.name));
      pages += 1;
      if (!page.hasNextPage || !page.endCursor) break;
      after = page.endCursor;
    }
    expect(seen).toEqual(names);
    expect(pages).toBe(3);
    expect(await reason(as(viewer()).paths.page({ folderId: box.id, first: 3 }))).toBe('NOT_FOUND:');
  });

  it('copies and moves under a chosen name; refuses a folder into itself, a taken name, a bad name and a stranger', async () => {
    const me = viewer();
    const a = await as(me).createFolder({ parentId: null, name: 'A' });
    const b = await as(me).createFolder({ parentId: null, name: 'B' });
    const sub = await as(me).createFolder({ parentId: a.id, name: 'Sub' });

    const copy = await as(me).paths.copyTo({ id: a.id, parentId: b.id, name: 'A copy', shallow: false });
    expect(copy.name).toBe('A copy');
    expect((await as(me).paths.resolve({ names: ['B', 'A copy', 'Sub'] })).node?.isFolder).toBe(true);
    const shallow = await as(me).paths.copyTo({ id: a.id, parentId: b.id, name: 'A shallow', shallow: true });
    expect((await as(me).paths.page({ folderId: shallow.id, first: 10 })).nodes).toEqual([]);

    const moved = await as(me).paths.moveTo({ id: sub.id, parentId: b.id, name: 'Moved' });
    expect(moved.id).toBe(sub.id);
    expect((await as(me).paths.resolve({ names: ['B', 'Moved'] })).node?.id).toBe(sub.id);
    expect((await as(me).paths.resolve({ names: ['A', 'Sub'] })).node).toBeNull();

    expect(await reason(as(me).paths.moveTo({ id: b.id, parentId: sub.id, name: 'B' }))).toBe('BAD_INPUT:move_cycle');
    expect(await reason(as(me).paths.copyTo({ id: b.id, parentId: sub.id, name: 'B', shallow: false }))).toBe('BAD_INPUT:move_cycle');
    expect(await reason(as(me).paths.moveTo({ id: a.id, parentId: b.id, name: 'Moved' }))).toBe('CONFLICT:name_taken');
    expect(await reason(as(me).paths.copyTo({ id: a.id, parentId: b.id, name: '..', shallow: true }))).toMatch(/^BAD_INPUT:/);
    expect(await reason(as(viewer()).paths.moveTo({ id: a.id, parentId: b.id, name: 'X' }))).toBe('NOT_FOUND:');
  });
});
