/**
 * Personal access tokens through the accounts router's caller and the service with a clock of the
 * test's own, on both stacks (MariaDB + Redis, SQLite + memory): session-only management, the
 * exchange for an access JWT, lastUsedAt at most once a minute, expiry, a revoke ending the
 * exchanged JWTs too, Basic attempts under the sign-in limits, a removed person.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../platform/logger.ts';
import type { Viewer } from '../platform/request-context.ts';
import { createCallerFactory } from '../platform/rpc/trpc.ts';
import { failureOf } from '../../test/support/embedded.ts';
import { STACKS, createTestRuntime, type TestRuntime } from '../../test/support/runtime.ts';
import { AccessTokenRow } from './access-tokens.entities.ts';
import { AccessTokensRepository } from './access-tokens.repository.ts';
import { AccessTokensService } from './access-tokens.service.ts';
import { AccountsRepository } from './accounts.repository.ts';
import { createAccounts, type DriveProvisioner } from './index.ts';
import { SignInGuard } from './sign-in-guard.ts';

const log = createLogger({ level: 'silent' });
const noDrive: DriveProvisioner = { provision: async () => undefined };

describe.each(STACKS)('personal access tokens on the %s stack', (stack) => {
  let t: TestRuntime;
  let users: AccountsRepository;
  let service: AccessTokensService;
  let now = new Date('2026-12-05T08:00:00Z');
  let caller: (viewer: Viewer) => ReturnType<ReturnType<typeof createAccounts>['router']['createCaller']>;

  beforeAll(async () => {
    t = await createTestRuntime(stack);
    users = new AccountsRepository(t.runtime.orm);
    // The shipped sign-in limits (the test runtime's are roomy), and a clock of our own.
    service = new AccessTokensService(new AccessTokensRepository(t.runtime.orm), users, new SignInGuard(t.runtime.kv), t.runtime.tokens, () => now);
    const router = createAccounts(t.runtime, noDrive).router;
    caller = (viewer) => createCallerFactory(router)({ requestId: 'test', viewer, ip: '127.0.0.1', log });
  });
  afterAll(() => t?.close());

  async function person(): Promise<Viewer & { email: string }> {
    const username = `p${randomBytes(5).toString('hex')}`;
    const row = await users.createUser({ username, email: `${username}@example.com`, passwordHash: 'x' });
    return { userId: row.id, username, isAdmin: row.isAdmin, sessionId: 's', email: row.email };
  }
  const lastUsed = async (id: string) => (await t.runtime.orm.em.fork().findOneOrFail(AccessTokenRow, { id })).lastUsedAt?.getTime() ?? null;

  it('is managed from a session only: a token cannot make, list or revoke tokens', async () => {
    const alice = await person();
    const made = await caller(alice).accessTokens.create({ name: 'script', scopes: ['WRITE'] });
    expect(made.accessToken).toMatchObject({ name: 'script', scopes: ['READ', 'WRITE'], expiresAt: null, lastUsedAt: null });
    const asToken = (await service.authenticate(made.token, undefined, '127.0.0.1')).viewer;
    expect(await failureOf(caller(asToken).accessTokens.create({ name: 'child', scopes: ['READ'] }))).toBe('FORBIDDEN:session_required');
    expect(await failureOf(caller(asToken).accessTokens.list())).toBe('FORBIDDEN:session_required');
    expect(await failureOf(caller(asToken).accessTokens.revoke({ id: made.accessToken.id }))).toBe('FORBIDDEN:session_required');
    expect(await failureOf(caller(asToken).changePassword({ oldPassword: 'x', newPassword: 'another-good-pass-2' }))).toBe('FORBIDDEN:session_required');
    expect((await caller(alice).accessTokens.list()).map((a) => a.id)).toEqual([made.accessToken.id]);
  });

  it('exchanges a token for an access JWT naming it; lastUsedAt is written at most once a minute', async () => {
    const alice = await person();
    const { token, accessToken } = await service.create(alice, { name: 'laptop', scopes: ['READ'] });
    const first = await service.authenticate(token, undefined, undefined);
    expect(first.viewer).toEqual({ userId: alice.userId, username: alice.username, isAdmin: alice.isAdmin, sessionId: `pat:${accessToken.id}`, accessTokenId: accessToken.id, scopes: ['READ'] });
    expect(await t.runtime.tokens.verifyAccess(first.accessToken)).toEqual(first.viewer);
    expect(await lastUsed(accessToken.id)).toBe(now.getTime());
    const firstUse = now.getTime();
    now = new Date(firstUse + 59_000);
    await service.authenticate(token, undefined, undefined);
    expect(await lastUsed(accessToken.id)).toBe(firstUse);
    now = new Date(firstUse + 61_000);
    await service.authenticate(token, undefined, undefined);
    expect(await lastUsed(accessToken.id)).toBe(now.getTime());
  });

  it('an expired token is refused; the JWT it gives never outlives it', async () => {
    const alice = await person();
    const { token } = await service.create(alice, { name: 'short', scopes: ['WRITE'], expiresAt: new Date(now.getTime() + 5 * 60_000) });
    const signIn = await service.authenticate(token, undefined, undefined);
    expect(signIn.expiresAt).toBeLessThanOrEqual(now.getTime() + 5 * 60_000);
    const saved = now;
    now = new Date(saved.getTime() + 5 * 60_000);
    expect(await failureOf(service.authenticate(token, undefined, undefined))).toBe('UNAUTHENTICATED:expired');
    now = saved;
  });

  it('a revoke refuses the token and the JWTs it was exchanged for; another person\'s id is NOT_FOUND', async () => {
    const [alice, bob] = [await person(), await person()];
    const { token, accessToken } = await service.create(alice, { name: 'gone soon', scopes: ['WRITE'] });
    const signIn = await service.authenticate(token, undefined, undefined);
    expect(await failureOf(service.revoke(bob, accessToken.id))).toBe('NOT_FOUND');
    expect(await service.revoke(alice, accessToken.id)).toBe(true);
    expect(await failureOf(service.authenticate(token, undefined, undefined))).toBe('UNAUTHENTICATED:invalid');
    expect(await failureOf(t.runtime.tokens.verifyAccessToken(signIn.accessToken))).toBe('UNAUTHENTICATED:session_ended');
    expect(await failureOf(service.revoke(alice, accessToken.id))).toBe('NOT_FOUND');
  });

  it('as a Basic password: the owner\'s name or e-mail only; guesses are failed sign-ins, backed off', async () => {
    const [alice, bob] = [await person(), await person()];
    const { token } = await service.create(alice, { name: 'dav', scopes: ['WRITE'] });
    const ip = `10.9.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
    expect((await service.authenticate(token, alice.username.toUpperCase(), ip)).viewer.userId).toBe(alice.userId);
    expect((await service.authenticate(token, alice.email, ip)).viewer.userId).toBe(alice.userId);
    expect(await failureOf(service.authenticate(token, bob.username, ip))).toBe('UNAUTHENTICATED:bad_credentials');
    const guesser = `10.8.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await failureOf(service.authenticate(`stp_${randomBytes(32).toString('base64url')}`, alice.username, guesser)));
    expect(answers).toEqual([...Array<string>(5).fill('UNAUTHENTICATED:bad_credentials'), 'RATE_LIMITED:login_failures']);
    // The owner elsewhere is not held back.
    expect((await service.authenticate(token, alice.username, ip)).viewer.userId).toBe(alice.userId);
  });

  it('a token of a person who no longer exists is refused', async () => {
    const gone = await person();
    const { token } = await service.create(gone, { name: 'orphan', scopes: ['READ'] });
    await users.deleteUser(gone.userId);
    expect(await failureOf(service.authenticate(token, undefined, undefined))).toBe('UNAUTHENTICATED:invalid');
  });
});
