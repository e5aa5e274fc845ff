/**
 * The activity log on both stacks (MariaDB + Redis, SQLite + memory), through the services'
 * tRPC callers: each operation writes its event exactly once, a refused one writes none (the event
 * is in the operation's transaction), visitors' addresses are shortened, another person's file is
 * NOT_FOUND, paging and its bounds, the audit log is administrators' only, the retention sweep.
 * The account's security events (password changed or reset, token revoked, logoutAll) and an
 * administrator's action (retryTransfer) are written once each; mail goes over real SMTP.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccounts, type DriveProvisioner } from '../accounts/index.ts';
import { AccountsRepository } from '../accounts/accounts.repository.ts';
import { SmtpMailer } from '../accounts/mailer.driver.ts';
import { createFiles } from '../files/index.ts';
import { hashPassword } from '../platform/auth/password-hash.ts';
import type { Viewer } from '../platform/request-context.ts';
import { runWithContext } from '../platform/request-context.ts';
import { createCallerFactory } from '../platform/rpc/trpc.ts';
import { callerAs, failureOf, storedBlob } from '../../test/support/embedded.ts';
import { STACKS, createTestRuntime, type TestRuntime } from '../../test/support/runtime.ts';
import { startInbox, type Inbox } from '../../test/support/smtp.ts';
import { createTransfer } from '../transfer/index.ts';
import { TransferJobRow } from '../transfer/transfer.entities.ts';
import { isSecurityAction } from './activity.actions.ts';
import { ActivityEventRow } from './activity.entities.ts';
import { ActivityRepository, recordEvent } from './activity.repository.ts';
import { ActivitySweeper } from './activity.sweeper.ts';
import type { ActivityEventDto } from './activity.service.ts';

const noDrive: DriveProvisioner = { provision: async () => undefined };

describe.each(STACKS)('activity on the %s stack', (stack) => {
  let t: TestRuntime;
  let files: ReturnType<typeof createFiles>;
  let accounts: ReturnType<typeof createAccounts>;
  let users: AccountsRepository;
  let inbox: Inbox;

  beforeAll(async () => {
    inbox = await startInbox();
    t = await createTestRuntime(stack, { DEFAULT_QUOTA_BYTES: '1000' });
    files = createFiles(t.runtime);
    accounts = createAccounts(t.runtime, noDrive, new SmtpMailer(inbox.url, 'Stratus <no-reply@stratus.test>'));
    users = new AccountsRepository(t.runtime.orm);
  });
  afterAll(async () => {
    await t?.close();
    await inbox?.close();
  });

  const as = (viewer: Viewer | undefined, ip = '198.51.100.23') => callerAs(createCallerFactory(files.router), viewer, ip);
  const person = (): Viewer => ({ userId: randomUUID(), username: `p${randomBytes(4).toString('hex')}`, isAdmin: false });
  const events = async (viewer: Viewer, fileId?: string): Promise<ActivityEventDto[]> =>
    (await as(viewer).activity.list({ first: 200, ...(fileId ? { fileId } : {}) })).edges.map((e) => e.node);
  const actions = async (viewer: Viewer, fileId?: string) => (await events(viewer, fileId)).map((e) => e.action);

  async function upload(viewer: Viewer, name: string, content = 'hello', parentId: string | null = null) {
    return as(viewer).commitFile({ parentId, name, mimeType: 'text/plain', ...(await storedBlob(t.runtime, content)) });
  }

  it('writes each file operation exactly once, newest first, with the actor and the shortened address', async () => {
    const me = person();
    await as(me).provisionDrive();
    const folder = await as(me).createFolder({ parentId: null, name: 'Docs' });
    const { file } = await upload(me, 'a.txt');
    await as(me).rename({ id: file.id, name: 'b.txt' });
    await as(me).move({ id: file.id, parentId: folder.id });
    await as(me).trash({ id: file.id });
    await as(me).restore({ id: file.id });
    await as(me).trash({ id: file.id });
    await as(me).purge({ id: file.id });
    expect(await actions(me)).toEqual(['PURGED', 'TRASHED', 'RESTORED', 'TRASHED', 'MOVED', 'RENAMED', 'UPLOADED']);
    const [purged, , , , , renamed, uploaded] = await events(me);
    expect(uploaded).toMatchObject({ fileId: file.id, fileName: 'a.txt', actorName: me.username, ip: '198.51.100.0', shareId: null });
    expect(renamed).toMatchObject({ fileId: file.id, fileName: 'b.txt' });
    // The purged file's events stay readable by its id, under the name it had.
    expect(purged).toMatchObject({ fileId: file.id, fileName: 'b.txt' });
    expect(await actions(me, file.id)).toHaveLength(7);
  });

  it('writes no event for a refused operation: a taken name, a quota refusal, a foreign id', async () => {
    const me = person();
    await as(me).provisionDrive();
    const { file } = await upload(me, 'one.txt');
    await upload(me, 'two.txt');
    expect(await failureOf(as(me).rename({ id: file.id, name: 'TWO.txt' }))).toBe('CONFLICT:name_taken');
    expect(await failureOf(upload(me, 'big.bin', 'x'.repeat(1001)))).toBe('QUOTA_EXCEEDED');
    expect(await failureOf(upload(me, 'one.txt'))).toBe('CONFLICT:name_taken');
    const stranger = person();
    await as(stranger).provisionDrive();
    expect(await failureOf(as(stranger).trash({ id: file.id }))).toBe('NOT_FOUND');
    expect(await actions(me)).toEqual(['UPLOADED', 'UPLOADED']);
    expect(await actions(stranger)).toEqual([]);
  });

  it("answers NOT_FOUND for another person's file (not an empty list), and an empty page for an own file without events", async () => {
    const owner = person();
    const other = person();
    await as(owner).provisionDrive();
    await as(other).provisionDrive();
    const { file } = await upload(owner, 'secret.txt');
    expect(await failureOf(as(other).activity.list({ first: 10, fileId: file.id }))).toBe('NOT_FOUND');
    expect(await failureOf(as(other).activity.list({ first: 10, fileId: randomUUID() }))).toBe('NOT_FOUND');
    const folder = await as(other).createFolder({ parentId: null, name: 'quiet' });
    expect((await as(other).activity.list({ first: 10, fileId: folder.id })).edges).toEqual([]);
    expect(await failureOf(as(undefined).activity.list({ first: 10 }))).toBe('UNAUTHENTICATED');
  });

  it('pages newest first with opaque cursors; first is bounded; a bad cursor is BAD_INPUT', async () => {
    const me = person();
    await as(me).provisionDrive();
    for (let i = 0; i < 5; i++) await upload(me, `f${i}.txt`, `c${i}`);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await as(me).activity.list({ first: 2, ...(after ? { after } : {}) });
      seen.push(...page.edges.map((e) => e.node.fileName ?? ''));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor ?? undefined;
    }
    expect(seen).toEqual(['f4.txt', 'f3.txt', 'f2.txt', 'f1.txt', 'f0.txt']);
    expect((await as(me).activity.list({ first: 0 })).edges).toEqual([]);
    expect(await failureOf(as(me).activity.list({ first: 201 }))).toBe('BAD_INPUT:page_size');
    expect(await failureOf(as(me).activity.list({ first: -1 }))).toBe('BAD_INPUT:page_size');
    for (const bad of ['nope', Buffer.from('{"t":"x","id":"y"}').toString('base64url'), 'x'.repeat(600)]) {
      expect(await failureOf(as(me).activity.list({ first: 5, after: bad }))).toMatch(/^BAD_INPUT/);
    }
  });

  it('records shares: created by the owner, opened and downloaded by visitors (no name, shortened address)', async () => {
    const me = person();
    await as(me).provisionDrive();
    const { file } = await upload(me, 'shared.txt');
    const share = await as(me).shares.create({ fileId: file.id });
    const visitor = (ip: string) => as(undefined, ip).shares;
    await visitor('2001:db8:abcd:12::1').open({ token: share.token });
    await visitor('203.0.113.9').takeDownloadSlot({ token: share.token, fileId: null, resume: false });
    const [downloaded, opened, created] = await events(me);
    expect(created).toMatchObject({ action: 'SHARE_CREATED', shareId: share.id, fileId: file.id, actorName: me.username });
    expect(opened).toMatchObject({ action: 'SHARE_OPENED', shareId: share.id, fileId: file.id, actorName: null, ip: '2001:db8:abcd::' });
    expect(downloaded).toMatchObject({ action: 'SHARE_DOWNLOADED', shareId: share.id, fileId: file.id, actorName: null, ip: '203.0.113.0' });
    // A download refused by the limit counts nothing and records nothing.
    const limited = await as(me).shares.create({ fileId: file.id, maxDownloads: 1 });
    await visitor('203.0.113.9').takeDownloadSlot({ token: limited.token, fileId: null, resume: false });
    expect(await failureOf(visitor('203.0.113.10').takeDownloadSlot({ token: limited.token, fileId: null, resume: false }))).toBe('NOT_FOUND:share_exhausted');
    expect((await actions(me)).filter((a) => a === 'SHARE_DOWNLOADED')).toHaveLength(2);
    // A download that fails before its first byte gives its slot back, and its event with it.
    const once = await as(me).shares.create({ fileId: file.id, maxDownloads: 1 });
    const { ticket } = await visitor('203.0.113.11').takeDownloadSlot({ token: once.token, fileId: null, resume: false });
    expect((await actions(me)).filter((a) => a === 'SHARE_DOWNLOADED')).toHaveLength(3);
    await visitor('203.0.113.11').releaseDownloadSlot({ ticket: ticket ?? '' });
    expect((await actions(me)).filter((a) => a === 'SHARE_DOWNLOADED')).toHaveLength(2);
    await visitor('203.0.113.12').takeDownloadSlot({ token: once.token, fileId: null, resume: false });
    expect((await actions(me)).filter((a) => a === 'SHARE_DOWNLOADED')).toHaveLength(3);
  });

  it('records a file-drop arrival as DROP_RECEIVED naming the link, not UPLOADED', async () => {
    const me = person();
    await as(me).provisionDrive();
    const linkId = randomUUID();
    const { file } = await as(me).commitFile({ parentId: null, name: 'dropped.pdf', mimeType: null, uploadLinkId: linkId, ...(await storedBlob(t.runtime, 'drop')) });
    expect(await events(me)).toEqual([expect.objectContaining({ action: 'DROP_RECEIVED', fileId: file.id, shareId: linkId, actorName: null })]);
  });

  it('records sign-ins, failed sign-ins and new tokens; the audit log lists everyone\'s, for administrators only', async () => {
    const username = `s${randomBytes(4).toString('hex')}`;
    const user = await users.createUser({ username, email: `${username}@example.com`, passwordHash: await hashPassword('a-good-password-1') });
    const viewer: Viewer = { userId: user.id, username, isAdmin: user.isAdmin, sessionId: 's' };
    const acc = (ip = '192.0.2.44') => callerAs(createCallerFactory(accounts.router), viewer, ip);
    await runWithContext({ requestId: 'ua', ip: '192.0.2.44', userAgent: 'TestBrowser/1.0' }, () =>
      createCallerFactory(accounts.router)({ requestId: 'ua', viewer: undefined, ip: '192.0.2.44', log: t.runtime.log }).login({ username, password: 'a-good-password-1' }));
    expect(await failureOf(acc().login({ username, password: 'wrong-password-9' }))).toBe('UNAUTHENTICATED:bad_credentials');
    const ghost = `ghost${randomBytes(4).toString('hex')}`;
    expect(await failureOf(acc().login({ username: ghost, password: 'wrong-password-9' }))).toBe('UNAUTHENTICATED:bad_credentials');
    await acc().accessTokens.create({ name: 'script', scopes: ['READ'] });
    // HTTP Basic (WebDAV) with a wrong token as the password.
    expect(await failureOf(acc().accessTokens.authenticate({ token: `stp_${'x'.repeat(43)}`, login: username }))).toBe('UNAUTHENTICATED:bad_credentials');
    const mine = await events(viewer);
    expect(mine.map((e) => e.action)).toEqual(['SIGN_IN_FAILED', 'TOKEN_CREATED', 'SIGN_IN_FAILED', 'SIGNED_IN']);
    expect(mine[3]).toMatchObject({ actorName: username, ip: '192.0.2.0', userAgent: 'TestBrowser/1.0' });

    const admin: Viewer = { userId: randomUUID(), username: 'root', isAdmin: true };
    expect(await failureOf(as({ ...viewer, isAdmin: false }).activity.audit({ first: 10 }))).toBe('FORBIDDEN');
    const audit = (await as(admin).activity.audit({ first: 200 })).edges.map((e) => e.node);
    expect(audit.every((e) => isSecurityAction(e.action))).toBe(true);
    expect(audit.filter((e) => e.actorName === ghost).map((e) => e.action)).toEqual(['SIGN_IN_FAILED']);
    expect(audit.filter((e) => e.actorName === username).map((e) => e.action)).toEqual(['SIGN_IN_FAILED', 'TOKEN_CREATED', 'SIGN_IN_FAILED', 'SIGNED_IN']);
  });

  /** A new person with a password, signed in (a session: tokens and passwords need one). */
  async function signedUp(): Promise<{ viewer: Viewer; email: string }> {
    const username = `s${randomBytes(4).toString('hex')}`;
    const email = `${username}@example.com`;
    const user = await users.createUser({ username, email, passwordHash: await hashPassword('a-good-password-1') });
    return { viewer: { userId: user.id, username, isAdmin: user.isAdmin, sessionId: randomUUID() }, email };
  }
  const accountsAs = (viewer: Viewer | undefined) => callerAs(createCallerFactory(accounts.router), viewer, '192.0.2.44');
  /** The audit log's events of one actor (everyone's newest 200: this test's are among them). */
  const auditOf = async (actorName: string) =>
    (await as({ userId: randomUUID(), username: 'root', isAdmin: true }).activity.audit({ first: 200 })).edges.map((e) => e.node).filter((e) => e.actorName === actorName);

  it('records password changes and resets, token revocations and logoutAll once each; refused ones record none; the audit log shows them', async () => {
    const { viewer, email } = await signedUp();
    const acc = accountsAs(viewer);
    expect(await failureOf(acc.changePassword({ oldPassword: 'not-the-password-1', newPassword: 'a-better-password-2' }))).toBe('UNAUTHENTICATED:bad_credentials');
    expect(await events(viewer)).toEqual([]);
    expect(await acc.changePassword({ oldPassword: 'a-good-password-1', newPassword: 'a-better-password-2' })).toBe(true);

    // Another person's token id is NOT_FOUND and records nothing, for either of them.
    const other = await signedUp();
    const theirs = await accountsAs(other.viewer).accessTokens.create({ name: 'theirs', scopes: ['READ'] });
    expect(await failureOf(acc.accessTokens.revoke({ id: theirs.accessToken.id }))).toBe('NOT_FOUND');
    expect(await failureOf(acc.accessTokens.revoke({ id: randomUUID() }))).toBe('NOT_FOUND');
    expect(await actions(other.viewer)).toEqual(['TOKEN_CREATED']);
    const mine = await acc.accessTokens.create({ name: 'script', scopes: ['READ'] });
    expect(await acc.accessTokens.revoke({ id: mine.accessToken.id })).toBe(true);
    expect(await failureOf(acc.accessTokens.revoke({ id: mine.accessToken.id }))).toBe('NOT_FOUND');
    expect(await acc.logoutAll()).toBe(true);

    // A wrong reset code changes nothing and records nothing; the e-mailed one does both.
    await accountsAs(undefined).requestPasswordReset({ email });
    const code = await inbox.codeFor(email);
    const wrong = code === '000000' ? '111111' : '000000';
    expect(await failureOf(accountsAs(undefined).resetPassword({ email, code: wrong, newPassword: 'a-reset-password-3' }))).toMatch(/^BAD_INPUT/);
    expect(await accountsAs(undefined).resetPassword({ email, code, newPassword: 'a-reset-password-3' })).toBe(true);

    const expected = [
      { action: 'PASSWORD_CHANGED', detail: 'reset' },
      { action: 'TOKEN_REVOKED', detail: 'all_logins' },
      { action: 'TOKEN_REVOKED', detail: `access_token ${mine.accessToken.id}` },
      { action: 'TOKEN_CREATED', detail: null },
      { action: 'PASSWORD_CHANGED', detail: 'changed' },
    ];
    const own = await events(viewer);
    expect(own.map(({ action, detail }) => ({ action, detail }))).toEqual(expected);
    expect(own.every((e) => e.actorName === viewer.username && e.fileId === null)).toBe(true);
    expect(own[4]).toMatchObject({ ip: '192.0.2.0' });
    expect((await auditOf(viewer.username)).map(({ action, detail }) => ({ action, detail }))).toEqual(expected);
    expect((await auditOf(other.viewer.username)).map((e) => e.action)).toEqual(['TOKEN_CREATED']);
  });

  it("records an administrator's retryTransfer as ADMIN_ACTION naming the job, once; a refused or idle retry records none", async () => {
    const transfer = await createTransfer(t.runtime, { worker: false, drainer: false });
    const asTransfer = (viewer: Viewer) => callerAs(createCallerFactory(transfer.router), viewer);
    const admin: Viewer = { ...person(), isAdmin: true };
    const now = new Date();
    const id = randomUUID();
    await t.runtime.orm.em.fork().insert(TransferJobRow, {
      id, blobId: randomUUID(), fromBackend: 'main', toBackend: 'main', mode: 'move', status: 'FAILED', activeKey: null, attempts: 3,
      lastError: 'gone', sourceKey: null, bytes: 0, startedAt: now, createdAt: now, updatedAt: now,
    });
    const stranger = person();
    expect(await failureOf(asTransfer(stranger).retry({ id }))).toBe('FORBIDDEN');
    expect(await failureOf(asTransfer(admin).retry({ id: randomUUID() }))).toBe('NOT_FOUND');
    expect(await asTransfer(admin).retry({ id })).toBe(true);
    // Queued now, not FAILED: nothing changes, nothing is recorded.
    expect(await asTransfer(admin).retry({ id })).toBe(false);
    const expected = [{ action: 'ADMIN_ACTION', detail: `retryTransfer ${id}`, actorName: admin.username, fileId: null }];
    expect((await events(admin)).map(({ action, detail, actorName, fileId }) => ({ action, detail, actorName, fileId }))).toEqual(expected);
    expect(await actions(stranger)).toEqual([]);
    expect((await auditOf(admin.username)).map(({ action, detail, actorName, fileId }) => ({ action, detail, actorName, fileId }))).toEqual(expected);
  });

  it('sweeps events older than the retention in bounded batches, and keeps the rest', async () => {
    const owner = randomUUID();
    const em = t.runtime.orm.em.fork();
    const now = new Date('2027-03-01T00:00:00Z');
    const old = new Date(now.getTime() - 91 * 86_400_000);
    for (let i = 0; i < 7; i++) await recordEvent(em, { ownerId: owner, action: 'UPLOADED', file: { id: randomUUID(), name: `old${i}` } }, old);
    await recordEvent(em, { ownerId: owner, action: 'RENAMED', file: { id: randomUUID(), name: 'recent' } }, new Date(now.getTime() - 89 * 86_400_000));
    const sweeper = new ActivitySweeper(new ActivityRepository(t.runtime.orm), 90, t.runtime.log, () => now, 3);
    await sweeper.sweep();
    const left = await t.runtime.orm.em.fork().find(ActivityEventRow, { ownerId: owner });
    expect(left.map((r) => r.fileName)).toEqual(['recent']);
  });
});
