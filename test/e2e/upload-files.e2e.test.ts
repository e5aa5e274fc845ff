/**
 * uploadFiles on MariaDB, Redis and Ceph: several small files in one GraphQL multipart request,
 * one transaction. Each file succeeds or fails on its own with the code uploadFile would answer,
 * and a refused file keeps nothing (no row, no quota, no object); the request fails as a whole
 * only for its folder, its limits or a body that cannot be read.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cephBackend, startTestApp, type TestApp } from '../support/app.ts';
import { bucketUsage } from '../support/bucket-usage.ts';
import { gql, quotaUsed } from '../support/graphql.ts';
import { rgwClient, startRunBuckets, type RunBuckets } from '../support/run-buckets.ts';

let t: TestApp;
let me: { token: string; userId: string };
// A bucket of this file's own: what it holds is what these tests stored (the shared one is written by other files at once).
const s3 = rgwClient();
let run: RunBuckets;
let bucket: string;

beforeAll(async () => {
  run = await startRunBuckets(s3, ['upload-files']);
  bucket = run.buckets[0] as string;
  t = await startTestApp({ env: { DEFAULT_QUOTA_BYTES: String(64 * 1024 * 1024) }, routing: () => ({ default: 'ceph', backends: [cephBackend('ceph', bucket)] }) });
  me = await t.signUp();
}, 60_000);
afterAll(async () => {
  await t?.close();
  await run?.teardown();
  s3.destroy();
});

interface Item {
  /** The part's filename. */
  part: string;
  data: Buffer | string;
  /** Declared size; default the data's length. */
  size?: number;
  name?: string;
  mimeType?: string | null;
  type?: string;
}
interface Result {
  name: string;
  file: { id: string; name: string; size: number; mimeType: string | null; contentHash: string } | null;
  error: { code: string; field: string | null; reason: string | null } | null;
}
interface Answer {
  status: number;
  data?: { uploadFiles: Result[] } | null;
  errors?: { extensions?: { code?: string; details?: { field?: string; reason?: string } } }[];
}

async function uploadFiles(items: Item[], options: { parentId?: string | null; conflict?: string; token?: string } = {}): Promise<Answer> {
  const form = new FormData();
  form.append('operations', JSON.stringify({
    query: `mutation($p: ID, $fs: [UploadFileInput!]!, $c: ConflictPolicy) {
      uploadFiles(parentId: $p, files: $fs, conflict: $c) { name file { id name size mimeType contentHash } error { code field reason } } }`,
    variables: {
      p: options.parentId ?? null, c: options.conflict ?? 'FAIL',
      fs: items.map((i) => ({ file: null, size: i.size ?? Buffer.byteLength(i.data), ...(i.name === undefined ? {} : { name: i.name }), ...(i.mimeType === undefined ? {} : { mimeType: i.mimeType }) })),
    },
  }));
  form.append('map', JSON.stringify(Object.fromEntries(items.map((_, i) => [i, [`variables.fs.${i}.file`]]))));
  items.forEach((item, i) => form.append(String(i), new Blob([item.data], { type: item.type ?? 'text/plain' }), item.part));
  const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${options.token ?? me.token}`, 'apollo-require-preflight': 'true' }, body: form });
  return { status: res.status, ...((await res.json()) as Omit<Answer, 'status'>) };
}

async function folder(name: string): Promise<string> {
  return (await gql<{ createFolder: { id: string } }>(t.url, 'mutation($n: String!) { createFolder(parentId: null, name: $n) { id } }', { n: name }, me.token)).data!.createFolder.id;
}
async function names(folderId: string): Promise<string[]> {
  const res = await gql<{ folder: { children: { edges: { node: { name: string } }[] } } }>(t.url, 'query($id: ID) { folder(id: $id) { children(first: 200) { edges { node { name } } } } }', { id: folderId }, me.token);
  return res.data!.folder.children.edges.map((e) => e.node.name).sort();
}
const download = async (id: string) => Buffer.from(await (await fetch(`${t.url}/files/${id}/content`, { headers: { authorization: `Bearer ${me.token}` } })).arrayBuffer());
const used = async () => (await quotaUsed(t.url, me.token)) ?? -1;
const ok = (answer: Answer) => {
  expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
  return answer.data!.uploadFiles;
};
const objectCount = async () => (await bucketUsage(s3, bucket)).objects;

describe('uploadFiles', () => {
  it('stores every file of the request in order, byte for byte, named by its part or by name, and charges their sizes', async () => {
    const f = await folder('batch-all');
    const before = await used();
    const items: Item[] = Array.from({ length: 20 }, (_, i) => ({ part: `file-${i}.txt`, data: `content ${i} `.repeat(i * 50 + 1) }));
    items.push({ part: 'ignored.bin', name: 'given name.md', data: Buffer.alloc(70_000, 5), type: 'text/markdown' });
    const results = ok(await uploadFiles(items, { parentId: f }));
    expect(results.map((r) => r.name)).toEqual([...items.slice(0, 20).map((i) => i.part), 'given name.md']);
    expect(results.every((r) => r.error === null)).toBe(true);
    for (const [i, r] of results.entries()) {
      const data = Buffer.from((items[i] as Item).data);
      expect(r.file?.size).toBe(data.length);
      expect((await download(r.file!.id)).equals(data)).toBe(true);
    }
    expect(results[20]?.file?.mimeType).toBe('text/markdown');
    expect(await used()).toBe(before + items.reduce((sum, i) => sum + Buffer.byteLength(i.data), 0));
    expect(await names(f)).toEqual(items.map((i) => i.name ?? i.part).sort());
  });

  it('costs one transaction and the same statements for 20 files as for 2: one INSERT of blobs, of files and of events each', async () => {
    const f = await folder('batch-statements');
    const statements = async (n: number, prefix: string) => {
      t.queries.length = 0;
      ok(await uploadFiles(Array.from({ length: n }, (_, i) => ({ part: `${prefix}-${i}.txt`, data: `statement ${prefix} ${i}` })), { parentId: f }));
      return t.queries.filter((q) => !/^\s*select 1\b/i.test(q)).length;
    };
    const [two, twenty] = [await statements(2, 'a'), await statements(20, 'b')];
    console.log(`uploadFiles: ${two} SQL statements for 2 files, ${twenty} for 20`);
    // A file of its own costs ~8 statements (bench small.calls); three a file in a batch before
    // they went as one INSERT per table (20 files: 68).
    expect(twenty).toBe(two);
    expect(twenty).toBeLessThanOrEqual(10);
    expect(await names(f)).toHaveLength(22);
  });

  // Named by the part: the names are known only as the parts arrive, so the batch's transaction
  // meets the clash and each file is committed alone. Named by `name`: refused before a byte is stored.
  it.each(['part filenames', 'names given'])('refuses a taken name (CONFLICT name_taken) and a name given twice (the first takes it), and keeps nothing of them: %s', async (how) => {
    const f = await folder(`batch-taken ${how}`);
    ok(await uploadFiles([{ part: 'exists.txt', data: 'old' }], { parentId: f }));
    const [usedBefore, objectsBefore] = [await used(), await objectCount()];
    const items: Item[] = [
      { part: 'new-1.txt', data: `one, ${how}` },
      { part: 'EXISTS.txt', data: 'case-folded clash' },
      { part: 'twice.txt', data: `first, ${how}` },
      { part: 'twice.txt', data: 'second!' },
    ];
    const results = ok(await uploadFiles(how === 'names given' ? items.map((i) => ({ ...i, part: 'p', name: i.part })) : items, { parentId: f }));
    expect(results.map((r) => r.error?.reason ?? 'ok')).toEqual(['ok', 'name_taken', 'ok', 'name_taken']);
    expect(results[1]?.error).toMatchObject({ code: 'CONFLICT', field: 'name' });
    expect(await names(f)).toEqual(['exists.txt', 'new-1.txt', 'twice.txt']);
    expect((await download(results[2]!.file!.id)).toString()).toBe(`first, ${how}`);
    expect(await used()).toBe(usedBefore + Buffer.byteLength(`one, ${how}first, ${how}`));
    expect(await objectCount()).toBe(objectsBefore + 2);
  });

  it('with conflict RENAME, a taken name and a name given twice get the next free names', async () => {
    const f = await folder('batch-rename');
    ok(await uploadFiles([{ part: 'r.txt', data: 'old' }], { parentId: f }));
    const results = ok(await uploadFiles([{ part: 'r.txt', data: 'a' }, { part: 'q.txt', data: 'b' }, { part: 'q.txt', data: 'c' }], { parentId: f, conflict: 'RENAME' }));
    expect(results.map((r) => r.file?.name)).toEqual(['r (1).txt', 'q.txt', 'q (1).txt']);
    expect((await download(results[2]!.file!.id)).toString()).toBe('c');
  });

  it('with conflict NEW_VERSION, a taken name gets the new content as its new version (same file id)', async () => {
    const f = await folder('batch-version');
    const [first] = ok(await uploadFiles([{ part: 'v.txt', data: 'version one' }], { parentId: f }));
    const [second] = ok(await uploadFiles([{ part: 'v.txt', data: 'version two' }], { parentId: f, conflict: 'NEW_VERSION' }));
    expect(second?.file?.id).toBe(first?.file?.id);
    expect((await download(second!.file!.id)).toString()).toBe('version two');
    const versions = await gql<{ file: { versions: { size: number }[] } }>(t.url, 'query($id: ID!) { file(id: $id) { versions { size } } }', { id: first!.file!.id }, me.token);
    expect(versions.data?.file.versions.length).toBeGreaterThanOrEqual(1);
  });

  it('refuses a part of another length than declared (BAD_INPUT size-mismatch), shorter or longer, and stores the others', async () => {
    const f = await folder('batch-sizes');
    const objectsBefore = await objectCount();
    const results = ok(await uploadFiles([
      { part: 'longer.txt', data: '12345678901234567890', size: 10 },
      { part: 'fine.txt', data: 'fine' },
      { part: 'shorter.txt', data: '12345', size: 50 },
    ], { parentId: f }));
    expect(results.map((r) => r.error?.reason ?? 'ok')).toEqual(['size-mismatch', 'ok', 'size-mismatch']);
    expect(results[0]?.error).toMatchObject({ code: 'BAD_INPUT', field: 'size' });
    expect(await names(f)).toEqual(['fine.txt']);
    expect(await objectCount()).toBe(objectsBefore + 1);
  });

  it('refuses an invalid name and an invalid mimeType per file; mimeType null records none', async () => {
    const f = await folder('batch-names');
    const results = ok(await uploadFiles([
      { part: 'x', name: 'a/b', data: 'slash' },
      { part: 'typed.bin', mimeType: 'not a type', data: 'typed' },
      { part: 'Makefile', mimeType: null, data: 'all:' },
      { part: 'ok.json', mimeType: 'Application/JSON', data: '{}' },
    ], { parentId: f }));
    expect(results[0]?.error).toMatchObject({ code: 'BAD_INPUT', field: 'name', reason: 'name_invalid_character' });
    expect(results[1]?.error).toMatchObject({ code: 'BAD_INPUT', field: 'mimeType', reason: 'invalid' });
    expect(results[2]?.file?.mimeType).toBeNull();
    expect(results[3]?.file?.mimeType).toBe('application/json');
    expect(await names(f)).toEqual(['Makefile', 'ok.json']);
  });

  it('stores the files that fit the quota, in order, and refuses the rest (QUOTA_EXCEEDED)', async () => {
    const small = await startTestApp({ env: { DEFAULT_QUOTA_BYTES: '1000' } });
    try {
      const you = await small.signUp();
      const form = (items: Item[]) => {
        const body = new FormData();
        body.append('operations', JSON.stringify({ query: 'mutation($fs: [UploadFileInput!]!) { uploadFiles(files: $fs) { name error { code } } }', variables: { fs: items.map((i) => ({ file: null, size: Buffer.byteLength(i.data) })) } }));
        body.append('map', JSON.stringify(Object.fromEntries(items.map((_, i) => [i, [`variables.fs.${i}.file`]]))));
        items.forEach((item, i) => body.append(String(i), new Blob([item.data]), item.part));
        return body;
      };
      const res = await fetch(`${small.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${you.token}`, 'apollo-require-preflight': 'true' }, body: form([
        { part: 'a', data: 'a'.repeat(400) }, { part: 'b', data: 'b'.repeat(500) }, { part: 'c', data: 'c'.repeat(200) }, { part: 'd', data: 'd'.repeat(100) },
      ]) });
      const answer = (await res.json()) as { data: { uploadFiles: { name: string; error: { code: string } | null }[] } };
      expect(answer.data.uploadFiles.map((r) => r.error?.code ?? 'ok')).toEqual(['ok', 'ok', 'QUOTA_EXCEEDED', 'ok']);
      expect(await quotaUsed(small.url, you.token)).toBe(1000);
    } finally {
      await small.close();
    }
  });

  it("refuses the whole request for another person's folder (NOT_FOUND) and over 256 MiB in all (PAYLOAD_TOO_LARGE), storing nothing", async () => {
    const other = await t.signUp();
    const theirs = (await gql<{ createFolder: { id: string } }>(t.url, 'mutation { createFolder(parentId: null, name: "theirs") { id } }', {}, other.token)).data!.createFolder.id;
    const [usedBefore, objectsBefore] = [await used(), await objectCount()];
    const foreign = await uploadFiles([{ part: 'in.txt', data: 'into theirs' }], { parentId: theirs });
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(foreign.status).toBe(404);
    const huge = await uploadFiles([{ part: 'a', data: 'a', size: 200 * 1024 * 1024 }, { part: 'b', data: 'b', size: 100 * 1024 * 1024 }]);
    expect(huge.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await used()).toBe(usedBefore);
    expect(await objectCount()).toBe(objectsBefore);
  });

  it('shares the blob of content stored already: two files of the same bytes in one request leave one object', async () => {
    const f = await folder('batch-dedup');
    const objectsBefore = await objectCount();
    const data = Buffer.alloc(30_000, 9);
    const results = ok(await uploadFiles([{ part: 'same-1.bin', data }, { part: 'same-2.bin', data }], { parentId: f }));
    const hash = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(hash(await download(results[1]!.file!.id))).toBe(hash(data));
    expect(results[0]?.file?.contentHash).toBe(results[1]?.file?.contentHash);
    expect(await objectCount()).toBe(objectsBefore + 1);
  });

  it('in one request, a file of content stored before shares that blob and a new one gets its own, each with its bytes', async () => {
    const f = await folder('batch-dedup-mixed');
    const [old, fresh] = [Buffer.alloc(20_000, 3), Buffer.alloc(20_001, 4)];
    ok(await uploadFiles([{ part: 'old.bin', data: old }], { parentId: f }));
    const objectsBefore = await objectCount();
    const results = ok(await uploadFiles([{ part: 'fresh.bin', data: fresh }, { part: 'old-again.bin', data: old }, { part: 'fresh-again.bin', data: fresh }], { parentId: f }));
    expect(results.map((r) => r.file?.size)).toEqual([20_001, 20_000, 20_001]);
    for (const [i, data] of [fresh, old, fresh].entries()) expect((await download(results[i]!.file!.id)).equals(data)).toBe(true);
    // The new content's one object; the copies' objects were deleted again.
    expect(await objectCount()).toBe(objectsBefore + 1);
  });
});
