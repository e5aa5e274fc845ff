/**
 * The person's logins as a whole: end them all (`logoutAll`), change the password (ends the other
 * logins), and the forgotten-password flow by e-mailed code (ends every login). Ending a login
 * revokes its refresh tokens in the database and its access tokens and sockets through the KV
 * store (platform/auth/session-revocations.ts), at once. No transport types here.
 */
import { securityEventBy, type ActivityInput } from '../activity/index.ts';
import { AppError } from '../platform/errors.ts';
import { MAX_ACCESS_TTL_S } from '../platform/auth/session-revocations.ts';
import type { TokenSigner } from '../platform/auth/access-token.ts';
import type { KeyValueStore } from '../platform/kv/kv.ts';
import { RateLimiter, type Budget } from '../platform/rate-limit.ts';
import type { Viewer } from '../platform/request-context.ts';
import type { AccountsRepository } from './accounts.repository.ts';
import { EmailCodeStore } from './email-codes.repository.ts';
import type { Mailer } from './mailer.driver.ts';
import { assertStrongPassword, hashPassword, verifyPassword } from './password.ts';

const CHANGE_FAILURES_PER_15_MIN = 5;
const changeFailures = (userId: string): Budget => ({
  key: `acct:pwchange-fail:${userId}`,
  limit: CHANGE_FAILURES_PER_15_MIN,
  windowMs: 15 * 60_000,
  reason: 'password_change_failures',
  message: 'Too many wrong passwords; try again later',
});
/** Reset codes live beside sign-up codes under their own name: one cannot stand for the other. */
const resetKey = (email: string) => `reset:${email}`;

export class AccountSessions {
  private readonly codes: EmailCodeStore;
  private readonly limiter: RateLimiter;

  constructor(
    private readonly repo: AccountsRepository,
    kv: KeyValueStore,
    private readonly mailer: Mailer,
    private readonly tokens: TokenSigner,
    /** Where a mail that could not be sent is reported (the answer never waits for the mail). */
    private readonly onMailError: (error: unknown) => void,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.codes = new EmailCodeStore(kv);
    this.limiter = new RateLimiter(kv);
  }

  /** Revokes every login's refresh tokens: the audit log's TOKEN_REVOKED (`all_logins`). */
  async logoutAll(viewer: Viewer): Promise<boolean> {
    await this.endLogins(viewer.userId, undefined, securityEventBy(viewer, 'TOKEN_REVOKED', 'all_logins'));
    return true;
  }

  /** Needs the current password; the login that asks goes on, every other one ends. */
  async changePassword(viewer: Viewer, oldPassword: string, newPassword: string): Promise<boolean> {
    const user = await this.repo.findUserById(viewer.userId);
    if (!user) throw new AppError('UNAUTHENTICATED', 'This account no longer exists');
    // A stolen access token must not become a password oracle: few wrong tries per window.
    const failures = changeFailures(user.id);
    await this.limiter.assertUnspent(failures);
    if (!(await verifyPassword(oldPassword, user.passwordHash))) {
      await this.limiter.record(failures.key, failures.windowMs);
      throw new AppError('UNAUTHENTICATED', 'The current password is not right', { details: { reason: 'bad_credentials' } });
    }
    assertStrongPassword(newPassword, user.username, user.email);
    await this.repo.updatePasswordHash(user.id, await hashPassword(newPassword), securityEventBy({ userId: user.id, username: user.username }, 'PASSWORD_CHANGED', 'changed'));
    await this.limiter.forget(failures.key);
    await this.endLogins(user.id, viewer.sessionId);
    return true;
  }

  /**
   * Always true, whether or not the address has an account, and equally fast: a code is made (and
   * rate limited) for any address, the mail goes out only to an account's, without being awaited.
   */
  async requestPasswordReset(email: string): Promise<boolean> {
    let code: string;
    try {
      code = await this.codes.issue(resetKey(email));
    } catch (error) {
      // Too soon again: nothing is sent, and the answer says nothing either.
      if (AppError.is(error, 'RATE_LIMITED')) return true;
      throw error;
    }
    const user = await this.repo.findUserByLogin(email);
    if (user) {
      this.mailer
        .send({
          to: user.email,
          subject: `Your Stratus password reset code: ${code}`,
          text: `Your Stratus password reset code is ${code}. It is valid for 10 minutes.\nIf you did not ask for it, ignore this e-mail: your password stays as it is.`,
        })
        .catch(this.onMailError);
    }
    return true;
  }

  /** Sets a new password with the e-mailed code (5 tries, 10 minutes) and ends every login. */
  async resetPassword(email: string, code: string, newPassword: string): Promise<boolean> {
    await this.codes.verify(resetKey(email), code);
    const user = await this.repo.findUserByLogin(email);
    // Only reachable with a code nobody was sent: answer as for a wrong code.
    if (!user) throw new AppError('BAD_INPUT', 'The code is wrong or has expired; request a new one', { details: { field: 'code', reason: 'code_invalid' } });
    assertStrongPassword(newPassword, user.username, user.email);
    await this.codes.consume(resetKey(email), code);
    await this.repo.updatePasswordHash(user.id, await hashPassword(newPassword), securityEventBy({ userId: user.id, username: user.username }, 'PASSWORD_CHANGED', 'reset'));
    await this.endLogins(user.id);
    return true;
  }

  /** Ends every login of the person but `except`: refresh tokens, access tokens, sockets. */
  private async endLogins(userId: string, except?: string, event?: ActivityInput): Promise<void> {
    const now = this.now();
    await this.repo.revokeUserFamilies(userId, now, except, event);
    // Access tokens live at most MAX_ACCESS_TTL_S: only logins given one since then need a mark.
    const since = new Date(now.getTime() - (MAX_ACCESS_TTL_S + 60) * 1000);
    const families = (await this.repo.familiesIssuedSince(userId, since)).filter((f) => f !== except);
    await this.tokens.sessions?.end(families);
  }
}
