/**
 * Proxied downloads big enough (≥ 8 MiB expected) for the S3 driver's lean GET
 * (internal/storage/s3/lean-get.ts), on the real stack with Ceph RGW in `proxy` mode: the bytes,
 * ranges, validators and Content-Disposition are the same as through the SDK, for the file
 * download and the share download, and a client that goes away mid-body does not break the next
 * download. Then curl, a client no one here wrote, as people run it: whole, throttled, ranged, cut
 * off and resumed with `-C -`, all at once on one 64 MiB file.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { tempDir } from '../support/db.ts';
import { gql } from '../support/graphql.ts';

const run = promisify(execFile);

const MiB = 1024 * 1024;
let t: TestApp;
let token: string;
let fileUrl: string;
let shareUrl: string;
// 12 MiB + 5: the whole file and the big ranges take the lean GET; a 1 KiB range the SDK.
const body = Buffer.from(Array.from({ length: 12 * MiB + 5 }, (_, i) => (i * 31 + (i >> 11)) & 0xff));

beforeAll(async () => {
  t = await startTestApp();
  ({ token } = await t.signUp());
  const file = (await uploadSmall(t.url, token, 'big report.bin', body)).data!.uploadFile;
  fileUrl = `${t.url}/files/${file.id}/content`;
  const share = await gql<{ createShare: { token: string } }>(t.url, 'mutation($f: ID!) { createShare(input: { fileId: $f }) { token } }', { f: file.id }, token);
  shareUrl = `${t.url}/s/${share.data!.createShare.token}`;
}, 120_000);
afterAll(() => t?.close());

const targets = () => [
  { name: 'file', url: fileUrl, auth: { authorization: `Bearer ${token}` } },
  { name: 'share', url: shareUrl, auth: {} as Record<string, string> },
];

describe('proxied download of a big file (lean GET)', () => {
  it('sends the whole file and big and small ranges byte for byte, with ETag, Content-Disposition and 304', async () => {
    for (const target of targets()) {
      const whole = await fetch(target.url, { headers: target.auth });
      expect(whole.status, target.name).toBe(200);
      expect(whole.headers.get('content-length')).toBe(String(body.length));
      expect(whole.headers.get('content-disposition')).toContain("filename*=UTF-8''big%20report.bin");
      expect(Buffer.from(await whole.arrayBuffer()).equals(body), target.name).toBe(true);
      const etag = whole.headers.get('etag')!;
      for (const [start, end] of [[MiB + 3, 11 * MiB], [5, 1028], [body.length - 9 * MiB, body.length - 1]] as const) {
        const res = await fetch(target.url, { headers: { ...target.auth, range: `bytes=${start}-${end}`, 'if-range': etag } });
        expect(res.status, `${target.name} ${start}-${end}`).toBe(206);
        expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${body.length}`);
        expect(Buffer.from(await res.arrayBuffer()).equals(body.subarray(start, end + 1)), `${target.name} ${start}-${end}`).toBe(true);
      }
      const again = await fetch(target.url, { headers: { ...target.auth, 'if-none-match': etag } });
      expect(again.status, target.name).toBe(304);
    }
  });

  it('survives clients that go away mid-body: later downloads are whole', async () => {
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = http.get(fileUrl, { headers: { authorization: `Bearer ${token}` } }, (res) => {
          let got = 0;
          res.on('data', (chunk: Buffer) => {
            got += chunk.length;
            if (got >= 2 * MiB) req.destroy();
          });
          res.on('error', () => {});
          res.on('close', () => resolve());
        });
        req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || req.destroyed ? resolve() : reject(error)));
      });
    }
    const res = await fetch(fileUrl, { headers: { authorization: `Bearer ${token}` } });
    expect(Buffer.from(await res.arrayBuffer()).equals(body)).toBe(true);
  });

  it('keeps every download byte for byte while many share the driver\'s pooled read buffers, slow readers and leavers among them', async () => {
    // Another file of other bytes: a buffer given back too early would put one download's bytes
    // into another's response, which only a comparison of the bytes sees.
    const other = Buffer.from(Array.from({ length: 10 * MiB + 11 }, (_, i) => (i * 17 + (i >> 9) + 101) & 0xff));
    const second = (await uploadSmall(t.url, token, 'other.bin', other)).data!.uploadFile;
    const files = [
      { url: fileUrl, bytes: body },
      { url: `${t.url}/files/${second.id}/content`, bytes: other },
    ];
    const read = (url: string, how: 'fast' | 'slow' | 'leave') =>
      new Promise<Buffer | null>((resolve, reject) => {
        const req = http.get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
          const chunks: Buffer[] = [];
          let got = 0;
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            got += chunk.length;
            if (how === 'leave' && got >= 3 * MiB) req.destroy();
            if (how === 'slow') {
              // Back-pressure all the way to the driver: its buffers wait in the pipe meanwhile.
              res.pause();
              setTimeout(() => res.resume(), 2);
            }
          });
          res.on('end', () => resolve(Buffer.concat(chunks)));
          res.on('error', () => resolve(null));
        });
        req.on('error', (error: NodeJS.ErrnoException) => (how === 'leave' ? resolve(null) : reject(error)));
      });
    const runs = Array.from({ length: 12 }, (_, i) => ({ file: files[i % 2]!, how: (['fast', 'slow', 'leave'] as const)[i % 3]! }));
    const results = await Promise.all(runs.map(({ file, how }) => read(file.url, how)));
    results.forEach((got, i) => {
      if (runs[i]!.how === 'leave') return;
      expect(got?.equals(runs[i]!.file.bytes), `download ${i} (${runs[i]!.how})`).toBe(true);
    });
  });

  it('curl: whole, throttled, ranged, cut off and resumed with -C -, at once on a 64 MiB file', async () => {
    const big = randomBytes(64 * MiB);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const id = (await uploadSmall(t.url, token, 'film.mkv', big)).data!.uploadFile.id;
    const url = `${t.url}/files/${id}/content`;
    const dir = tempDir('stratus-curl-');
    const out = (name: string) => path.join(dir, name);
    const curl = (...args: string[]) => run('curl', ['-sS', '-H', `Authorization: Bearer ${token}`, ...args, url]);
    // Cut off after about a second at 8 MB/s (curl exits 28, the file holds what came), then resumed
    // below: curl asks for `Range: bytes=<what it has>-` and appends.
    const cut = curl('-f', '--limit-rate', '8M', '--max-time', '1', '-o', out('resumed')).then(
      () => { throw new Error('the throttled curl was meant to be cut off'); },
      (error: { code?: number }) => expect(error.code).toBe(28),
    );
    await Promise.all([
      curl('-f', '-o', out('whole')),
      curl('-f', '--limit-rate', '24M', '-o', out('throttled')),
      curl('-f', '-r', `${MiB + 7}-${40 * MiB}`, '-o', out('range')),
      cut,
    ]);
    const partial = readFileSync(out('resumed')).length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(big.length);
    const { stderr } = await curl('-f', '-v', '-C', '-', '-o', out('resumed'));
    expect(stderr).toMatch(new RegExp(`range: bytes=${partial}-`, 'i'));
    expect(stderr).toMatch(/< HTTP\/1\.1 206/);
    for (const name of ['whole', 'throttled', 'resumed']) expect(sha(readFileSync(out(name))), name).toBe(sha(big));
    expect(sha(readFileSync(out('range')))).toBe(sha(big.subarray(MiB + 7, 40 * MiB + 1)));
  }, 120_000);
});
