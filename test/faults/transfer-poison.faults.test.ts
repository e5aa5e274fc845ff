/**
 * Fault: a transfer job whose processing kills its worker process, every time. The worker is the
 * real one (`internal/transfer/worker-main.ts` as a child process) on MariaDB, Redis and RabbitMQ,
 * restarted by a supervisor here each time it dies, as Kubernetes restarts a pod. The job copies a
 * blob to a Ceph RGW reached through a tripwire: while armed, the worker's first connection to it
 * gets the worker SIGKILLed (what the OOM killer does to a pod whose job blows its memory limit),
 * so every run dies mid-job and never acks. Today's rule: after TRANSFER_MAX_DELIVERIES unfinished
 * deliveries the job is in the dead-letter queue with reason `delivery_limit`, its row FAILED with
 * that error, and the worker that saw it stays up; with the cause gone, `retryTransfer` works.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BlobRow, FileRow } from '../../internal/files/files.entities.ts';
import { rabbitTopology } from '../../internal/platform/mq/rabbitmq.queue.ts';
import { TransferJobRow } from '../../internal/transfer/transfer.entities.ts';
import { cephBackend, startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { tempDir } from '../support/db.ts';
import { redisEnv, testEnv } from '../support/env.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';

const MAX_DELIVERIES = 3;
const PREFIX = `test.poison.${randomBytes(4).toString('hex')}`;
const RETRY_DELAYS = [300, 600];
const TRANSFER_ENV = {
  AMQP_URL: testEnv.amqpUrl,
  TRANSFER_AMQP_PREFIX: PREFIX,
  TRANSFER_RETRY_DELAYS_MS: RETRY_DELAYS.join(','),
  TRANSFER_MAX_DELIVERIES: String(MAX_DELIVERIES),
  TRANSFER_SOURCE_GRACE_MS: '0',
};

/** Restarts the worker whenever it exits, like a Deployment's pod; keeps every process's output. */
class Supervisor {
  current: ChildProcess | undefined;
  starts = 0;
  readonly logs: string[] = [];
  private stopping = false;

  constructor(private readonly env: Record<string, string>) {}

  start(): void {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(testEnv.root, 'internal/transfer/worker-main.ts')], {
      cwd: testEnv.root, env: { ...this.env, DATA_DIR: tempDir('stratus-worker-') }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.starts++;
    this.current = child;
    const keep = (chunk: Buffer) => void this.logs.push(chunk.toString());
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('exit', () => {
      if (!this.stopping) setTimeout(() => this.start(), 100);
    });
  }

  alive(): boolean {
    return this.current?.exitCode === null && this.current.signalCode === null;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.current;
    if (!child || !this.alive()) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

/** A TCP proxy to the RGW that, while armed, answers a connection by killing the worker. */
async function startTripwire(kill: () => void) {
  const rgw = new URL(testEnv.s3.endpoint);
  const state = { armed: true, kills: 0 };
  const server = net.createServer((client) => {
    client.on('error', () => undefined);
    if (state.armed) {
      state.kills++;
      kill();
      return client.destroy();
    }
    const upstream = net.connect(Number(rgw.port), rgw.hostname);
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return { state, url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

let t: TestApp;
let tripwire: Awaited<ReturnType<typeof startTripwire>>;
let workers: Supervisor;

beforeAll(async () => {
  tripwire = await startTripwire(() => workers.current?.kill('SIGKILL'));
  t = await startTestApp({
    routing: (dataDir) => ({
      default: 'disk',
      backends: [
        { name: 'disk', type: 'local', path: path.join(dataDir, 'objects'), state: 'active' },
        { ...cephBackend('public', testEnv.s3.bucket2), endpoint: tripwire.url },
      ],
    }),
    // The app only publishes: the job runs in the supervised worker processes.
    env: { ...TRANSFER_ENV, TRANSFER_CONCURRENCY: '0' },
  });
  workers = new Supervisor({
    PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', LOG_LEVEL: 'info',
    JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: t.db.url!, ...redisEnv(), STORAGE_CONFIG: t.storageConfigPath, ...TRANSFER_ENV,
  });
}, 90_000);

afterAll(async () => {
  await workers?.stop();
  await t?.close();
  await tripwire?.close();
  const conn = await connect(testEnv.amqpUrl);
  const ch = await conn.createChannel();
  const names = rabbitTopology(PREFIX, RETRY_DELAYS);
  for (const q of [names.queue, names.legacyQueue, names.dead, ...names.retry.map((r) => r.queue)]) await ch.deleteQueue(q);
  await ch.deleteExchange(names.exchange);
  await conn.close();
}, 60_000);

const em = () => t.app.runtime.orm.em.fork();

it('a job that kills its worker every time: dead-lettered after exactly the limit, the worker stays up', async () => {
  const { token } = await t.signUp();
  const uploaded = await uploadSmall(t.url, token, 'poison.bin', randomBytes(256 * 1024));
  const file = await em().findOneOrFail(FileRow, { id: uploaded.data!.uploadFile.id });
  const blob = await em().findOneOrFail(BlobRow, { id: file.blobId! });
  expect(blob.backend).toBe('disk');

  workers.start();
  const queued = await t.app.transfer.service.enqueue({ blobId: blob.id, from: 'disk', to: 'public', mode: 'copy' });
  const row = () => em().findOneOrFail(TransferJobRow, { id: queued.id });
  // Before the fix the job went round for ever (RUNNING, one more killed worker per delivery).
  await expect.poll(async () => (await row()).status, { timeout: 90_000, interval: 250 }).toBe('FAILED');

  expect(tripwire.state.kills).toBe(MAX_DELIVERIES);
  expect(await row()).toMatchObject({ attempts: MAX_DELIVERIES, activeKey: null, lastError: expect.stringContaining('delivery_limit') });
  const dead = (await t.app.transfer.queue.peekDead(50)).find((d) => d.id === queued.id);
  expect(dead).toMatchObject({ reason: 'delivery_limit', attempts: 1, lastError: expect.stringContaining(`delivered ${MAX_DELIVERIES} times`) });
  expect(await t.app.transfer.queue.depth()).toEqual({ ready: 0, retrying: 0, dead: 1 });
  const logged = workers.logs.join('').split('\n').find((line) => line.includes('transfer dead-lettered'));
  expect(JSON.parse(logged ?? '{}')).toMatchObject({ job: queued.id, reason: 'delivery_limit' });

  // The worker that dead-lettered it is the one still running, and it keeps running.
  const survivor = workers.current;
  await sleep(3_000);
  expect(workers.alive()).toBe(true);
  expect(workers.current).toBe(survivor);
  expect(workers.starts).toBe(MAX_DELIVERIES + 1);

  // The cause gone, the admin's retry runs on that same worker and finishes.
  tripwire.state.armed = false;
  expect(await t.app.transfer.service.retry(queued.id)).toBe(true);
  await expect.poll(async () => (await row()).status, { timeout: 60_000, interval: 250 }).toBe('DONE');
  expect((await em().findOneOrFail(BlobRow, { id: blob.id })).backend).toBe('public');
  expect(workers.current).toBe(survivor);
  expect(tripwire.state.kills).toBe(MAX_DELIVERIES);
  await t.app.runtime.storage.store('public').delete(blob.storageKey);
}, 180_000);
