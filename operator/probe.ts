/**
 * From a StorageBackend and its Secret to a routing-file backend entry, and a live probe of it:
 * write, read back and delete `stratus-probe/<uuid>` through the same driver the services use
 * (`createStore`), so Ready means "Stratus can store bytes there", not merely "the endpoint
 * answers". Failures come back as a reason and a message for the conditions; neither ever holds a
 * credential value.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { AppError } from '../internal/platform/errors.ts';
import { parseRoutingConfig, type BackendConfig } from '../internal/storage/routing/routing-config.ts';
import { createStore } from '../internal/storage/routing/store-factory.ts';
import type { BackendType, StorageBackend } from './types.ts';

export type ProbeReason = 'InvalidSpec' | 'SecretNotFound' | 'SecretKeyMissing' | 'ProbeFailed' | 'ProbeTimeout' | 'ProbeMismatch';

export type ProbeResult = { ok: true } | { ok: false; reason: ProbeReason; message: string };

export type ConfigResult = { ok: true; config: BackendConfig } | { ok: false; reason: ProbeReason; message: string };

/** The credential fields each driver needs (the Secret's keys, unless `keys` renames them). */
export const CREDENTIAL_FIELDS: Record<BackendType, string[]> = {
  ceph: ['accessKeyId', 'secretAccessKey'],
  oss: ['accessKeyId', 'accessKeySecret'],
  cos: ['secretId', 'secretKey'],
  local: [],
};

type Failure = { ok: false; reason: ProbeReason; message: string };

/**
 * `secret` is the decoded Secret data, or null when the Secret does not exist (undefined when the
 * spec names none). The entry is validated with the routing file's own schema.
 */
export function backendConfigOf(backend: StorageBackend, secret: Record<string, string> | null | undefined): ConfigResult {
  const credentials = credentialsOf(backend.spec, secret);
  if (!credentials.ok) return credentials;
  return validated(backend.metadata.name, routingEntry(backend, credentials.values));
}

/** The driver's credential fields from the Secret (none for types that need none). */
function credentialsOf(spec: StorageBackend['spec'], secret: Record<string, string> | null | undefined): { ok: true; values: Record<string, string> } | Failure {
  const fields = CREDENTIAL_FIELDS[spec.type] ?? [];
  const values: Record<string, string> = {};
  if (fields.length === 0) return { ok: true, values };
  const ref = spec.credentialsSecretRef;
  if (!ref) return { ok: false, reason: 'InvalidSpec', message: `spec.credentialsSecretRef is required for type ${spec.type}` };
  if (secret === null || secret === undefined) return { ok: false, reason: 'SecretNotFound', message: `Secret "${ref.name}" not found` };
  const missing: string[] = [];
  for (const field of fields) {
    const key = ref.keys?.[field] ?? field;
    const value = secret[key];
    if (value === undefined || value === '') missing.push(key);
    else values[field] = value;
  }
  if (missing.length > 0) return { ok: false, reason: 'SecretKeyMissing', message: `Secret "${ref.name}" has no ${missing.join(', ')}` };
  return { ok: true, values };
}

function routingEntry({ spec, metadata }: StorageBackend, credentials: Record<string, string>): Record<string, unknown> {
  // Optional fields go in only when set, so the routing schema (strict) judges them: a
  // publicEndpoint on a type without one is InvalidSpec rather than silently dropped.
  const optional = {
    ...(spec.downloads === undefined ? {} : { downloads: spec.downloads }),
    ...(spec.publicEndpoint === undefined ? {} : { publicEndpoint: spec.publicEndpoint }),
  };
  return spec.type === 'local'
    ? { name: metadata.name, type: 'local', path: spec.path, state: 'active', ...optional }
    : { name: metadata.name, type: spec.type, endpoint: spec.endpoint, region: spec.region, bucket: spec.bucket, credentials, state: 'active', ...optional };
}

/** The entry judged by the routing file's own schema; its issues named by spec field. */
function validated(name: string, entry: Record<string, unknown>): ConfigResult {
  try {
    const parsed = parseRoutingConfig({ default: name, backends: [entry] });
    const config = parsed.backends[0];
    if (!config) throw new Error('unreachable: one backend in, none out');
    return { ok: true, config };
  } catch (error) {
    const issues = AppError.is(error) ? ((error.details?.issues as { field: string; message: string }[] | undefined) ?? []) : [];
    const message = issues.map((i) => `${i.field.replace(/^backends\[0\]\./, 'spec.')}: ${i.message}`).join('; ') || String(error);
    return { ok: false, reason: 'InvalidSpec', message };
  }
}

/** Writes, reads back and deletes a probe object; never throws. */
export async function probeBackend(config: BackendConfig, timeoutMs: number): Promise<ProbeResult> {
  const store = createStore(config);
  const key = `stratus-probe/${randomUUID()}`;
  const payload = randomBytes(64);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: 'ProbeTimeout', message: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const attempt = (async (): Promise<ProbeResult> => {
    let step = 'write';
    try {
      await store.put(key, Readable.from([payload]), payload.length, { contentType: 'application/octet-stream' });
      step = 'read';
      const got = await store.get(key);
      const chunks: Buffer[] = [];
      for await (const chunk of got.body) chunks.push(Buffer.from(chunk as Uint8Array));
      step = 'delete';
      await store.delete(key);
      if (!Buffer.concat(chunks).equals(payload)) return { ok: false, reason: 'ProbeMismatch', message: 'the probe object read back differs from what was written' };
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: 'ProbeFailed', message: `${step} of the probe object failed: ${describe(error)}` };
    }
  })();
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
    // A timed-out attempt may still be running; close the driver once it has settled.
    void attempt.finally(() => store.close().catch(() => undefined));
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${typeof code === 'string' ? `${code} ` : ''}${error.message}${cause}`.slice(0, 500);
}
