/**
 * tus-js-client (4.3, Node) unchanged against Stratus's `/tus/` on the real stack (issue 20 item 3):
 * Bearer sign-in access tokens and personal access tokens; a 30 MiB upload interrupted part-way and
 * resumed by a NEW client from the offset the server reports on HEAD ("The Client SHOULD send all
 * the remaining bytes of an upload in a single PATCH request, but MAY also use multiple small
 * requests", tus 1.0.0 core); one request for the whole file and 8 MiB PATCHes; termination; the
 * metadata `filename`, `filetype`, `parentId`. Every file is checked by its content hash (SHA-256
 * of the 4 MiB block digests) against the local file's.
 * The checksum extension, racing clients and another person's upload URL: tus-js-client-edges.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Upload } from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { makeFile } from '../support/files.ts';
import { gql } from '../support/graphql.ts';
import { bearer, filesNamed, head, localContentHash, MiB, personalAccessToken, runUpload, statusOf, uploadIds } from './tus-js-client.harness.ts';

const SIZE = 30 * MiB;
const CHUNK = 8 * MiB;

let t: TestApp;
let endpoint: string;
let owner: { token: string; userId: string };
let pat: string;
let file: string;
let fileHash: string;

beforeAll(async () => {
  t = await startTestApp();
  endpoint = `${t.url}/tus/`;
  owner = await t.signUp();
  pat = await personalAccessToken(t.url, owner.token);
  file = await makeFile('thirty.bin', SIZE, `tus-js-client-${Date.now()}`);
  fileHash = await localContentHash(file, SIZE);
}, 120_000);
afterAll(async () => {
  if (file) rmSync(path.dirname(file), { recursive: true, force: true });
  await t?.close();
});

const sessionIdOf = (url: string) => new URL(url).pathname.split('/').filter(Boolean).pop() ?? '';

/**
 * The offset the server settled on after an interrupted PATCH: the server may still be writing
 * what arrived when the connection dropped, so HEAD until two answers 300 ms apart agree and no
 * request holds the upload's write lock (the cut PATCH holds it while it stores its tail, which
 * on a busy machine can take longer than 300 ms; the app runs in this process).
 */
async function settledOffset(url: string, token: string): Promise<number> {
  const locked = () => t.app.runtime.kv.exists(`up:${sessionIdOf(url)}:tus-lock`);
  let last = -1;
  for (let i = 0; i < 100; i++) {
    const { status, offset } = await head(url, token);
    expect(status).toBe(200);
    if (offset === last && !(await locked())) return offset;
    last = offset;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`offset of ${url} never settled (last ${last})`);
}

async function expectStoredOnce(name: string, token = owner.token, folderId: string | null = null) {
  const found = await filesNamed(t.url, token, name, folderId);
  expect(found).toHaveLength(1);
  expect(found[0]).toMatchObject({ size: SIZE, contentHash: fileHash });
  return found[0];
}

describe('tus-js-client resumes an interrupted 30 MiB upload from the server offset', () => {
  it.each([
    { how: 'one request, sign-in access token', chunkSize: Number.POSITIVE_INFINITY, token: () => owner.token },
    { how: '8 MiB PATCHes, personal access token', chunkSize: CHUNK, token: () => pat },
  ])('$how', async ({ chunkSize, token }) => {
    const name = `resumed-${chunkSize}.bin`;
    const first = await runUpload({
      endpoint, token: token(), file, size: SIZE, chunkSize, metadata: { filename: name },
      // Cut the connection once 10 MiB are on the wire (for 8 MiB PATCHes: inside the second one).
      progress: (bytesSent, abort) => bytesSent >= 10 * MiB && abort(),
    });
    expect(first.kind).toBe('aborted');
    expect(first.sent.url).toMatch(/\/tus\/[^/]+$/);
    expect(first.sent.bytesSent).toBeLessThan(SIZE);

    // "The Server SHOULD accept PATCH requests against any upload URL and apply the bytes
    // contained in the message at the given offset": what arrived before the cut is kept.
    const offset = await settledOffset(first.sent.url, token());
    expect(offset).toBeGreaterThan(chunkSize === CHUNK ? CHUNK - 1 : 0);
    expect(offset).toBeLessThanOrEqual(first.sent.bytesSent);

    // A new client, knowing only the URL (no endpoint: it must not start over elsewhere).
    const second = await runUpload({ uploadUrl: first.sent.url, token: token(), file, size: SIZE, chunkSize });
    expect(second.kind, statusOf(second)?.toString()).toBe('success');
    expect(second.sent.patchOffsets[0]).toBe(offset);
    expect(second.sent.url).toBe(first.sent.url);

    await expectStoredOnce(name);
    expect(await uploadIds(t.url, owner.token)).not.toContain(sessionIdOf(first.sent.url));
    // A finished upload answers HEAD with its full offset or is gone (404/410): never a short one.
    const after = await head(first.sent.url, token());
    expect(after.status === 200 ? after.offset : after.status).toBeOneOf([SIZE, 404, 410]);
  }, 120_000);
});

describe('tus-js-client uploads a whole file', () => {
  it.each([
    { how: 'in one PATCH (the client default)', chunkSize: undefined, offsets: [0] },
    { how: 'in 8 MiB PATCHes', chunkSize: CHUNK, offsets: [0, 8, 16, 24].map((m) => m * MiB) },
  ])('$how', async ({ chunkSize, offsets }) => {
    const name = `whole-${chunkSize ?? 'one'}.bin`;
    const done = await runUpload({ endpoint, token: owner.token, file, size: SIZE, ...(chunkSize ? { chunkSize } : {}), metadata: { filename: name } });
    expect(done.kind, statusOf(done)?.toString()).toBe('success');
    expect(done.sent.patchOffsets).toEqual(offsets);
    expect(done.sent.bytesSent).toBe(SIZE);
    await expectStoredOnce(name);
  }, 120_000);

  it('honours the metadata filename, filetype and parentId (the file lands in that folder with that type)', async () => {
    const folder = await gql<{ createFolder: { id: string } }>(t.url, 'mutation { createFolder(name: "Reports") { id } }', {}, owner.token);
    const folderId = folder.data?.createFolder.id ?? '';
    expect(folderId).not.toBe('');
    const name = 'Quarterly report, Q3.pdf';
    const done = await runUpload({ endpoint, token: pat, file, size: SIZE, chunkSize: CHUNK, metadata: { filename: name, filetype: 'application/pdf', parentId: folderId } });
    expect(done.kind, statusOf(done)?.toString()).toBe('success');
    const stored = await expectStoredOnce(name, owner.token, folderId);
    expect(stored).toMatchObject({ parentId: folderId, mimeType: 'application/pdf' });
    expect(await filesNamed(t.url, owner.token, name)).toEqual([]);
  }, 120_000);

  it('refuses a request without a valid Bearer token (401), keeping nothing', async () => {
    const refused = await runUpload({ endpoint, token: 'not-a-token', file, size: SIZE, metadata: { filename: 'anonymous.bin' } });
    expect(refused.kind).toBe('error');
    expect(statusOf(refused)).toBe(401);
    expect(await filesNamed(t.url, owner.token, 'anonymous.bin')).toEqual([]);
  });
});

describe('tus-js-client termination', () => {
  it('abort(true) part-way deletes the upload: HEAD 404/410, not in uploads, no file', async () => {
    const name = 'terminated.bin';
    const run = await runUpload({
      endpoint, token: owner.token, file, size: SIZE, chunkSize: CHUNK, metadata: { filename: name },
      progress: (bytesSent, abort) => bytesSent >= 12 * MiB && abort(true),
      // tus-js-client's own default: the DELETE may meet the cut PATCH still finishing (423 Locked,
      // which the client retries), as it would in any application using the client unchanged.
      retryDelays: [0, 1000, 3000, 5000],
    });
    expect(run.kind, `${statusOf(run)} ${run.kind === 'error' ? run.error.message : ''}`).toBe('aborted');
    const id = sessionIdOf(run.sent.url);
    // "the Server SHOULD respond with the 404 Not Found or 410 Gone status" (termination extension).
    expect((await head(run.sent.url, owner.token)).status).toBeOneOf([404, 410]);
    expect(await uploadIds(t.url, owner.token)).not.toContain(id);
    expect(await filesNamed(t.url, owner.token, name)).toEqual([]);
  }, 120_000);

  it('Upload.terminate(url) ends an interrupted upload another client started', async () => {
    const run = await runUpload({
      endpoint, token: pat, file, size: SIZE, chunkSize: CHUNK, metadata: { filename: 'terminated-later.bin' },
      progress: (bytesSent, abort) => bytesSent >= 9 * MiB && abort(),
    });
    expect(run.kind).toBe('aborted');
    expect(await uploadIds(t.url, owner.token)).toContain(sessionIdOf(run.sent.url));
    await Upload.terminate(run.sent.url, { headers: bearer(pat), retryDelays: null });
    expect((await head(run.sent.url, pat)).status).toBeOneOf([404, 410]);
    expect(await uploadIds(t.url, owner.token)).not.toContain(sessionIdOf(run.sent.url));
    // A resume of the terminated upload by a new client fails: there is nothing to resume.
    const resumed = await runUpload({ uploadUrl: run.sent.url, token: pat, file, size: SIZE, chunkSize: CHUNK });
    expect(resumed.kind).toBe('error');
    expect(statusOf(resumed)).toBeOneOf([404, 410]);
  }, 120_000);
});
