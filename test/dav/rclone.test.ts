/**
 * rclone (Debian's package) against /dav/ on the real stack (issue 19, item 3), as people use it
 * for backups: a `webdav` remote (vendor `other`, the person's name and an `rclone obscure`d
 * personal access token), configured only through RCLONE_CONFIG_STRATUS_* variables.
 * - a folder of one big file and 200 small ones copied up and back down, equal byte for byte;
 * - `moveto`, `delete` and `about` (the quota: total, used and free as the drive counts them);
 * - a READ token lists but its writes are refused (403); a revoked token is refused (401);
 * - what rclone wrote is an ordinary drive file: listed by GraphQL with the content hash the
 *   drive computes (internal/files/content-hash.ts over the local file), and shareable.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockHasher } from '../../internal/files/content-hash.ts';
import { pseudoRandom } from '../../internal/storage/test-bytes.ts';
import { tempDir } from '../support/db.ts';
import { makeFile } from '../support/files.ts';
import { gql } from '../support/graphql.ts';
import { requireClient, runClient, startDavApp, type DavApp } from './dav-harness.ts';

const MiB = 1024 * 1024;
const BIG = 200 * MiB;
const SMALL_FILES = 200;
const QUOTA = 2 * 1024 ** 3;

let app: DavApp;
let work: string;
let env: Record<string, string>;

async function rclone(...args: string[]): Promise<string> {
  const run = await runClient(requireClient('rclone'), [...args, '--config', path.join(work, 'rclone.conf'), '--retries', '1', '--low-level-retries', '1'], { env, timeoutMs: 600_000 });
  if (run.code !== 0) throw new Error(`rclone ${args.join(' ')} exited ${run.code}:\n${run.stderr}\n${run.stdout}`);
  return run.stdout;
}

/** sha256 and the drive's content hash (4 MiB block digests) of a local file, streamed. */
async function hashes(file: string): Promise<{ sha256: string; contentHash: string }> {
  const whole = createHash('sha256');
  const blocks = new BlockHasher();
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => (whole.update(chunk), done()) });
  await pipeline(createReadStream(file), blocks, sink);
  return { sha256: whole.digest('hex'), contentHash: blocks.contentHash() };
}

async function treeHashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) out.set(name, (await hashes(path.join(dir, name))).sha256);
  return out;
}

interface Node { id: string; name: string; size: number; contentHash: string | null; isFolder: boolean }
const CHILDREN = 'query($id: ID) { folder(id: $id) { children(first: 500) { edges { node { id name size contentHash isFolder } } } } }';

async function children(folderId: string | null): Promise<Node[]> {
  const res = await gql<{ folder: { children: { edges: { node: Node }[] } } }>(app.t.url, CHILDREN, { id: folderId }, app.person.session);
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.folder.children.edges.map((e) => e.node);
}

async function childNamed(folderId: string | null, name: string): Promise<Node> {
  const found = (await children(folderId)).find((n) => n.name === name);
  if (!found) throw new Error(`${name} is not in folder ${folderId ?? 'root'}`);
  return found;
}

beforeAll(async () => {
  const bin = requireClient('rclone');
  app = await startDavApp({ DEFAULT_QUOTA_BYTES: String(QUOTA) });
  work = tempDir('stratus-rclone-');
  writeFileSync(path.join(work, 'rclone.conf'), '');
  const obscured = await runClient(bin, ['obscure', app.person.pat]);
  env = {
    RCLONE_CONFIG_STRATUS_TYPE: 'webdav',
    RCLONE_CONFIG_STRATUS_URL: app.davUrl,
    RCLONE_CONFIG_STRATUS_VENDOR: 'other',
    RCLONE_CONFIG_STRATUS_USER: app.person.name,
    RCLONE_CONFIG_STRATUS_PASS: obscured.stdout.trim(),
  };
  const up = path.join(work, 'up');
  mkdirSync(up);
  const big = await makeFile('big.bin', BIG, `rclone-big-${Date.now()}`);
  copyFileSync(big, path.join(up, 'big.bin'));
  rmSync(path.dirname(big), { recursive: true, force: true });
  // Sizes from 0 bytes to ~64 KiB, the empty file included.
  for (let i = 0; i < SMALL_FILES; i++) writeFileSync(path.join(up, `small-${String(i).padStart(3, '0')}.bin`), pseudoRandom(`rclone-small-${i}-${Date.now()}`, (i * 331) % 65_536));
}, 120_000);

afterAll(async () => {
  await app?.t.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('rclone over WebDAV', () => {
  it('copies a folder up and back down byte for byte', { timeout: 900_000 }, async () => {
    await rclone('copy', path.join(work, 'up'), 'stratus:backup', '--transfers', '4');
    const listed = (await rclone('lsf', 'stratus:backup')).trim().split('\n').sort();
    expect(listed).toHaveLength(SMALL_FILES + 1);
    await rclone('copy', 'stratus:backup', path.join(work, 'down'), '--transfers', '4');
    const [up, down] = [await treeHashes(path.join(work, 'up')), await treeHashes(path.join(work, 'down'))];
    expect(down.size).toBe(SMALL_FILES + 1);
    expect(down).toEqual(up);
    // A second copy finds nothing to do: the sizes (and names) rclone lists are the ones it wrote.
    const again = await runClient(requireClient('rclone'), ['copy', path.join(work, 'up'), 'stratus:backup', '--config', path.join(work, 'rclone.conf'), '-v'], { env });
    expect(again.stderr).not.toMatch(/Copied \(/);
  });

  it('writes ordinary drive files: GraphQL lists them with the content hash, and they can be shared', async () => {
    const backup = await childNamed(null, 'backup');
    expect(backup.isFolder).toBe(true);
    const files = await children(backup.id);
    expect(files).toHaveLength(SMALL_FILES + 1);
    for (const name of ['big.bin', 'small-000.bin', 'small-007.bin']) {
      const node = files.find((f) => f.name === name);
      const local = await hashes(path.join(work, 'up', name));
      expect(node?.contentHash, name).toBe(local.contentHash);
    }
    const big = files.find((f) => f.name === 'big.bin');
    expect(big?.size).toBe(BIG);
    const share = await gql<{ createShare: { id: string; url: string } }>(app.t.url, 'mutation($i: CreateShareInput!) { createShare(input: $i) { id url } }', { i: { fileId: big?.id } }, app.person.session);
    expect(share.errors).toBeUndefined();
    expect(share.data?.createShare.url).toMatch(/^http/);
  });

  it('moveto renames and moves, delete removes', { timeout: 120_000 }, async () => {
    await rclone('moveto', 'stratus:backup/small-005.bin', 'stratus:moved/renamed.bin');
    expect((await rclone('lsf', 'stratus:moved')).trim()).toBe('renamed.bin');
    const moved = await childNamed((await childNamed(null, 'moved')).id, 'renamed.bin');
    expect(moved.contentHash).toBe((await hashes(path.join(work, 'up', 'small-005.bin'))).contentHash);
    await rclone('delete', 'stratus:backup', '--include', 'small-01*.bin');
    const left = (await rclone('lsf', 'stratus:backup')).trim().split('\n');
    expect(left).not.toContain('small-005.bin');
    expect(left.filter((n) => n.startsWith('small-01'))).toEqual([]);
    expect(left).toHaveLength(SMALL_FILES + 1 - 1 - 10);
  });

  it('a READ token lists but cannot write; a revoked token is refused', { timeout: 120_000 }, async () => {
    const made = await gql<{ createAccessToken: { token: string; accessToken: { id: string } } }>(
      app.t.url, 'mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) { token accessToken { id } } }', { i: { name: 'rclone read', scopes: ['READ'] } }, app.person.session,
    );
    const read = made.data?.createAccessToken;
    if (!read) throw new Error(JSON.stringify(made.errors));
    const pass = (await runClient(requireClient('rclone'), ['obscure', read.token])).stdout.trim();
    const asReader = async (...args: string[]) =>
      runClient(requireClient('rclone'), [...args, '--config', path.join(work, 'rclone.conf'), '--retries', '1', '--low-level-retries', '1'], { env: { ...env, RCLONE_CONFIG_STRATUS_PASS: pass } });
    expect((await asReader('lsf', 'stratus:moved')).stdout.trim()).toBe('renamed.bin');
    const write = await asReader('copyto', path.join(work, 'up', 'small-020.bin'), 'stratus:moved/by-reader.bin');
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/403|Forbidden/i);
    expect((await asReader('lsf', 'stratus:moved')).stdout.trim()).toBe('renamed.bin');
    const revoked = await gql(app.t.url, 'mutation($id: ID!) { revokeAccessToken(id: $id) }', { id: read.accessToken.id }, app.person.session);
    expect(revoked.errors).toBeUndefined();
    const refused = await asReader('lsf', 'stratus:moved');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/401|Unauthorized/i);
  });

  it('about shows the quota as the drive counts it', async () => {
    const about = JSON.parse(await rclone('about', 'stratus:', '--json')) as { total?: number; used?: number; free?: number };
    const me = await gql<{ me: { quota: { used: number; limit: number; reserved: number } } }>(app.t.url, '{ me { quota { used limit reserved } } }', {}, app.person.session);
    const quota = me.data?.me.quota;
    expect(quota?.limit).toBe(QUOTA);
    expect(about.used).toBe(quota?.used);
    expect(about.free).toBe(QUOTA - (quota?.used ?? 0) - (quota?.reserved ?? 0));
    expect(about.total).toBe(QUOTA);
  });
});
