/**
 * Accounts: e-mail codes, registration, login, token issue and rotation. No transport types here.
 *
 * Refresh tokens are opaque (256 random bits), stored as SHA-256, and rotated on every use. A token
 * that was already used presented again means it was stolen or replayed: the whole family (every
 * token descended from the same login) is revoked, so neither the thief nor the owner can refresh.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '../platform/errors.ts';
import type { TokenSigner } from '../platform/auth/access-token.ts';
import type { KeyValueStore } from '../platform/kv/kv.ts';
import type { Viewer } from '../platform/request-context.ts';
import type { UserRow } from './accounts.entities.ts';
import type { AccountsRepository } from './accounts.repository.ts';
import type { DriveProvisioner } from './drive-provisioner.ts';
import { EmailCodeStore } from './email-codes.ts';
import type { Mailer } from './mailer.ts';
import { assertStrongPassword, hashPassword, verifyPassword } from './password.ts';

export const ACCESS_TOKEN_TTL_S = 15 * 60;
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3_600_000;
const LOGIN_FAILURES_PER_15_MIN = 10;

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

  constructor(
    private readonly repo: AccountsRepository,
    private readonly kv: KeyValueStore,
    private readonly mailer: Mailer,
    private readonly tokens: TokenSigner,
    private readonly drive: DriveProvisioner,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.codes = new EmailCodeStore(kv);
  }

  async requestEmailCode(email: string): Promise<void> {
    const code = await this.codes.issue(email);
    await this.mailer.send({
      to: email,
      subject: `Your Stratus code: ${code}`,
      text: `Your Stratus verification code is ${code}. It is valid for 10 minutes.\nIf you did not ask for it, ignore this e-mail.`,
    });
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
    return this.issue(user, randomUUID());
  }

  async login(login: string, password: string): Promise<AuthPayload> {
    const limitKey = `acct:login-fail:${login.toLowerCase()}`;
    const failures = Number((await this.kv.get(limitKey)) ?? 0);
    if (failures >= LOGIN_FAILURES_PER_15_MIN) {
      throw new AppError('RATE_LIMITED', 'Too many failed sign-ins; try again later', {
        retryAfter: Math.max(1, Math.ceil((await this.kv.ttl(limitKey)) / 1000)),
        details: { reason: 'login_failures' },
      });
    }
    const user = await this.repo.findUserByLogin(login);
    const ok = user ? await verifyPassword(password, user.passwordHash) : await verifyPassword(password, await DUMMY_HASH).then(() => false);
    if (!user || !ok) {
      await this.kv.incr(limitKey, 15 * 60_000);
      throw new AppError('UNAUTHENTICATED', 'Wrong username or password', { details: { reason: 'bad_credentials' } });
    }
    await this.kv.del(limitKey);
    return this.issue(user, randomUUID());
  }

  async refresh(refreshToken: string): Promise<AuthPayload> {
    const invalid = (reason: string) =>
      new AppError('UNAUTHENTICATED', 'The session has ended; sign in again', { details: { reason } });
    const row = await this.repo.findRefreshToken(sha256(refreshToken));
    if (!row) throw invalid('refresh_invalid');
    const now = this.now();
    if (row.revokedAt) throw invalid('refresh_revoked');
    if (row.usedAt || !(await this.repo.claimRefreshToken(row.id, now))) {
      await this.repo.revokeFamily(row.familyId, now);
      throw invalid('refresh_reused');
    }
    if (row.expiresAt.getTime() <= now.getTime()) throw invalid('refresh_expired');
    const user = await this.repo.findUserById(row.userId);
    if (!user) throw invalid('refresh_invalid');
    return this.issue(user, row.familyId);
  }

  async logout(refreshToken: string): Promise<boolean> {
    const row = await this.repo.findRefreshToken(sha256(refreshToken));
    if (!row) return false;
    await this.repo.revokeFamily(row.familyId, this.now());
    return true;
  }

  async me(viewer: Viewer): Promise<PublicUser> {
    const user = await this.repo.findUserById(viewer.userId);
    if (!user) throw new AppError('UNAUTHENTICATED', 'This account no longer exists');
    return publicUser(user);
  }

  private async issue(user: UserRow, familyId: string): Promise<AuthPayload> {
    const refreshToken = randomBytes(32).toString('base64url');
    await this.repo.insertRefreshToken({
      userId: user.id,
      familyId,
      tokenHash: sha256(refreshToken),
      expiresAt: new Date(this.now().getTime() + REFRESH_TOKEN_TTL_MS),
    });
    const accessToken = await this.tokens.signAccess(
      { userId: user.id, username: user.username, isAdmin: user.isAdmin },
      ACCESS_TOKEN_TTL_S,
    );
    return { accessToken, refreshToken, user: publicUser(user) };
  }
}
