/**
 * Share links through the files router's tRPC caller on the embedded stack (no service needed):
 * the owner creates, lists, updates and revokes; visitors open, browse, download within the limit,
 * unlock with the password; a signed-in visitor saves a copy. Every refusal has its stable reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Viewer } from '../platform/request-context.ts';
import { createCallerFactory } from '../platform/rpc/trpc.ts';
import { callerAs, failureOf, newViewer, storedBlob } from '../../test/support/embedded.ts';
import { createTestRuntime, type TestRuntime } from '../../test/support/runtime.ts';
import { createFiles } from './index.ts';

let t: TestRuntime;
let files: ReturnType<typeof createFiles>;
const as = (viewer: Viewer | undefined, ip?: string) => callerAs(createCallerFactory(files.router), viewer, ip);

beforeAll(async () => {
  t = await createTestRuntime('embedded');
  files = createFiles(t.runtime);
});
afterAll(() => t?.close());

/** A person with a drive holding `report.txt` inside the folder `Shared`. */
async function owner() {
  const viewer = newViewer('owner');
  const me = as(viewer);
  await me.provisionDrive();
  const folder = await me.createFolder({ parentId: null, name: 'Shared' });
  const file = (await me.commitFile({ parentId: folder.id, name: 'report.txt', mimeType: 'text/plain', ...(await storedBlob(t.runtime, 'quarterly numbers')) })).file;
  return { viewer, me, folder, file };
}

const visitor = () => as(undefined, '192.0.2.10');
const client = { ip: '192.0.2.10', userAgent: 'test' };

describe('shares router on the embedded stack', () => {
  it('a folder share: visitors open and browse it, download within the limit, nothing outside it', async () => {
    const { me, folder, file } = await owner();
    const outside = await me.createFolder({ parentId: null, name: 'Private' });
    const share = await me.shares.create({ fileId: folder.id, maxDownloads: 1 });
    expect(share).toMatchObject({ fileId: folder.id, maxDownloads: 1, downloads: 0, hasPassword: false });
    expect(share.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await me.shares.list()).map((s) => s.id)).toEqual([share.id]);

    const key = { token: share.token };
    expect(await visitor().shares.open(key)).toMatchObject({ hasPassword: false, root: { id: folder.id, name: 'Shared' } });
    const children = await visitor().shares.children({ ...key, folderId: null });
    expect(children.edges.map((e) => e.node.name)).toEqual(['report.txt']);
    expect(await visitor().shares.node({ ...key, id: file.id })).toMatchObject({ name: 'report.txt' });
    expect(await failureOf(visitor().shares.node({ ...key, id: outside.id }))).toBe('NOT_FOUND');
    expect((await visitor().shares.content({ ...key, fileId: file.id, userAgent: client.userAgent })).file).toMatchObject({ id: file.id, size: 17 });

    expect(await visitor().shares.takeDownloadSlot({ ...key, fileId: file.id, resume: false, userAgent: client.userAgent })).toMatchObject({ ticket: expect.any(String) });
    expect(await failureOf(as(undefined, '198.51.100.7').shares.takeDownloadSlot({ ...key, fileId: file.id, resume: false }))).toBe('NOT_FOUND:share_exhausted');
    expect(await failureOf(visitor().shares.open({ token: 'x'.repeat(43) }))).toBe('NOT_FOUND:share_unknown');
  });

  it('a password share: refused without or with a wrong password, opened with it or an unlock token', async () => {
    const { me, file } = await owner();
    expect(await failureOf(me.shares.create({ fileId: file.id, password: 'abc' }))).toBe('BAD_INPUT:share_password_length');
    expect(await failureOf(me.shares.create({ fileId: file.id, expiresAt: '2000-01-01T00:00:00Z' }))).toBe('BAD_INPUT:expiry_in_past');
    expect(await failureOf(me.shares.create({ fileId: file.id, maxDownloads: 0 }))).toBe('BAD_INPUT:max_downloads');
    const share = await me.shares.create({ fileId: file.id, password: 'open sesame' });
    expect(share.hasPassword).toBe(true);
    expect(await failureOf(visitor().shares.open({ token: share.token }))).toBe('UNAUTHENTICATED:share_password_required');
    expect(await failureOf(visitor().shares.open({ token: share.token, password: 'guess' }))).toBe('UNAUTHENTICATED:share_password');
    expect(await visitor().shares.open({ token: share.token, password: 'open sesame' })).toMatchObject({ root: { id: file.id } });
    const unlockToken = await visitor().shares.unlock({ token: share.token, password: 'open sesame' });
    expect(await visitor().shares.open({ token: share.token, unlockToken })).toMatchObject({ root: { id: file.id } });
    // A changed password ends the unlock tokens of the old one.
    await me.shares.update({ id: share.id, password: 'a new secret' });
    expect(await failureOf(visitor().shares.open({ token: share.token, unlockToken }))).toBe('UNAUTHENTICATED:share_password_required');
    expect(await me.shares.update({ id: share.id, password: null })).toMatchObject({ hasPassword: false });
    expect(await visitor().shares.open({ token: share.token })).toMatchObject({ hasPassword: false });
  });

  it('revoking ends the link; strangers cannot see or revoke it; a signed-in visitor saves a copy', async () => {
    const { me, file } = await owner();
    const share = await me.shares.create({ fileId: file.id });
    const stranger = as(newViewer('stranger'));
    await stranger.provisionDrive();
    expect(await stranger.shares.list()).toEqual([]);
    expect(await failureOf(stranger.shares.revoke({ id: share.id }))).toBe('NOT_FOUND');
    const copy = await stranger.shares.save({ token: share.token, targetFolderId: null });
    expect(copy).toMatchObject({ name: 'report.txt', size: 17, contentHash: file.contentHash });
    expect((await stranger.quota()).used).toBe(17);
    expect(await failureOf(visitor().shares.save({ token: share.token, targetFolderId: null }))).toBe('UNAUTHENTICATED');
    expect(await me.shares.revoke({ id: share.id })).toBe(true);
    expect(await failureOf(visitor().shares.open({ token: share.token }))).toBe('NOT_FOUND:share_revoked');
  });
});
