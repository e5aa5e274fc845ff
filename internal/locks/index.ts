/**
 * WebDAV write locks, kept in the shared key-value store so every gateway replica sees them.
 * The gateway builds the service from its runtime's KV store (no tRPC hop: a lock check is one
 * hash read per write).
 */
import type { KeyValueStore } from '../platform/kv/kv.ts';
import { LocksRepository } from './locks.repository.ts';
import { LocksService } from './locks.service.ts';

export function createLocks(kv: KeyValueStore, now: () => number = Date.now): LocksService {
  return new LocksService(new LocksRepository(kv, now), now);
}

export { LocksService, type LockRequest } from './locks.service.ts';
export {
  DEFAULT_TIMEOUT_SECONDS, MAX_OWNER_BYTES, MAX_TIMEOUT_SECONDS, keyOf, parseTimeout, timeoutHeader,
  type DavLock, type LockDepth, type LockScope,
} from './locks.rules.ts';
