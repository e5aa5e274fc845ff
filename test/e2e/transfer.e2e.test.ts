/**
 * Async transfer end to end on the real stack: MariaDB, Redis, RabbitMQ and two Ceph RGW buckets
 * (`staging`, which stages for `public`). The app publishes jobs (TRANSFER_CONCURRENCY=0: it runs no
 * worker itself); workers are child processes (`internal/transfer/worker-main.ts`) that the tests
 * start, SIGKILL and replace. Covers the staging → public move with hashes checked, a worker killed
 * mid-transfer of 200 MiB, RabbitMQ restarted with jobs queued, a poisoned job ending in the
 * dead-letter queue and in the admin view, and downloads during a move.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { connect } from 'amqplib';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { StratusApi } from '../../cli/lib/api.ts';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { uploadFile } from '../../cli/lib/upload.ts';
import { BlobRow, FileRow } from '../../internal/files/files.entities.ts';
import { rabbitTopology } from '../../internal/platform/mq/rabbitmq.queue.ts';
import { TransferJobRow } from '../../internal/transfer/transfer.entities.ts';
import { cephBackend, startTestApp, type TestApp } from '../support/app.ts';
import { tempDir } from '../support/db.ts';
import { redisEnv, testEnv } from '../support/env.ts';
import { hashDownload, makeFile } from '../support/files.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';

const MiB = 1024 * 1024;
// Queues of their own: other test files (and other runs) never see these jobs.
const PREFIX = `test.transfer.${randomBytes(4).toString('hex')}`;
const RETRY_DELAYS = [300, 600, 900];
const TRANSFER_ENV = {
  AMQP_URL: testEnv.amqpUrl,
  TRANSFER_AMQP_PREFIX: PREFIX,
  TRANSFER_RETRY_DELAYS_MS: RETRY_DELAYS.join(','),
  TRANSFER_SOURCE_GRACE_MS: '1000',
};

let t: TestApp;
let admin: StratusApi;
let person: StratusApi;
const workers = new Set<ChildProcess>();
const events: { id: string; status: string }[] = [];
let disposeEvents: (() => Promise<void>) | undefined;

/** A transfer worker process on the app's database, routing file, broker and Redis. */
async function startWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(testEnv.root, 'internal/transfer/worker-main.ts')], {
    cwd: testEnv.root,
    env: {
      PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', LOG_LEVEL: 'info',
      DATA_DIR: tempDir('stratus-worker-'), JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: t.db.url!, ...redisEnv(),
      STORAGE_CONFIG: t.storageConfigPath, ...TRANSFER_ENV,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  workers.add(child);
  child.once('exit', () => workers.delete(child));
  const logs: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${logs.join('')}`)), 30_000);
    const onData = (chunk: Buffer) => {
      logs.push(chunk.toString());
      if (chunk.toString().includes('transfer worker ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}:\n${logs.join('')}`)));
  });
  return child;
}

function stopWorker(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

const stopAllWorkers = () => Promise.all([...workers].map((w) => stopWorker(w)));
const em = () => t.app.runtime.orm.em.fork();
const store = (name: string) => t.app.runtime.storage.store(name);

async function blobOfFile(fileId: string): Promise<BlobRow> {
  const file = await em().findOneOrFail(FileRow, { id: fileId });
  return em().findOneOrFail(BlobRow, { id: file.blobId! });
}
const jobOf = (blobId: string) => em().findOneOrFail(TransferJobRow, { blobId }, { orderBy: { createdAt: 'desc' } });

async function upload(name: string, size: number) {
  const file = await makeFile(name, size);
  const result = await uploadFile(person, file, { parallel: 4, noInstant: true });
  const fileId = result.session.file!.id;
  return { file, fileId, contentHash: await fileContentHash(file, size), blob: await blobOfFile(fileId) };
}

function rabbitmqctl(...args: string[]): void {
  execFileSync('rabbitmqctl', args, { stdio: 'ignore', timeout: 120_000 });
}

beforeAll(async () => {
  t = await startTestApp({
    routing: () => ({
      default: 'staging',
      backends: [{ ...cephBackend('staging', testEnv.s3.bucket), stagingFor: 'public' }, cephBackend('public', testEnv.s3.bucket2)],
    }),
    env: { ...TRANSFER_ENV, TRANSFER_CONCURRENCY: '0' },
  });
  admin = new StratusApi(t.url, (await t.signUp()).token); // The first person is the administrator.
  person = new StratusApi(t.url, (await t.signUp()).token);
  const client = createClient({ url: `${t.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${admin.token}` }, retryAttempts: 0 });
  client.subscribe(
    { query: 'subscription { transferProgress { id status } }' },
    { next: (v) => void events.push((v.data as { transferProgress: (typeof events)[number] }).transferProgress), error: () => undefined, complete: () => undefined },
  );
  disposeEvents = async () => {
    await client.dispose();
  };
}, 90_000);

afterAll(async () => {
  await stopAllWorkers();
  await disposeEvents?.();
  await t?.close();
  // Leave RabbitMQ running whatever happened above, and without this run's queues.
  try {
    rabbitmqctl('start_app');
    rabbitmqctl('await_startup');
    const conn = await connect(testEnv.amqpUrl);
    const ch = await conn.createChannel();
    const names = rabbitTopology(PREFIX, RETRY_DELAYS);
    for (const q of [names.queue, names.dead, ...names.retry.map((r) => r.queue)]) await ch.deleteQueue(q);
    await ch.deleteExchange(names.exchange);
    await conn.close();
  } catch (error) {
    console.error('transfer e2e cleanup failed', error);
  }
}, 120_000);

describe('async transfer', () => {
  it('moves an upload from staging to public: hash checked, source deleted, admin view and events', async () => {
    const worker = await startWorker();
    const up = await upload('staged.bin', 40 * MiB);
    expect(up.blob.backend).toBe('staging');
    await expect.poll(async () => (await blobOfFile(up.fileId)).backend, { timeout: 30_000 }).toBe('public');
    const job = await jobOf(up.blob.id);
    await expect.poll(async () => (await jobOf(up.blob.id)).status, { timeout: 10_000 }).toBe('DONE');
    expect(await store('staging').head(up.blob.storageKey)).toBeNull();
    expect((await store('public').head(up.blob.storageKey))?.size).toBe(40 * MiB);
    const got = await hashDownload(`${t.url}/files/${up.fileId}/content`, person.headers());
    expect(got).toMatchObject({ status: 200, bytes: 40 * MiB, contentHash: up.contentHash });

    const view = await admin.gql<{ transfers: { counts: { done: number }; jobs: { id: string; from: string; to: string; status: string; attempts: number; mode: string }[] } }>(
      '{ transfers(status: DONE) { counts { queued running done failed } jobs { id blobId from to mode status attempts lastError updatedAt } } }',
    );
    expect(view.transfers.counts.done).toBeGreaterThanOrEqual(1);
    expect(view.transfers.jobs).toContainEqual(expect.objectContaining({ id: job.id, from: 'staging', to: 'public', status: 'DONE', attempts: 1, mode: 'MOVE' }));
    const backends = await admin.gql<{ storageBackends: { name: string; state: string; isDefault: boolean; objectCount: number; bytes: number }[] }>(
      '{ storageBackends { name type state isDefault objectCount bytes } }',
    );
    expect(backends.storageBackends.find((b) => b.name === 'public')).toMatchObject({ state: 'ACTIVE', isDefault: false, objectCount: 1, bytes: 40 * MiB });
    expect(backends.storageBackends.find((b) => b.name === 'staging')).toMatchObject({ isDefault: true, objectCount: 0 });
    await expect.poll(() => events.filter((e) => e.id === job.id).map((e) => e.status)).toEqual(['QUEUED', 'RUNNING', 'DONE']);
    await expect(person.gql('{ transfers { counts { done } } }')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await stopWorker(worker);
  }, 90_000);

  it('a worker killed mid-transfer of 200 MiB: the job is redelivered and finished once', async () => {
    const victim = await startWorker();
    const up = await upload('killed.bin', 200 * MiB);
    const key = up.blob.storageKey;
    // Mid-transfer: the target's multipart upload exists and has parts.
    await expect
      .poll(async () => {
        const [open] = await store('public').listMultipartUploads(key);
        return open ? (await store('public').listParts(key, open.uploadId)).length : 0;
      }, { timeout: 60_000, interval: 50 })
      .toBeGreaterThan(0);
    await stopWorker(victim, 'SIGKILL');
    expect((await jobOf(up.blob.id)).status).toBe('RUNNING');
    expect((await blobOfFile(up.fileId)).backend).toBe('staging');

    const started = Date.now();
    await startWorker();
    await expect.poll(async () => (await blobOfFile(up.fileId)).backend, { timeout: 120_000, interval: 100 }).toBe('public');
    const switchedAt = Date.now();
    await expect.poll(async () => (await jobOf(up.blob.id)).status, { timeout: 10_000 }).toBe('DONE');
    const job = await jobOf(up.blob.id);
    const copySeconds = (switchedAt - job.startedAt!.getTime()) / 1000;
    console.log(
      `200 MiB staging → public (stream + block hash + re-read of the target): ${copySeconds.toFixed(1)} s for the run, ${(200 / copySeconds).toFixed(1)} MiB/s; ` +
        `${((switchedAt - started) / 1000).toFixed(1)} s from starting the replacement worker process`,
    );
    expect(job).toMatchObject({ attempts: 2, bytes: 200 * MiB, activeKey: null });
    // The events travel worker → Redis pub/sub → gateway → graphql-ws, after the row is written:
    // the row's DONE says nothing about whether its event has arrived yet, so wait for the event.
    // Both runs announced RUNNING; only the second finished.
    await expect.poll(() => events.filter((e) => e.id === job.id).map((e) => e.status)).toEqual(['QUEUED', 'RUNNING', 'RUNNING', 'DONE']);
    expect(await store('staging').head(key)).toBeNull();
    expect((await store('public').head(key))?.size).toBe(200 * MiB);
    // The killed run's multipart upload was aborted, not left holding storage.
    expect((await store('public').listMultipartUploads(key)).filter((u) => u.key === key)).toEqual([]);
    const got = await hashDownload(`${t.url}/files/${up.fileId}/content`, person.headers());
    expect(got).toMatchObject({ status: 200, bytes: 200 * MiB, contentHash: up.contentHash });
    // Seconds later, still one DONE: no late redelivery ran the job again.
    expect(events.filter((e) => e.id === job.id).map((e) => e.status)).toEqual(['QUEUED', 'RUNNING', 'RUNNING', 'DONE']);
  }, 240_000);

  it('RabbitMQ restarted with jobs queued: none lost; publisher and consumer reconnect', async () => {
    await stopAllWorkers();
    const ups = [];
    for (let i = 0; i < 4; i++) ups.push(await upload(`queued-${i}.bin`, 6 * MiB));
    await expect.poll(async () => (await t.app.transfer.queue.depth()).ready).toBe(4);
    rabbitmqctl('stop_app');
    rabbitmqctl('start_app');
    rabbitmqctl('await_startup');
    expect((await t.app.transfer.queue.depth()).ready).toBe(4);
    ups.push(await upload('after-restart.bin', 6 * MiB)); // The app's publisher reconnected.
    await startWorker();
    for (const up of ups) await expect.poll(async () => (await blobOfFile(up.fileId)).backend, { timeout: 30_000 }).toBe('public');

    // And a worker consuming across a restart picks up again.
    rabbitmqctl('stop_app');
    rabbitmqctl('start_app');
    rabbitmqctl('await_startup');
    const late = await upload('late.bin', 6 * MiB);
    await expect.poll(async () => (await blobOfFile(late.fileId)).backend, { timeout: 60_000 }).toBe('public');
    // Sources go after the grace delay.
    for (const up of [...ups, late]) await expect.poll(() => store('staging').head(up.blob.storageKey)).toBeNull();
  }, 180_000);

  it('a poisoned job (source object missing) ends in the dead-letter queue, its error visible to the admin', async () => {
    await stopAllWorkers();
    const up = await upload('poison.bin', 5 * MiB);
    await store('staging').delete(up.blob.storageKey);
    await startWorker();
    const job = await jobOf(up.blob.id);
    type Failed = { transfers: { counts: { failed: number }; jobs: { id: string; status: string; attempts: number; lastError: string | null }[] } };
    const failed = () => admin.gql<Failed>('{ transfers(status: FAILED) { counts { failed } jobs { id status attempts lastError } } }');
    await expect.poll(async () => (await failed()).transfers.jobs.find((j) => j.id === job.id), { timeout: 30_000 }).toMatchObject({
      status: 'FAILED', attempts: RETRY_DELAYS.length + 1, lastError: expect.stringContaining('NOT_FOUND'),
    });
    // The job's row says FAILED as the message goes to the dead-letter queue: wait for it there.
    const deadOne = async () => (await t.app.transfer.queue.peekDead(50)).find((d) => (d.body as { jobId: string }).jobId === job.id);
    await expect.poll(deadOne, { timeout: 10_000 }).toMatchObject({ attempts: RETRY_DELAYS.length + 1, lastError: expect.stringContaining('NOT_FOUND') });
    expect((await blobOfFile(up.fileId)).backend).toBe('staging');
    // Retrying without fixing anything: queued again, and failed again.
    expect(await admin.gql('mutation($id: ID!) { retryTransfer(id: $id) }', { id: job.id })).toEqual({ retryTransfer: true });
    await expect.poll(async () => (await jobOf(up.blob.id)).attempts, { timeout: 30_000 }).toBe(2 * (RETRY_DELAYS.length + 1));
  }, 90_000);

  it('downloads keep working while the blob moves: every download complete and correct', async () => {
    await stopAllWorkers();
    const up = await upload('busy.bin', 48 * MiB);
    let moved = 0;
    const results: { status: number; bytes: number; contentHash: string }[] = [];
    const loop = async () => {
      // Until the move is done, and a few downloads after it.
      for (let after = 0; after < 3; ) {
        results.push(await hashDownload(`${t.url}/files/${up.fileId}/content`, person.headers()));
        if (moved) after++;
      }
    };
    const loops = Promise.all([loop(), loop(), loop()]);
    await startWorker();
    await expect.poll(async () => (await blobOfFile(up.fileId)).backend, { timeout: 60_000, interval: 50 }).toBe('public');
    moved = Date.now();
    await loops;
    expect(results.length).toBeGreaterThanOrEqual(9);
    for (const r of results) expect(r).toEqual(expect.objectContaining({ status: 200, bytes: 48 * MiB, contentHash: up.contentHash }));
    await expect.poll(async () => store('staging').head(up.blob.storageKey)).toBeNull();
  }, 120_000);
});
