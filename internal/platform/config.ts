/**
 * The process configuration: read from the environment exactly once, validated with zod into a
 * typed object. Everything below the entry point receives this object (or a slice of it); no
 * library reads `process.env`. A bad value stops the process with a message naming the variable.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from './private-files.ts';
import type { TracingOptions } from './tracing/tracing.ts';

const url = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `must be a URL with scheme ${protocols.join(' or ')}`);

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/** An IPv4/IPv6 address or CIDR block (`10.0.0.0/8`, `fd00::/8`). */
function isCidr(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

/** '' (a variable set to nothing, as charts often do) is the default. */
const emptyIsUnset = (value: unknown) => (value === '' ? undefined : value);

/** A per-client limit: a whole number ≥ 1; '' means the default. */
const perClientLimit = optional(z.coerce.number().int().min(1).max(1_000_000));

/** RFC 1123 DNS subdomain (a Service name is one label of it). */
const serviceHost = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/, 'must be a DNS name (lower-case letters, digits, - and .)');

/** The most versions VERSIONS_KEEP may keep per file: File.versions is priced at this many (api/graphql/list-sizes.ts). */
export const VERSIONS_KEEP_MAX = 100;

export const ROLES = ['all', 'api', 'accounts', 'files', 'uploads', 'transfer', 'operator'] as const;
export type Role = (typeof ROLES)[number];

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: optional(url(['mysql:', 'mariadb:'])),
  DATABASE_REPLICA_URLS: optional(
    z
      .string()
      .transform((value) => value.split(',').map((s) => s.trim()).filter(Boolean))
      .pipe(z.array(url(['mysql:', 'mariadb:']))),
  ),
  /** A replica further behind than this (or stopped longer) leaves the read rotation. */
  DATABASE_REPLICA_MAX_LAG_SECONDS: z.coerce.number().positive().default(5),
  DATABASE_REPLICA_CHECK_INTERVAL_MS: z.coerce.number().int().min(100).default(1000),
  /** After a person's request wrote, their requests read from the primary for this long. */
  DATABASE_READ_YOUR_WRITES_MS: z.coerce.number().int().min(0).default(5000),
  REDIS_URL: optional(url(['redis:', 'rediss:'])),
  /**
   * Put before every key and pub/sub channel, so deployments (or test runs) that share one Redis
   * never read each other's sessions, codes or rate-limit budgets.
   */
  REDIS_KEY_PREFIX: z.string().regex(/^[\w.:-]{0,100}$/, 'letters, digits and _ . : - only').default(''),
  AMQP_URL: optional(url(['amqp:', 'amqps:'])),
  /** Exchange name and queue-name prefix of the transfer jobs (`<prefix>.jobs`, `.retry.5s`, `.dead`). */
  TRANSFER_AMQP_PREFIX: z.string().regex(/^[\w.-]{1,200}$/).default('stratus.transfer'),
  /** Delays before each retry of a failed transfer; after the last one it is dead-lettered. */
  TRANSFER_RETRY_DELAYS_MS: z
    .string()
    .default('5000,30000,300000')
    .transform((value) => value.split(',').map((s) => Number(s.trim())))
    .pipe(z.array(z.number().int().positive()).min(1).max(10)),
  /** Wait between switching a blob's location and deleting the source object (in-flight downloads). */
  TRANSFER_SOURCE_GRACE_MS: z.coerce.number().int().min(0).default(5000),
  /** Transfer jobs this process runs at once; 0 runs no worker here (another process does). */
  TRANSFER_CONCURRENCY: z.coerce.number().int().min(0).max(64).default(2),
  /** Deliveries of one transfer attempt that may end unfinished (worker crashed or killed) before the dead-letter queue. */
  TRANSFER_MAX_DELIVERIES: z.coerce.number().int().min(1).max(50).default(5),
  /** Read each copied object back from the target and hash it (the streaming hash is always checked). */
  TRANSFER_REREAD_TARGET: z.enum(['true', 'false']).default('true'),
  SMTP_URL: optional(url(['smtp:', 'smtps:'])),
  SMTP_FROM: z.string().default('Stratus <no-reply@stratus.local>'),
  STORAGE_CONFIG: optional(z.string().min(1)),
  JWT_SECRET: optional(z.string().min(32, 'must be at least 32 characters')),
  SERVICE_DISCOVERY: z.enum(['inprocess', 'k8s']).default('inprocess'),
  K8S_NAMESPACE: z.string().default('default'),
  SERVICE_PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  /** DNS servers (host:port, comma list) for service names; unset: the system resolver (CoreDNS in a cluster). */
  SERVICE_DNS_SERVERS: optional(z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))),
  /**
   * The Service of each internal service (k8s discovery): a name in K8S_NAMESPACE, or a full host
   * name when it has a dot. Default: the service's own name. The chart sets `<release>-<role>`.
   */
  SERVICE_HOST_ACCOUNTS: optional(serviceHost),
  SERVICE_HOST_FILES: optional(serviceHost),
  SERVICE_HOST_UPLOADS: optional(serviceHost),
  SERVICE_HOST_TRANSFER: optional(serviceHost),
  /** Shared secret of internal calls (tRPC over HTTP): sent by callers, required by services. */
  INTERNAL_TOKEN: optional(z.string().min(32, 'must be at least 32 characters')),
  /** When set, /metrics is served on this port only, never on PORT (which the Ingress routes). */
  METRICS_PORT: optional(z.coerce.number().int().min(1).max(65535)),
  ROLE: z.enum(ROLES).default('all'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The build's commit, shown as stratus_build_info{commit} (the image build passes it). */
  STRATUS_COMMIT: z.preprocess(emptyIsUnset, z.string().regex(/^[\w.-]{1,64}$/, 'must be 1-64 letters, digits, _ . -').default('unknown')),
  /** Access-log lines a second before sampling (api/http/access-log.ts); 0 logs every request. */
  ACCESS_LOG_RATE: z.preprocess(emptyIsUnset, z.coerce.number().min(0).max(1_000_000).default(100)),
  DOWNLOAD_SPLICE: z.preprocess(emptyIsUnset, z.enum(['auto', 'off']).default('auto')),
  DEFAULT_QUOTA_BYTES: z.coerce.number().int().positive().default(10 * 1024 ** 3),
  PUBLIC_URL: optional(url(['http:', 'https:'])),
  /**
   * Proxies whose X-Forwarded-For is believed (comma list of addresses or CIDR blocks). Default:
   * none — the client address is the TCP peer's, so no client can pick its own per-address limits.
   */
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((value) => value.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.string().refine(isCidr, 'must be a comma list of IP addresses or CIDR blocks (10.0.0.0/8, fd00::/8)'))),
  /** Sign-in password checks (scrypt) a minute per client address. */
  SIGNIN_ATTEMPTS_PER_CLIENT_MINUTE: perClientLimit,
  /** Failed sign-ins per client address in 15 minutes before it backs off. */
  SIGNIN_FAILURES_PER_CLIENT: perClientLimit,
  /** requestEmailCode calls an hour per client address. */
  EMAIL_CODES_PER_CLIENT_HOUR: perClientLimit,
  /** Uploads a client address may start through file-drop links a minute (POST /drop/{token}/tus/). */
  DROP_UPLOADS_PER_CLIENT_MINUTE: perClientLimit,
  /** Wrong upload-link passwords (and dead links tried) per client address in 15 minutes. */
  DROP_UNLOCK_FAILURES_PER_CLIENT: perClientLimit,
  /** Older versions kept per file; adding one beyond this prunes the oldest in the same transaction. */
  VERSIONS_KEEP: z.coerce.number().int().min(0).max(VERSIONS_KEEP_MAX).default(10),
  /** Versions older than this many days are pruned (on a new version and by a periodic sweep); 0: no age limit. */
  VERSIONS_MAX_AGE_DAYS: z.coerce.number().int().min(0).max(36_500).default(0),
  /** Activity events older than this many days are deleted by a periodic sweep (internal/activity). */
  ACTIVITY_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(90),
  /** OTLP/HTTP collector (traces go to `<endpoint>/v1/traces`); unset: tracing is off. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(url(['http:', 'https:'])),
  /** The `service.name` of this process's spans; default `stratus-<role>`. */
  OTEL_SERVICE_NAME: optional(z.string().min(1).max(100)),
  /** Share of new traces recorded (a client's sampled flag in `traceparent` wins). */
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).default(1),
  /** Longest wait before finished spans are sent, in ms. */
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(1).max(600_000).default(5000),
});

export type Env = z.infer<typeof EnvSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  production: boolean;
  role: Role;
  http: { host: string; port: number; publicUrl: string | undefined };
  dataDir: string;
  database:
    | { kind: 'sqlite'; file: string }
    | { kind: 'mysql'; url: string; replicaUrls: string[] };
  /** Read/write split: replica health bound and the per-person read-your-writes window. */
  replicaRouting: { maxLagSeconds: number; checkIntervalMs: number; readYourWritesMs: number };
  redisUrl: string | undefined;
  /** '' for none; see REDIS_KEY_PREFIX. */
  redisKeyPrefix: string;
  amqpUrl: string | undefined;
  transfer: { amqpPrefix: string; retryDelaysMs: number[]; sourceGraceMs: number; concurrency: number; maxDeliveries: number; rereadTarget: boolean };
  smtp: { url: string | undefined; from: string };
  storageConfigPath: string | undefined;
  jwtSecret: Uint8Array;
  discovery: {
    mode: 'inprocess' | 'k8s';
    namespace: string;
    port: number;
    dnsServers: string[] | undefined;
    hosts: Partial<Record<'accounts' | 'files' | 'uploads' | 'transfer', string>>;
    internalToken: string | undefined;
  };
  metricsPort: number | undefined;
  logLevel: Env['LOG_LEVEL'];
  /** STRATUS_COMMIT: the build's commit ('unknown' when not given). */
  commit: string;
  /** ACCESS_LOG_RATE: access-log lines a second logged in full before sampling starts (0: no sampling). */
  accessLogRate: number;
  /**
   * DOWNLOAD_SPLICE: `auto` (default) moves a big proxied download's bytes from the object store's
   * socket to the client's inside the kernel where the splice addon is built (Linux); `off`
   * streams them through the process.
   */
  downloadSplice: 'auto' | 'off';
  defaultQuotaBytes: number;
  /** Addresses/CIDR blocks of the proxies whose X-Forwarded-For is believed (express `trust proxy`). */
  trustedProxies: string[];
  /** Per-client-address limits on signing in and e-mail codes (internal/accounts/sign-in-guard.ts). */
  clientLimits: { signInAttemptsPerMinute: number; signInFailuresPerClient: number; emailCodesPerHour: number; dropUploadsPerMinute: number; dropUnlockFailures: number };
  /** File version retention (internal/files/versions): how many to keep, and a maximum age in days (0: none). */
  versions: { keep: number; maxAgeDays: number };
  /** Days an activity event is kept (internal/activity/activity.sweeper.ts). */
  activityRetentionDays: number;
  /** OpenTelemetry tracing (internal/platform/tracing); undefined: off. */
  tracing: TracingOptions | undefined;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Validate `env` (normally `process.env`) into a Config; throws ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  const production = e.NODE_ENV === 'production';
  if (production && !e.JWT_SECRET) throw new ConfigError('Invalid configuration:\n  JWT_SECRET: required in production');
  if (production && e.SERVICE_DISCOVERY === 'k8s' && !e.INTERNAL_TOKEN) {
    throw new ConfigError('Invalid configuration:\n  INTERNAL_TOKEN: required in production with SERVICE_DISCOVERY=k8s (services refuse calls without it)');
  }
  return {
    env: e.NODE_ENV,
    production,
    role: e.ROLE,
    http: { host: e.HOST, port: e.PORT, publicUrl: e.PUBLIC_URL },
    dataDir,
    database: e.DATABASE_URL
      ? { kind: 'mysql', url: e.DATABASE_URL, replicaUrls: e.DATABASE_REPLICA_URLS ?? [] }
      : { kind: 'sqlite', file: path.join(dataDir, 'stratus.sqlite') },
    replicaRouting: {
      maxLagSeconds: e.DATABASE_REPLICA_MAX_LAG_SECONDS,
      checkIntervalMs: e.DATABASE_REPLICA_CHECK_INTERVAL_MS,
      readYourWritesMs: e.DATABASE_READ_YOUR_WRITES_MS,
    },
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    amqpUrl: e.AMQP_URL,
    transfer: {
      amqpPrefix: e.TRANSFER_AMQP_PREFIX,
      retryDelaysMs: e.TRANSFER_RETRY_DELAYS_MS,
      sourceGraceMs: e.TRANSFER_SOURCE_GRACE_MS,
      concurrency: e.TRANSFER_CONCURRENCY,
      maxDeliveries: e.TRANSFER_MAX_DELIVERIES,
      rereadTarget: e.TRANSFER_REREAD_TARGET === 'true',
    },
    smtp: { url: e.SMTP_URL, from: e.SMTP_FROM },
    storageConfigPath: e.STORAGE_CONFIG,
    jwtSecret: new TextEncoder().encode(e.JWT_SECRET ?? devSecret(dataDir)),
    discovery: {
      mode: e.SERVICE_DISCOVERY,
      namespace: e.K8S_NAMESPACE,
      port: e.SERVICE_PORT,
      dnsServers: e.SERVICE_DNS_SERVERS,
      hosts: Object.fromEntries(
        ([['accounts', e.SERVICE_HOST_ACCOUNTS], ['files', e.SERVICE_HOST_FILES], ['uploads', e.SERVICE_HOST_UPLOADS], ['transfer', e.SERVICE_HOST_TRANSFER]] as const).filter(([, host]) => host !== undefined),
      ),
      internalToken: e.INTERNAL_TOKEN,
    },
    metricsPort: e.METRICS_PORT,
    logLevel: e.LOG_LEVEL,
    commit: e.STRATUS_COMMIT,
    accessLogRate: e.ACCESS_LOG_RATE,
    downloadSplice: e.DOWNLOAD_SPLICE,
    defaultQuotaBytes: e.DEFAULT_QUOTA_BYTES,
    trustedProxies: e.TRUSTED_PROXIES,
    clientLimits: {
      signInAttemptsPerMinute: e.SIGNIN_ATTEMPTS_PER_CLIENT_MINUTE ?? 20,
      signInFailuresPerClient: e.SIGNIN_FAILURES_PER_CLIENT ?? 10,
      emailCodesPerHour: e.EMAIL_CODES_PER_CLIENT_HOUR ?? 20,
      dropUploadsPerMinute: e.DROP_UPLOADS_PER_CLIENT_MINUTE ?? 60,
      dropUnlockFailures: e.DROP_UNLOCK_FAILURES_PER_CLIENT ?? 10,
    },
    versions: { keep: e.VERSIONS_KEEP, maxAgeDays: e.VERSIONS_MAX_AGE_DAYS },
    activityRetentionDays: e.ACTIVITY_RETENTION_DAYS,
    tracing: tracingOf(e),
  };
}

/** Tracing is on only with an OTLP endpoint. */
function tracingOf(e: Env): TracingOptions | undefined {
  if (!e.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  return { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME ?? `stratus-${e.ROLE}`, sampleRatio: e.OTEL_TRACES_SAMPLER_ARG, exportDelayMs: e.OTEL_BSP_SCHEDULE_DELAY };
}

/** Development only: a secret generated once and kept in DATA_DIR so tokens survive restarts. */
function devSecret(dataDir: string): string {
  const file = path.join(dataDir, 'jwt-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    ensurePrivateDir(dataDir);
    const secret = randomBytes(48).toString('base64url');
    writeFileSync(file, secret, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    return secret;
  }
}
