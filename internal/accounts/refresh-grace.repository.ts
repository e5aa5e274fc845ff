/**
 * The reuse grace of refresh tokens. Rotation makes every refresh token single-use, and a reused
 * one revokes its whole login (RFC 9700 §4.14.2, refresh token rotation). But two tabs of one
 * browser that refresh the same token at the same moment are not a thief: the loser of the race
 * gets, for GRACE_MS after the first use and from the same (known) client address, exactly the
 * pair the winner got. After that, or from another address, a reuse is a replay and ends the login.
 *
 * The pair is kept in the KV store under the SHA-256 of the old token, encrypted (AES-256-GCM)
 * with a key derived from the old token itself: whoever reads the KV store learns nothing usable.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyValueStore } from '../platform/kv/kv.ts';

export const GRACE_MS = 10_000;
/** How long the loser of a race waits for the winner to store the pair. */
const WAIT_MS = 3_000;
const POLL_MS = 50;

const keyOf = (oldToken: string) => `acct:refresh-grace:${createHash('sha256').update(oldToken).digest('hex')}`;
const cipherKey = (oldToken: string) => createHash('sha256').update(`stratus-refresh-grace\0${oldToken}`).digest();

export class RefreshGrace<T> {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly now: () => Date,
  ) {}

  /** Keeps the pair the old token was exchanged for, for the grace period. */
  async remember(oldToken: string, clientIp: string | undefined, payload: T): Promise<void> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', cipherKey(oldToken), iv);
    const body = Buffer.concat([cipher.update(JSON.stringify({ ip: clientIp ?? null, payload })), cipher.final()]);
    const sealed = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    await this.kv.set(keyOf(oldToken), sealed, { ttlMs: GRACE_MS });
  }

  /**
   * The pair of a token used `usedAt` (null: just now, by a racing call) when the grace applies;
   * null when it does not (too late, another client, or the winner failed to finish).
   */
  async recall(oldToken: string, clientIp: string | undefined, usedAt: Date | null | undefined): Promise<T | null> {
    const start = this.now().getTime();
    if (usedAt && start - usedAt.getTime() > GRACE_MS) return null;
    for (let waited = 0; waited <= WAIT_MS; waited += POLL_MS) {
      const sealed = await this.kv.get(keyOf(oldToken));
      if (sealed) return this.open(oldToken, sealed, clientIp);
      await sleep(POLL_MS);
    }
    return null;
  }

  private open(oldToken: string, sealed: string, clientIp: string | undefined): T | null {
    try {
      const raw = Buffer.from(sealed, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', cipherKey(oldToken), raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      const { ip, payload } = JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString()) as { ip: string | null; payload: T };
      // The same client: a stolen token replayed from elsewhere inside the window is still a
      // replay, and so is one from a caller whose address is unknown.
      if (ip === null || clientIp === undefined || ip !== clientIp) return null;
      return payload;
    } catch {
      return null;
    }
  }
}
