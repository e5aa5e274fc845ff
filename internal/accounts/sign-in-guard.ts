/**
 * The limits on signing in and on e-mail codes per client address (README "Accounts"), so that
 * nobody can guess passwords at scale, burn the server's CPU on scrypt, or lock an owner out.
 *
 * - Per client address: a budget of password checks a minute, taken BEFORE scrypt runs (one check
 *   costs ~100–170 ms of CPU, so the budget bounds the CPU one address can spend); and a failure
 *   count: past the free failures, the address backs off 1 s, 2 s, 4 s … (15 min at most) — on
 *   every name, known or not.
 * - Per account, the name and its e-mail being one account (keyed by the user's id; a name nobody
 *   has by the name itself, with the same limits, so the answers tell nothing about which names
 *   exist): once it has had ACCOUNT_FREE failures in the window, an address that failed on it
 *   backs off on it, doubling with each of its failures. An address that has not failed on it is
 *   not held back: the owner signing in from their own device still gets in while the guesser
 *   waits (a back-off, not a lock-out: OWASP Authentication Cheat Sheet, "Account Lockout").
 * - Unknown names cost the same scrypt as known ones (the caller checks a dummy hash) and take the
 *   same budget.
 * - requestEmailCode: a budget of sends an hour per client address, besides the per-e-mail limits.
 */
import { clientBucket, RateLimiter, type BackOff, type Budget } from '../platform/rate-limit.ts';
import type { KeyValueStore } from '../platform/kv/kv.ts';

export interface ClientLimits {
  /** Password checks (scrypt runs) a minute per client address. */
  signInAttemptsPerMinute: number;
  /** Failed sign-ins per client address in 15 minutes before it backs off. */
  signInFailuresPerClient: number;
  /** requestEmailCode calls an hour per client address. */
  emailCodesPerHour: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = { signInAttemptsPerMinute: 20, signInFailuresPerClient: 10, emailCodesPerHour: 20 };

const WINDOW_MS = 15 * 60_000;
/** Failures on one account (from anywhere) before the addresses failing on it back off. */
export const ACCOUNT_FREE = 5;
const BACK_OFF: BackOff = { baseMs: 1000, maxMs: WINDOW_MS };
const SLOW_DOWN = 'Too many failed sign-ins; try again later';

export class SignInGuard {
  private readonly limiter: RateLimiter;

  constructor(kv: KeyValueStore, private readonly limits: ClientLimits = DEFAULT_CLIENT_LIMITS) {
    this.limiter = new RateLimiter(kv);
  }

  /** Before looking the name up: an address backing off is refused on every name. */
  async checkClient(ip: string | undefined): Promise<void> {
    await this.limiter.assertNotWaiting(clientKey(ip), 'login_client_failures', SLOW_DOWN);
  }

  /**
   * Before the password check: this address's back-off on this account, then one password check
   * from the address's budget (a refused attempt takes none).
   */
  async beforePasswordCheck(account: string, ip: string | undefined): Promise<void> {
    await this.limiter.assertNotWaiting(pairKey(account, ip), 'login_failures', SLOW_DOWN);
    await this.limiter.take(this.checks(ip));
  }

  /**
   * Before checking a personal access token given as a password (HTTP Basic on WebDAV): the same
   * back-offs and budget as a password, but nothing is taken yet. A token check costs no scrypt,
   * and a WebDAV client sends its credentials with every request, so only a failure counts
   * (`tokenFailed`); a working client is never slowed down.
   */
  async beforeTokenCheck(account: string, ip: string | undefined): Promise<void> {
    await this.checkClient(ip);
    await this.limiter.assertNotWaiting(pairKey(account, ip), 'login_failures', SLOW_DOWN);
    await this.limiter.assertUnspent(this.checks(ip));
  }

  /** A wrong token given as a password: a failed sign-in, and one check of the address's budget. */
  async tokenFailed(account: string, ip: string | undefined): Promise<void> {
    await this.failed(account, ip);
    const checks = this.checks(ip);
    await this.limiter.record(checks.key, checks.windowMs);
  }

  private checks(ip: string | undefined): Budget {
    return {
      key: `acct:signin:cpu:${clientBucket(ip)}`,
      limit: this.limits.signInAttemptsPerMinute,
      windowMs: 60_000,
      reason: 'login_client_budget',
      message: 'Too many sign-in attempts from this address; try again in a minute',
    };
  }

  async failed(account: string, ip: string | undefined): Promise<void> {
    const client = clientKey(ip);
    const pair = pairKey(account, ip);
    const [byClient, byAccount, byPair] = await Promise.all([
      this.limiter.record(client, WINDOW_MS),
      this.limiter.record(`acct:signin:acct:${account}`, WINDOW_MS),
      this.limiter.record(pair, WINDOW_MS),
    ]);
    const free = this.limits.signInFailuresPerClient;
    if (byClient > free) await this.limiter.backOff(client, byClient - free, BACK_OFF);
    if (byAccount >= ACCOUNT_FREE) await this.limiter.backOff(pair, byPair, BACK_OFF);
  }

  /**
   * The right password: this address's failures on this account are forgotten. The account's and
   * the address's own counts stay (signing in to one's own account must not reset a guesser).
   */
  async succeeded(account: string, ip: string | undefined): Promise<void> {
    await this.limiter.forget(pairKey(account, ip));
  }

  /** One requestEmailCode from this client address. */
  async emailCodeRequested(ip: string | undefined): Promise<void> {
    await this.limiter.take({
      key: `acct:code-client:${clientBucket(ip)}`,
      limit: this.limits.emailCodesPerHour,
      windowMs: 3_600_000,
      reason: 'code_send_client',
      message: 'Too many codes were requested from this address; try again later',
    });
  }
}

const clientKey = (ip: string | undefined) => `acct:signin:ip:${clientBucket(ip)}`;
const pairKey = (account: string, ip: string | undefined) => `acct:signin:pair:${account}:${clientBucket(ip)}`;

/** The account key: the user's id, or for a name nobody has, the name (lower-cased) itself. */
export function accountKey(userId: string | undefined, login: string): string {
  return userId ? `id:${userId}` : `name:${login.trim().toLowerCase()}`;
}
