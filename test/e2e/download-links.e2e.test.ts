/**
 * Signed download links on the real stack (MariaDB, Redis, Ceph RGW): `createDownloadLink` gives
 * a URL that downloads without an Authorization header (as a browser's download manager fetches
 * it), resumes with Range + If-Range, and is bound to one file and one person for five minutes —
 * altered, foreign, expired links and trashed files answer 404. On a backend in redirect mode the
 * link is answered like the Bearer path: 302 for a plain GET, proxied for a resume.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOWNLOAD_LINK_SECONDS, DownloadLinks } from '../../internal/files/download-links.service.ts';
import type { FilesService } from '../../internal/files/files.service.ts';
import { cephBackend, startTestApp, uploadSmall, writeRouting, type TestApp } from '../support/app.ts';
import { testEnv } from '../support/env.ts';
import { errorCode, gql } from '../support/graphql.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';

let t: TestApp;
let alice: { token: string; userId: string };
let bob: { token: string; userId: string };
const body = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31 + (i >> 8)) % 256));
let fileId: string;
let otherId: string;

beforeAll(async () => {
  t = await startTestApp();
  alice = await t.signUp();
  bob = await t.signUp();
  fileId = (await uploadSmall(t.url, alice.token, 'plan "v2".pdf', body, null, 'application/pdf')).data!.uploadFile.id;
  otherId = (await uploadSmall(t.url, alice.token, 'other.txt', 'other bytes')).data!.uploadFile.id;
});
afterAll(() => t?.close());

const LINK = 'mutation($id: ID!) { createDownloadLink(id: $id) { url expiresAt } }';

async function link(id: string, token = alice.token): Promise<string> {
  const res = await gql<{ createDownloadLink: { url: string; expiresAt: string } }>(t.url, LINK, { id }, token);
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.createDownloadLink.url;
}

/** A 404 answer and its details.reason. */
async function refused(url: string): Promise<string | undefined> {
  const res = await fetch(url, { redirect: 'manual' });
  expect(res.status, url).toBe(404);
  return ((await res.json()) as { error: { code: string; details?: { reason?: string } } }).error.details?.reason;
}

describe('signed download links', () => {
  it('downloads without an Authorization header: whole, HEAD, and resumed with Range + If-Range (206)', async () => {
    const before = Date.now();
    const res = await gql<{ createDownloadLink: { url: string; expiresAt: string } }>(t.url, LINK, { id: fileId }, alice.token);
    const { url, expiresAt } = res.data!.createDownloadLink;
    expect(url.startsWith(`${t.url}/files/${fileId}/content?sig=`)).toBe(true);
    expect(url).not.toContain(alice.token);
    const ttl = Date.parse(expiresAt) - before;
    expect(ttl).toBeGreaterThan((DOWNLOAD_LINK_SECONDS - 5) * 1000);
    expect(ttl).toBeLessThanOrEqual((DOWNLOAD_LINK_SECONDS + 1) * 1000);

    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-disposition')).toMatch(/^attachment; /);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('referrer-policy')).toBe('no-referrer');
    const etag = whole.headers.get('etag')!;
    expect(Buffer.from(await whole.arrayBuffer()).equals(body)).toBe(true);

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(body.length));

    // What a download manager sends to resume: the rest, if the file is still the same.
    const resumed = await fetch(url, { headers: { range: 'bytes=40000-', 'if-range': etag } });
    expect(resumed.status).toBe(206);
    expect(resumed.headers.get('content-range')).toBe(`bytes 40000-${body.length - 1}/${body.length}`);
    expect(Buffer.from(await resumed.arrayBuffer()).equals(body.subarray(40_000))).toBe(true);
    expect((await fetch(url, { headers: { 'if-none-match': etag } })).status).toBe(304);
  });

  it('is bound to the file and the person: altered, moved or borrowed signatures answer 404', async () => {
    const url = new URL(await link(fileId));
    const sig = url.searchParams.get('sig')!;
    const [userId, expires, mac] = sig.split('.') as [string, string, string];
    const withSig = (id: string, s: string) => `${t.url}/files/${id}/content?sig=${encodeURIComponent(s)}`;
    const flipped = `${mac.slice(0, -2)}${mac.at(-2) === 'A' ? 'B' : 'A'}${mac.at(-1)}`;
    expect(await refused(withSig(fileId, `${userId}.${expires}.${flipped}`))).toBe('download_link_invalid');
    expect(await refused(withSig(fileId, `${userId}.${Number(expires) + 3600}.${mac}`))).toBe('download_link_invalid');
    expect(await refused(withSig(fileId, `${bob.userId}.${expires}.${mac}`))).toBe('download_link_invalid');
    expect(await refused(withSig(otherId, sig))).toBe('download_link_invalid');
    expect(await refused(withSig(fileId, 'garbage'))).toBe('download_link_invalid');
    expect(await refused(`${t.url}/files/${fileId}/content?sig=${encodeURIComponent(sig)}&sig=x`)).toBe('download_link_invalid');
    // Bob cannot sign for alice's file, and sees exactly what a random id gives him.
    const bobs = await gql(t.url, LINK, { id: fileId }, bob.token);
    expect(errorCode(bobs)).toBe('NOT_FOUND');
    expect(bobs.errors?.[0]?.message).toBe((await gql(t.url, LINK, { id: '00000000-0000-4000-8000-000000000000' }, bob.token)).errors?.[0]?.message);
    expect(errorCode(await gql(t.url, LINK, { id: fileId }))).toBe('UNAUTHENTICATED');
  });

  it('stops working once expired, and while the file is in the trash', async () => {
    // A link signed with the server's secret six minutes ago (this test knows the test secret).
    const content = (async () => ({})) as unknown as FilesService['content'];
    const past = new DownloadLinks(new TextEncoder().encode(TEST_JWT_SECRET), { content }, () => Date.now() - (DOWNLOAD_LINK_SECONDS + 60) * 1000);
    const { sig } = await past.create({ userId: alice.userId, username: '', isAdmin: false }, fileId);
    expect(await refused(`${t.url}/files/${fileId}/content?sig=${encodeURIComponent(sig)}`)).toBe('download_link_expired');

    const url = await link(otherId);
    expect((await fetch(url)).status).toBe(200);
    await gql(t.url, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: otherId }, alice.token);
    expect(await refused(url)).toBeUndefined();
    expect(errorCode(await gql(t.url, LINK, { id: otherId }, alice.token))).toBe('NOT_FOUND');
    await gql(t.url, 'mutation($id: ID!) { restoreFile(id: $id) { id } }', { id: otherId }, alice.token);
    expect((await fetch(url)).status).toBe(200);
  });

  it('on a backend in redirect mode answers a plain GET with 302 to the backend, and a resume itself', async () => {
    const url = await link(fileId);
    writeRouting(t.storageConfigPath, {
      default: 'ceph',
      backends: [{ ...cephBackend(), downloads: 'redirect' }, { name: 'local', type: 'local', path: path.join(t.dataDir, 'objects'), state: 'active' }],
    });
    let res = await fetch(url, { redirect: 'manual' });
    for (let i = 0; i < 100 && res.status !== 302; i++) {
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 50));
      res = await fetch(url, { redirect: 'manual' });
    }
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location')!).origin).toBe(new URL(testEnv.s3.endpoint).origin);
    const followed = await fetch(url);
    expect(followed.redirected).toBe(true);
    expect(Buffer.from(await followed.arrayBuffer()).equals(body)).toBe(true);
    const etag = (await fetch(url, { method: 'HEAD' })).headers.get('etag')!;
    const resumed = await fetch(url, { redirect: 'manual', headers: { range: 'bytes=69990-', 'if-range': etag } });
    expect(resumed.status).toBe(206);
    expect(Buffer.from(await resumed.arrayBuffer()).equals(body.subarray(69_990))).toBe(true);
  });
});
