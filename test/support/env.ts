/**
 * Connection settings of the real services the tests use, written by `scripts/services.sh up`
 * into scripts/.env.test (variables of the same name in the environment win). A missing value is
 * an error, never a skip: a test that needs Redis must fail when Redis is absent.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function readDotEnv(file: string): Record<string, string> {
  try {
    const out: Record<string, string> = {};
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const match = /^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/.exec(line);
      if (match?.[1]) out[match[1]] = (match[2] ?? '').replace(/^['"]|['"]$/g, '');
    }
    return out;
  } catch {
    return {};
  }
}

/**
 * Every test process and server reaches Stratus from 127.0.0.1 and shares one Redis: the
 * per-client sign-in and e-mail-code limits (meant for one person's device) would refuse the
 * suites' hundreds of sign-ups. The test helpers give functional tests these roomy limits;
 * test/security passes '' for each to run with the documented defaults.
 */
export const ROOMY_CLIENT_LIMITS = { SIGNIN_ATTEMPTS_PER_CLIENT_MINUTE: '1000000', SIGNIN_FAILURES_PER_CLIENT: '1000000', EMAIL_CODES_PER_CLIENT_HOUR: '1000000', DROP_UPLOADS_PER_CLIENT_MINUTE: '1000000', DROP_UNLOCK_FAILURES_PER_CLIENT: '1000000' };

const fileEnv = readDotEnv(path.join(root, 'scripts/.env.test'));
const defaults: Record<string, string> = {
  TEST_DATABASE_URL: 'mysql://root@127.0.0.1:3306/test',
  TEST_DATABASE_PRIMARY_URL: 'mysql://root@127.0.0.1:3307/test',
  TEST_DATABASE_REPLICA_URL: 'mysql://root@127.0.0.1:3308/test',
  TEST_REDIS_URL: 'redis://127.0.0.1:6379',
  TEST_AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672',
  TEST_S3_ENDPOINT: 'http://127.0.0.1:7480',
  TEST_S3_REGION: 'us-east-1',
};

function need(name: string): string {
  const value = process.env[name] ?? fileEnv[name] ?? defaults[name];
  if (!value) throw new Error(`${name} is not set: run \`bash scripts/services.sh up\` first`);
  return value;
}

export const testEnv = {
  root,
  get databaseUrl() {
    return need('TEST_DATABASE_URL');
  },
  /** The MariaDB primary/replica pair (scripts/lib/mariadb-replica.sh), not the server above. */
  get databasePrimaryUrl() {
    return need('TEST_DATABASE_PRIMARY_URL');
  },
  get databaseReplicaUrl() {
    return need('TEST_DATABASE_REPLICA_URL');
  },
  get redisUrl() {
    return need('TEST_REDIS_URL');
  },
  get amqpUrl() {
    return need('TEST_AMQP_URL');
  },
  get s3() {
    return {
      endpoint: need('TEST_S3_ENDPOINT'),
      region: need('TEST_S3_REGION'),
      accessKeyId: need('TEST_S3_ACCESS_KEY'),
      secretAccessKey: need('TEST_S3_SECRET_KEY'),
      bucket: need('TEST_S3_BUCKET'),
      bucket2: need('TEST_S3_BUCKET_2'),
    };
  },
};

/**
 * A key prefix of this test file's own (each file has its own module instance): the suites share
 * one Redis that outlives them, and a rerun must not meet what an earlier run left in it — a share's
 * wrong-password budget per client address lasts 15 minutes, and every test client is 127.0.0.1.
 */
const FILE_KEY_PREFIX = `test:${randomBytes(6).toString('hex')}:`;

/**
 * REDIS_URL (database `db` when given) and this file's REDIS_KEY_PREFIX, for every Stratus process
 * a test file starts: the processes of one file share their keys and channels, as a deployment's do.
 */
export function redisEnv(db?: number): { REDIS_URL: string; REDIS_KEY_PREFIX: string } {
  return { REDIS_URL: db === undefined ? testEnv.redisUrl : `${testEnv.redisUrl}/${db}`, REDIS_KEY_PREFIX: FILE_KEY_PREFIX };
}
