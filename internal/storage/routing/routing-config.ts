/**
 * The storage routing file (`STORAGE_CONFIG`; the operator publishes the same JSON into the
 * ConfigMap `stratus-storage`): which backends exist, how to reach them, and which one takes new
 * uploads. Parsing is strict (an unknown key is refused rather than ignored, so a typo such as
 * `"stat": "draining"` cannot silently leave a backend active) and reports every bad field at once,
 * so an operator fixes the file in one round.
 */
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../../platform/errors.ts';

/** DNS-label-like, so a name is safe in metrics labels, ConfigMap keys and Kubernetes object names. */
export const BACKEND_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const BACKEND_STATES = ['active', 'draining', 'readonly'] as const;
export type BackendState = (typeof BACKEND_STATES)[number];

const name = z.string().regex(BACKEND_NAME_PATTERN, `must match ${String(BACKEND_NAME_PATTERN)}`);
const text = z.string().min(1);
const endpoint = z.string().refine((value) => {
  try {
    const protocol = new URL(value).protocol;
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an http(s) URL');
// S3, OSS and COS all limit bucket names to 3..63 characters.
const bucket = z.string().min(3).max(63);

/** Fields every backend has, whatever its type. */
const common = {
  name,
  state: z.enum(BACKEND_STATES),
  /** Uploads complete here; the transfer worker then moves the blobs to the named backend. */
  stagingFor: name.optional(),
  /**
   * How `GET /files/{id}/content` serves this backend's bytes. `proxy` (the default) streams them
   * through Stratus, which works wherever Stratus does. `redirect` answers a plain GET (no
   * If-Range, at most one range) with 302 to a short-lived presigned URL, so the bytes go from the
   * backend to the client without a hop; only for backends the clients can reach (see
   * `publicEndpoint`). A backend that cannot sign URLs (local) is always proxied.
   */
  downloads: z.enum(['proxy', 'redirect']).optional(),
};

const CephBackend = z.strictObject({
  ...common,
  type: z.literal('ceph'),
  endpoint,
  /**
   * The address clients use for this RGW when it differs from `endpoint` (an in-cluster Service
   * name): presigned URLs are signed for it, since SigV4 signs the Host header.
   */
  publicEndpoint: endpoint.optional(),
  region: text,
  bucket,
  credentials: z.strictObject({ accessKeyId: text, secretAccessKey: text }),
});

const OssBackend = z.strictObject({
  ...common,
  type: z.literal('oss'),
  endpoint,
  region: text,
  bucket,
  credentials: z.strictObject({ accessKeyId: text, accessKeySecret: text }),
});

const CosBackend = z.strictObject({
  ...common,
  type: z.literal('cos'),
  endpoint,
  region: text,
  bucket,
  credentials: z.strictObject({ secretId: text, secretKey: text }),
});

const LocalBackend = z.strictObject({
  ...common,
  type: z.literal('local'),
  /** Absolute, or relative to the routing file's directory. */
  path: text,
  // Tolerated (and unused) so the operator can publish every backend with the same fields.
  region: text.optional(),
});

const Backend = z.discriminatedUnion('type', [CephBackend, OssBackend, CosBackend, LocalBackend]);

const RoutingConfigSchema = z.strictObject({
  default: name,
  backends: z.array(Backend).min(1),
});

export type RoutingConfig = z.infer<typeof RoutingConfigSchema>;
export type BackendConfig = z.infer<typeof Backend>;
export type CephBackendConfig = z.infer<typeof CephBackend>;
export type OssBackendConfig = z.infer<typeof OssBackend>;
export type CosBackendConfig = z.infer<typeof CosBackend>;
export type LocalBackendConfig = z.infer<typeof LocalBackend>;

export interface ParseRoutingOptions {
  /** Directory that relative `local` paths are resolved against (the routing file's directory). */
  baseDir?: string;
}

export interface RoutingIssue {
  /** `backends[1].bucket`, `default`, ... */
  field: string;
  message: string;
}

/**
 * Validates a parsed JSON value into a RoutingConfig. Throws AppError BAD_INPUT whose message names
 * every bad field; `details.issues` holds them as `{ field, message }` (never a value, so no
 * credential can leak into a log or a response).
 */
export function parseRoutingConfig(json: unknown, options: ParseRoutingOptions = {}): RoutingConfig {
  const parsed = RoutingConfigSchema.safeParse(json);
  const issues: RoutingIssue[] = parsed.success ? [] : parsed.error.issues.flatMap(toIssues);
  // Cross-field rules run on the raw input too, so a file with a short bucket AND a bad default
  // reports both instead of revealing the second only after the first is fixed.
  issues.push(...crossFieldIssues(json));
  if (!parsed.success || issues.length > 0) {
    const unique = dedupe(issues);
    throw new AppError(
      'BAD_INPUT',
      `Invalid storage routing config: ${unique.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
      { details: { reason: 'invalid_routing_config', issues: unique, fields: unique.map((i) => i.field) } },
    );
  }
  const config = parsed.data;
  if (options.baseDir === undefined) return config;
  const baseDir = options.baseDir;
  return {
    ...config,
    backends: config.backends.map((b) => (b.type === 'local' ? { ...b, path: path.resolve(baseDir, b.path) } : b)),
  };
}

/** No routing file: everything on local disk under the data directory. */
export function defaultRoutingConfig(dataDir: string): RoutingConfig {
  return {
    default: 'local',
    backends: [{ name: 'local', type: 'local', path: path.join(path.resolve(dataDir), 'objects'), state: 'active' }],
  };
}

function fieldOf(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(root)' : out;
}

function toIssues(issue: z.core.$ZodIssue): RoutingIssue[] {
  // One entry per unknown key, so the message names `backends[0].buckett`, not just `backends[0]`.
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ field: fieldOf([...issue.path, key]), message: 'unknown key' }));
  }
  return [{ field: fieldOf(issue.path), message: issue.message }];
}

function crossFieldIssues(json: unknown): RoutingIssue[] {
  if (!isRecord(json) || !Array.isArray(json.backends)) return [];
  const issues: RoutingIssue[] = [];
  const byName = new Map<string, Record<string, unknown>>();
  json.backends.forEach((backend: unknown, index) => {
    if (!isRecord(backend) || typeof backend.name !== 'string') return;
    if (byName.has(backend.name)) {
      issues.push({ field: `backends[${index}].name`, message: `duplicate backend name "${backend.name}"` });
    } else {
      byName.set(backend.name, backend);
    }
  });
  json.backends.forEach((backend: unknown, index) => {
    if (!isRecord(backend) || typeof backend.stagingFor !== 'string') return;
    const field = `backends[${index}].stagingFor`;
    if (backend.stagingFor === backend.name) issues.push({ field, message: 'must name another backend, not itself' });
    else if (!byName.has(backend.stagingFor)) issues.push({ field, message: `names no backend ("${backend.stagingFor}")` });
  });
  if (typeof json.default === 'string') {
    const target = byName.get(json.default);
    if (target === undefined) {
      issues.push({ field: 'default', message: `names no backend ("${json.default}")` });
    } else if (target.state !== 'active') {
      // New uploads go to the default; a draining or read-only backend must not receive them.
      issues.push({ field: 'default', message: `backend "${json.default}" is ${String(target.state)}, the default must be active` });
    }
  }
  return issues;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function dedupe(issues: RoutingIssue[]): RoutingIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.field}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
