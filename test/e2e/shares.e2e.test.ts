/**
 * Share links end to end on the real stack: public access with Range, passwords and unlock
 * tokens, expiry, download limits and revocation taking effect at once, folder shares that
 * cannot reach outside the folder, trash, and saving a share into one's drive without copying bytes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobRow } from '../../internal/files/files.entities.ts';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { errorCode, gql } from '../support/graphql.ts';

let t: TestApp;
let alice: string;
let bob: string;
const bytes = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7) % 256));
let fileId: string;

beforeAll(async () => {
  t = await startTestApp();
  alice = (await t.signUp()).token;
  bob = (await t.signUp()).token;
  fileId = (await uploadSmall(t.url, alice, 'report.pdf', bytes, null, 'application/pdf')).data!.uploadFile.id;
});
afterAll(() => t?.close());

interface ShareOut {
  id: string;
  token: string;
  url: string;
  downloads: number;
  views: number;
  hasPassword: boolean;
}
const SHARE = 'id token url fileId downloads views hasPassword maxDownloads expiresAt';

async function share(input: Record<string, unknown>, token = alice): Promise<ShareOut> {
  const res = await gql<{ createShare: ShareOut }>(t.url, `mutation($i: CreateShareInput!) { createShare(input: $i) { ${SHARE} } }`, { i: input }, token);
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.createShare;
}
const mine = async (id: string) => (await gql<{ shares: ShareOut[] }>(t.url, `{ shares { ${SHARE} } }`, {}, alice)).data!.shares.find((s) => s.id === id)!;
const visit = (token: string, extra = '', vars: Record<string, unknown> = {}) =>
  gql<{ share: { root: { name: string; downloadPath: string; isFolder: boolean } } }>(
    t.url,
    `query($t: String!, $p: String, $u: String) { share(token: $t, password: $p, unlockToken: $u) { hasPassword root { id name size isFolder downloadPath } ${extra} } }`,
    { t: token, ...vars },
  );
const download = (path: string, headers: Record<string, string> = {}) => fetch(`${t.url}${path}`, { headers });
const reason = (r: { errors?: { extensions?: { details?: Record<string, unknown> } }[] }) => r.errors?.[0]?.extensions?.details?.reason;

describe('share links', () => {
  it('opens for anyone with the token and downloads with Range; a download counts at its first byte, its resume (If-Range) not again', async () => {
    const s = await share({ fileId });
    expect(s.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.url).toBe(`${t.url}/share/${s.token}`);
    const opened = await visit(s.token);
    expect(opened.data?.share.root).toMatchObject({ name: 'report.pdf', downloadPath: `/s/${s.token}` });
    const first = await download(`/s/${s.token}`, { range: 'bytes=0-4999' });
    expect(first.status).toBe(206);
    expect(Buffer.from(await first.arrayBuffer()).equals(bytes.subarray(0, 5000))).toBe(true);
    expect((await mine(s.id)).downloads).toBe(1);
    const rest = await download(`/s/${s.token}`, { range: 'bytes=5000-', 'if-range': first.headers.get('etag')! });
    expect(Buffer.from(await rest.arrayBuffer()).equals(bytes.subarray(5000))).toBe(true);
    expect((await mine(s.id)).downloads).toBe(1);
    const whole = await download(`/s/${s.token}`);
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await mine(s.id)).downloads).toBe(2);
    expect((await mine(s.id)).views).toBe(1);
    expect((await download(`/s/${'x'.repeat(43)}`)).status).toBe(404);
  });

  it('stops at the download limit; the download holding the last slot can still resume', async () => {
    const s = await share({ fileId, maxDownloads: 1 });
    const first = await download(`/s/${s.token}`, { range: 'bytes=0-99' });
    expect(first.status).toBe(206);
    expect((await download(`/s/${s.token}`)).status).toBe(404);
    expect((await download(`/s/${s.token}`, { range: 'bytes=100-199' })).status).toBe(404);
    expect((await download(`/s/${s.token}`, { range: 'bytes=100-199', 'if-range': first.headers.get('etag')! })).status).toBe(206);
    expect(reason(await visit(s.token))).toBe('share_exhausted');
  });

  it('expires at its time and ends at once when revoked', async () => {
    const s = await share({ fileId, expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await download(`/s/${s.token}`)).status).toBe(200);
    await sleep(1600);
    expect((await download(`/s/${s.token}`)).status).toBe(404);
    expect(reason(await visit(s.token))).toBe('share_expired');
    const r = await share({ fileId });
    expect((await download(`/s/${r.token}`, { range: 'bytes=0-9' })).status).toBe(206);
    expect((await gql(t.url, 'mutation($id: ID!) { revokeShare(id: $id) }', { id: r.id }, alice)).data).toEqual({ revokeShare: true });
    expect((await download(`/s/${r.token}`, { range: 'bytes=10-19' })).status).toBe(404);
    expect(reason(await visit(r.token))).toBe('share_revoked');
    expect(errorCode(await gql(t.url, 'mutation($id: ID!) { revokeShare(id: $id) }', { id: r.id }, bob))).toBe('NOT_FOUND');
  });

  it('password shares: the password or an unlock token, never in a URL; wrong passwords rate limited', async () => {
    const s = await share({ fileId, password: 'open sesame' });
    expect(s.hasPassword).toBe(true);
    expect(reason(await visit(s.token))).toBe('share_password_required');
    expect(reason(await visit(s.token, '', { p: 'wrong' }))).toBe('share_password');
    expect((await visit(s.token, '', { p: 'open sesame' })).data?.share.root.name).toBe('report.pdf');
    expect((await download(`/s/${s.token}`)).status).toBe(401);
    const unlock = await gql<{ unlockShare: string }>(t.url, 'mutation($t: String!, $p: String!) { unlockShare(token: $t, password: $p) }', { t: s.token, p: 'open sesame' });
    const key = unlock.data!.unlockShare;
    const res = await download(`/s/${s.token}`, { authorization: `Bearer ${key}` });
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    // An unlock token opens only its own share.
    const other = await share({ fileId, password: 'another one' });
    expect((await download(`/s/${other.token}`, { authorization: `Bearer ${key}` })).status).toBe(401);
    // An access token of a signed-in person is not an unlock token either.
    expect((await download(`/s/${other.token}`, { authorization: `Bearer ${alice}` })).status).toBe(401);
    for (let i = 0; i < 10; i++) await visit(other.token, '', { p: `guess-${i}` });
    expect(errorCode(await visit(other.token, '', { p: 'another one' }))).toBe('RATE_LIMITED');
    expect(JSON.stringify(await gql(t.url, `{ shares { ${SHARE} } }`, {}, alice))).not.toContain('open sesame');
  });

  it('a folder share lets visitors browse and download inside the folder only', async () => {
    const folder = (await gql<{ createFolder: { id: string } }>(t.url, 'mutation { createFolder(name: "album") { id } }', {}, alice)).data!.createFolder.id;
    const sub = (await gql<{ createFolder: { id: string } }>(t.url, `mutation { createFolder(parentId: "${folder}", name: "2026") { id } }`, {}, alice)).data!.createFolder.id;
    const inner = (await uploadSmall(t.url, alice, 'photo.jpg', 'jpeg bytes', sub, 'image/jpeg')).data!.uploadFile.id;
    const outside = (await uploadSmall(t.url, alice, 'private.txt', 'secret', null)).data!.uploadFile.id;
    const s = await share({ fileId: folder });
    const tree = await visit(s.token, `item(id: "${sub}") { name children { totalCount edges { node { id name downloadPath } } } }`);
    const item = (tree.data?.share as unknown as { item: { name: string; children: { edges: { node: { id: string; downloadPath: string } }[] } } }).item;
    expect(item.name).toBe('2026');
    expect(item.children.edges[0]?.node).toEqual({ id: inner, name: 'photo.jpg', downloadPath: `/s/${s.token}/${inner}` });
    expect(await (await download(`/s/${s.token}/${inner}`)).text()).toBe('jpeg bytes');
    for (const id of [outside, fileId]) {
      expect((await download(`/s/${s.token}/${id}`)).status).toBe(404);
      expect(errorCode(await visit(s.token, `item(id: "${id}") { name }`))).toBe('NOT_FOUND');
    }
    expect((await download(`/s/${s.token}`)).status).toBe(400);
  });

  it('answers NOT_FOUND while the shared item is in the trash, and works again once restored', async () => {
    const id = (await uploadSmall(t.url, alice, 'temp.txt', 'trash me')).data!.uploadFile.id;
    const s = await share({ fileId: id });
    await gql(t.url, `mutation { deleteFile(id: "${id}") { id } }`, {}, alice);
    expect((await download(`/s/${s.token}`)).status).toBe(404);
    expect(errorCode(await visit(s.token))).toBe('NOT_FOUND');
    await gql(t.url, `mutation { restoreFile(id: "${id}") { id } }`, {}, alice);
    expect(await (await download(`/s/${s.token}`)).text()).toBe('trash me');
  });

  it('saves a shared folder into another drive by reference: no bytes copied, quota charged', async () => {
    const folder = (await gql<{ createFolder: { id: string } }>(t.url, 'mutation { createFolder(name: "to-save") { id } }', {}, alice)).data!.createFolder.id;
    const a = (await uploadSmall(t.url, alice, 'a.bin', Buffer.alloc(3000, 1), folder)).data!.uploadFile;
    await uploadSmall(t.url, alice, 'b.bin', Buffer.alloc(2000, 2), folder);
    const s = await share({ fileId: folder, password: 'pw-1234' });
    const em = () => t.app.runtime.orm.em.fork();
    const blobsBefore = await em().count(BlobRow, {});
    const refBefore = (await em().findOneOrFail(BlobRow, { contentHash: a.contentHash })).refCount;
    const usedBefore = (await gql<{ me: { quota: { used: number } } }>(t.url, '{ me { quota { used } } }', {}, bob)).data!.me.quota.used;
    expect(errorCode(await gql(t.url, 'mutation($t: String!) { saveShare(token: $t) { id } }', { t: s.token }, bob))).toBe('UNAUTHENTICATED');
    const saved = await gql<{ saveShare: { id: string; name: string; children: { totalCount: number; edges: { node: { id: string; name: string } }[] } } }>(
      t.url, 'mutation($t: String!, $p: String) { saveShare(token: $t, password: $p) { id name children { totalCount edges { node { id name } } } } }', { t: s.token, p: 'pw-1234' }, bob);
    expect(saved.data?.saveShare).toMatchObject({ name: 'to-save', children: { totalCount: 2 } });
    expect(await em().count(BlobRow, {})).toBe(blobsBefore);
    expect((await em().findOneOrFail(BlobRow, { contentHash: a.contentHash })).refCount).toBe(refBefore + 1);
    expect((await gql<{ me: { quota: { used: number } } }>(t.url, '{ me { quota { used } } }', {}, bob)).data!.me.quota.used).toBe(usedBefore + 5000);
    const copyOfA = saved.data!.saveShare.children.edges.find((e) => e.node.name === 'a.bin')!.node.id;
    const res = await download(`/files/${copyOfA}/content`, { authorization: `Bearer ${bob}` });
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.alloc(3000, 1))).toBe(true);
    // Saving again into the same folder names the copy "to-save (1)".
    const again = await gql<{ saveShare: { name: string } }>(t.url, 'mutation($t: String!, $p: String) { saveShare(token: $t, password: $p) { name } }', { t: s.token, p: 'pw-1234' }, bob);
    expect(again.data?.saveShare.name).toBe('to-save (1)');
    expect(errorCode(await gql(t.url, 'mutation($t: String!, $p: String) { saveShare(token: $t, password: $p) { id } }', { t: s.token, p: 'pw-1234' }))).toBe('UNAUTHENTICATED');
  });

  it('refuses bad share settings and strangers', async () => {
    expect(reason(await gql(t.url, `mutation { createShare(input: { fileId: "${fileId}", maxDownloads: 0 }) { id } }`, {}, alice))).toBe('max_downloads');
    expect(reason(await gql(t.url, `mutation { createShare(input: { fileId: "${fileId}", expiresAt: "2001-01-01T00:00:00Z" }) { id } }`, {}, alice))).toBe('expiry_in_past');
    expect(errorCode(await gql(t.url, `mutation { createShare(input: { fileId: "${fileId}" }) { id } }`, {}, bob))).toBe('NOT_FOUND');
    expect(errorCode(await gql(t.url, `mutation { createShare(input: { fileId: "${fileId}" }) { id } }`))).toBe('UNAUTHENTICATED');
    const s = await share({ fileId, password: 'first-pw' });
    const updated = await gql<{ updateShare: ShareOut }>(t.url, `mutation($id: ID!) { updateShare(id: $id, input: { password: null, maxDownloads: 5 }) { ${SHARE} } }`, { id: s.id }, alice);
    expect(updated.data?.updateShare).toMatchObject({ hasPassword: false });
    expect((await download(`/s/${s.token}`)).status).toBe(200);
  });
});
