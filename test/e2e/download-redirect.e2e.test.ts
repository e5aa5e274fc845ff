/**
 * Redirected downloads on the real stack: a Ceph backend whose routing entry says
 * `downloads: "redirect"` answers plain GETs of /files/{id}/content with 302 to a presigned RGW
 * URL that plain fetch (and the CLI) follows; every request the backend would answer differently
 * (validators, several ranges, bad ranges, HEAD, inline) stays proxied; shares never redirect;
 * the mode follows the routing file without a restart; `publicEndpoint` decides the signed host.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIRECT_URL_SECONDS } from '../../api/http/download-redirect.ts';
import { StratusApi } from '../../cli/lib/api.ts';
import { downloadFile } from '../../cli/lib/download.ts';
import { combineBlockDigests } from '../../internal/files/content-hash.ts';
import { cephBackend, startTestApp, uploadSmall, writeRouting, type TestApp } from '../support/app.ts';
import { tempDir } from '../support/db.ts';
import { testEnv } from '../support/env.ts';
import { gql } from '../support/graphql.ts';

const MiB = 1024 * 1024;
const BLOCK = 4 * MiB;
const contentHashOf = (b: Buffer) => {
  const digests: Buffer[] = [];
  for (let at = 0; at < b.length; at += BLOCK) digests.push(createHash('sha256').update(b.subarray(at, at + BLOCK)).digest());
  return combineBlockDigests(digests);
};

const routing = (dataDir: string, downloads: 'proxy' | 'redirect', extra: Record<string, unknown> = {}) => ({
  default: 'ceph',
  backends: [
    { ...cephBackend(), downloads, ...extra },
    { name: 'local', type: 'local', path: path.join(dataDir, 'objects'), state: 'active', downloads: 'redirect' },
  ],
});

let t: TestApp;
let token: string;
const body = Buffer.from(Array.from({ length: 3 * MiB + 123 }, (_, i) => (i * 13 + (i >> 11)) % 256));
let fileId: string;
let etag: string;

beforeAll(async () => {
  t = await startTestApp({ routing: (dir) => routing(dir, 'redirect') });
  ({ token } = await t.signUp());
  const up = await uploadSmall(t.url, token, 'plan v2 (final).pdf', body, null, 'application/pdf');
  fileId = up.data!.uploadFile.id;
  etag = `"${contentHashOf(body)}"`;
});
afterAll(() => t?.close());

const get = (id: string, headers: Record<string, string> = {}, init: RequestInit = {}) =>
  fetch(`${t.url}/files/${id}/content`, { redirect: 'manual', ...init, headers: { authorization: `Bearer ${token}`, ...headers } });

/** Waits until the app serves `expected` for a plain GET (the routing file is watched). */
async function untilStatus(expected: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const res = await get(fileId);
    await res.body?.cancel();
    if (res.status === expected) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`downloads never answered ${expected}`);
}

describe('redirected downloads', () => {
  it('answers a plain GET with 302 to a short-lived presigned RGW URL that fetch follows to the right bytes and name', async () => {
    const res = await get(fileId);
    expect(res.status).toBe(302);
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    const location = new URL(res.headers.get('location')!);
    expect(location.origin).toBe(new URL(testEnv.s3.endpoint).origin);
    expect(location.searchParams.get('X-Amz-Expires')).toBe(String(REDIRECT_URL_SECONDS));
    // No token or Stratus secret in the URL: only the backend's signature for this one object.
    expect(location.href).not.toContain(token);

    const followed = await get(fileId, {}, { redirect: 'follow' });
    expect(followed.status).toBe(200);
    expect(followed.redirected).toBe(true);
    expect(followed.headers.get('content-type')).toBe('application/pdf');
    expect(followed.headers.get('content-disposition')).toContain(`filename*=UTF-8''plan%20v2%20%28final%29.pdf`);
    expect(Buffer.from(await followed.arrayBuffer()).equals(body)).toBe(true);
  });

  it('redirects one byte range, and the backend answers it with 206 and the same Content-Range Stratus would send', async () => {
    for (const [range, contentRange, [from, to]] of [
      ['bytes=10-19', 'bytes 10-19/3145851', [10, 20]],
      ['bytes=-5', 'bytes 3145846-3145850/3145851', [body.length - 5, body.length]],
      ['bytes=3145800-99999999', 'bytes 3145800-3145850/3145851', [3145800, body.length]],
    ] as const) {
      expect((await get(fileId, { range })).status, range).toBe(302);
      const res = await get(fileId, { range }, { redirect: 'follow' });
      expect(res.status, range).toBe(206);
      expect(res.headers.get('content-range'), range).toBe(contentRange);
      expect(Buffer.from(await res.arrayBuffer()).equals(body.subarray(from, to)), range).toBe(true);
    }
  });

  it('serves itself what the backend would answer differently: validators, several or bad ranges, HEAD, inline', async () => {
    const cases: [string, Record<string, string>, RequestInit, number][] = [
      ['If-Range (ours)', { range: 'bytes=0-9', 'if-range': etag }, {}, 206],
      ['If-Range (stale)', { range: 'bytes=0-9', 'if-range': '"stale"' }, {}, 200],
      ['If-None-Match', { 'if-none-match': etag }, {}, 304],
      ['If-Match', { 'if-match': etag }, {}, 200],
      ['several ranges', { range: 'bytes=0-1,5-6' }, {}, 200],
      ['unsatisfiable range', { range: `bytes=${body.length}-` }, {}, 416],
      ['other unit', { range: 'items=0-1' }, {}, 200],
      ['HEAD', {}, { method: 'HEAD' }, 200],
    ];
    for (const [name, headers, init, status] of cases) {
      const res = await get(fileId, headers, init);
      expect(res.status, name).toBe(status);
      expect(res.headers.get('location'), name).toBeNull();
      if (status !== 304) expect(res.headers.get('etag'), name).toBe(etag);
      await res.body?.cancel();
    }
    const inline = await fetch(`${t.url}/files/${fileId}/content?inline=1`, { redirect: 'manual', headers: { authorization: `Bearer ${token}` } });
    expect(inline.status).toBe(200);
    expect(inline.headers.get('content-disposition')).toMatch(/^inline/);
    await inline.body?.cancel();
  });

  it('gives strangers and anonymous callers no URL', async () => {
    const stranger = await t.signUp();
    const res = await fetch(`${t.url}/files/${fileId}/content`, { redirect: 'manual', headers: { authorization: `Bearer ${stranger.token}` } });
    expect(res.status).toBe(404);
    expect(res.headers.get('location')).toBeNull();
    const anonymous = await fetch(`${t.url}/files/${fileId}/content`, { redirect: 'manual' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('location')).toBeNull();
  });

  it('never redirects share links: their download count needs the last byte to pass through Stratus', async () => {
    const share = await gql<{ createShare: { token: string } }>(t.url, 'mutation($i: CreateShareInput!) { createShare(input: $i) { token } }', { i: { fileId, maxDownloads: 5 } }, token);
    const res = await fetch(`${t.url}/s/${share.data!.createShare.token}`, { redirect: 'manual' });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
  });

  it('proxies a backend that cannot sign URLs (local) even when it asks for redirects', async () => {
    writeRouting(t.storageConfigPath, { ...routing(t.dataDir, 'redirect'), default: 'local' });
    await new Promise((r) => setTimeout(r, 300));
    const local = (await uploadSmall(t.url, token, 'local.bin', Buffer.from('on local disk'))).data!.uploadFile;
    const res = await get(local.id);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('on local disk');
    writeRouting(t.storageConfigPath, routing(t.dataDir, 'redirect'));
  });

  it('signs for publicEndpoint when one is set, and follows the routing file back to proxying without a restart', async () => {
    const publicEndpoint = testEnv.s3.endpoint.replace('127.0.0.1', 'localhost');
    writeRouting(t.storageConfigPath, routing(t.dataDir, 'redirect', { publicEndpoint }));
    for (let i = 0; ; i++) {
      const res = await get(fileId);
      const location = res.headers.get('location');
      if (location?.startsWith(publicEndpoint)) break;
      if (i > 100) throw new Error(`never signed for ${publicEndpoint}: ${location}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // SigV4 signs the Host header: the URL works at the public name it was signed for.
    const followed = await get(fileId, { range: 'bytes=0-99' }, { redirect: 'follow' });
    expect(followed.status).toBe(206);
    expect(Buffer.from(await followed.arrayBuffer()).equals(body.subarray(0, 100))).toBe(true);

    writeRouting(t.storageConfigPath, routing(t.dataDir, 'proxy'));
    await untilStatus(200);
    writeRouting(t.storageConfigPath, routing(t.dataDir, 'redirect'));
    await untilStatus(302);
  });

  it('lets the CLI download through the redirect and resume an interrupted download through Stratus (If-Range with our ETag)', async () => {
    const dir = tempDir('stratus-redirect-cli-');
    const out = path.join(dir, 'plan.pdf');
    const api = new StratusApi(t.url, token);
    const abort = new AbortController();
    await expect(
      downloadFile(api, fileId, out, {
        limitRate: 4 * MiB,
        signal: abort.signal,
        onProgress: (done) => {
          if (done >= MiB) abort.abort();
        },
      }),
    ).rejects.toThrow();
    const partial = (await stat(out)).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(body.length);
    // The validator kept for the resume is Stratus's ETag, not RGW's MD5 ETag of the redirect.
    expect(JSON.parse(await readFile(`${out}.stratus-download.json`, 'utf8'))).toMatchObject({ id: fileId, etag });

    const result = await downloadFile(api, fileId, out);
    expect(result).toMatchObject({ bytes: body.length, resumedAt: partial, restarted: false });
    expect((await readFile(out)).equals(body)).toBe(true);

    const fresh = await downloadFile(api, fileId, path.join(dir, 'fresh.pdf'));
    expect(fresh).toMatchObject({ resumedAt: 0, contentHash: etag.slice(1, -1) });
  });
});
