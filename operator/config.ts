/**
 * The operator process's configuration, read from the environment once (in `main.ts`) and
 * validated; nothing else in `operator/` reads process.env.
 */
import { hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { DatabaseOptions } from '../internal/platform/db/orm.ts';

const seconds = (fallback: number) => z.coerce.number().positive().default(fallback);

const EnvSchema = z.object({
  /** The namespace the operator watches and publishes into (the Downward API's metadata.namespace). */
  OPERATOR_NAMESPACE: z.string().min(1).optional(),
  /** The port of /healthz and /readyz (the chart's probes ask port `http`, i.e. PORT). */
  PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** When set, /metrics is served on this port only (never on PORT). */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** What the shared manifests set from the Downward API; used when OPERATOR_NAMESPACE is not. */
  K8S_NAMESPACE: z.string().min(1).default('default'),
  OPERATOR_LEASE_NAME: z.string().min(1).default('stratus-operator'),
  /** Unique per replica: the pod name (Downward API), else the hostname. */
  POD_NAME: z.string().min(1).optional(),
  OPERATOR_LEASE_DURATION_SECONDS: z.coerce.number().int().min(2).default(15),
  OPERATOR_PROBE_INTERVAL_SECONDS: seconds(60),
  OPERATOR_FAILED_PROBE_INTERVAL_SECONDS: seconds(10),
  OPERATOR_PROBE_TIMEOUT_SECONDS: seconds(15),
  OPERATOR_DELETION_POLL_SECONDS: seconds(15),
  DATABASE_URL: z.string().regex(/^(mysql|mariadb):\/\//, 'must be a mysql:// or mariadb:// URL').optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The build's commit, shown as stratus_build_info{commit} (the image build passes it). */
  STRATUS_COMMIT: z.string().regex(/^[\w.-]{1,64}$/, 'must be 1-64 letters, digits, _ . -').default('unknown'),
});

export interface OperatorConfig {
  namespace: string;
  http: { host: string; port: number; metricsPort: number | undefined };
  leaseName: string;
  identity: string;
  leaseDurationSeconds: number;
  probeIntervalMs: number;
  failedProbeIntervalMs: number;
  probeTimeoutMs: number;
  deletionPollMs: number;
  database: DatabaseOptions;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  commit: string;
}

export function loadOperatorConfig(env: Record<string, string | undefined>): OperatorConfig {
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`);
    throw new Error(`Invalid operator configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    namespace: e.OPERATOR_NAMESPACE ?? e.K8S_NAMESPACE,
    http: { host: e.HOST, port: e.PORT, metricsPort: e.METRICS_PORT },
    leaseName: e.OPERATOR_LEASE_NAME,
    identity: e.POD_NAME ?? `${hostname()}-${process.pid}`,
    leaseDurationSeconds: e.OPERATOR_LEASE_DURATION_SECONDS,
    probeIntervalMs: e.OPERATOR_PROBE_INTERVAL_SECONDS * 1000,
    failedProbeIntervalMs: e.OPERATOR_FAILED_PROBE_INTERVAL_SECONDS * 1000,
    probeTimeoutMs: e.OPERATOR_PROBE_TIMEOUT_SECONDS * 1000,
    deletionPollMs: e.OPERATOR_DELETION_POLL_SECONDS * 1000,
    database: e.DATABASE_URL
      ? { kind: 'mysql', url: e.DATABASE_URL, replicaUrls: [] }
      : { kind: 'sqlite', file: path.join(path.resolve(e.DATA_DIR), 'stratus.sqlite') },
    logLevel: e.LOG_LEVEL,
    commit: e.STRATUS_COMMIT,
  };
}
