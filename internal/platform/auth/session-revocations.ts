/**
 * Ended logins ("sessions"): every access token carries the id of its login family (`sid`, the
 * refresh-token family it was issued with). Ending a login writes `sess:ended:<sid>` to the KV
 * store and tells every replica on the `sessions:ended` channel; `TokenSigner.verifyAccess` reads
 * the key on every verification (one GET, nothing cached), so a logged-out access token is refused
 * at once on every endpoint, and graphql-ws servers close that login's open sockets (4403).
 *
 * The key only has to outlive the access tokens already issued to the family: none lives longer
 * than MAX_ACCESS_TTL_S, and a revoked family gets no new ones (its refresh tokens are revoked in
 * the database), so the key expires on its own shortly after.
 */
import type { KeyValueStore, PubSub, Unsubscribe } from '../kv/kv.ts';

/** The longest an access token may live (signAccess clamps to it). */
export const MAX_ACCESS_TTL_S = 15 * 60;
const ENDED_TTL_MS = (MAX_ACCESS_TTL_S + 60) * 1000;
const CHANNEL = 'sessions:ended';

export class SessionRevocations {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly pubsub: PubSub,
  ) {}

  async isEnded(sessionId: string): Promise<boolean> {
    return (await this.kv.get(`sess:ended:${sessionId}`)) !== null;
  }

  /** Ends the logins: their access tokens are refused from now on, their sockets closed. */
  async end(sessionIds: readonly string[]): Promise<void> {
    if (sessionIds.length === 0) return;
    await Promise.all(sessionIds.map((sid) => this.kv.set(`sess:ended:${sid}`, '1', { ttlMs: ENDED_TTL_MS })));
    await this.pubsub.publish(CHANNEL, JSON.stringify({ sids: sessionIds }));
  }

  /** Calls `listener` with the ids of logins ended anywhere (on any replica). */
  onEnded(listener: (sessionIds: string[]) => void): Promise<Unsubscribe> {
    return this.pubsub.subscribe(CHANNEL, (message) => {
      try {
        const parsed = JSON.parse(message) as { sids?: unknown };
        if (Array.isArray(parsed.sids)) listener(parsed.sids.filter((s): s is string => typeof s === 'string'));
      } catch {
        // Not ours: ignore.
      }
    });
  }
}
