/**
 * `stratus upload` sends a file of at most 32 MiB (at most --chunk-size when one is asked for)
 * as `uploadFile`, one request, instead of an upload session (four
 * requests: openUploads, createUpload, a chunk PUT, completeUpload): no session row is ever made
 * for it, and the stored file has the local content hash and the extension's type. A small file
 * of unknown type goes in one request too and is recorded with no type (uploadFile's `mimeType:
 * null`), as a session records it; a larger file still goes through a session.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { ONE_REQUEST_MAX, uploadWay } from '../../cli/lib/upload-small.ts';
import { UploadSessionRow } from '../../internal/uploads/uploads.entities.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { tempDir } from '../support/db.ts';
import { makeFile } from '../support/files.ts';
import { makeHome, run, type Home } from './cli-harness.ts';

const MiB = 1024 * 1024;

let t: TestApp;
let token: string;
let userId: string;
let home: Home;

beforeAll(async () => {
  t = await startTestApp();
  ({ token, userId } = await t.signUp());
  home = makeHome();
});
afterAll(() => t?.close());

const sessionsOfOwner = () => t.app.runtime.orm.em.fork().count(UploadSessionRow, { ownerId: userId });

interface Report {
  sessionId: string | null;
  file: { id: string; size: number; contentHash: string | null; mimeType: string | null };
}

async function upload(file: string, ...args: string[]): Promise<Report> {
  const r = await run(['upload', file, '--json', ...args], { url: t.url, home, token });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Report;
}

describe('stratus upload: small files in one request', () => {
  it('chooses one request up to 32 MiB or the chunk size asked for, a session above it or to continue one', () => {
    expect(ONE_REQUEST_MAX).toBe(32 * MiB);
    expect(uploadWay(1)).toBe('request');
    expect(uploadWay(0)).toBe('request');
    expect(uploadWay(32 * MiB)).toBe('request');
    expect(uploadWay(32 * MiB + 1)).toBe('session');
    expect(uploadWay(12 * MiB, { chunkSize: 16 * MiB })).toBe('request');
    expect(uploadWay(12 * MiB, { chunkSize: 8 * MiB })).toBe('session');
    expect(uploadWay(40 * MiB, { chunkSize: 64 * MiB })).toBe('request');
    expect(uploadWay(100, { sessionId: 's1' })).toBe('session');
  });

  it('a 100 KB text file, an 8 MiB photo and a 32 MiB video make no upload session; the files have the local content hash and type', async () => {
    const dir = tempDir('stratus-cli-small-');
    const note = path.join(dir, 'note.txt');
    writeFileSync(note, 'a line of a note\n'.repeat(6_000));
    const photo = await makeFile('photo.jpg', 8 * MiB);
    const video = await makeFile('clip.mp4', 32 * MiB);
    const before = await sessionsOfOwner();
    for (const [file, type] of [[note, 'text/plain'], [photo, 'image/jpeg'], [video, 'video/mp4']] as const) {
      const report = await upload(file);
      expect(report.sessionId).toBeNull();
      expect(report.file).toMatchObject({ contentHash: await fileContentHash(file, report.file.size), mimeType: type });
    }
    // The session way leaves a row (COMPLETED) for each file: none was made.
    expect(await sessionsOfOwner()).toBe(before);
  }, 120_000);

  it('a small file of unknown type goes in one request with no type recorded, as the session way records it; 32 MiB + 1 byte goes through a session', async () => {
    const dir = tempDir('stratus-cli-small-');
    const odd = path.join(dir, 'data.unknownext');
    const bare = path.join(dir, 'Makefile');
    writeFileSync(odd, 'x'.repeat(1000));
    writeFileSync(bare, 'all:\n\ttrue\n');
    const before = await sessionsOfOwner();
    for (const file of [odd, bare]) {
      const report = await upload(file);
      expect(report.sessionId, file).toBeNull();
      expect(report.file, file).toMatchObject({ mimeType: null, contentHash: await fileContentHash(file, report.file.size) });
    }
    expect(await sessionsOfOwner()).toBe(before);
    // The same unknown type through a session (above the one-request size): null there too.
    const big = path.join(dir, 'big.unknownext');
    writeFileSync(big, Buffer.alloc(32 * MiB + 1, 7));
    const session = await upload(big);
    expect(session.sessionId).not.toBeNull();
    expect(session.file.mimeType).toBeNull();
    expect(await sessionsOfOwner()).toBe(before + 1);
  }, 120_000);
});
