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
    // 4 MiB chunks: a file of three blocks goes through a session (by default it would fit one request).
    const r = await run(['upload', file, '--json', '--chunk-size', '4MiB'], { url: t.url, home, token });
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

describe('stratus upload: instant-upload proofs spent', () => {
  it('sends the bytes when the minute\'s ownership proofs are used up, instead of failing (a folder of many big files)', async () => {
    const person = await t.signUp();
    // Spend the person's proofs for this minute (30): sessions with some hash, wrong proofs.
    for (let i = 0; i < 31; i++) {
      const session = await gqlData<{ createUpload: { id: string } }>(person.token, 'mutation($i: CreateUploadInput!) { createUpload(input: $i) { id } }', {
        i: { name: `spent-${i}.bin`, size: 9 * MiB, contentHash: randomBytes(32).toString('hex') },
      });
      await gqlData(person.token, 'mutation($id: ID!) { proveOwnership(sessionId: $id, proofs: ["00"]) { id } }', { id: session.createUpload.id }).catch(() => undefined);
    }
    const file = await makeFile(`after-proofs-${randomBytes(3).toString('hex')}.bin`, 5 * MiB);
    const r = await run(['upload', file, '--chunk-size', String(4 * MiB), '--json'], { url: t.url, home: makeHome(), token: person.token });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ instant: false });
  }, 180_000);
});

async function gqlData<T>(bearer: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (!body.data || body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}
