/**
 * tus-js-client (4.3, Node) against Stratus's `/tus/` on the real stack, the harder cases of issue 20:
 * - checksum extension: tus-js-client sends no Upload-Checksum itself, so its onBeforeRequest hook
 *   adds `sha1` / `sha256` of the PATCH's slice; "If the hash cannot be calculated ... or the
 *   checksums mismatch the Server MUST respond with 460 Checksum Mismatch", and the offset stays;
 * - two clients racing on one upload URL: nothing corrupted, the final content is right;
 * - another person's upload URL answers 404 to tus-js-client's resume (HEAD), and PATCH is refused.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { HttpRequest } from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { makeFile } from '../support/files.ts';
import { filesNamed, head, localContentHash, MiB, personalAccessToken, runUpload, sliceChecksum, statusOf, TUS, uploadIds, type Outcome } from './tus-js-client.harness.ts';

const SIZE = 30 * MiB;
const CHUNK = 8 * MiB;

let t: TestApp;
let endpoint: string;
let owner: { token: string; userId: string };
let file: string;
let fileHash: string;

beforeAll(async () => {
  t = await startTestApp();
  endpoint = `${t.url}/tus/`;
  owner = await t.signUp();
  file = await makeFile('edges.bin', SIZE, `tus-js-client-edges-${Date.now()}`);
  fileHash = await localContentHash(file, SIZE);
}, 120_000);
afterAll(async () => {
  if (file) rmSync(path.dirname(file), { recursive: true, force: true });
  await t?.close();
});

/** An onBeforeRequest hook giving every PATCH the checksum of its slice; `wrongAt`: a bad one there. */
function checksums(algorithm: 'sha1' | 'sha256', chunkSize: number, wrongAt?: number) {
  return async (req: HttpRequest) => {
    if (req.getMethod() !== 'PATCH') return;
    const offset = Number(req.getHeader('Upload-Offset'));
    const end = Math.min(SIZE, offset + chunkSize);
    // A wrong checksum: the digest of the slice one byte further on (well-formed, same length).
    const value = await sliceChecksum(file, algorithm, offset === wrongAt ? offset + 1 : offset, offset === wrongAt ? end + 1 : end);
    req.setHeader('Upload-Checksum', value);
  };
}

async function expectStored(name: string) {
  const found = await filesNamed(t.url, owner.token, name);
  expect(found).toHaveLength(1);
  expect(found[0]).toMatchObject({ size: SIZE, contentHash: fileHash });
}

describe('tus-js-client with the checksum extension', () => {
  it('OPTIONS lists sha1 and sha256 in Tus-Checksum-Algorithm', async () => {
    const res = await fetch(endpoint, { method: 'OPTIONS', headers: TUS });
    expect(res.status).toBeOneOf([200, 204]);
    expect(res.headers.get('tus-extension')?.split(',').map((s) => s.trim())).toContain('checksum');
    const algorithms = res.headers.get('tus-checksum-algorithm')?.split(',').map((s) => s.trim());
    expect(algorithms).toEqual(expect.arrayContaining(['sha1', 'sha256']));
  });

  it('accepts correct sha1 PATCHes, answers a wrong one 460 with the offset unchanged, and a new client finishes with sha256', async () => {
    const name = 'checksummed.bin';
    const first = await runUpload({ endpoint, token: owner.token, file, size: SIZE, chunkSize: CHUNK, metadata: { filename: name }, onBeforeRequest: checksums('sha1', CHUNK, 2 * CHUNK) });
    expect(first.kind).toBe('error');
    expect(statusOf(first)).toBe(460);
    // Two correct PATCHes were applied; the third, mismatched, kept nothing.
    expect(first.sent.patchOffsets).toEqual([0, CHUNK, 2 * CHUNK]);
    expect(await head(first.sent.url, owner.token)).toMatchObject({ status: 200, offset: 2 * CHUNK, length: SIZE });

    const second = await runUpload({ uploadUrl: first.sent.url, token: owner.token, file, size: SIZE, chunkSize: CHUNK, onBeforeRequest: checksums('sha256', CHUNK) });
    expect(second.kind, statusOf(second)?.toString()).toBe('success');
    expect(second.sent.patchOffsets).toEqual([2 * CHUNK, 3 * CHUNK]);
    await expectStored(name);
  }, 120_000);

  it('a wrong checksum on the single whole-file PATCH keeps nothing (offset 0, 460); the right one then succeeds', async () => {
    const name = 'checksummed-one.bin';
    const wrong = await runUpload({ endpoint, token: owner.token, file, size: SIZE, metadata: { filename: name }, onBeforeRequest: checksums('sha256', SIZE, 0) });
    expect(statusOf(wrong)).toBe(460);
    expect(await head(wrong.sent.url, owner.token)).toMatchObject({ status: 200, offset: 0 });
    const right = await runUpload({ uploadUrl: wrong.sent.url, token: owner.token, file, size: SIZE, onBeforeRequest: checksums('sha1', SIZE) });
    expect(right.kind, statusOf(right)?.toString()).toBe('success');
    expect(right.sent.patchOffsets).toEqual([0]);
    await expectStored(name);
  }, 120_000);
});

describe('two tus-js-clients racing on one upload URL', () => {
  it('never corrupt the upload: the file ends with the right content hash, once', async () => {
    const name = 'raced.bin';
    // The first client creates the upload and is stopped after its first 8 MiB PATCH started.
    const starter = await runUpload({ endpoint, token: owner.token, file, size: SIZE, chunkSize: CHUNK, metadata: { filename: name }, progress: (sent, abort) => sent > 1 * MiB && abort() });
    expect(starter.kind).toBe('aborted');
    // Two new clients resume the same URL at once; 409/423 are retried by tus-js-client (HEAD
    // again, then PATCH from the new offset), as it does for a lost race.
    const racer = () => runUpload({ uploadUrl: starter.sent.url, token: owner.token, file, size: SIZE, chunkSize: CHUNK, retryDelays: [100, 200, 400, 800, 1000, 1000, 1000, 1000] });
    const [a, b] = (await Promise.all([racer(), racer()])) as [Outcome, Outcome];
    const outcomes = [a, b].map((o) => `${o.kind} ${statusOf(o) ?? ''}`);
    // They did race: some PATCH was refused as locked (423) or at a stale offset (409) and retried.
    const answers = [...a.sent.answers, ...b.sent.answers];
    expect(answers.filter((x) => x === 'PATCH 423' || x === 'PATCH 409' || x === 'HEAD 423').length, answers.join(', ')).toBeGreaterThan(0);
    // At least one finishes; a loser that finds the upload finished may see it gone (404/410).
    expect(outcomes, JSON.stringify(outcomes)).toContain('success ');
    for (const o of [a, b]) if (o.kind !== 'success') expect(statusOf(o)).toBeOneOf([404, 410]);
    await expectStored(name);
  }, 180_000);
});

describe("another person's upload URL", () => {
  it('answers 404 to tus-js-client resuming it; PATCH and DELETE are refused 404; the owner then finishes', async () => {
    const name = 'mine.bin';
    const stranger = await t.signUp();
    const strangerPat = await personalAccessToken(t.url, stranger.token);
    // Stopped once its first PATCH was answered, before the next one starts (tus-js-client sends no
    // further PATCH after abort() in onChunkComplete): no cut PATCH is left for the server to
    // finish storing after `before` is read. (Cut mid-PATCH, the server could still be storing
    // its tail, as it should, while the test read the offset: on a busy machine `before` then
    // missed bytes that arrived later.)
    let stop: (() => void) | undefined;
    const mine = await runUpload({
      endpoint, token: owner.token, file, size: SIZE, chunkSize: CHUNK, metadata: { filename: name },
      progress: (_sent, abort) => {
        stop ??= () => abort();
      },
      onChunkComplete: () => stop?.(),
    });
    expect(mine.kind).toBe('aborted');
    expect(mine.sent.patchOffsets).toEqual([0]);
    const before = await head(mine.sent.url, owner.token);
    expect(before).toEqual({ status: 200, offset: CHUNK, length: SIZE });

    for (const token of [stranger.token, strangerPat]) {
      const theirs = await runUpload({ uploadUrl: mine.sent.url, token, file, size: SIZE, chunkSize: CHUNK });
      expect(theirs.kind).toBe('error');
      expect(statusOf(theirs)).toBe(404);
      expect(theirs.sent.patchOffsets).toEqual([]);
      const auth = { ...TUS, authorization: `Bearer ${token}` };
      const patch = await fetch(mine.sent.url, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(before.offset) }, body: Buffer.alloc(1024) });
      expect(patch.status).toBe(404);
      expect((await fetch(mine.sent.url, { method: 'DELETE', headers: auth })).status).toBe(404);
    }
    expect(await uploadIds(t.url, stranger.token)).toEqual([]);
    expect(await head(mine.sent.url, owner.token)).toEqual(before);

    const resumed = await runUpload({ uploadUrl: mine.sent.url, token: owner.token, file, size: SIZE, chunkSize: CHUNK });
    expect(resumed.kind, statusOf(resumed)?.toString()).toBe('success');
    expect(resumed.sent.patchOffsets[0]).toBe(before.offset);
    await expectStored(name);
  }, 180_000);
});
