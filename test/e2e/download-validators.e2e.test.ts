/**
 * Validators and ranges on the real stack (MariaDB, Redis, Ceph RGW), for the file download and
 * the share download alike (one module, api/http/conditional.ts, decides both): the weak
 * If-None-Match of RFC 9110 §13.1.2, If-Match's strong comparison, Last-Modified with the date
 * conditions, and ranges whose numbers exceed 2^53 (§14.1.2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { gql } from '../support/graphql.ts';

let t: TestApp;
let token: string;
let fileUrl: string;
let shareUrl: string;
const body = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
const HUGE = '99999999999999999999';

beforeAll(async () => {
  t = await startTestApp();
  ({ token } = await t.signUp());
  const file = (await uploadSmall(t.url, token, 'validators.bin', body)).data!.uploadFile;
  fileUrl = `${t.url}/files/${file.id}/content`;
  const share = await gql<{ createShare: { token: string } }>(t.url, 'mutation($f: ID!) { createShare(input: { fileId: $f }) { token } }', { f: file.id }, token);
  shareUrl = `${t.url}/s/${share.data!.createShare.token}`;
});
afterAll(() => t?.close());

const targets = (): { name: string; url: string; auth: Record<string, string> }[] => [
  { name: 'file', url: fileUrl, auth: { authorization: `Bearer ${token}` } },
  { name: 'share', url: shareUrl, auth: {} },
];

describe('download validators', () => {
  it('answers If-None-Match: W/"<etag>" with 304 (weak comparison, RFC 9110 §13.1.2)', async () => {
    for (const target of targets()) {
      const first = await fetch(target.url, { headers: target.auth });
      const etag = first.headers.get('etag')!;
      await first.arrayBuffer();
      const res = await fetch(target.url, { headers: { ...target.auth, 'if-none-match': `"nope", W/${etag}` } });
      expect(res.status, target.name).toBe(304);
      expect(res.headers.get('etag'), target.name).toBe(etag);
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    }
  });

  it('serves a range whose last-pos exceeds 2^53 to the end (§14.1.2), 416 only when it starts past the end', async () => {
    for (const target of targets()) {
      const res = await fetch(target.url, { headers: { ...target.auth, range: `bytes=100-${HUGE}` } });
      expect(res.status, target.name).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes 100-2999/3000`);
      expect(Buffer.from(await res.arrayBuffer()).equals(body.subarray(100))).toBe(true);
      const suffix = await fetch(target.url, { headers: { ...target.auth, range: `bytes=-${HUGE}` } });
      expect(suffix.status, target.name).toBe(206);
      expect(suffix.headers.get('content-range')).toBe('bytes 0-2999/3000');
      await suffix.arrayBuffer();
      const past = await fetch(target.url, { headers: { ...target.auth, range: `bytes=${HUGE}-` } });
      expect(past.status, target.name).toBe(416);
      expect(past.headers.get('content-range')).toBe('bytes */3000');
      await past.arrayBuffer();
    }
  });

  it("compares If-Match strongly (412 for a weak or stale tag) and dates against Last-Modified", async () => {
    for (const target of targets()) {
      const first = await fetch(target.url, { method: 'HEAD', headers: target.auth });
      const etag = first.headers.get('etag')!;
      const lastModified = first.headers.get('last-modified');
      expect(lastModified, target.name).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
      const status = async (headers: Record<string, string>) => {
        const res = await fetch(target.url, { headers: { ...target.auth, ...headers } });
        await res.arrayBuffer();
        return res.status;
      };
      expect(await status({ 'if-match': etag }), target.name).toBe(200);
      expect(await status({ 'if-match': `W/${etag}` }), target.name).toBe(412);
      expect(await status({ 'if-match': '"stale"' }), target.name).toBe(412);
      expect(await status({ 'if-modified-since': lastModified! }), target.name).toBe(304);
      expect(await status({ 'if-unmodified-since': 'Thu, 01 Jan 1998 00:00:00 GMT' }), target.name).toBe(412);
      expect(await status({ range: 'bytes=0-9', 'if-range': `W/${etag}` }), target.name).toBe(200);
      expect(await status({ range: 'bytes=0-9', 'if-range': etag }), target.name).toBe(206);
    }
  });
});
