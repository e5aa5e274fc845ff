/**
 * The embedded stack for the fast tier (vitest.fast.config.ts): what `startAllInOne` runs with no
 * DATABASE_URL, REDIS_URL or AMQP_URL — SQLite, the in-memory key-value store, queue and pub/sub,
 * and the local disk under DATA_DIR — so a test here needs no service at all.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { startAllInOne, type RunningApp } from '../../api/all-in-one.ts';
import { loadConfig } from '../../internal/platform/config.ts';
import { AppError } from '../../internal/platform/errors.ts';
import type { Runtime } from '../../internal/platform/runtime.ts';
import { createLogger } from '../../internal/platform/logger.ts';
import { runWithContext, type Viewer } from '../../internal/platform/request-context.ts';
import { normalizeError } from '../../internal/platform/rpc/rpc.errors.ts';
import type { ServiceContext } from '../../internal/platform/rpc/trpc.ts';
import { tempDir } from './db.ts';
import { ROOMY_CLIENT_LIMITS } from './env.ts';
import { gql } from './graphql.ts';
import { CodeBox } from './mail.ts';
import { TEST_JWT_SECRET } from './runtime.ts';

const log = createLogger({ level: 'silent' });

/**
 * A tRPC caller as `viewer`, from a router's caller factory: `callerAs(createCallerFactory(r), v)`.
 * Each call also runs in that request context, as the gateway's middleware runs a request: a
 * service calling another service in process (localClient) then passes the same viewer on.
 */
export function callerAs<C extends object>(factory: (ctx: ServiceContext) => C, viewer: Viewer | undefined, ip = '127.0.0.1'): C {
  const context = { requestId: `test-${randomBytes(4).toString('hex')}`, viewer, ip };
  return inContext(factory({ ...context, log }), context);
}

/** Wraps a (nested) caller so every procedure call runs in the request context. */
function inContext<T extends object>(target: T, context: Parameters<typeof runWithContext>[0]): T {
  return new Proxy(target, {
    // tRPC callers are proxies all the way down: `caller.shares.create` is reached by two gets.
    get: (object, key) => {
      const value: unknown = Reflect.get(object, key);
      return typeof value === 'function' || (typeof value === 'object' && value !== null) ? inContext(value, context) : value;
    },
    apply: (fn, self, args: unknown[]) => runWithContext(context, () => Reflect.apply(fn as (...a: unknown[]) => unknown, self, args)),
  });
}

/**
 * How a call failed, as `CODE:reason` (`CODE` without a reason, 'no error' when it succeeded):
 * the AppError a caller's TRPCError carries, or the one a service client rebuilds.
 */
export async function failureOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'no error',
    (error: unknown) => {
      const cause = (error as { cause?: unknown }).cause;
      const app = cause instanceof AppError ? cause : normalizeError(error);
      const reason = app.details?.reason;
      return typeof reason === 'string' ? `${app.code}:${reason}` : app.code;
    },
  );
}

/** A new person's viewer (not an admin). */
export const newViewer = (name = 'someone'): Viewer => ({ userId: randomUUID(), username: name, isAdmin: false });

/**
 * The bytes (under 4 MiB) as a blob on the runtime's default backend, ready for the files router's commitFile
 * (which records the blob and charges the quota), with the content hash computed here.
 */
export async function storedBlob(runtime: Runtime, content: string) {
  const { name: backend, store } = runtime.storage.defaultBackend();
  const bytes = Buffer.from(content);
  const storageKey = `test/${randomUUID()}`;
  await store.put(storageKey, Readable.from([bytes]), bytes.length);
  // One block (under 4 MiB): SHA-256 of its SHA-256; the empty file hashes the empty string.
  const blocks = bytes.length ? createHash('sha256').update(bytes).digest() : Buffer.alloc(0);
  return { backend, storageKey, size: bytes.length, contentHash: createHash('sha256').update(blocks).digest('hex') };
}

export interface EmbeddedApp {
  app: RunningApp;
  url: string;
  dataDir: string;
  /** Registers a new person through GraphQL and returns their access token and id. */
  signUp(name?: string): Promise<{ token: string; userId: string; username: string }>;
  close(): Promise<void>;
}

/** The all-in-one app on the embedded stack, listening on 127.0.0.1 (an ephemeral port). */
export async function startEmbeddedApp(env: Record<string, string> = {}): Promise<EmbeddedApp> {
  const dataDir = tempDir('stratus-embedded-');
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'silent', ...ROOMY_CLIENT_LIMITS, ...env });
  const mailer = new CodeBox();
  const app = await startAllInOne(config, log, { mailer });
  const url = `http://127.0.0.1:${app.port}`;
  return {
    app,
    url,
    dataDir,
    async signUp(username = `u${randomBytes(5).toString('hex')}`) {
      const email = `${username}@example.com`;
      await gql(url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
      const res = await gql<{ register: { accessToken: string; user: { id: string } } }>(
        url,
        'mutation($i: RegisterInput!) { register(input: $i) { accessToken user { id } } }',
        { i: { username, email, password: 'a-good-password-1', code: mailer.codes.get(email) } },
      );
      const reg = res.data?.register;
      if (!reg) throw new Error(`sign-up failed: ${JSON.stringify(res.errors)}`);
      return { token: reg.accessToken, userId: reg.user.id, username };
    },
    close: () => app.close(),
  };
}
