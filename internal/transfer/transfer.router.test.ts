/**
 * The transfer service's router through a tRPC caller on the embedded stack (SQLite, the
 * in-process queue, two local backends; no service needed): administrators only, backends with
 * their usage, a job moved and listed by status, and retry's answers.
 */
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFiles } from '../files/index.ts';
import type { Viewer } from '../platform/request-context.ts';
import { createCallerFactory } from '../platform/rpc/trpc.ts';
import { tempDir } from '../../test/support/db.ts';
import { callerAs, failureOf, newViewer, storedBlob } from '../../test/support/embedded.ts';
import { createTestRuntime, type TestRuntime } from '../../test/support/runtime.ts';
import { createTransfer } from './index.ts';

let t: TestRuntime;
let transfer: Awaited<ReturnType<typeof createTransfer>>;
let files: ReturnType<typeof createFiles>;
const admin: Viewer = { ...newViewer('admin'), isAdmin: true };
const as = (viewer: Viewer | undefined) => callerAs(createCallerFactory(transfer.router), viewer);

beforeAll(async () => {
  const dir = tempDir('stratus-transfer-router-');
  const routing = path.join(dir, 'storage.json');
  writeFileSync(routing, JSON.stringify({
    default: 'main',
    backends: [
      { name: 'main', type: 'local', path: path.join(dir, 'main'), state: 'active' },
      { name: 'other', type: 'local', path: path.join(dir, 'other'), state: 'active' },
    ],
  }));
  t = await createTestRuntime('embedded', { STORAGE_CONFIG: routing, TRANSFER_SOURCE_GRACE_MS: '0' });
  files = createFiles(t.runtime);
  transfer = await createTransfer(t.runtime, { drainer: false });
});
afterAll(() => t?.close());

describe('transfer router on the embedded stack', () => {
  it('answers administrators only', async () => {
    expect(await failureOf(as(undefined).backends())).toBe('UNAUTHENTICATED');
    expect(await failureOf(as(newViewer()).backends())).toBe('FORBIDDEN');
    expect(await failureOf(as(newViewer()).authorize())).toBe('FORBIDDEN');
    expect(await as(admin).authorize()).toBe(true);
  });

  it('lists backends with their usage, runs a move, lists it by status, and retries only failed jobs', async () => {
    const owner = callerAs(createCallerFactory(files.router), newViewer());
    await owner.provisionDrive();
    const { file } = await owner.commitFile({ parentId: null, name: 'moved.txt', mimeType: null, ...(await storedBlob(t.runtime, 'bytes to move')) });
    const { blob } = await owner.content({ id: file.id });
    const usage = async () => Object.fromEntries((await as(admin).backends()).map((b) => [b.name, [b.objectCount, b.bytes, b.isDefault]]));
    expect(await usage()).toEqual({ main: [1, 13, true], other: [0, 0, false] });

    const job = await transfer.service.enqueue({ blobId: blob.id, from: 'main', to: 'other', mode: 'move' });
    for (let i = 0; i < 500 && (await as(admin).list({ status: 'DONE' })).jobs.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const done = await as(admin).list({ status: 'DONE' });
    expect(done.jobs.map((j) => j.id)).toEqual([job.id]);
    expect(done.counts).toEqual({ QUEUED: 0, RUNNING: 0, DONE: 1, FAILED: 0 });
    expect(await as(admin).list({ status: 'FAILED' })).toMatchObject({ jobs: [] });
    expect(await usage()).toEqual({ main: [0, 0, true], other: [1, 13, false] });
    // Only a FAILED job goes back to the queue; an unknown one is NOT_FOUND.
    expect(await as(admin).retry({ id: job.id })).toBe(false);
    expect(await failureOf(as(admin).retry({ id: '00000000-0000-4000-8000-000000000000' }))).toBe('NOT_FOUND');
    expect(await failureOf(as(admin).list({ limit: 0 }))).toBe('BAD_INPUT');
  });
});
