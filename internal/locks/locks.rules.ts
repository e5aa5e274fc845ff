/**
 * WebDAV write locks as pure rules (RFC 4918 §6, §7, §9.10): which locks cover a path, which new
 * lock conflicts with which held one, and the Timeout header. No I/O here (locks.repository.ts).
 *
 * Paths are the lock's key: "/" for the drive's root, "/a/b" below it, each segment the drive's
 * name key (case-folded, names.ts), because "Report.pdf" and "report.PDF" are the same item.
 */
import { nameKey } from '../files/shared.ts';

export type LockScope = 'exclusive' | 'shared';
export type LockDepth = '0' | 'infinity';

export interface DavLock {
  /** `opaquelocktoken:<uuid>` (RFC 4918 Appendix C). */
  token: string;
  /** The lock root, as a lock key (see keyOf). */
  root: string;
  /** The lock root as the client named it (for lockdiscovery's lockroot href). */
  href: string;
  depth: LockDepth;
  scope: LockScope;
  /** The DAV:owner element the client sent, serialized (returned as sent, §14.17), or null. */
  owner: string | null;
  timeoutSeconds: number;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** Default when the client names no timeout, and the most it gets ("Infinite" is capped here). */
export const DEFAULT_TIMEOUT_SECONDS = 3600;
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
/** A person holds at most this many locks at once (a lock costs a hash field in the KV store). */
export const MAX_LOCKS_PER_PERSON = 10_000;
/** Bytes of a DAV:owner element kept. */
export const MAX_OWNER_BYTES = 4096;

/** The lock key of a path given as its decoded segments. */
export function keyOf(segments: readonly string[]): string {
  return `/${segments.map((s) => nameKey(s)).join('/')}`;
}

function isWithin(path: string, root: string): boolean {
  if (root === '/') return true;
  return path === root || path.startsWith(`${root}/`);
}

/** §6.1/§7.5: a lock covers its root, and with depth infinity everything below it. */
export function covers(lock: Pick<DavLock, 'root' | 'depth'>, path: string): boolean {
  return lock.depth === 'infinity' ? isWithin(path, lock.root) : lock.root === path;
}

/**
 * Whether a new lock on `root` with `depth` and `scope` conflicts with a held one (§6.2: "a shared
 * lock conflicts with an exclusive lock; an exclusive lock conflicts with any lock"). They meet when
 * one covers the other's root, or (new depth infinity) the held lock sits below the new root.
 */
export function conflicts(held: DavLock, wanted: { root: string; depth: LockDepth; scope: LockScope }): boolean {
  if (held.scope === 'shared' && wanted.scope === 'shared') return false;
  return covers(held, wanted.root) || (wanted.depth === 'infinity' && isWithin(held.root, wanted.root));
}

/**
 * The locks a write to `path` must hold the token of (§7.4, §9.6.1 for DELETE/MOVE of a
 * collection: every lock in the subtree when `subtree`).
 */
export function locksAffecting(locks: readonly DavLock[], path: string, subtree: boolean): DavLock[] {
  return locks.filter((l) => covers(l, path) || (subtree && isWithin(l.root, path)));
}

/**
 * Timeout header (§10.7): `TimeType *("," TimeType)` with TimeType = "Second-" n | "Infinite";
 * the server takes the first it supports. null when absent; a number of seconds (capped) else.
 */
export function parseTimeout(header: string | undefined): number | null {
  if (header === undefined || header.trim() === '') return null;
  for (const part of header.split(',')) {
    const value = part.trim();
    if (/^infinite$/i.test(value)) return MAX_TIMEOUT_SECONDS;
    const match = /^second-(\d{1,12})$/i.exec(value);
    if (match) return Math.min(MAX_TIMEOUT_SECONDS, Math.max(1, Number(match[1])));
  }
  return null;
}

/** The Timeout value of a lock as lockdiscovery reports it. */
export function timeoutHeader(lock: Pick<DavLock, 'timeoutSeconds'>): string {
  return `Second-${lock.timeoutSeconds}`;
}
