/**
 * The read/write split against a real MariaDB pair (scripts/lib/mariadb-replica.sh: primary 3307
 * with binlog + GTID, replica 3308 replicating from it), through the real repositories and
 * services: writes land on the primary and replicate; reads are served by the replica (a row that
 * exists only on the replica is seen); read-your-writes while replication is stopped, within a
 * request, for the person's next requests, and along an HTTP service call; a replica lagging past
 * the bound or killed leaves the rotation (reads keep working on the primary) and comes back.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthRouter } from '../../api/http/health.ts';
import { AccountsRepository } from '../../internal/accounts/accounts.repository.ts';
import { allEntities } from '../../internal/entities.ts';
import { FileRow } from '../../internal/files/files.entities.ts';
import { createFiles, type FilesRouter } from '../../internal/files/index.ts';
import { loadConfig } from '../../internal/platform/config.ts';
import { createLogger } from '../../internal/platform/logger.ts';
import { runWithContext, type RequestContext, type Viewer } from '../../internal/platform/request-context.ts';
import { httpClient } from '../../internal/platform/rpc/client.ts';
import { trpcHttpHandler } from '../../internal/platform/rpc/serve.ts';
import { createRuntime, type Runtime } from '../../internal/platform/runtime.ts';
import { tempDir } from '../support/db.ts';
import { redisEnv, testEnv } from '../support/env.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';

const REPLICA_DIR = '/var/lib/stratus/mariadb-replica';
const WINDOW_MS = 2000;
const dbName = `stratus_rep_${randomBytes(5).toString('hex')}`;
const inDb = (base: string) => {
  const url = new URL(base);
  url.pathname = `/${dbName}`;
  return url.toString();
};
const primaryUrl = () => testEnv.databasePrimaryUrl;
const replicaUrl = () => testEnv.databaseReplicaUrl;

async function sql<T = Record<string, unknown>>(url: string, query: string, params: unknown[] = []): Promise<T[]> {
  const conn = await createConnection(url);
  try {
    const [rows] = await conn.query(query, params);
    return rows as T[];
  } finally {
    await conn.end();
  }
}

async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await Promise.resolve(check()).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The replica applied everything the primary logged. */
async function caughtUp(): Promise<void> {
  await waitFor('the replica to catch up', async () => {
    const [p] = await sql<{ pos: string }>(primaryUrl(), 'SELECT @@gtid_binlog_pos AS pos');
    const [r] = await sql<{ pos: string }>(replicaUrl(), 'SELECT @@gtid_slave_pos AS pos');
    return !!p && p.pos === r?.pos;
  });
}

const replicaPid = () => Number(readFileSync(`${REPLICA_DIR}/mysqld.pid`, 'utf8').trim());
/** Alive and not a zombie (a killed daemon whose parent is PID 1 may stay one in a container). */
const alive = (pid: number) => existsSync(`/proc/${pid}/stat`) && !/^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
const replicaAlive = () => existsSync(`${REPLICA_DIR}/mysqld.pid`) && alive(replicaPid());

/** The same idempotent start the test services use (starts a stopped replica, resumes replication). */
function replicaUp(): string {
  const script = '. scripts/lib/common.sh && . scripts/lib/mariadb-replica.sh && replica_up && echo "$ACTION"';
  return execFileSync('bash', ['-c', script], { cwd: testEnv.root, encoding: 'utf8' }).trim();
}

let runtime: Runtime;
let accounts: AccountsRepository;
let files: ReturnType<typeof createFiles>['service'];
let ann: Viewer;
let docsId: string;
let server: Server;
let baseUrl: string;
const onlyOnReplica = randomUUID();

/** One "request" as the HTTP layer makes it: a fresh request context, signed in as `viewer`. */
const request = <T>(viewer: Viewer | undefined, fn: () => Promise<T>, extra: Partial<RequestContext> = {}) =>
  runWithContext({ requestId: randomUUID(), ...(viewer ? { viewer } : {}), ...extra }, fn);
const page = { first: 100, orderBy: { field: 'NAME' as const, direction: 'ASC' as const } };
const childNames = async (viewer: Viewer) => (await files.children(viewer, docsId, page)).edges.map((e) => e.node.name);
const docsName = async (viewer: Viewer | undefined) => (await request(viewer, () => runtime.orm.em.fork().findOneOrFail(FileRow, { id: docsId }))).name;
const markerGone = (userId: string) => waitFor('the read-your-writes marker to expire', async () => !(await runtime.kv.exists(`rw:${userId}`)), WINDOW_MS + 3000);
const inRotation = () => runtime.dbReplicas?.inRotation().includes('replica-0') ?? false;

beforeAll(async () => {
  if (!replicaAlive()) replicaUp();
  await sql(replicaUrl(), 'START SLAVE');
  await sql(primaryUrl(), `CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await caughtUp();
  const config = loadConfig({
    DATA_DIR: tempDir(),
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    DATABASE_URL: inDb(primaryUrl()),
    DATABASE_REPLICA_URLS: inDb(replicaUrl()),
    ...redisEnv(),
    DATABASE_REPLICA_CHECK_INTERVAL_MS: '200',
    DATABASE_READ_YOUR_WRITES_MS: String(WINDOW_MS),
  });
  runtime = await createRuntime(config, allEntities, createLogger({ level: 'silent' }));
  await caughtUp(); // the migrations' tables
  await waitFor('the replica in rotation', inRotation);
  accounts = new AccountsRepository(runtime.orm);
  const built = createFiles(runtime);
  files = built.service;
  const app = express();
  app.use(healthRouter(runtime.readiness));
  const trpc = trpcHttpHandler(built.router, runtime.tokens, runtime.log);
  server = createServer((req, res) => (req.url?.startsWith('/trpc/') ? trpc(req, res) : app(req, res)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  // Whatever happened, leave the pair running and replicating for the next run.
  if (!replicaAlive()) replicaUp();
  await sql(replicaUrl(), 'START SLAVE').catch(() => undefined);
  await new Promise((resolve) => server?.close(resolve));
  await runtime?.close();
  await sql(primaryUrl(), `DROP DATABASE IF EXISTS \`${dbName}\``);
  await caughtUp();
}, 120_000);

describe('MariaDB primary/replica read-write split', () => {
  it('writes land on the primary and reach the replica', async () => {
    const user = await request(undefined, () => accounts.createUser({ username: 'ann', email: 'ann@example.com', passwordHash: 'x' }));
    ann = { userId: user.id, username: user.username, isAdmin: user.isAdmin };
    docsId = (await request(ann, () => files.createFolder(ann, null, 'Docs'))).id;
    expect(await sql(inDb(primaryUrl()), 'SELECT name FROM files WHERE id = ?', [docsId])).toEqual([{ name: 'Docs' }]);
    await caughtUp();
    expect(await sql(inDb(replicaUrl()), 'SELECT name FROM files WHERE id = ?', [docsId])).toEqual([{ name: 'Docs' }]);
    expect(await sql(inDb(replicaUrl()), 'SELECT username FROM users WHERE id = ?', [ann.userId])).toEqual([{ username: 'ann' }]);
  });

  it('serves reads outside a transaction from the replica: a row that exists only there is seen', async () => {
    // root may write on the read_only replica; the replica logs no binlog, so this stays there.
    const now = new Date();
    await sql(
      inDb(replicaUrl()),
      `INSERT INTO files (id, owner_id, parent_id, name, name_key, path, is_folder, size, trash_key, created_at, updated_at)
       VALUES (?, ?, ?, 'only-on-replica', 'only-on-replica', ?, 1, 0, '', ?, ?)`,
      [onlyOnReplica, ann.userId, docsId, `/${ann.userId}/${docsId}/${onlyOnReplica}/`, now, now],
    );
    expect(await sql(inDb(primaryUrl()), 'SELECT id FROM files WHERE id = ?', [onlyOnReplica])).toEqual([]);
    await markerGone(ann.userId); // Ann wrote above: her reads use the primary for the window
    expect(await request(ann, () => childNames(ann))).toEqual(['only-on-replica']);
    expect(await docsName(undefined)).toBe('Docs');
    // A request that writes reads from the primary afterwards: its own folder, not the replica's row.
    const inWritingRequest = await request(ann, async () => {
      await files.createFolder(ann, docsId, 'mine');
      return childNames(ann);
    });
    expect(inWritingRequest).toEqual(['mine']);
  });

  it('reads your writes while replication is stopped: the request, the next ones in the window, the service call chain', async () => {
    await caughtUp();
    await markerGone(ann.userId);
    await sql(replicaUrl(), 'STOP SLAVE');
    const stoppedAt = Date.now();
    try {
      const own = await request(ann, async () => {
        await files.rename(ann, docsId, 'Renamed');
        return (await files.get(ann, docsId)).name;
      });
      expect(own).toBe('Renamed');
      expect(await request(ann, async () => (await files.get(ann, docsId)).name)).toBe('Renamed'); // next request: marker
      expect(await sql(inDb(replicaUrl()), 'SELECT name FROM files WHERE id = ?', [docsId])).toEqual([{ name: 'Docs' }]);
      expect(await docsName(undefined)).toBe('Docs'); // anyone else: the stale replica, still in rotation
      expect(inRotation()).toBe(true);

      // After the window Ann reads from the (stale) replica again...
      await markerGone(ann.userId);
      expect(await request(ann, async () => (await files.get(ann, docsId)).name)).toBe('Docs');
      // ...unless the calling service already wrote in this request: x-stratus-wrote over HTTP.
      const token = await runtime.tokens.signAccess(ann, 300);
      const client = httpClient<FilesRouter>(`${baseUrl}/trpc`);
      const viaHttp = (wrote: boolean) => request(ann, async () => (await client.get.query({ id: docsId })).name, { accessToken: token, ...(wrote ? { wrote } : {}) });
      expect(await viaHttp(false)).toBe('Docs');
      expect(await viaHttp(true)).toBe('Renamed');
      // A write made by the service behind HTTP sets Ann's marker too (serve.ts puts the viewer in context).
      await request(ann, () => client.createFolder.mutate({ parentId: docsId, name: 'via-http' }), { accessToken: token });
      expect(await runtime.kv.exists(`rw:${ann.userId}`)).toBe(true);
      expect(Date.now() - stoppedAt).toBeLessThan(5000); // all of the above with the replica in rotation
      expect(inRotation()).toBe(true);

      // Stopped longer than the bound (5 s): out of rotation, everyone reads the primary.
      await waitFor('the stopped replica to leave the rotation', () => !inRotation(), 10_000);
      expect(await docsName(undefined)).toBe('Renamed');
      const ready = (await (await fetch(`${baseUrl}/readyz`)).json()) as { status: string; info: Record<string, { inRotation: boolean; reason: string }[]> };
      expect(ready.status).toBe('ok');
      expect(ready.info['database-replicas']?.[0]).toMatchObject({ inRotation: false, reason: expect.stringMatching(/not running/) });
      expect(await runtime.metrics.registry.getSingleMetricAsString('stratus_db_replica_up')).toContain('stratus_db_replica_up{replica="replica-0"} 0');
    } finally {
      await sql(replicaUrl(), 'START SLAVE');
    }
    await caughtUp();
    await waitFor('the replica back in rotation', inRotation);
    expect(await sql(inDb(replicaUrl()), 'SELECT name FROM files WHERE id = ?', [docsId])).toEqual([{ name: 'Renamed' }]);
    expect(await runtime.metrics.registry.getSingleMetricAsString('stratus_db_replica_lag_seconds')).toMatch(/stratus_db_replica_lag_seconds\{replica="replica-0"\} 0/);
  }, 60_000);

  it('keeps answering when the replica is killed, from the primary, and uses the replica again once it is back', async () => {
    await markerGone(ann.userId);
    const names = () => request(ann, () => childNames(ann));
    expect(await names()).toContain('only-on-replica');
    const pid = replicaPid();
    process.kill(pid, 'SIGKILL');
    await waitFor('mariadbd of the replica to die', () => !alive(pid), 10_000);
    // Before the monitor has noticed too: a read that cannot reach the replica is retried on the primary.
    for (let i = 0; i < 5; i++) expect(await names()).toEqual(['mine', 'via-http']);
    await waitFor('the dead replica to leave the rotation', () => !inRotation(), 10_000);
    expect(runtime.dbReplicas?.snapshot()[0]?.reason).toMatch(/ECONNREFUSED|query failed|unreachable/);
    expect(await names()).toEqual(['mine', 'via-http']);

    expect(replicaUp()).toMatch(/replica:started/);
    await caughtUp();
    await waitFor('the restarted replica back in rotation', inRotation, 20_000);
    expect(await names()).toEqual(['mine', 'only-on-replica', 'via-http']);
    const [status] = await sql<{ Slave_IO_Running: string; Slave_SQL_Running: string }>(replicaUrl(), 'SHOW SLAVE STATUS');
    expect(status).toMatchObject({ Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes' });
  }, 60_000);
});
