/** Routing rules of the transfer worker, read from the live routing config. */
import type { BackendSummary, RoutingConfig } from '../storage/index.ts';

/**
 * Where blobs on `name` belong now, or null when they stay:
 * - a `draining` backend empties into the default (or, when the default is itself a staging
 *   backend, straight into the backend it stages for, so nothing moves twice);
 * - a backend with `stagingFor: X` hands its blobs on to X while X is active.
 */
export function destinationOf(backends: readonly BackendSummary[], name: string): string | null {
  const byName = new Map(backends.map((b) => [b.name, b]));
  const backend = byName.get(name);
  if (!backend) return null;
  const active = (n: string | null) => (n !== null && byName.get(n)?.state === 'active' ? n : null);
  if (backend.state === 'draining') {
    const fallback = backends.find((b) => b.isDefault);
    if (!fallback) return null;
    const final = active(fallback.stagingFor) ?? fallback.name;
    return final === name ? null : final;
  }
  return active(backend.stagingFor);
}

/** True when two backend names reach the same bucket or directory (a move would delete its own copy). */
export function sameLocation(config: RoutingConfig, a: string, b: string): boolean {
  const where = (name: string) => {
    const backend = config.backends.find((x) => x.name === name);
    if (!backend) return undefined;
    return backend.type === 'local' ? `local:${backend.path}` : `${backend.type}:${backend.endpoint}:${backend.bucket}`;
  };
  const left = where(a);
  return left !== undefined && left === where(b);
}
