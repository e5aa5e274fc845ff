/**
 * The transfer service in the all-in-one shape: SQLite, two local backends, the in-process queue
 * with short retry delays. Moves off a staging backend, runs twice, finishes a run that died after
 * its commit, dead-letters a blob whose bytes are gone, and drains a backend on a routing change.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockHasher } from '../files/content-hash.ts';
import { BlobRow } from '../files/files.entities.ts';
import { pseudoRandom } from '../storage/test-bytes.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { tempDir } from '../../test/support/db.ts';
import { createTestRuntime, type TestRuntime } from '../../test/support/runtime.ts';
import { createTransfer } from './index.ts';
import { TransferJobRow } from './transfer.entities.ts';

const MiB = 1024 * 1024;
let t: TestRuntime;
let transfer: Awaited<ReturnType<typeof createTransfer>>;
let dir: string;

const routing = (over: Record<string, unknown> = {}) => ({
  default: 'stage',
  backends: [
    { name: 'stage', type: 'local', path: path.join(dir, 'stage'), state: 'active', stagingFor: 'main' },
    { name: 'main', type: 'local', path: path.join(dir, 'main'), state: 'active' },
    { name: 'other', type: 'local', path: path.join(dir, 'other'), state: 'active' },
  ],
  ...over,
});

beforeAll(async () => {
  dir = tempDir('stratus-transfer-');
  const file = path.join(dir, 'storage.json');
  writeFileSync(file, JSON.stringify(routing()));
  t = await createTestRuntime('embedded', { STORAGE_CONFIG: file, TRANSFER_RETRY_DELAYS_MS: '50,100', TRANSFER_SOURCE_GRACE_MS: '0' });
  transfer = await createTransfer(t.runtime, { drainer: false });
});
afterAll(() => t?.close());

const em = () => t.runtime.orm.em.fork();
const store = (name: string) => t.runtime.storage.store(name);

async function hashOf(s: ObjectStore, key: string): Promise<string> {
  const hasher = new BlockHasher();
  await pipeline((await s.get(key)).body, hasher, new Writable({ write: (_c, _e, cb) => cb() }));
  return hasher.contentHash();
}

/** A blob row and its bytes on `backend`, as a completed upload leaves them. */
async function storedBlob(backend: string, size: number): Promise<BlobRow> {
  const data = pseudoRandom(randomUUID(), size);
  const key = `blobs/${randomUUID()}`;
  await store(backend).put(key, Readable.from([data]), size);
  const blob = Object.assign(new BlobRow(), { id: randomUUID(), contentHash: await hashOf(store(backend), key), size, backend, storageKey: key, refCount: 1, createdAt: new Date() });
  await em().insert(BlobRow, blob);
  return blob;
}

const job = (id: string) => em().findOneOrFail(TransferJobRow, { id });
const blobRow = (id: string) => em().findOneOrFail(BlobRow, { id });

describe('transfer service (in-process queue)', () => {
  it('moves a blob off the staging backend after its upload, hash checked, source deleted', async () => {
    const blob = await storedBlob('stage', 21 * MiB);
    await transfer.drainer.afterUpload({ backend: 'stage', contentHash: blob.contentHash, size: blob.size });
    const [queued] = await em().find(TransferJobRow, { blobId: blob.id });
    // 21 MiB copied, hashed and read back: seconds on a loaded two-core machine, beyond poll's 1 s default.
    await expect.poll(async () => (await job(queued!.id)).status, { timeout: 15_000 }).toBe('DONE');
    expect(await blobRow(blob.id)).toMatchObject({ backend: 'main', storageKey: blob.storageKey });
    expect(await store('stage').head(blob.storageKey)).toBeNull();
    expect(await hashOf(store('main'), blob.storageKey)).toBe(blob.contentHash);
    expect(await job(queued!.id)).toMatchObject({ attempts: 1, bytes: 21 * MiB, activeKey: null });

    // The same job delivered again: nothing to do, nothing changes.
    const message = { jobId: queued!.id, blobId: blob.id, from: 'stage', to: 'main', mode: 'move' as const };
    await em().nativeUpdate(TransferJobRow, { id: queued!.id }, { status: 'QUEUED' });
    expect(await transfer.service.run(message, { attempt: 1, finalAttempt: false })).toBe('skipped');
    expect(await blobRow(blob.id)).toMatchObject({ backend: 'main' });
    expect(await hashOf(store('main'), blob.storageKey)).toBe(blob.contentHash);
  });

  it('one live job per blob: enqueueing twice gives the same job', async () => {
    const blob = await storedBlob('other', MiB);
    await transfer.worker.stop();
    try {
      const a = await transfer.service.enqueue({ blobId: blob.id, from: 'other', to: 'main', mode: 'copy' });
      const b = await transfer.service.enqueue({ blobId: blob.id, from: 'other', to: 'main', mode: 'copy' });
      expect(b.id).toBe(a.id);
      expect((await transfer.queue.depth()).ready).toBe(1);
    } finally {
      await transfer.worker.start(2);
    }
    await expect.poll(async () => (await blobRow(blob.id)).backend).toBe('main');
    // copy keeps the source.
    expect(await store('other').head(blob.storageKey)).not.toBeNull();
  });

  it('finishes a run that died after its commit: the next run deletes the source', async () => {
    const blob = await storedBlob('stage', 3 * MiB);
    await store('main').put(blob.storageKey, (await store('stage').get(blob.storageKey)).body, blob.size);
    await em().nativeUpdate(BlobRow, { id: blob.id }, { backend: 'main' });
    const id = randomUUID();
    const now = new Date();
    await em().insert(TransferJobRow, Object.assign(new TransferJobRow(), {
      id, blobId: blob.id, fromBackend: 'stage', toBackend: 'main', mode: 'move', status: 'RUNNING', activeKey: blob.id, attempts: 1,
      lastError: null, sourceKey: blob.storageKey, bytes: blob.size, startedAt: now, createdAt: now, updatedAt: now,
    }));
    await transfer.service.run({ jobId: id, blobId: blob.id, from: 'stage', to: 'main', mode: 'move' }, { attempt: 1, finalAttempt: false });
    expect(await store('stage').head(blob.storageKey)).toBeNull();
    expect(await job(id)).toMatchObject({ status: 'DONE', attempts: 2 });
  });

  it('dead-letters a blob whose source bytes are gone, with the error kept, and retries on request', async () => {
    const blob = await storedBlob('stage', MiB);
    await store('stage').delete(blob.storageKey);
    const queued = await transfer.service.enqueue({ blobId: blob.id, from: 'stage', to: 'main', mode: 'move' });
    await expect.poll(async () => (await job(queued.id)).status, { timeout: 5_000 }).toBe('FAILED');
    const failed = await transfer.service.list('FAILED', 10);
    expect(failed.jobs.find((j) => j.id === queued.id)).toMatchObject({ attempts: 3, lastError: expect.stringContaining('NOT_FOUND') });
    expect((await transfer.queue.peekDead(10)).some((d) => (d.body as { jobId: string }).jobId === queued.id)).toBe(true);
    expect(await blobRow(blob.id)).toMatchObject({ backend: 'stage' });
    // Bytes restored: a retry now succeeds.
    await store('stage').put(blob.storageKey, Readable.from([pseudoRandom('x', 10)]), 10);
    await em().nativeUpdate(BlobRow, { id: blob.id }, { size: 10, contentHash: await hashOf(store('stage'), blob.storageKey) });
    expect(await transfer.service.retry(queued.id)).toBe(true);
    await expect.poll(async () => (await job(queued.id)).status).toBe('DONE');
    expect(await transfer.service.retry(queued.id)).toBe(false);
  });

  it('a job the queue dead-letters by its delivery limit is FAILED with the reason, counted once, and can be retried', async () => {
    const blob = await storedBlob('other', MiB);
    const id = randomUUID();
    const now = new Date();
    // As its last killed run left it: RUNNING, the blob held by the job.
    await em().insert(TransferJobRow, Object.assign(new TransferJobRow(), {
      id, blobId: blob.id, fromBackend: 'other', toBackend: 'main', mode: 'copy', status: 'RUNNING', activeKey: blob.id, attempts: 5,
      lastError: null, sourceKey: blob.storageKey, bytes: 0, startedAt: now, createdAt: now, updatedAt: now,
    }));
    const failedCount = async () => {
      const metric = await t.runtime.metrics.registry.getSingleMetric('stratus_transfer_jobs_total')?.get();
      return metric?.values.find((v) => v.labels.outcome === 'failed')?.value ?? 0;
    };
    const before = await failedCount();
    const message = { jobId: id, blobId: blob.id, from: 'other', to: 'main', mode: 'copy' as const };
    const dead = { reason: 'delivery_limit', attempts: 1, lastError: 'delivery_limit: delivered 5 times, never finished (worker crashed, killed or disconnected)' };
    await transfer.service.deadLettered(message, dead);
    await transfer.service.deadLettered(message, dead); // The dead-lettering itself redelivered.
    expect(await job(id)).toMatchObject({ status: 'FAILED', activeKey: null, attempts: 5, lastError: dead.lastError });
    expect(await failedCount()).toBe(before + 1);
    expect(await transfer.service.retry(id)).toBe(true);
    await expect.poll(async () => (await job(id)).status).toBe('DONE');
  });

  it('drains a backend when the routing config marks it draining', async () => {
    const blobs = [await storedBlob('other', MiB), await storedBlob('other', 2 * MiB)];
    transfer.drainer.start(60_000);
    try {
      const next = routing({ default: 'main' });
      next.backends = next.backends.map((b) => (b.name === 'other' ? { ...b, state: 'draining' } : b));
      t.runtime.storage.apply(next as never);
      for (const b of blobs) await expect.poll(async () => (await blobRow(b.id)).backend).toBe('main');
      const backends = await transfer.service.backends();
      expect(backends.find((b) => b.name === 'other')).toMatchObject({ state: 'draining', objectCount: 0, bytes: 0 });
    } finally {
      await transfer.drainer.stop();
    }
  });
});
