/**
 * `stratus upload` sends a file of at most one chunk (8 MiB by default, --chunk-size otherwise)
 * whose MIME type it knows as `uploadFile`, one request, instead of an upload session (four
 * requests: openUploads, createUpload, a chunk PUT, completeUpload): no session row is ever made
 * for it, and the stored file has the local content hash and the extension's type. A larger file,
 * and a small file of unknown type (a session records no MIME type; a multipart part always has
 * one), still go through a session.
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
  it('chooses one request up to the chunk size for a known type, a session above it, for an unknown type, or to continue one', () => {
    expect(ONE_REQUEST_MAX).toBe(8 * MiB);
    expect(uploadWay(1, 'text/plain')).toBe('request');
    expect(uploadWay(8 * MiB, 'image/png')).toBe('request');
    expect(uploadWay(8 * MiB + 1, 'image/png')).toBe('session');
    expect(uploadWay(12 * MiB, 'image/png', { chunkSize: 16 * MiB })).toBe('request');
    expect(uploadWay(100, null)).toBe('session');
    expect(uploadWay(0, null)).toBe('request');
    expect(uploadWay(100, 'text/plain', { sessionId: 's1' })).toBe('session');
  });

  it('a 100 KB text file and an 8 MiB photo make no upload session; the files have the local content hash and type', async () => {
    const dir = tempDir('stratus-cli-small-');
    const note = path.join(dir, 'note.txt');
    writeFileSync(note, 'a line of a note\n'.repeat(6_000));
    const photo = await makeFile('photo.jpg', 8 * MiB);
    const before = await sessionsOfOwner();
    for (const [file, type] of [[note, 'text/plain'], [photo, 'image/jpeg']] as const) {
      const report = await upload(file);
      expect(report.sessionId).toBeNull();
      expect(report.file).toMatchObject({ contentHash: await fileContentHash(file, report.file.size), mimeType: type });
    }
    // The session way leaves a row (COMPLETED) for each file: none was made.
    expect(await sessionsOfOwner()).toBe(before);
  }, 120_000);

  it('8 MiB + 1 byte, and a small file of unknown type, go through a session', async () => {
    const big = await makeFile('big.jpg', 8 * MiB + 1);
    const dir = tempDir('stratus-cli-small-');
    const odd = path.join(dir, 'data.unknownext');
    writeFileSync(odd, 'x'.repeat(1000));
    const before = await sessionsOfOwner();
    const reports = [await upload(big), await upload(odd)];
    for (const report of reports) expect(report.sessionId).not.toBeNull();
    expect(reports[1]?.file.mimeType).toBeNull();
    expect(await sessionsOfOwner()).toBe(before + 2);
  }, 120_000);
});
