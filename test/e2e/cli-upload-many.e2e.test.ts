/**
 * `stratus upload FILE...`: many files at once, small ones together in uploadFiles requests
 * (cli/lib/upload-batch.ts), run as a process against the real server. One file's refusal is its
 * own (the others are stored, exit 1), and a batch is sent again after a passing failure without
 * storing anything twice (faults from a proxy in front of the server, test/support/http-faults.ts).
 */
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StratusApi } from '../../cli/lib/api.ts';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { BATCH_BYTES, BATCH_FILE_MAX, BATCH_FILES, plan, sendFiles, type LocalFile } from '../../cli/lib/upload-batch.ts';
import { UploadSessionRow } from '../../internal/uploads/uploads.entities.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { tempDir } from '../support/db.ts';
import { makeFile } from '../support/files.ts';
import { startFaultProxy, type Fault } from '../support/http-faults.ts';
import { makeHome, run, type Home } from './cli-harness.ts';

const MiB = 1024 * 1024;

let t: TestApp;
let api: StratusApi;
let userId: string;
let home: Home;

beforeAll(async () => {
  t = await startTestApp();
  const me = await t.signUp();
  userId = me.userId;
  api = new StratusApi(t.url, me.token);
  home = makeHome();
});
afterAll(() => t?.close());

async function newFolder(): Promise<string> {
  return (await api.gql<{ createFolder: { id: string } }>('mutation($n: String!) { createFolder(parentId: null, name: $n) { id } }', { n: `many-${Date.now()}-${Math.random()}` })).createFolder.id;
}
async function children(folder: string): Promise<{ id: string; name: string; size: number; contentHash: string | null }[]> {
  const page = await api.gql<{ folder: { children: { edges: { node: { id: string; name: string; size: number; contentHash: string | null } }[] } } }>(
    'query($id: ID) { folder(id: $id) { children(first: 200) { edges { node { id name size contentHash } } } } }',
    { id: folder },
  );
  return page.folder.children.edges.map((e) => e.node).sort((a, b) => a.name.localeCompare(b.name));
}
/** `n` small text files of their own bytes in a new directory. */
function smallFiles(n: number, prefix: string): string[] {
  const dir = tempDir('stratus-cli-many-');
  return Array.from({ length: n }, (_, i) => {
    const file = path.join(dir, `${prefix}-${i}.txt`);
    writeFileSync(file, `${prefix} ${i} `.repeat(100 + i * 37));
    return file;
  });
}
const sessionsOfOwner = () => t.app.runtime.orm.em.fork().count(UploadSessionRow, { ownerId: userId });

describe('stratus upload FILE...', () => {
  it('groups files up to 1 MiB in order, at most 32 files and 8 MiB a request; a larger file goes alone, when it is met', () => {
    const f = (size: number): LocalFile => ({ path: 'x', name: 'x', size });
    expect([BATCH_FILE_MAX, BATCH_FILES, BATCH_BYTES]).toEqual([MiB, 32, 8 * MiB]);
    expect(plan([f(10), f(MiB + 1), f(20), f(MiB)])).toEqual([[1], [0, 2, 3]]);
    expect(plan(Array.from({ length: 70 }, () => f(1))).map((g) => g.length)).toEqual([32, 32, 6]);
    expect(plan(Array.from({ length: 10 }, () => f(MiB))).map((g) => g.length)).toEqual([8, 2]);
    expect(plan([])).toEqual([]);
  });

  it('stores 40 small files and a 3 MiB one: a line each, the local content hashes, the small ones in two requests and no session', async () => {
    const folder = await newFolder();
    const small = smallFiles(40, 'note');
    const big = await makeFile('big.bin', 3 * MiB);
    const sessions = await sessionsOfOwner();
    t.queries.length = 0;
    const r = await run(['upload', ...small, big, '--folder', folder, '--json'], { url: t.url, home, token: api.token ?? '' });
    expect(r.code, r.stderr).toBe(0);
    const reports = JSON.parse(r.stdout) as { path: string; way: string; file: { id: string; contentHash: string } }[];
    expect(reports.map((x) => x.path)).toEqual([...small, big]);
    expect(reports.map((x) => x.way)).toEqual([...small.map(() => 'batch'), 'request']);
    const stored = await children(folder);
    expect(stored.map((s) => s.name).sort()).toEqual([...small, big].map((f) => path.basename(f)).sort());
    for (const report of reports) {
      const mine = stored.find((s) => s.id === report.file.id);
      expect(mine?.contentHash).toBe(await fileContentHash(report.path, mine?.size ?? -1));
    }
    expect(await sessionsOfOwner()).toBe(sessions);
    // One transaction per batch: two batches (32 + 8) and one file alone, not 41 commits.
    expect(t.queries.filter((q) => /^\s*commit\b/i.test(q)).length).toBeLessThanOrEqual(6);
  }, 60_000);

  it('a name taken in the folder fails that file alone: the others are stored, its line is on stderr, exit 1', async () => {
    const folder = await newFolder();
    const files = smallFiles(5, 'clash');
    const first = await run(['upload', files[2] as string, '--folder', folder], { url: t.url, home, token: api.token ?? '' });
    expect(first.code, first.stderr).toBe(0);
    writeFileSync(files[2] as string, 'other bytes now');
    const r = await run(['upload', ...files, '--folder', folder], { url: t.url, home, token: api.token ?? '' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${files[2]}: error: CONFLICT`);
    expect(r.stderr).toContain('(reason: name_taken)');
    expect(r.stderr).toContain('1 of 5 files were not uploaded');
    expect(r.stdout.trim().split('\n')).toHaveLength(4);
    expect((await children(folder)).map((c) => c.name)).toEqual(files.map((f) => path.basename(f)).sort());
  }, 60_000);
});

describe('a batch sent again after a passing failure', () => {
  async function throughFaults(plan: Fault[], files: string[], folder: string) {
    const proxy = await startFaultProxy({ host: '127.0.0.1', port: Number(new URL(t.url).port) }, plan);
    try {
      const locals = files.map((f) => ({ path: f, name: path.basename(f), size: statSync(f).size }));
      const outcomes = await sendFiles(new StratusApi(proxy.url, api.token), locals, { parentId: folder });
      return { outcomes, posts: proxy.requests.filter((r) => r.startsWith('POST /graphql')).length };
    } finally {
      await proxy.close();
    }
  }

  it('an answer lost after the server stored the batch: sent again, each file found under its name with these bytes, stored once', async () => {
    const folder = await newFolder();
    const files = smallFiles(6, 'lost');
    const { outcomes, posts } = await throughFaults([{ kind: 'lose-answer' }], files, folder);
    expect(outcomes.map((o) => o.error?.message ?? 'ok')).toEqual(files.map(() => 'ok'));
    expect(posts).toBeGreaterThanOrEqual(2);
    const stored = await children(folder);
    expect(stored).toHaveLength(6);
    expect(outcomes.map((o) => o.file?.id).sort()).toEqual(stored.map((s) => s.id).sort());
  }, 60_000);

  it('a connection cut mid-body, then a 503: sent again until stored, each file once', async () => {
    const folder = await newFolder();
    const files = smallFiles(6, 'cut');
    const { outcomes, posts } = await throughFaults([{ kind: 'drop-mid-body', afterBytes: 2000 }, { kind: 'refuse-503' }], files, folder);
    expect(outcomes.every((o) => o.file)).toBe(true);
    expect(posts).toBe(3);
    expect(await children(folder)).toHaveLength(6);
  }, 60_000);
});
