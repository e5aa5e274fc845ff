/**
 * Chunk receipts of upload sessions in the key-value store (Redis in production):
 *   up:<sid>:chunks      hash  index → {"e": etag, "s": size, "d": [hex block digests] | null}
 *   up:<sid>:bytes       bytes of the recorded chunks (grows only when a new index is recorded)
 *   up:<sid>:inflight    bytes of chunks still streaming (for live progress)
 *   up:<sid>:alive       marker: receipts are present (its absence after a Redis loss triggers a
 *                        rebuild from the backend's listParts)
 *   up:<sid>:lock:<idx>  one upload of a given chunk at a time
 *   up:<sid>:completing  the lease of the request completing the session (renewed while it
 *                        works); a COMPLETING session without it was left by a crash
 * Every key but the locks and the lease has the session's idle TTL, refreshed on activity.
 */
import { randomUUID } from 'node:crypto';
import type { KeyValueStore } from '../platform/kv/kv.ts';
import type { PartInfo } from '../storage/object-store.ts';

export interface Receipt {
  etag: string;
  size: number;
  /** SHA-256 of each 4 MiB block of the chunk, in order; null when rebuilt from listParts. */
  digests: string[] | null;
}

const keys = (sid: string) => ({
  chunks: `up:${sid}:chunks`,
  bytes: `up:${sid}:bytes`,
  inflight: `up:${sid}:inflight`,
  alive: `up:${sid}:alive`,
  lock: (index: number) => `up:${sid}:lock:${index}`,
  completing: `up:${sid}:completing`,
});

/** The completion lease lives 30 s and is renewed every 10 s while a completion works. */
export const COMPLETION_LEASE_MS = 30_000;

/**
 * A chunk lock lives 20 s and is renewed by the progress reports of the stream that holds it (a
 * few times a second), so a server that dies mid-chunk blocks that chunk for at most 20 s.
 */
export const CHUNK_LOCK_MS = 20_000;

export class ChunkReceipts {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly ttlMs: number,
  ) {}

  async init(sid: string): Promise<void> {
    await this.kv.set(keys(sid).alive, '1', { ttlMs: this.ttlMs });
  }

  /** False when the receipts were lost (Redis flushed or restarted without persistence). */
  present(sid: string): Promise<boolean> {
    return this.kv.exists(keys(sid).alive);
  }

  /** Rebuilds receipts from the backend's own list of parts (part number = index + 1). */
  async rebuild(sid: string, parts: PartInfo[]): Promise<void> {
    const k = keys(sid);
    for (const part of parts) {
      const receipt: Receipt = { etag: part.etag, size: part.size, digests: null };
      if (await this.kv.hsetnx(k.chunks, String(part.partNumber - 1), JSON.stringify(receipt))) {
        await this.kv.incrby(k.bytes, part.size);
      }
    }
    await this.init(sid);
    await this.touch(sid);
  }

  /**
   * Records a chunk the backend acknowledged, replacing an earlier receipt of the same index (a
   * resend overwrote the part: S3 "If you upload a new part using the same part number that was
   * used with a previous part, the previously uploaded part is overwritten"). `unchanged` when the
   * same bytes had been recorded already. The caller holds the chunk's lock, so no two records of
   * one index race.
   */
  async record(sid: string, index: number, receipt: Receipt): Promise<'added' | 'replaced' | 'unchanged'> {
    const k = keys(sid);
    const json = JSON.stringify(receipt);
    let outcome: 'added' | 'replaced' | 'unchanged' = 'added';
    if (await this.kv.hsetnx(k.chunks, String(index), json)) {
      await this.kv.incrby(k.bytes, receipt.size);
    } else {
      const before = (await this.all(sid)).get(index);
      const same = before?.digests && receipt.digests && before.digests.join() === receipt.digests.join();
      outcome = same ? 'unchanged' : 'replaced';
      await this.kv.hset(k.chunks, { [String(index)]: json });
    }
    await this.touch(sid);
    return outcome;
  }

  /** Drops the receipt of one chunk (its part was overwritten by bytes that were refused). */
  async forget(sid: string, index: number, size: number): Promise<void> {
    const k = keys(sid);
    if ((await this.kv.hdel(k.chunks, String(index))) === 1) await this.kv.incrby(k.bytes, -size);
  }

  async all(sid: string): Promise<Map<number, Receipt>> {
    const raw = await this.kv.hgetall(keys(sid).chunks);
    const out = new Map<number, Receipt>();
    for (const [index, json] of Object.entries(raw)) out.set(Number(index), JSON.parse(json) as Receipt);
    return out;
  }

  async counts(sid: string): Promise<{ chunks: number; bytes: number; inflight: number }> {
    const k = keys(sid);
    const [chunks, bytes, inflight] = await Promise.all([this.kv.hlen(k.chunks), this.kv.get(k.bytes), this.kv.get(k.inflight)]);
    return { chunks, bytes: Number(bytes ?? 0), inflight: Math.max(0, Number(inflight ?? 0)) };
  }

  addInflight(sid: string, delta: number): Promise<number> {
    return this.kv.incrby(keys(sid).inflight, delta);
  }

  /** A lock token when this caller may upload the chunk now; null when another upload of it runs. */
  async lock(sid: string, index: number): Promise<string | null> {
    const token = randomUUID();
    return (await this.kv.set(keys(sid).lock(index), token, { ttlMs: CHUNK_LOCK_MS, ifAbsent: true })) ? token : null;
  }

  /** Renews the lock while its holder streams; false when it is no longer held by `token`. */
  async renewLock(sid: string, index: number, token: string): Promise<boolean> {
    const key = keys(sid).lock(index);
    if ((await this.kv.get(key)) !== token) return false;
    return this.kv.expire(key, CHUNK_LOCK_MS);
  }

  /** How many chunks of the session are being uploaded right now (their locks are held). */
  locksHeld(sid: string, chunkCount: number): Promise<number> {
    return this.kv.countExisting(Array.from({ length: chunkCount }, (_, i) => keys(sid).lock(i)));
  }

  /** The completion lease, or null when another request holds it. */
  async leaseCompletion(sid: string): Promise<string | null> {
    const token = randomUUID();
    return (await this.kv.set(keys(sid).completing, token, { ttlMs: COMPLETION_LEASE_MS, ifAbsent: true })) ? token : null;
  }

  async renewCompletion(sid: string, token: string): Promise<void> {
    if ((await this.kv.get(keys(sid).completing)) === token) await this.kv.expire(keys(sid).completing, COMPLETION_LEASE_MS);
  }

  async releaseCompletion(sid: string, token: string): Promise<void> {
    if ((await this.kv.get(keys(sid).completing)) === token) await this.kv.del(keys(sid).completing);
  }

  async unlock(sid: string, index: number, token: string): Promise<void> {
    const key = keys(sid).lock(index);
    if ((await this.kv.get(key)) === token) await this.kv.del(key);
  }

  async touch(sid: string): Promise<void> {
    const k = keys(sid);
    await Promise.all([k.chunks, k.bytes, k.inflight, k.alive].map((key) => this.kv.expire(key, this.ttlMs)));
  }

  async clear(sid: string): Promise<void> {
    const k = keys(sid);
    await this.kv.del(k.chunks, k.bytes, k.inflight, k.alive);
  }
}
