/**
 * The Stratus server a benchmark talks to, either
 * - `process`: `api/main.ts` as a child process (the production shape: the client's CPU work and
 *   the server's run on different threads, and the server's RSS is its own), or
 * - `inprocess`: the all-in-one app inside this process (`startTestApp`), which shares this
 *   event loop with the client but exposes internals (SQL statement log, services).
 * Both on the real stack: a fresh MariaDB database, Redis, Ceph RGW as the default backend.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StratusApi } from '../../cli/lib/api.ts';
import { cephBackend, startTestApp, writeRouting, type TestApp } from '../../test/support/app.ts';
import { createMysqlDatabase, tempDir } from '../../test/support/db.ts';
import { testEnv } from '../../test/support/env.ts';
import { gql } from '../../test/support/graphql.ts';
import { TEST_JWT_SECRET } from '../../test/support/runtime.ts';
import { startServerProcess } from '../../test/support/server.ts';
import { startInbox } from '../../test/support/smtp.ts';
import { runBucketsUntilExit } from '../../test/support/run-buckets.ts';

export interface User {
  token: string;
  userId: string;
  name: string;
  api: StratusApi;
}

export interface Target {
  kind: 'process' | 'inprocess';
  url: string;
  /** The server's pid (this process for `inprocess`). */
  pid: number;
  /** The server's MariaDB database (mysql://…), for benches that read or seed it directly. */
  databaseUrl: string;
  /** The in-process app, when there is one. */
  app?: TestApp;
  signUp(): Promise<User>;
  /** Rewrites the routing file (the server follows it): how the Ceph backend serves downloads. */
  setDownloads(mode: 'proxy' | 'redirect'): void;
  close(): Promise<void>;
}

const routingWith = (downloads: 'proxy' | 'redirect') => ({ default: 'ceph', backends: [{ ...cephBackend(), downloads }] });

const newName = () => `bench${randomBytes(5).toString('hex')}`;

export async function inProcessTarget(env: Record<string, string>): Promise<Target> {
  const t = await startTestApp({ env });
  return {
    kind: 'inprocess',
    url: t.url,
    pid: process.pid,
    databaseUrl: t.db.url ?? '',
    app: t,
    async signUp() {
      const name = newName();
      const { token, userId } = await t.signUp(name);
      return { token, userId, name, api: new StratusApi(t.url, token) };
    },
    setDownloads: (mode) => writeRouting(t.storageConfigPath, routingWith(mode)),
    close: () => t.close(),
  };
}

/**
 * BENCH_PROFILE_DIR=/some/dir: the server writes a V8 CPU profile there when it stops (read it
 * with `npx tsx bench/profile/summarize.ts FILE`).
 */
function profiling(): Record<string, string> {
  const dir = process.env.BENCH_PROFILE_DIR;
  if (!dir) return {};
  return { BENCH_PROFILE_DIR: path.resolve(dir), NODE_OPTIONS: `--import ${path.join(testEnv.root, 'bench/profile/cpu-profile.mjs')}` };
}

/** The server's NODE_OPTIONS: the step's own (a heap ceiling) and the profiler's, together. */
function nodeOptions(own: string | undefined): Record<string, string> {
  const profiler = profiling();
  const all = [profiler.NODE_OPTIONS, own].filter(Boolean).join(' ');
  return { ...profiler, ...(all ? { NODE_OPTIONS: all } : {}) };
}

export async function childProcessTarget(env: Record<string, string>): Promise<Target> {
  const db = await createMysqlDatabase('bench');
  const inbox = await startInbox();
  const dir = tempDir('stratus-bench-server-');
  const routing = path.join(dir, 'storage.json');
  writeFileSync(routing, JSON.stringify(routingWith('proxy')));
  // NODE_ENV=production as the image runs it (Dockerfile): graphql-js and express skip their
  // development-only checks there, and the bare Apollo it is compared with runs so too.
  const server = await startServerProcess({
    NODE_ENV: 'production',
    DATABASE_URL: db.url ?? '', REDIS_URL: testEnv.redisUrl, STORAGE_CONFIG: routing, JWT_SECRET: TEST_JWT_SECRET, SMTP_URL: inbox.url,
    DATA_DIR: path.join(dir, 'data'), ...env, ...nodeOptions(env.NODE_OPTIONS),
  });
  // Its request log is not read here: drop it instead of letting it pile up in this process.
  server.child.stdout?.on('data', () => server.logs.splice(0));
  const pid = server.child.pid;
  if (pid === undefined) throw new Error('server process has no pid');
  return {
    kind: 'process',
    url: server.url,
    pid,
    databaseUrl: db.url ?? '',
    async signUp() {
      const name = newName();
      const email = `${name}@example.com`;
      await gql(server.url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
      const code = await inbox.codeFor(email);
      const reg = await gql<{ register: { accessToken: string; user: { id: string } } }>(
        server.url,
        'mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }',
        { i: { username: name, email, password: 'a-good-password-1', code } },
      );
      const r = reg.data?.register;
      if (!r) throw new Error(`sign-up failed: ${JSON.stringify(reg.errors)}`);
      return { token: r.accessToken, userId: r.user.id, name, api: new StratusApi(server.url, r.accessToken) };
    },
    setDownloads: (mode) => writeRouting(routing, routingWith(mode)),
    async close() {
      await server.stop();
      await inbox.close();
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A probe's server (bench/profile): a child process with room for anything, its objects in S3
 * buckets of this run, never the shared test bucket; the buckets go when it closes (or on
 * SIGINT/SIGTERM), also when it fails to start.
 */
export async function probeTarget(): Promise<Target> {
  const removeRunBuckets = await runBucketsUntilExit();
  const target = await childProcessTarget({ DEFAULT_QUOTA_BYTES: String(1024 ** 5) }).catch(async (error: unknown) => {
    await removeRunBuckets();
    throw error;
  });
  return { ...target, close: () => target.close().finally(removeRunBuckets) };
}
