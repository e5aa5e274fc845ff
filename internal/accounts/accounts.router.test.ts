/**
 * Accounts through a tRPC caller (no HTTP), on both stacks: MariaDB + Redis, and SQLite + memory.
 * Mail goes over real SMTP to a server in the test.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../platform/logger.ts';
import type { Viewer } from '../platform/request-context.ts';
import { createCallerFactory } from '../platform/rpc/trpc.ts';
import { SmtpMailer } from './mailer.driver.ts';
import { STACKS, createTestRuntime, type TestRuntime } from '../../test/support/runtime.ts';
import { startInbox, type Inbox } from '../../test/support/smtp.ts';
import { UserRow, RefreshTokenRow } from './accounts.entities.ts';
import { createFiles } from '../files/index.ts';
import { localClient } from '../platform/rpc/client.ts';
import { createAccounts, filesDriveProvisioner } from './index.ts';

const log = createLogger({ level: 'silent' });
const uniq = () => randomBytes(4).toString('hex');
const PASSWORD = 'correct-horse-42';

describe.each(STACKS)('accounts on the %s stack', (stack) => {
  let t: TestRuntime;
  let inbox: Inbox;
  let accounts: ReturnType<typeof createAccounts>;
  const caller = (viewer?: Viewer, ip = '127.0.0.1') =>
    createCallerFactory(accounts.router)({ requestId: 'test', viewer, ip, log });

  beforeAll(async () => {
    inbox = await startInbox();
    t = await createTestRuntime(stack);
    const drive = filesDriveProvisioner(localClient(createFiles(t.runtime).router, log), t.runtime.tokens);
    accounts = createAccounts(t.runtime, drive, new SmtpMailer(inbox.url, 'Stratus <no-reply@stratus.test>'));
  });
  afterAll(async () => {
    await t?.close();
    await inbox?.close();
  });

  const countUsers = () => t.runtime.orm.em.fork().count(UserRow, {});

  async function register(name = `user_${uniq()}`, email = `${name}@example.com`) {
    await caller().requestEmailCode({ email });
    const code = await inbox.codeFor(email);
    return caller().register({ username: name, email, password: PASSWORD, code });
  }

  async function expectCode(promise: Promise<unknown>, code: string, reason?: string) {
    const error = await promise.then(
      () => {
        throw new Error('expected a failure');
      },
      (e: unknown) => e as { cause?: { code?: string; details?: { reason?: string } } },
    );
    expect(error.cause?.code).toBe(code);
    if (reason) expect(error.cause?.details?.reason).toBe(reason);
  }

  it('registers with the code received by e-mail; the first user is the admin, the next is not', async () => {
    const first = await register();
    expect(first.user.isAdmin).toBe(true);
    expect(first.accessToken.split('.')).toHaveLength(3);
    expect(first.refreshToken.length).toBeGreaterThanOrEqual(43);
    const second = await register();
    expect(second.user.isAdmin).toBe(false);
    const me = await caller(await t.runtime.tokens.verifyAccess(second.accessToken)).me();
    expect(me).toMatchObject({ id: second.user.id, username: second.user.username, email: second.user.email });
  });

  it('refuses a duplicate username (any case) or e-mail with CONFLICT and stores nothing', async () => {
    const name = `dup_${uniq()}`;
    await register(name);
    const before = await countUsers();
    const other = `other_${uniq()}@example.com`;
    await caller().requestEmailCode({ email: other });
    const code = await inbox.codeFor(other);
    await expectCode(caller().register({ username: name.toUpperCase(), email: other, password: PASSWORD, code }), 'CONFLICT', 'duplicate_username');
    // Someone without the address's code learns nothing about it; its owner hears it is taken.
    await expectCode(caller().register({ username: `x_${uniq()}`, email: `${name}@example.com`, password: PASSWORD, code }), 'BAD_INPUT', 'code_invalid');
    const ownerEmail = `${name}@example.com`;
    await t.runtime.kv.del(`acct:code:${ownerEmail}:sent`); // the one-a-minute limit, not under test here
    await caller().requestEmailCode({ email: ownerEmail });
    const ownerCode = await inbox.codeFor(ownerEmail);
    await expectCode(caller().register({ username: `x_${uniq()}`, email: ownerEmail, password: PASSWORD, code: ownerCode }), 'CONFLICT', 'duplicate_email');
    expect(await countUsers()).toBe(before);
    // The conflict did not burn the code: the person can pick another name.
    await caller().register({ username: `ok_${uniq()}`, email: other, password: PASSWORD, code });
  });

  it('refuses weak passwords and malformed e-mails with BAD_INPUT', async () => {
    const email = `weak_${uniq()}@example.com`;
    await caller().requestEmailCode({ email });
    const code = await inbox.codeFor(email);
    const before = await countUsers();
    for (const password of ['short1', 'onlyletterslong', 'password123', `weak_${email}1`]) {
      await expectCode(caller().register({ username: `weak_${uniq()}`, email, password, code }), 'BAD_INPUT', 'weak_password');
    }
    await expectCode(caller().requestEmailCode({ email: 'not-an-email' }), 'BAD_INPUT');
    await expectCode(caller().register({ username: 'a b', email, password: PASSWORD, code }), 'BAD_INPUT');
    expect(await countUsers()).toBe(before);
  });

  it('a wrong code is refused; five wrong tries burn the code', async () => {
    const email = `code_${uniq()}@example.com`;
    await caller().requestEmailCode({ email });
    const code = await inbox.codeFor(email);
    const wrong = code === '000000' ? '111111' : '000000';
    const input = { username: `code_${uniq()}`, email, password: PASSWORD };
    for (let i = 0; i < 5; i++) await expectCode(caller().register({ ...input, code: wrong }), 'BAD_INPUT', 'code_invalid');
    await expectCode(caller().register({ ...input, code }), 'BAD_INPUT', 'code_invalid');
    expect(await t.runtime.orm.em.fork().count(UserRow, { email })).toBe(0);
  });

  it('an expired code is refused', async () => {
    const email = `exp_${uniq()}@example.com`;
    await caller().requestEmailCode({ email });
    const code = await inbox.codeFor(email);
    await t.runtime.kv.expire(`acct:code:${email}`, 1);
    await new Promise((r) => setTimeout(r, 20));
    await expectCode(caller().register({ username: `exp_${uniq()}`, email, password: PASSWORD, code }), 'BAD_INPUT', 'code_invalid');
  });

  it('sends at most one code a minute per address (RATE_LIMITED with retryAfter)', async () => {
    const email = `rate_${uniq()}@example.com`;
    await caller().requestEmailCode({ email });
    const error = await caller()
      .requestEmailCode({ email })
      .then(() => undefined, (e: { cause?: { code?: string; retryAfter?: number } }) => e);
    expect(error?.cause?.code).toBe('RATE_LIMITED');
    expect(error?.cause?.retryAfter).toBeGreaterThan(50);
    expect(inbox.mails.filter((m) => m.to.includes(email))).toHaveLength(1);
  });

  it('logs in by username or e-mail; a wrong password is UNAUTHENTICATED; repeated failures are rate limited', async () => {
    const reg = await register();
    const byName = await caller().login({ username: reg.user.username.toUpperCase(), password: PASSWORD });
    expect(byName.user.id).toBe(reg.user.id);
    const byEmail = await caller().login({ username: reg.user.email, password: PASSWORD });
    expect(byEmail.user.id).toBe(reg.user.id);
    await expectCode(caller().login({ username: reg.user.username, password: 'wrong-password-1' }), 'UNAUTHENTICATED', 'bad_credentials');
    await expectCode(caller().login({ username: `nobody_${uniq()}`, password: PASSWORD }), 'UNAUTHENTICATED', 'bad_credentials');
    for (let i = 0; i < 9; i++) await caller().login({ username: reg.user.username, password: 'wrong-password-1' }).catch(() => undefined);
    await expectCode(caller().login({ username: reg.user.username, password: PASSWORD }), 'RATE_LIMITED');
  });

  it('rotates refresh tokens; reusing a rotated one revokes the whole family', async () => {
    const reg = await register();
    const r1 = await caller().refreshToken({ refreshToken: reg.refreshToken });
    expect(r1.refreshToken).not.toBe(reg.refreshToken);
    const r2 = await caller().refreshToken({ refreshToken: r1.refreshToken });
    // The stolen first token comes back from another client: refused, and the family dies with it.
    await expectCode(caller(undefined, '203.0.113.9').refreshToken({ refreshToken: reg.refreshToken }), 'UNAUTHENTICATED', 'refresh_reused');
    await expectCode(caller().refreshToken({ refreshToken: r2.refreshToken }), 'UNAUTHENTICATED', 'refresh_revoked');
    // Another login (another family) is unaffected.
    const other = await caller().login({ username: reg.user.username, password: PASSWORD });
    await caller().refreshToken({ refreshToken: other.refreshToken });
    // Only hashes are stored.
    const rows = await t.runtime.orm.em.fork().find(RefreshTokenRow, { userId: reg.user.id });
    expect(rows.some((row) => row.tokenHash === reg.refreshToken)).toBe(false);
  });

  it('two concurrent refreshes with one token: the same client (two tabs) gets one pair twice; two clients end the family', async () => {
    const reg = await register();
    const [a, b] = await Promise.all([
      caller().refreshToken({ refreshToken: reg.refreshToken }),
      caller().refreshToken({ refreshToken: reg.refreshToken }),
    ]);
    expect(a).toEqual(b);
    const other = await caller().login({ username: reg.user.username, password: PASSWORD });
    const results = await Promise.allSettled([
      caller().refreshToken({ refreshToken: other.refreshToken }),
      caller(undefined, '203.0.113.9').refreshToken({ refreshToken: other.refreshToken }),
    ]);
    expect(results.filter((r) => r.status === 'rejected').length).toBeGreaterThanOrEqual(1);
    const winner = results.find((r) => r.status === 'fulfilled');
    if (winner?.status === 'fulfilled') await expectCode(caller().refreshToken({ refreshToken: winner.value.refreshToken }), 'UNAUTHENTICATED', 'refresh_revoked');
  });

  it('logout revokes the refresh token; unknown tokens are UNAUTHENTICATED', async () => {
    const reg = await register();
    expect(await caller().logout({ refreshToken: reg.refreshToken })).toBe(true);
    await expectCode(caller().refreshToken({ refreshToken: reg.refreshToken }), 'UNAUTHENTICATED');
    await expectCode(caller().refreshToken({ refreshToken: 'x'.repeat(43) }), 'UNAUTHENTICATED', 'refresh_invalid');
  });

  it('me needs a viewer', async () => {
    await expectCode(caller().me(), 'UNAUTHENTICATED');
  });
});
