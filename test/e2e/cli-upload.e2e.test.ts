/**
 * `stratus upload` declares each 4 MiB block's SHA-256 (createUpload's blockHashes) with the
 * content hash, so the server checks every chunk on arrival: the declared list is what the server
 * keeps, and a file edited after it was hashed is refused at the first changed chunk
 * (digest_mismatch naming it) instead of after every byte was sent.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockDigests } from '../../cli/lib/hash.ts';
import { UploadSessionRow } from '../../internal/uploads/uploads.entities.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { makeFile } from '../support/files.ts';
import { makeHome, run, stratus, type Home } from './cli-harness.ts';

const MiB = 1024 * 1024;

let t: TestApp;
let token: string;
let home: Home;

beforeAll(async () => {
  t = await startTestApp();
  token = (await t.signUp()).token;
  home = makeHome();
});
afterAll(() => t?.close());

const storedBlockHashes = async (sessionId: string) =>
  (await t.app.runtime.orm.em.fork().findOneOrFail(UploadSessionRow, { id: sessionId }, { populate: ['blockHashes'] })).blockHashes;

describe('stratus upload: block hashes', () => {
  it('sends the SHA-256 of every 4 MiB block, in order, with the content hash', async () => {
    const size = 10 * MiB + 123;
    const file = await makeFile(`blocks-${randomBytes(3).toString('hex')}.bin`, size);
    const r = await run(['upload', file, '--json'], { url: t.url, home, token });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { sessionId: string; file: { size: number } };
    expect(report.file.size).toBe(size);
    const digests = await blockDigests(file, size);
    expect(digests).toHaveLength(3);
    expect(await storedBlockHashes(report.sessionId)).toBe(digests.map((d) => d.toString('hex')).join(''));
  }, 120_000);

  it('a file changed after it was hashed is refused at the changed chunk (digest_mismatch), not after the whole upload', async () => {
    const size = 48 * MiB;
    const name = `edited-${randomBytes(3).toString('hex')}.bin`;
    const file = await makeFile(name, size);
    const child = stratus(['upload', file, '--parallel', '1', '--chunk-size', '8MiB', '--no-instant'], { url: t.url, home, token });
    // The session is recorded for resume before the first chunk: then edit the last block.
    const uploads = path.join(home.state, 'uploads.json');
    for (const deadline = Date.now() + 60_000; ; await sleep(10)) {
      if (Date.now() > deadline || child.child.exitCode !== null) throw new Error(`no session appeared:\n${child.stderr()}`);
      if (existsSync(uploads) && readFileSync(uploads, 'utf8').includes(name)) break;
    }
    const handle = await open(file, 'r+');
    await handle.write(Buffer.from('edited after hashing'), 0, 20, size - 1000);
    await handle.close();
    const r = await child.done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: BAD_INPUT: .*\(reason: digest_mismatch\)$/m);
    const sent = r.stderr.match(/upload \S+\s+(\d+)%/g) ?? [];
    // Refused at chunk 5 of 0..5: the five unchanged chunks went, the whole file never completed.
    expect(sent.join(' ')).not.toContain('100%');
  }, 180_000);
});
