/**
 * Accounts: e-mail codes, registration, login, token issue and rotation. No transport types here.
 *
 * Refresh tokens are opaque (256 random bits), stored as SHA-256, and rotated on every use. A token
 * that was already used presented again means it was stolen or replayed: the whole family (every
 * token descended from the same login) is revoked, so neither the thief nor the owner can refresh.
 */
import { eventBy } from '../activity/index.ts';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AppError, type ErrorReason } from '../platform/errors.ts';
import type { TokenSigner } from '../platform/auth/access-token.ts';
import type { KeyValueStore } from '../platform/kv/kv.ts';
import type { Viewer } from '../platform/request-context.ts';
import type { UserRow } from './accounts.entities.ts';
import type { AccountsRepository } from './accounts.repository.ts';
import type { DriveProvisioner } from './drive-provisioner.port.ts';
import { EmailCodeStore } from './email-codes.repository.ts';
import type { Mailer } from './mailer.driver.ts';
import { assertStrongPassword, hashPassword, verifyPassword } from './password.ts';
import { accountKey, SignInGuard, type ClientLimits } from './sign-in-guard.ts';
import { RefreshGrace } from './refresh-grace.repository.ts';

export const ACCESS_TOKEN_TTL_S = 15 * 60;
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3_600_000;

export interface PublicUser {
  id: string;
  username: string;
  email: string;
  isAdmin: boolean;
  createdAt: string;
}

export interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  user: PublicUser;
}

/** The per-client limits and a hook counting password checks (the sign-in metric). */
export interface AbuseOptions {
  limits?: ClientLimits | undefined;
  onPasswordCheck?: () => void;
}

export interface RegisterInput {
  username: string;
  email: string;
  password: string;
  code: string;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export function publicUser(row: UserRow): PublicUser {
  return { id: row.id, username: row.username, email: row.email, isAdmin: row.isAdmin, createdAt: row.createdAt.toISOString() };
}

// A dummy hash to spend the same time on an unknown username as on a wrong password.
const DUMMY_HASH = hashPassword('not-a-real-password-1');

export class AccountsService {
  private readonly codes: EmailCodeStore;
  private readonly guard: SignInGuard;
  private readonly onPasswordCheck: () => void;
  private readonly grace: RefreshGrace<AuthPayload>;

  constructor(
    private readonly repo: AccountsRepository,
    private readonly kv: KeyValueStore,
    private readonly mailer: Mailer,
    private readonly tokens: TokenSigner,
    private readonly drive: DriveProvisioner,
    private readonly now: () => Date = () => new Date(),
    abuse: AbuseOptions = {},
  ) {
    this.codes = new EmailCodeStore(kv);
    this.guard = new SignInGuard(kv, abuse.limits);
    this.onPasswordCheck = abuse.onPasswordCheck ?? (() => undefined);
    this.grace = new RefreshGrace(kv, now);
  }

  /**
   * One e-mailed code asked for from `clientIp` (a sign-up code or a password reset code: both
   * send mail, so they share the per-client budget of sign-in-guard.ts).
   */
  async codeRequested(clientIp?: string): Promise<void> {
    await this.guard.emailCodeRequested(clientIp);
  }

  /** `clientIp`: the caller's address, for the per-client limit (sign-in-guard.ts). */
  async requestEmailCode(email: string, clientIp?: string): Promise<boolean> {
    await this.codeRequested(clientIp);
    const code = await this.codes.issue(email);
    await this.mailer.send({
      to: email,
      subject: `Your Stratus code: ${code}`,
      text: `Your Stratus verification code is ${code}. It is valid for 10 minutes.\nIf you did not ask for it, ignore this e-mail.`,
    });
    return true;
  }

  async register(input: RegisterInput): Promise<AuthPayload> {
    assertStrongPassword(input.password, input.username, input.email);
    // The code first: without it nobody learns whether the address has an account. Then the
    // names, before the code is used up, so a taken username does not burn the person's code.
    await this.codes.verify(input.email, input.code);
    const taken = await this.repo.existsUsernameOrEmail(input.username, input.email);
    if (taken) {
      throw new AppError('CONFLICT', `That ${taken === 'email' ? 'e-mail' : 'username'} is already registered`, {
        details: { field: taken, reason: `duplicate_${taken}` },
      });
    }
    await this.codes.consume(input.email, input.code);
    const user = await this.repo.createUser({
      username: input.username,
      email: input.email,
      passwordHash: await hashPassword(input.password),
    });
    // The person's root folder and quota exist from registration on, so no first action of theirs
    // finds them missing. Without them there is no account: nothing half-made stays behind (the
    // code is spent; the person asks for a new one).
    try {
      await this.drive.provision({ userId: user.id, username: user.username, isAdmin: user.isAdmin });
    } catch (error) {
      // Should the removal fail too, the files service repairs a missing drive on first use.
      await this.repo.deleteUser(user.id).catch(() => undefined);
      throw error;
    }
    return this.issue(user, randomUUID(), true);
  }

  /**
   * Signs in by username or e-mail. The limits (sign-in-guard.ts) run before scrypt does; an
   * unknown name costs the same scrypt (a dummy hash) and meets the same limits as a known one.
   */
  async login(login: string, password: string, clientIp?: string): Promise<AuthPayload> {
    await this.guard.checkClient(clientIp);
    const user = await this.repo.findUserByLogin(login);
    // The name and the e-mail of one person are one account: keyed by the user's id.
    const account = accountKey(user?.id, login);
    await this.guard.beforePasswordCheck(account, clientIp);
    this.onPasswordCheck();
    const ok = user ? await verifyPassword(password, user.passwordHash) : await verifyPassword(password, await DUMMY_HASH).then(() => false);
    if (!user || !ok) {
      await this.guard.failed(account, clientIp);
      // The person's log (and the audit log) shows it; an unknown login only the audit log, under the name tried.
      await this.repo.recordEvent({ ownerId: user?.id ?? null, action: 'SIGN_IN_FAILED', actorName: user?.username ?? login });
      throw new AppError('UNAUTHENTICATED', 'Wrong username or password', { details: { reason: 'bad_credentials' } });
    }
    await this.guard.succeeded(account, clientIp);
    return this.issue(user, randomUUID(), true);
  }

  /**
   * Rotates a refresh token. A token used before is a replay that ends its login, except for the
   * reuse grace (refresh-grace.repository.ts): the same client presenting it again within seconds (two tabs)
   * gets the very pair the first call got.
   */
  async refresh(refreshToken: string, clientIp?: string): Promise<AuthPayload> {
    const invalid = (reason: ErrorReason) =>
      new AppError('UNAUTHENTICATED', 'The session has ended; sign in again', { details: { reason } });
    const row = await this.repo.findRefreshToken(sha256(refreshToken));
    if (!row) throw invalid('refresh_invalid');
    const now = this.now();
    if (row.revokedAt) throw invalid('refresh_revoked');
    if (row.usedAt || !(await this.repo.claimRefreshToken(row.id, now))) {
      const again = await this.grace.recall(refreshToken, clientIp, row.usedAt);
      if (again && !(await this.repo.familyRevoked(row.familyId))) return again;
      await this.endFamily(row.familyId, now);
      throw invalid('refresh_reused');
    }
    if (row.expiresAt.getTime() <= now.getTime()) throw invalid('refresh_expired');
    const user = await this.repo.findUserById(row.userId);
    if (!user) throw invalid('refresh_invalid');
    const payload = await this.issue(user, row.familyId);
    // A logout that ran between the claim and the insert revoked the family's rows but not the new
    // one: look again, so no refresh token outlives its login.
    if (await this.repo.familyRevoked(row.familyId)) {
      await this.endFamily(row.familyId, this.now());
      throw invalid('refresh_revoked');
    }
    await this.grace.remember(refreshToken, clientIp, payload);
    return payload;
  }

  async logout(refreshToken: string): Promise<boolean> {
    const row = await this.repo.findRefreshToken(sha256(refreshToken));
    if (!row) return false;
    await this.endFamily(row.familyId, this.now());
    return true;
  }

  /** Ends one login: its refresh tokens (database), its access tokens and sockets (KV, pub/sub). */
  private async endFamily(familyId: string, now: Date): Promise<void> {
    await this.repo.revokeFamily(familyId, now);
    await this.tokens.sessions?.end([familyId]);
  }

  async me(viewer: Viewer): Promise<PublicUser> {
    const user = await this.repo.findUserById(viewer.userId);
    if (!user) throw new AppError('UNAUTHENTICATED', 'This account no longer exists');
    return publicUser(user);
  }

  private async issue(user: UserRow, familyId: string, signedIn = false): Promise<AuthPayload> {
    const refreshToken = randomBytes(32).toString('base64url');
    await this.repo.insertRefreshToken({
      userId: user.id,
      familyId,
      tokenHash: sha256(refreshToken),
      expiresAt: new Date(this.now().getTime() + REFRESH_TOKEN_TTL_MS),
    }, signedIn ? eventBy({ userId: user.id, username: user.username }, 'SIGNED_IN') : undefined);
    const accessToken = await this.tokens.signAccess(
      // The access token names its login (sid), so ending the login refuses it at once.
      { userId: user.id, username: user.username, isAdmin: user.isAdmin, sessionId: familyId },
      ACCESS_TOKEN_TTL_S,
    );
    return { accessToken, refreshToken, user: publicUser(user) };
  }
}
