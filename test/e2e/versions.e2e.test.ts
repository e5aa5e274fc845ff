/**
 * File versions end to end on the real stack (MariaDB, Redis, Ceph RGW) through GraphQL and HTTP,
 * with VERSIONS_KEEP=2: uploads with conflict NEW_VERSION (uploadFile and createUpload sessions),
 * File.versions newest first, the quota and the blobs' refCounts after every step, retention,
 * restoreVersion / deleteVersion, the version content with Range/ETag/HEAD, trash and purge,
 * WebDAV PUT over a file (one version for two PUTs), the CLI's --overwrite, and the bad input.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { BlobRow } from '../../internal/files/files.entities.ts';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { gql } from '../support/graphql.ts';
import { makeHome, run } from './cli-harness.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ env: { VERSIONS_KEEP: '2' } });
});
afterAll(() => t?.close());

interface Version { id: string; size: number; contentHash: string; createdAt: string }

/** uploadFile with a conflict policy (GraphQL multipart). */
async function upload(token: string, name: string, body: string | Buffer, conflict?: 'FAIL' | 'RENAME' | 'NEW_VERSION', parentId: string | null = null) {
  const form = new FormData();
  form.append('operations', JSON.stringify({
    query: 'mutation($p: ID, $f: Upload!, $c: ConflictPolicy) { uploadFile(parentId: $p, file: $f, conflict: $c) { id name size contentHash } }',
    variables: { p: parentId, f: null, c: conflict ?? null },
  }));
  form.append('map', JSON.stringify({ 0: ['variables.f'] }));
  form.append('0', new Blob([body], { type: 'text/plain' }), name);
  const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' }, body: form });
  return (await res.json()) as { data?: { uploadFile: { id: string; name: string; size: number; contentHash: string } } | null; errors?: { extensions?: { code?: string; details?: { reason?: string } } }[] };
}

const versions = async (token: string, id: string) =>
  (await gql<{ file: { versions: Version[] } }>(t.url, 'query($id: ID!) { file(id: $id) { versions { id size contentHash createdAt } } }', { id }, token)).data!.file.versions;
const quotaUsed = async (token: string) => (await gql<{ me: { quota: { used: number } } }>(t.url, '{ me { quota { used } } }', {}, token)).data!.me.quota.used;
const refCount = async (contentHash: string) => (await t.app.runtime.orm.em.fork().findOne(BlobRow, { contentHash }, { refresh: true }))?.refCount ?? 0;
async function hashOf(body: string | Buffer): Promise<string> {
  const file = path.join(tmpdir(), `v-${createHash('sha1').update(body).digest('hex')}`);
  await writeFile(file, body);
  return fileContentHash(file, Buffer.byteLength(body));
}
const errorOf = (r: { errors?: { extensions?: { code?: string; details?: { reason?: string } } }[] }) =>
  r.errors?.[0] ? `${r.errors[0].extensions?.code}${r.errors[0].extensions?.details?.reason ? `:${r.errors[0].extensions.details.reason}` : ''}` : 'no error';

describe('versions', () => {
  it('NEW_VERSION keeps the file id and the old content as a version; quota and refCounts follow; VERSIONS_KEEP=2 prunes', async () => {
    const { token } = await t.signUp();
    const first = (await upload(token, 'notes.txt', 'v1')).data!.uploadFile;
    expect(errorOf(await upload(token, 'notes.txt', 'v2!'))).toBe('CONFLICT:name_taken');
    const second = (await upload(token, 'notes.txt', 'v2!', 'NEW_VERSION')).data!.uploadFile;
    expect(second).toMatchObject({ id: first.id, size: 3 });
    expect((await versions(token, first.id)).map((v) => v.contentHash)).toEqual([first.contentHash]);
    expect(await quotaUsed(token)).toBe(2 + 3);
    expect(await refCount(first.contentHash)).toBe(1);
    await upload(token, 'notes.txt', 'v3!!', 'NEW_VERSION');
    await upload(token, 'notes.txt', 'v4!!!', 'NEW_VERSION');
    const list = await versions(token, first.id);
    expect(list.map((v) => v.size)).toEqual([4, 3]);
    expect(Date.parse(list[0]!.createdAt)).toBeGreaterThanOrEqual(Date.parse(list[1]!.createdAt));
    // v1 was pruned in the commit of v4: its quota and its blob are gone.
    expect(await quotaUsed(token)).toBe(5 + 4 + 3);
    expect(await refCount(first.contentHash)).toBe(0);
    // RENAME still renames.
    expect((await upload(token, 'notes.txt', 'other', 'RENAME')).data!.uploadFile.name).toBe('notes (1).txt');
  });

  it('a resumable session with conflict NEW_VERSION completes into the existing file', async () => {
    const { token } = await t.signUp();
    const file = (await upload(token, 'big.txt', 'small first')).data!.uploadFile;
    const body = Buffer.from('x'.repeat(1000));
    const created = await gql<{ createUpload: { id: string } }>(t.url, 'mutation($i: CreateUploadInput!) { createUpload(input: $i) { id } }',
      { i: { parentId: null, name: 'big.txt', size: body.length, conflict: 'NEW_VERSION' } }, token);
    const sessionId = created.data!.createUpload.id;
    const put = await fetch(`${t.url}/upload/${sessionId}/0`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body });
    expect(put.status).toBeLessThan(300);
    const done = await gql<{ completeUpload: { status: string; file: { id: string; size: number } } }>(t.url, 'mutation($s: ID!) { completeUpload(sessionId: $s) { status file { id size } } }', { s: sessionId }, token);
    expect(done.data!.completeUpload).toMatchObject({ status: 'COMPLETED', file: { id: file.id, size: 1000 } });
    expect((await versions(token, file.id)).map((v) => v.size)).toEqual([11]);
    // Without it, the name is refused when the session is created.
    const refused = await gql(t.url, 'mutation($i: CreateUploadInput!) { createUpload(input: $i) { id } }', { i: { parentId: null, name: 'big.txt', size: 5 } }, token);
    expect(refused.errors?.[0]?.extensions?.code).toBe('CONFLICT');
  });

  it('restoreVersion and deleteVersion; the version content with Range, ETag, HEAD', async () => {
    const { token } = await t.signUp();
    const body1 = 'the first content, 0123456789';
    const f = (await upload(token, 'r.txt', body1)).data!.uploadFile;
    await upload(token, 'r.txt', 'second', 'NEW_VERSION');
    const [v1] = await versions(token, f.id);
    const url = `${t.url}/files/${f.id}/versions/${v1!.id}/content`;
    const auth = { authorization: `Bearer ${token}` };
    const whole = await fetch(url, { headers: auth });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('etag')).toBe(`"${f.contentHash}"`);
    expect(await whole.text()).toBe(body1);
    const part = await fetch(url, { headers: { ...auth, range: 'bytes=4-8' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 4-8/${body1.length}`);
    expect(await part.text()).toBe('first');
    const head = await fetch(url, { method: 'HEAD', headers: auth });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(body1.length));
    expect((await fetch(url, { headers: { ...auth, 'if-none-match': `"${f.contentHash}"` } })).status).toBe(304);
    expect((await fetch(url)).status).toBe(401);
    // A signed link (createDownloadLink with versionId) for a browser's download manager: no
    // token, Range works, the signature leaks to no referrer, and it opens only this version.
    const link = await gql<{ createDownloadLink: { url: string } }>(t.url, 'mutation($f: ID!, $v: ID!) { createDownloadLink(id: $f, versionId: $v) { url } }', { f: f.id, v: v1!.id }, token);
    const signed = link.data!.createDownloadLink.url;
    expect(signed).toMatch(new RegExp(`/files/${f.id}/versions/${v1!.id}/content\\?sig=`));
    const viaLink = await fetch(signed, { headers: { range: 'bytes=4-8' } });
    expect(viaLink.status).toBe(206);
    expect(viaLink.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await viaLink.text()).toBe('first');
    const sig = new URL(signed).searchParams.get('sig') ?? '';
    expect((await fetch(`${t.url}/files/${f.id}/content?sig=${encodeURIComponent(sig)}`)).status).toBe(404);

    const restored = await gql<{ restoreVersion: { id: string; size: number; contentHash: string } }>(t.url,
      'mutation($f: ID!, $v: ID!) { restoreVersion(fileId: $f, versionId: $v) { id size contentHash } }', { f: f.id, v: v1!.id }, token);
    expect(restored.data!.restoreVersion).toEqual({ id: f.id, size: body1.length, contentHash: f.contentHash });
    const content = await fetch(`${t.url}/files/${f.id}/content`, { headers: auth });
    expect(await content.text()).toBe(body1);
    const after = await versions(token, f.id);
    expect(after.map((v) => v.size)).toEqual([6]);
    expect(await quotaUsed(token)).toBe(body1.length + 6);
    const deleted = await gql<{ deleteVersion: boolean }>(t.url, 'mutation($f: ID!, $v: ID!) { deleteVersion(fileId: $f, versionId: $v) }', { f: f.id, v: after[0]!.id }, token);
    expect(deleted.data!.deleteVersion).toBe(true);
    expect(await versions(token, f.id)).toEqual([]);
    expect(await quotaUsed(token)).toBe(body1.length);
    expect(await refCount(await hashOf('second'))).toBe(0);
  });

  it('trash keeps versions, restore from trash brings them back, purge releases their quota and blobs', async () => {
    const { token } = await t.signUp();
    const f = (await upload(token, 't.txt', 'aaaa-trash')).data!.uploadFile;
    await upload(token, 't.txt', 'bbbb-trash-2', 'NEW_VERSION');
    await gql(t.url, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: f.id }, token);
    await gql(t.url, 'mutation($id: ID!) { restoreFile(id: $id) { id } }', { id: f.id }, token);
    expect(await versions(token, f.id)).toHaveLength(1);
    await gql(t.url, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: f.id }, token);
    expect(await quotaUsed(token)).toBe(10 + 12);
    await gql(t.url, 'mutation($id: ID!) { purgeFile(id: $id) }', { id: f.id }, token);
    expect(await quotaUsed(token)).toBe(0);
    expect(await refCount(f.contentHash)).toBe(0);
  });

  it('bad input: strangers, other files, non-versions, folders; quota exceeded by a new version changes nothing', async () => {
    const me = await t.signUp();
    const other = await t.signUp();
    const f = (await upload(me.token, 'mine.txt', 'mine-1')).data!.uploadFile;
    const g = (await upload(me.token, 'else.txt', 'else-1')).data!.uploadFile;
    await upload(me.token, 'mine.txt', 'mine-22', 'NEW_VERSION');
    const [v] = await versions(me.token, f.id);
    const restore = 'mutation($f: ID!, $v: ID!) { restoreVersion(fileId: $f, versionId: $v) { id } }';
    const del = 'mutation($f: ID!, $v: ID!) { deleteVersion(fileId: $f, versionId: $v) }';
    for (const [who, fileId, versionId] of [[other.token, f.id, v!.id], [me.token, g.id, v!.id], [me.token, f.id, f.id], [me.token, f.id, 'no-such-version']] as const) {
      expect((await gql(t.url, restore, { f: fileId, v: versionId }, who)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect((await gql(t.url, del, { f: fileId, v: versionId }, who)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
    expect((await fetch(`${t.url}/files/${f.id}/versions/${v!.id}/content`, { headers: { authorization: `Bearer ${other.token}` } })).status).toBe(404);
    const folder = await gql<{ createFolder: { id: string } }>(t.url, 'mutation { createFolder(name: "dir") { id } }', {}, me.token);
    expect(await versions(me.token, folder.data!.createFolder.id)).toEqual([]);
    expect(errorOf(await upload(me.token, 'dir', 'zz', 'NEW_VERSION'))).toBe('CONFLICT:name_taken');
    // A full drive: the new version does not fit, nothing changes.
    await t.app.runtime.orm.em.fork().getConnection().execute('update quotas set limit_bytes = used_bytes + 3 where user_id = ?', [me.userId]);
    const before = await quotaUsed(me.token);
    expect(errorOf(await upload(me.token, 'mine.txt', 'much too long', 'NEW_VERSION'))).toBe('QUOTA_EXCEEDED');
    expect(await quotaUsed(me.token)).toBe(before);
    expect((await versions(me.token, f.id)).map((x) => x.id)).toEqual([v!.id]);
  });

  it('a listing of 50 files asking versions reads them in one statement', async () => {
    const { token } = await t.signUp();
    const folder = (await gql<{ createFolder: { id: string } }>(t.url, 'mutation { createFolder(name: "many") { id } }', {}, token)).data!.createFolder.id;
    for (let i = 0; i < 50; i++) await uploadSmall(t.url, token, `f${i}.txt`, `content ${i}`, folder, 'text/plain');
    t.queries.length = 0;
    const listed = await gql<{ folder: { children: { edges: { node: { versions: Version[] } }[] } } }>(t.url,
      'query($id: ID!) { folder(id: $id) { children(first: 50) { edges { node { versions { id } } } } } }', { id: folder }, token);
    expect(listed.data!.folder.children.edges).toHaveLength(50);
    expect(t.queries.filter((q) => /file_versions/.test(q))).toHaveLength(1);
  });

  it('WebDAV PUT twice over a file → one version; the CLI --overwrite keeps the old content as a version', async () => {
    const { token } = await t.signUp();
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${t.url}/dav/dav.txt`, { method: 'PUT', headers: auth, body: 'dav one' })).status).toBe(201);
    expect((await fetch(`${t.url}/dav/dav.txt`, { method: 'PUT', headers: auth, body: 'dav two!' })).status).toBe(204);
    const root = await gql<{ folder: { children: { edges: { node: { id: string; name: string } }[] } } }>(t.url, '{ folder { children { edges { node { id name } } } } }', {}, token);
    const dav = root.data!.folder.children.edges.find((e) => e.node.name === 'dav.txt')!.node;
    expect((await versions(token, dav.id)).map((v) => v.size)).toEqual([7]);

    const home = makeHome();
    const local = path.join(home.home, 'cli.txt');
    await writeFile(local, 'cli first');
    expect((await run(['upload', local], { url: t.url, home, token })).code).toBe(0);
    await writeFile(local, 'cli second!');
    const refused = await run(['upload', local], { url: t.url, home, token });
    expect(refused.code).not.toBe(0);
    const over = await run(['upload', local, '--overwrite', '--json'], { url: t.url, home, token });
    expect(over.code, over.stderr).toBe(0);
    const id = (JSON.parse(over.stdout) as { file: { id: string; size: number } }).file;
    expect(id.size).toBe(11);
    expect((await versions(token, id.id)).map((v) => v.size)).toEqual([9]);
  }, 60_000);
});
