/**
 * The all-in-one app started in the test process on the real stack (a fresh MariaDB database,
 * Redis, and the given storage routing file), plus helpers to sign people up through GraphQL.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startAllInOne, type RunningApp } from '../../api/all-in-one.ts';
import { CodeBox } from './mail.ts';
import { loadConfig } from '../../internal/platform/config.ts';
import { createLogger, type Logger } from '../../internal/platform/logger.ts';
import { createMysqlDatabase, tempDir, type TestDatabase } from './db.ts';
import { redisEnv, ROOMY_CLIENT_LIMITS, testEnv } from './env.ts';
import { gql } from './graphql.ts';
import { TEST_JWT_SECRET } from './runtime.ts';

export interface TestApp {
  app: RunningApp;
  url: string;
  dataDir: string;
  storageConfigPath: string;
  db: TestDatabase;
  queries: string[];
  /** The last code e-mailed to each address (sign-up and password-reset codes). */
  codes: ReadonlyMap<string, string>;
  /** Registers a new person and returns their access token and id. */
  signUp(name?: string): Promise<{ token: string; userId: string; refreshToken: string }>;
  close(): Promise<void>;
}

export function cephBackend(name = 'ceph', bucket = testEnv.s3.bucket, state = 'active') {
  const s3 = testEnv.s3;
  return { name, type: 'ceph', endpoint: s3.endpoint, region: s3.region, bucket, state, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } };
}

export function writeRouting(file: string, config: unknown): void {
  const tmp = `${file}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, JSON.stringify(config));
  // Rename, as Kubernetes swaps ConfigMap files: a watcher never sees half a file.
  renameSync(tmp, file);
}

export async function startTestApp(options: { routing?: (dataDir: string) => unknown; env?: Record<string, string>; log?: Logger } = {}): Promise<TestApp> {
  const db = await createMysqlDatabase('app');
  const dataDir = tempDir('stratus-app-');
  const storageConfigPath = path.join(dataDir, 'storage.json');
  const routing = options.routing?.(dataDir) ?? {
    default: 'ceph',
    backends: [cephBackend(), { name: 'local', type: 'local', path: path.join(dataDir, 'objects'), state: 'active' }],
  };
  writeFileSync(storageConfigPath, JSON.stringify(routing));
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent',
    DATABASE_URL: db.url ?? '', ...redisEnv(), STORAGE_CONFIG: storageConfigPath, ...ROOMY_CLIENT_LIMITS, ...options.env,
  });
  const queries: string[] = [];
  const mailer = new CodeBox();
  const app = await startAllInOne(config, options.log ?? createLogger({ level: 'silent' }), { mailer, ormHooks: { onQuery: (sql) => queries.push(sql) } });
  const url = `http://127.0.0.1:${app.port}`;
  return {
    app, url, dataDir, storageConfigPath, db, queries, codes: mailer.codes,
    async signUp(name = `u${randomBytes(5).toString('hex')}`) {
      const email = `${name}@example.com`;
      await gql(url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
      const code = mailer.codes.get(email);
      const res = await gql<{ register: { accessToken: string; refreshToken: string; user: { id: string } } }>(
        url,
        'mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id } } }',
        { i: { username: name, email, password: 'a-good-password-1', code } },
      );
      const reg = res.data?.register;
      if (!reg) throw new Error(`sign-up failed: ${JSON.stringify(res.errors)}`);
      return { token: reg.accessToken, userId: reg.user.id, refreshToken: reg.refreshToken };
    },
    async close() {
      await app.close();
      await db.drop();
    },
  };
}

/** uploadFile through a GraphQL multipart request; `size`, when given, is sent as declared (any JSON value). */
export async function uploadSmall(url: string, token: string, name: string, bytes: Buffer | string, parentId: string | null = null, type = 'application/octet-stream', size?: unknown) {
  const form = new FormData();
  form.append('operations', JSON.stringify({
    query: 'mutation($p: ID, $f: Upload!, $s: Size) { uploadFile(parentId: $p, file: $f, size: $s) { id name size contentHash mimeType parentId } }',
    variables: { p: parentId, f: null, ...(size === undefined ? {} : { s: size }) },
  }));
  form.append('map', JSON.stringify({ 0: ['variables.f'] }));
  form.append('0', new Blob([bytes], { type }), name);
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' }, body: form });
  return (await res.json()) as { data?: { uploadFile: { id: string; name: string; size: number; contentHash: string; mimeType: string } } | null; errors?: { extensions?: { code?: string; details?: { reason?: string } } }[] };
}
