/**
 * The `stratus` command line end to end: spawned for real as `node bin/stratus.mjs` against the
 * all-in-one app on the real stack (MariaDB, Redis, Ceph RGW). Covers a parallel upload, a client
 * killed with SIGKILL mid-upload and resumed without resending recorded chunks, instant upload,
 * resumable downloads (Range + If-Range from the sidecar; a damaged partial file is detected by the
 * content hash and fetched again; a changed ETag starts over; corrupt stored bytes fail loudly),
 * login with token refresh, and exit codes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StratusApi, SESSION_FIELDS, type SessionView } from '../../cli/lib/api.ts';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { BlobRow } from '../../internal/files/files.entities.ts';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { tempDir } from '../support/db.ts';
import { hashDownload, makeFile } from '../support/files.ts';
import { makeHome, stratus as spawnCli, type Home } from './cli-harness.ts';

const MiB = 1024 * 1024;
const UPLOADED = /^uploaded (\S+) (\S+) (\d+) \((instant|(\d+) chunks)\)$/m;

/** The CLI against this file's app, with a home of its own (XDG config and state inside). */
const stratus = (args: string[], env: { token?: string; home: Home }) => spawnCli(args, { url: t.url, ...env });
const run = (args: string[], env: { token?: string; home: Home }) => stratus(args, env).done;

let t: TestApp;
let alice: { token: string; name: string };
let home: Home;
let shared: { file: string; hash: string; id: string };

beforeAll(async () => {
  t = await startTestApp();
  const name = `cli${randomBytes(4).toString('hex')}`;
  alice = { token: (await t.signUp(name)).token, name };
  home = makeHome('stratus-cli-config-');
});
afterAll(() => t?.close());

const as = (token: string) => ({ token, home });

describe('stratus upload / resume', () => {
  it('uploads 64 MiB in 4 parallel streams; the printed file id downloads with the right content hash', async () => {
    const file = await makeFile('cli-64.bin', 64 * MiB);
    const hash = await fileContentHash(file, 64 * MiB);
    const started = Date.now();
    const r = await run(['upload', file, '--parallel', '4'], as(alice.token));
    expect(r.code, r.stderr).toBe(0);
    const m = UPLOADED.exec(r.stdout);
    expect(m?.slice(1, 5)).toEqual(['cli-64.bin', expect.any(String), String(64 * MiB), '8 chunks']);
    const id = m![2]!;
    const got = await hashDownload(`${t.url}/files/${id}/content`, { authorization: `Bearer ${alice.token}` });
    expect(got).toMatchObject({ status: 200, bytes: 64 * MiB, contentHash: hash });
    // Finished sessions leave nothing for `stratus resume`.
    expect(JSON.parse(readFileSync(path.join(home.state, 'uploads.json'), 'utf8'))).toEqual({});
    shared = { file, hash, id };
    console.log(`64 MiB upload through the CLI: ${Date.now() - started} ms`);
  }, 120_000);

  it('a client killed with SIGKILL mid-upload is resumed by `stratus resume` without resending recorded chunks', async () => {
    const size = 200 * MiB;
    const name = `killed-${randomBytes(3).toString('hex')}.bin`;
    const file = await makeFile(name, size);
    const api = new StratusApi(t.url, alice.token);
    const child = stratus(['upload', file, '--parallel', '2'], as(alice.token));
    let session: SessionView | undefined;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(20)) {
      if (child.child.exitCode !== null) throw new Error(`the upload ended before it could be killed:\n${child.stdout()}${child.stderr()}`);
      const { uploads } = await api.gql<{ uploads: SessionView[] }>(`{ uploads { ${SESSION_FIELDS} } }`);
      session = uploads.find((s) => s.name === name);
      if (session && session.uploadedChunks.length >= 3) break;
    }
    expect(session?.uploadedChunks.length).toBeGreaterThanOrEqual(3);
    child.child.kill('SIGKILL');
    expect((await child.done).signal).toBe('SIGKILL');
    const id = session!.id;
    // The CLI recorded the session for resume before it sent the first chunk.
    expect(JSON.parse(readFileSync(path.join(home.state, 'uploads.json'), 'utf8'))).toMatchObject({ [id]: file });
    // Let the server notice the dropped connections (a half-sent chunk is aborted, not recorded).
    await sleep(500);
    const before = (await api.gql<{ upload: SessionView }>(`query($id: ID!) { upload(id: $id) { ${SESSION_FIELDS} } }`, { id })).upload;
    expect(before.status).not.toBe('COMPLETED');
    expect(before.uploadedChunks.length).toBeGreaterThanOrEqual(3);

    const r = await run(['resume', '--parallel', '4'], as(alice.token));
    expect(r.code, r.stderr).toBe(0);
    const m = UPLOADED.exec(r.stdout);
    expect(m?.[1]).toBe(name);
    const sent = Number(m?.[5]);
    // Every chunk the server had recorded stayed there: only the missing ones were sent.
    expect(sent).toBeLessThanOrEqual(before.chunkCount - before.uploadedChunks.length);
    expect(sent).toBeLessThan(before.chunkCount);
    const after = (await api.gql<{ upload: SessionView }>(`query($id: ID!) { upload(id: $id) { ${SESSION_FIELDS} } }`, { id })).upload;
    expect(after.status).toBe('COMPLETED');
    const got = await hashDownload(`${t.url}/files/${after.file!.id}/content`, { authorization: `Bearer ${alice.token}` });
    expect(got).toMatchObject({ status: 200, bytes: size, contentHash: await fileContentHash(file, size) });
    expect(JSON.parse(readFileSync(path.join(home.state, 'uploads.json'), 'utf8'))).not.toHaveProperty(id);
    console.log(`killed with ${before.uploadedChunks.length}/${before.chunkCount} chunks recorded; resume sent ${sent}`);
  }, 180_000);

  it('instant upload: a second person uploading the same file gets it with no chunk sent', async () => {
    const bob = await t.signUp();
    const r = await run(['upload', shared.file], { token: bob.token, home: makeHome() });
    expect(r.code, r.stderr).toBe(0);
    const m = UPLOADED.exec(r.stdout);
    expect(m?.[4]).toBe('instant');
    expect(m?.[2]).not.toBe(shared.id);
    const got = await hashDownload(`${t.url}/files/${m![2]!}/content`, { authorization: `Bearer ${bob.token}` });
    expect(got.contentHash).toBe(shared.hash);
  }, 60_000);
});

describe('stratus download', () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir('stratus-cli-dl-');
  });
  const localHash = (file: string) => fileContentHash(file, statSync(file).size);

  /** A download cut short: throttled, killed once past half, then truncated to exactly half. */
  async function partial(out: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<number> {
    const half = 32 * MiB;
    const child = stratus(['download', shared.id, '--out', out, '--force', '--limit-rate', '32M'], as(alice.token));
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(20)) {
      if (child.child.exitCode !== null) throw new Error(`the download ended before it could be killed:\n${child.stderr()}`);
      if (existsSync(`${out}.stratus-download.json`) && existsSync(out) && statSync(out).size >= half) break;
    }
    child.child.kill(signal);
    const end = await child.done;
    // SIGINT/SIGTERM: a prompt, clean exit that keeps the partial file and its sidecar.
    if (signal === 'SIGINT') expect([end.code, end.stderr]).toEqual([130, expect.stringContaining('interrupted (SIGINT)')]);
    expect(existsSync(`${out}.stratus-download.json`)).toBe(true);
    truncateSync(out, half);
    return half;
  }

  it('downloads to --out, verified, and leaves no sidecar', async () => {
    const out = path.join(dir, 'full.bin');
    const r = await run(['download', shared.id, '--out', out], as(alice.token));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`downloaded ${shared.id} -> ${out} ${64 * MiB}`);
    expect(await localHash(out)).toBe(shared.hash);
    expect(existsSync(`${out}.stratus-download.json`)).toBe(false);
    // A finished file is not overwritten by accident.
    const again = await run(['download', shared.id, '--out', out], as(alice.token));
    expect([again.code, again.stderr]).toEqual([1, expect.stringContaining('error: EXISTS')]);
  }, 60_000);

  it('continues a partial file with Range + If-Range from the sidecar', async () => {
    const out = path.join(dir, 'resume.bin');
    const offset = await partial(out, 'SIGINT');
    const sidecar = JSON.parse(readFileSync(`${out}.stratus-download.json`, 'utf8')) as { id: string; etag: string };
    expect(sidecar).toMatchObject({ id: shared.id, etag: `"${shared.hash}"` });
    const r = await run(['download', shared.id, '--out', out], as(alice.token));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`resumed at ${offset}`);
    expect(r.stderr).not.toContain('starting over');
    expect(await localHash(out)).toBe(shared.hash);
    expect(existsSync(`${out}.stratus-download.json`)).toBe(false);
  }, 60_000);

  it('detects a damaged partial file by the content hash and downloads it again from the start', async () => {
    const out = path.join(dir, 'damaged.bin');
    const offset = await partial(out);
    const handle = await open(out, 'r+');
    await handle.write(Buffer.from('not the right bytes'), 0, 19, 1000);
    await handle.close();
    const r = await run(['download', shared.id, '--out', out], as(alice.token));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`resumed at ${offset}`);
    expect(r.stderr).toContain('content hash mismatch after resuming');
    expect(await localHash(out)).toBe(shared.hash);
  }, 60_000);

  it('starts over when the server answers 200 because the saved ETag no longer matches', async () => {
    const out = path.join(dir, 'changed.bin');
    await partial(out);
    const sidecarPath = `${out}.stratus-download.json`;
    const sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(sidecarPath, JSON.stringify({ ...sidecar, etag: `"${'0'.repeat(64)}"` }));
    const r = await run(['download', shared.id, '--out', out], as(alice.token));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('starting over');
    expect(r.stderr).not.toContain('resumed at');
    expect(await localHash(out)).toBe(shared.hash);
  }, 60_000);

  it('fails loudly with HASH_MISMATCH when the served bytes do not have the file content hash', async () => {
    const bytes = randomBytes(MiB);
    const small = await uploadSmall(t.url, alice.token, `rot-${randomBytes(3).toString('hex')}.bin`, bytes);
    const file = small.data!.uploadFile;
    // Bit rot in the backend: same length, other bytes, behind the server's back.
    const blob = await t.app.runtime.orm.em.fork().findOneOrFail(BlobRow, { contentHash: file.contentHash, size: file.size });
    await t.app.runtime.storage.store(blob.backend).put(blob.storageKey, Readable.from([Buffer.alloc(MiB, 7)]), MiB);
    const out = path.join(dir, 'rot.bin');
    const r = await run(['download', file.id, '--out', out], as(alice.token));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: HASH_MISMATCH: content hash of .* expected [0-9a-f]{64}/);
  }, 60_000);
});

describe('stratus login, whoami and exit codes', () => {
  it('logs in, saves credentials 0600, and refreshes an expired access token (saving the rotated pair)', async () => {
    const loginHome = makeHome();
    const login = await run(['login', '--username', alice.name, '--password', 'a-good-password-1'], { home: loginHome });
    expect(login.code, login.stderr).toBe(0);
    const file = path.join(loginHome.config, 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { url: string; accessToken: string; refreshToken: string };
    expect(saved.url).toBe(t.url);
    const me = await run(['whoami'], { home: loginHome });
    expect([me.code, me.stdout]).toEqual([0, expect.stringContaining(`${alice.name} <${alice.name}@example.com>`)]);
    // An access token the server refuses: the CLI refreshes and saves the new (rotated) pair.
    writeFileSync(file, JSON.stringify({ ...saved, accessToken: 'not.a.token' }), { mode: 0o600 });
    const refreshed = await run(['whoami'], { home: loginHome });
    expect(refreshed.code, refreshed.stderr).toBe(0);
    const next = JSON.parse(readFileSync(file, 'utf8')) as typeof saved;
    expect(next.refreshToken).not.toBe(saved.refreshToken);
    expect(next.accessToken).not.toBe('not.a.token');
    const wrong = await run(['login', '--username', alice.name, '--password', 'wrong-password-1'], { home: loginHome });
    expect([wrong.code, wrong.stderr]).toEqual([1, expect.stringMatching(/^error: UNAUTHENTICATED/m)]);
  }, 60_000);

  it('exits 2 with a usage message on bad usage, and 1 with the API code on an unknown file', async () => {
    for (const args of [[], ['frobnicate'], ['upload'], ['upload', 'a', 'b'], ['upload', 'a', '--parallel', 'many'], ['upload', 'a', '--bogus'], ['download', 'x'], ['resume', 'file']]) {
      const r = await run(args, as(alice.token));
      expect([args, r.code, r.stderr]).toEqual([args, 2, expect.stringContaining('usage')]);
    }
    const missing = await run(['download', '00000000-0000-4000-8000-000000000000', '--out', path.join(home.home, 'missing.bin')], as(alice.token));
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/^error: NOT_FOUND: /m)]);
    const noFile = await run(['upload', path.join(home.home, 'no-such-file.bin')], as(alice.token));
    expect([noFile.code, noFile.stderr]).toEqual([1, expect.stringMatching(/^error: ENOENT: /m)]);
    const anonymous = await run(['whoami'], { home: makeHome() });
    expect([anonymous.code, anonymous.stderr]).toEqual([1, expect.stringMatching(/^error: UNAUTHENTICATED: not signed in/m)]);
  }, 120_000);
});
