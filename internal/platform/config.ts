/**
 * The process configuration: read from the environment exactly once, validated with zod into a
 * typed object. Everything below the entry point receives this object (or a slice of it); no
 * library reads `process.env`. A bad value stops the process with a message naming the variable.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

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
  REDIS_URL: optional(url(['redis:', 'rediss:'])),
  AMQP_URL: optional(url(['amqp:', 'amqps:'])),
  SMTP_URL: optional(url(['smtp:', 'smtps:'])),
  SMTP_FROM: z.string().default('Stratus <no-reply@stratus.local>'),
  STORAGE_CONFIG: optional(z.string().min(1)),
  JWT_SECRET: optional(z.string().min(32, 'must be at least 32 characters')),
  SERVICE_DISCOVERY: z.enum(['inprocess', 'k8s']).default('inprocess'),
  K8S_NAMESPACE: z.string().default('default'),
  SERVICE_PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  ROLE: z.enum(ROLES).default('all'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DEFAULT_QUOTA_BYTES: z.coerce.number().int().positive().default(10 * 1024 ** 3),
  PUBLIC_URL: optional(url(['http:', 'https:'])),
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
  redisUrl: string | undefined;
  amqpUrl: string | undefined;
  smtp: { url: string | undefined; from: string };
  storageConfigPath: string | undefined;
  jwtSecret: Uint8Array;
  discovery: { mode: 'inprocess' | 'k8s'; namespace: string; port: number };
  logLevel: Env['LOG_LEVEL'];
  defaultQuotaBytes: number;
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
  return {
    env: e.NODE_ENV,
    production,
    role: e.ROLE,
    http: { host: e.HOST, port: e.PORT, publicUrl: e.PUBLIC_URL },
    dataDir,
    database: e.DATABASE_URL
      ? { kind: 'mysql', url: e.DATABASE_URL, replicaUrls: e.DATABASE_REPLICA_URLS ?? [] }
      : { kind: 'sqlite', file: path.join(dataDir, 'stratus.sqlite') },
    redisUrl: e.REDIS_URL,
    amqpUrl: e.AMQP_URL,
    smtp: { url: e.SMTP_URL, from: e.SMTP_FROM },
    storageConfigPath: e.STORAGE_CONFIG,
    jwtSecret: new TextEncoder().encode(e.JWT_SECRET ?? devSecret(dataDir)),
    discovery: { mode: e.SERVICE_DISCOVERY, namespace: e.K8S_NAMESPACE, port: e.SERVICE_PORT },
    logLevel: e.LOG_LEVEL,
    defaultQuotaBytes: e.DEFAULT_QUOTA_BYTES,
  };
}

/** Development only: a secret generated once and kept in DATA_DIR so tokens survive restarts. */
function devSecret(dataDir: string): string {
  const file = path.join(dataDir, 'jwt-secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(48).toString('base64url');
    writeFileSync(file, secret, { mode: 0o600, flag: 'wx' });
    return secret;
  }
}
