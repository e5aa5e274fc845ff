/**
 * Attack class: exceeding a share's download limit by concurrency (issue 17, item 4). With
 * `maxDownloads: 2`, eight parallel downloads all received the file, and a limit-1 share was
 * saved three times by saveShare with its counter left at 0. The slot is now taken atomically
 * before the bytes go; one download in several ranges (a resume with If-Range) counts once; the
 * counter equals the downloads served. Refusals are 404 NOT_FOUND `share_exhausted` (README).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobRow } from '../../internal/files/files.entities.ts';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { gql, type GraphQLResponse } from '../support/graphql.ts';

let t: TestApp;
let alice: string;
let bob: string;
const bytes = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7) % 256));
let fileId: string;
let etag: string;

/** MariaDB, Redis and Ceph; and the embedded default the attack was made on (SQLite, memory KV, disk). */
const STACKS = {
  real: () => startTestApp(),
  embedded: () =>
    startTestApp({
      env: { DATABASE_URL: '', REDIS_URL: '' },
      routing: (dataDir) => ({ default: 'disk', backends: [{ name: 'disk', type: 'local', path: path.join(dataDir, 'objects'), state: 'active' }] }),
    }),
};

async function share(input: Record<string, unknown>): Promise<{ id: string; token: string }> {
  const res = await gql<{ createShare: { id: string; token: string } }>(t.url, 'mutation($i: CreateShareInput!) { createShare(input: $i) { id token } }', { i: input }, alice);
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.createShare;
}
const counter = async (id: string) =>
  (await gql<{ shares: { id: string; downloads: number }[] }>(t.url, '{ shares { id downloads } }', {}, alice)).data!.shares.find((s) => s.id === id)!.downloads;
/** A visitor's request; `client` becomes the User-Agent, the address is loopback for all. */
async function get(path: string, client: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(`${t.url}${path}`, { method, headers: { 'user-agent': client, ...headers } });
  const body = Buffer.from(await res.arrayBuffer());
  const reason = res.status >= 400 && body.length > 0 ? (JSON.parse(body.toString()) as { error?: { details?: { reason?: string } } }).error?.details?.reason : undefined;
  return { status: res.status, body, reason };
}
const reasonOf = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.details?.reason;

describe.each(Object.keys(STACKS) as (keyof typeof STACKS)[])('share download limits under concurrency on the %s stack', (stack) => {
  beforeAll(async () => {
    t = await STACKS[stack]();
    alice = (await t.signUp()).token;
    bob = (await t.signUp()).token;
    const up = (await uploadSmall(t.url, alice, 'limited.bin', bytes)).data!.uploadFile;
    fileId = up.id;
    etag = `"${up.contentHash}"`;
  });
  afterAll(() => t?.close());

  it('maxDownloads 2 with 8 parallel whole-file GETs: exactly 2 get the bytes, the rest 404 share_exhausted', async () => {
    const s = await share({ fileId, maxDownloads: 2 });
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => get(`/s/${s.token}`, `client-${i}`)));
    const served = results.filter((r) => r.status === 200);
    expect(served).toHaveLength(2);
    for (const r of served) expect(r.body.equals(bytes)).toBe(true);
    for (const r of results.filter((x) => x.status !== 200)) expect(r).toMatchObject({ status: 404, reason: 'share_exhausted' });
    expect(await counter(s.id)).toBe(2);
  });

  it('parallel range requests each start a download: at most maxDownloads of them are served', async () => {
    const s = await share({ fileId, maxDownloads: 2 });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => get(`/s/${s.token}`, 'segmenting-client', { range: `bytes=${i * 1250}-${i * 1250 + 1249}` })),
    );
    expect(results.filter((r) => r.status === 206)).toHaveLength(2);
    expect(results.filter((r) => r.status === 404 && r.reason === 'share_exhausted')).toHaveLength(6);
    expect(await counter(s.id)).toBe(2);
  });

  it('a resumed download (two ranges, the second with If-Range) counts once and holds its slot against others', async () => {
    const s = await share({ fileId, maxDownloads: 1 });
    const first = await get(`/s/${s.token}`, 'browser-a', { range: 'bytes=0-4999' });
    expect(first.status).toBe(206);
    expect(await counter(s.id)).toBe(1);
    // The only slot is taken: another visitor is refused, even while the first has not finished.
    expect(await get(`/s/${s.token}`, 'browser-b')).toMatchObject({ status: 404, reason: 'share_exhausted' });
    // Not a resume: another client's If-Range, or a range from 0, or a range without If-Range.
    expect(await get(`/s/${s.token}`, 'browser-b', { range: 'bytes=5000-', 'if-range': etag })).toMatchObject({ status: 404, reason: 'share_exhausted' });
    expect(await get(`/s/${s.token}`, 'browser-a', { range: 'bytes=5000-' })).toMatchObject({ status: 404, reason: 'share_exhausted' });
    expect(await get(`/s/${s.token}`, 'browser-a', { range: 'bytes=0-', 'if-range': etag })).toMatchObject({ status: 404, reason: 'share_exhausted' });
    const rest = await get(`/s/${s.token}`, 'browser-a', { range: 'bytes=5000-', 'if-range': etag });
    expect(rest.status).toBe(206);
    expect(Buffer.concat([first.body, rest.body]).equals(bytes)).toBe(true);
    // A retried resume of the same download is still the same download.
    expect((await get(`/s/${s.token}`, 'browser-a', { range: 'bytes=9000-', 'if-range': etag })).status).toBe(206);
    expect(await counter(s.id)).toBe(1);
  });

  it('a whole-file GET broken off mid-way is resumed with If-Range without taking a second slot', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const up = (await uploadSmall(t.url, alice, 'big.bin', big)).data!.uploadFile;
    const s = await share({ fileId: up.id, maxDownloads: 1 });
    const controller = new AbortController();
    const res = await fetch(`${t.url}/s/${s.token}`, { headers: { 'user-agent': 'flaky-browser' }, signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const chunk = await reader.read();
    const got = chunk.value?.byteLength ?? 0;
    expect(got).toBeGreaterThan(0);
    controller.abort();
    await reader.cancel().catch(() => undefined);
    // The broken-off download still holds the only slot.
    expect(await get(`/s/${s.token}`, 'someone-else')).toMatchObject({ status: 404, reason: 'share_exhausted' });
    const rest = await get(`/s/${s.token}`, 'flaky-browser', { range: `bytes=${got}-`, 'if-range': `"${up.contentHash}"` });
    expect(rest.status).toBe(206);
    expect(rest.body.length).toBe(big.length - got);
    expect(await counter(s.id)).toBe(1);
  });

  it('saveShare copies the whole file, so it counts: a limit-1 share saved 3 times in parallel succeeds once', async () => {
    const s = await share({ fileId, maxDownloads: 1 });
    const results = await Promise.all(
      Array.from({ length: 3 }, () => gql<{ saveShare: { id: string } }>(t.url, 'mutation($t: String!) { saveShare(token: $t) { id } }', { t: s.token }, bob)),
    );
    expect(results.filter((r) => r.data?.saveShare)).toHaveLength(1);
    for (const r of results.filter((x) => !x.data?.saveShare)) expect(reasonOf(r)).toBe('share_exhausted');
    expect(await counter(s.id)).toBe(1);
    expect((await get(`/s/${s.token}`, 'late')).status).toBe(404);
  });

  it('the counter equals what was served: HEAD, 304 and 416 take no slot, a failure before any byte gives it back', async () => {
    const s = await share({ fileId, maxDownloads: 3 });
    const mixed = await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => get(`/s/${s.token}`, `head-${i}`, {}, 'HEAD')),
      ...Array.from({ length: 4 }, (_, i) => get(`/s/${s.token}`, `cached-${i}`, { 'if-none-match': etag })),
      ...Array.from({ length: 4 }, (_, i) => get(`/s/${s.token}`, `bad-range-${i}`, { range: 'bytes=20000-' })),
      ...Array.from({ length: 6 }, (_, i) => get(`/s/${s.token}`, `whole-${i}`)),
      ...Array.from({ length: 6 }, (_, i) => get(`/s/${s.token}`, `part-${i}`, { range: 'bytes=100-199' })),
    ]);
    const served = mixed.filter((r) => r.status === 200 && r.body.length > 0 || r.status === 206);
    expect(served).toHaveLength(3);
    expect(await counter(s.id)).toBe(3);
    // Bytes gone from the backend: the GET fails before any byte and the slot comes back.
    const lost = (await uploadSmall(t.url, alice, 'lost.bin', 'bytes that will be lost')).data!.uploadFile;
    const l = await share({ fileId: lost.id, maxDownloads: 1 });
    const blob = await t.app.runtime.orm.em.fork().findOneOrFail(BlobRow, { contentHash: lost.contentHash });
    await t.app.runtime.storage.store(blob.backend).delete(blob.storageKey);
    expect((await get(`/s/${l.token}`, 'unlucky')).status).toBeGreaterThanOrEqual(400);
    expect(await counter(l.id)).toBe(0);
  });
});
