/**
 * File-drop links (issue 20 item 2) against the real stack (MariaDB, Redis, Ceph RGW): the owner's
 * GraphQL (create, list, update, revoke, arrivals; another person's ids NOT_FOUND), and uploads by
 * raw tus requests to /drop/{token}/tus/ — files land in the link's folder (a clash renamed
 * `name (1).ext`), charged to the owner, counted against maxFiles/maxBytes before any byte is kept;
 * unknown, expired and revoked links give one answer; a revoked link stops an upload at its next
 * PATCH; nothing of the folder is reachable through the link. Password links and the per-address
 * limits: upload-links-limits.e2e.test.ts.
 */
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { gql } from '../support/graphql.ts';
import { OCTETS, TUS, contentHashOf, metadata, random, tusRequest } from '../tus/tus-protocol-harness.ts';

let t: TestApp;
let db: Connection;
let owner: { token: string; userId: string };
let stranger: { token: string; userId: string };

interface Link { id: string; token: string; url: string; folderId: string; maxFiles: number | null; maxBytes: number | null; filesReceived: number; bytesReceived: number; hasPassword: boolean; revoked: boolean; active: boolean }
const LINK = 'id token url folderId maxFiles maxBytes filesReceived bytesReceived hasPassword revoked active';

async function must<T>(pending: ReturnType<typeof gql<T>>): Promise<T> {
  const res = await pending;
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data;
}
async function folder(name: string, as = owner.token): Promise<string> {
  return (await must(gql<{ createFolder: { id: string } }>(t.url, 'mutation($n: String!) { createFolder(name: $n) { id } }', { n: name }, as))).createFolder.id;
}
async function createLink(input: Record<string, unknown>, as = owner.token): Promise<Link & { token: string }> {
  const data = await must(gql<{ createUploadLink: Link & { token: string } }>(t.url, `mutation($i: CreateUploadLinkInput!) { createUploadLink(input: $i) { ${LINK} } }`, { i: input }, as));
  return data.createUploadLink;
}
const dropUrl = (token: string) => `${t.url}/drop/${token}/tus/`;
const post = (token: string, size: number, name: string, headers: Record<string, string> = {}) =>
  tusRequest(dropUrl(token), 'POST', { ...TUS, 'upload-length': String(size), 'upload-metadata': metadata({ filename: name, filetype: 'application/octet-stream' }), ...headers });
const at = (token: string, location: string) => new URL(location, dropUrl(token)).toString();
const patch = (token: string, location: string, offset: number, body: Buffer, headers: Record<string, string> = {}) =>
  tusRequest(at(token, location), 'PATCH', { ...TUS, ...OCTETS, 'upload-offset': String(offset), ...headers }, body);

/** One whole upload through the link: POST then one PATCH. */
async function drop(token: string, name: string, bytes: Buffer): Promise<string> {
  const created = await post(token, bytes.length, name);
  expect(created.status, created.text).toBe(201);
  const location = created.headers.get('location') ?? '';
  const done = await patch(token, location, 0, bytes);
  expect(done.status, done.text).toBe(204);
  return location;
}
const filesIn = async (folderId: string) =>
  (await db.query('select name, size, content_hash from files where parent_id = ? and trash_key = ? order by name', [folderId, '']))[0] as { name: string; size: number; content_hash: string }[];
const quotaUsed = async (uid: string) => Number(((await db.query('select used_bytes from quotas where user_id = ?', [uid]))[0] as { used_bytes: number }[])[0]?.used_bytes);
const links = async (as = owner.token) => (await must(gql<{ uploadLinks: Link[] }>(t.url, `{ uploadLinks { ${LINK} } }`, {}, as))).uploadLinks;
const info = (token: string) => gql<{ uploadLinkInfo: { hasPassword: boolean; filesLeft: number | null; bytesLeft: number | null } }>(t.url, 'query($t: String!) { uploadLinkInfo(token: $t) { hasPassword expiresAt filesLeft bytesLeft } }', { t: token });

beforeAll(async () => {
  t = await startTestApp();
  owner = await t.signUp();
  stranger = await t.signUp();
  db = await createConnection(t.db.url ?? '');
});

afterAll(async () => {
  await db?.end();
  await t?.close();
});

describe('upload links: the owner', () => {
  it('creates a link with a 256-bit token and its url, both listed again for the owner to share', async () => {
    const folderId = await folder('inbox-crud');
    const link = await createLink({ folderId, maxFiles: 5, maxBytes: 1000 });
    expect(link.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(link.url).toBe(`${t.url}/drop/${link.token}`);
    expect(link).toMatchObject({ folderId, maxFiles: 5, maxBytes: 1000, filesReceived: 0, bytesReceived: 0, hasPassword: false, revoked: false, active: true });
    const listed = (await links()).find((l) => l.id === link.id);
    expect(listed).toMatchObject({ id: link.id, token: link.token, url: link.url, maxFiles: 5 });
    expect((await links(stranger.token)).map((l) => l.token)).not.toContain(link.token);
  });

  it('updates limits, password and expiry (null removes them) and revokes; bad settings are BAD_INPUT', async () => {
    const link = await createLink({ folderId: await folder('inbox-update') });
    const upd = (input: Record<string, unknown>) => gql<{ updateUploadLink: Link }>(t.url, `mutation($id: ID!, $i: UpdateUploadLinkInput!) { updateUploadLink(id: $id, input: $i) { ${LINK} } }`, { id: link.id, i: input }, owner.token);
    expect((await upd({ maxFiles: 2, password: 'pw-1234' })).data?.updateUploadLink).toMatchObject({ maxFiles: 2, hasPassword: true });
    expect((await upd({ maxFiles: null, password: null })).data?.updateUploadLink).toMatchObject({ maxFiles: null, hasPassword: false });
    for (const bad of [{ maxFiles: 0 }, { maxBytes: -1 }, { password: 'abc' }, { expiresAt: new Date(Date.now() - 1000).toISOString() }]) {
      expect((await upd(bad)).errors?.[0]?.extensions?.code, JSON.stringify(bad)).toBe('BAD_INPUT');
    }
    expect((await must(gql<{ revokeUploadLink: boolean }>(t.url, 'mutation($id: ID!) { revokeUploadLink(id: $id) }', { id: link.id }, owner.token))).revokeUploadLink).toBe(true);
    expect((await links()).find((l) => l.id === link.id)).toMatchObject({ revoked: true, active: false });
  });

  it("another person's link ids are NOT_FOUND (update, revoke), never listed, and their folder cannot take a link", async () => {
    const link = await createLink({ folderId: await folder('inbox-authz') });
    const asStranger = (query: string, vars: Record<string, unknown>) => gql(t.url, query, vars, stranger.token);
    const answers = await Promise.all([
      asStranger('mutation($id: ID!) { updateUploadLink(id: $id, input: { maxFiles: 1 }) { id } }', { id: link.id }),
      asStranger('mutation($id: ID!) { revokeUploadLink(id: $id) }', { id: link.id }),
      asStranger(`mutation($i: CreateUploadLinkInput!) { createUploadLink(input: $i) { id } }`, { i: { folderId: link.folderId } }),
    ]);
    for (const answer of answers) expect(answer.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await links(stranger.token)).map((l) => l.id)).not.toContain(link.id);
    expect((await links()).find((l) => l.id === link.id)).toMatchObject({ revoked: false, maxFiles: null });
    const noSignIn = await gql(t.url, '{ uploadLinks { id } }', {});
    expect(noSignIn.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('upload links: uploads through /drop/{token}/tus/', () => {
  it('files land in the folder with the right contentHash, a clash renamed name (1).ext, charged to the owner, counted and listed as arrivals', async () => {
    const folderId = await folder('inbox-drop');
    const link = await createLink({ folderId });
    const before = await quotaUsed(owner.userId);
    const strangerBefore = await quotaUsed(stranger.userId);
    const a = random(5 * 1024 * 1024 + 17);
    const b = random(1234);
    const c = random(99);
    await drop(link.token, 'report.pdf', a);
    await drop(link.token, 'report.pdf', b);
    await drop(link.token, 'report.pdf', c);
    expect(await filesIn(folderId)).toEqual([
      { name: 'report (1).pdf', size: b.length, content_hash: contentHashOf(b) },
      { name: 'report (2).pdf', size: c.length, content_hash: contentHashOf(c) },
      { name: 'report.pdf', size: a.length, content_hash: contentHashOf(a) },
    ].map((f) => expect.objectContaining({ ...f, size: expect.anything() })));
    expect(await quotaUsed(owner.userId)).toBe(before + a.length + b.length + c.length);
    expect(await quotaUsed(stranger.userId)).toBe(strangerBefore);
    const listed = (await links()).find((l) => l.id === link.id);
    expect(listed).toMatchObject({ filesReceived: 3, bytesReceived: a.length + b.length + c.length });
    const arrivals = await must(gql<{ uploadLinks: { id: string; arrivals: { name: string; size: number; linkId: string }[] }[] }>(t.url, '{ uploadLinks { id arrivals(first: 2) { linkId name size } } }', {}, owner.token));
    expect(arrivals.uploadLinks.find((l) => l.id === link.id)?.arrivals).toEqual([
      { linkId: link.id, name: 'report (2).pdf', size: c.length },
      { linkId: link.id, name: 'report (1).pdf', size: b.length },
    ]);
  });

  it('the N+1th file of a maxFiles: N link is refused before any byte (413), and a terminated upload gives its place back', async () => {
    const link = await createLink({ folderId: await folder('inbox-max-files'), maxFiles: 2 });
    await drop(link.token, 'one.bin', random(10));
    const second = await post(link.token, 10, 'two.bin');
    expect(second.status).toBe(201);
    const third = await post(link.token, 10, 'three.bin');
    expect(third.status).toBe(413);
    expect(third.text).toMatch(/^upload_link_files_limit: /);
    // Terminating the second (nothing sent yet) releases its reservation: a new one fits.
    const ended = await tusRequest(at(link.token, second.headers.get('location') ?? ''), 'DELETE', { ...TUS });
    expect(ended.status).toBe(204);
    await drop(link.token, 'three.bin', random(10));
    expect((await post(link.token, 1, 'four.bin')).status).toBe(413);
    expect((await links()).find((l) => l.id === link.id)).toMatchObject({ filesReceived: 2, active: false });
    expect((await info(link.token)).data?.uploadLinkInfo).toMatchObject({ filesLeft: 0 });
  });

  it('zero-length files through a link are created at once: renamed on clash, counted against maxFiles and as received', async () => {
    const folderId = await folder('inbox-empty');
    const link = await createLink({ folderId, maxFiles: 2 });
    for (const expected of ['empty.txt', 'empty (1).txt']) {
      const res = await post(link.token, 0, 'empty.txt');
      expect(res.status, res.text).toBe(201);
      expect(res.headers.get('upload-offset')).toBe('0');
      expect((await filesIn(folderId)).map((f) => f.name)).toContain(expected);
    }
    const third = await post(link.token, 0, 'empty.txt');
    expect(third.status).toBe(413);
    expect(third.text).toMatch(/^upload_link_files_limit: /);
    expect((await links()).find((l) => l.id === link.id)).toMatchObject({ filesReceived: 2, bytesReceived: 0 });
  });

  it('an upload over maxBytes (counting the uploads in progress) is refused with 413', async () => {
    const link = await createLink({ folderId: await folder('inbox-max-bytes'), maxBytes: 1000 });
    expect((await post(link.token, 1001, 'big.bin')).text).toMatch(/^upload_link_bytes_limit: /);
    expect((await post(link.token, 600, 'a.bin')).status).toBe(201);
    const over = await post(link.token, 401, 'b.bin');
    expect(over.status).toBe(413);
    expect(over.text).toMatch(/^upload_link_bytes_limit: /);
    expect((await post(link.token, 400, 'c.bin')).status).toBe(201);
    expect((await info(link.token)).data?.uploadLinkInfo).toMatchObject({ hasPassword: false, bytesLeft: 0, filesLeft: null });
  });

  it('unknown, expired and revoked links (and one whose folder is in the trash) answer the same 404 and the same NOT_FOUND', async () => {
    const expired = await createLink({ folderId: await folder('inbox-expired'), expiresAt: new Date(Date.now() + 60_000).toISOString() });
    await db.query('update upload_links set expires_at = ? where id = ?', [new Date(Date.now() - 1000), expired.id]);
    const revoked = await createLink({ folderId: await folder('inbox-revoked') });
    await must(gql(t.url, 'mutation($id: ID!) { revokeUploadLink(id: $id) }', { id: revoked.id }, owner.token));
    const trashedFolder = await folder('inbox-trashed');
    const trashed = await createLink({ folderId: trashedFolder });
    await must(gql(t.url, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: trashedFolder }, owner.token));
    const unknown = 'A'.repeat(43);
    const answers = await Promise.all([unknown, expired.token, revoked.token, trashed.token, 'short'].map(async (token) => {
      const res = await post(token, 10, 'x.bin');
      const head = await tusRequest(`${dropUrl(token)}00000000-0000-0000-0000-000000000000`, 'HEAD', { ...TUS });
      const shown = await info(token);
      const unlocked = await gql(t.url, 'mutation($t: String!) { unlockUploadLink(token: $t, password: "pw-1234") { token } }', { t: token });
      return { post: [res.status, res.text], head: head.status, info: shown.errors?.[0], unlock: unlocked.errors?.[0]?.extensions?.code };
    }));
    for (const answer of answers) {
      expect(answer.post).toEqual([404, expect.stringMatching(/^upload_link_not_found: /)]);
      expect(answer.info?.extensions?.details?.reason).toBe('upload_link_not_found');
      expect(answer.head).toBe(404);
      expect(answer.unlock).toBe('NOT_FOUND');
    }
    expect(new Set(answers.map((a) => JSON.stringify([a.post, a.info?.message, a.info?.extensions?.code, a.info?.extensions?.details?.reason]))).size).toBe(1);
  });

  it('a revoked link stops an upload in progress at its next PATCH, and its reservation goes back when the session is swept', async () => {
    const folderId = await folder('inbox-revoke-mid');
    const link = await createLink({ folderId, maxFiles: 1 });
    const bytes = random(9 * 1024 * 1024);
    const created = await post(link.token, bytes.length, 'half.bin');
    const location = created.headers.get('location') ?? '';
    expect((await patch(link.token, location, 0, bytes.subarray(0, 4 * 1024 * 1024))).status).toBe(204);
    await must(gql(t.url, 'mutation($id: ID!) { revokeUploadLink(id: $id) }', { id: link.id }, owner.token));
    const next = await patch(link.token, location, 4 * 1024 * 1024, bytes.subarray(4 * 1024 * 1024));
    expect(next.status).toBe(404);
    expect(next.text).toMatch(/^upload_link_not_found: /);
    expect(await filesIn(folderId)).toEqual([]);
    // The sweeper expires the idle session and releases what it held against the link.
    const sessionId = location.split('/').pop() ?? '';
    await db.query('update upload_sessions set expires_at = ? where id = ?', [new Date(Date.now() - 1000), sessionId]);
    await t.app.uploads.sweeper.sweep();
    const [row] = (await db.query('select files_reserved, bytes_reserved from upload_links where id = ?', [link.id]))[0] as { files_reserved: number; bytes_reserved: number }[];
    expect(row).toMatchObject({ files_reserved: 0 });
    expect(Number(row?.bytes_reserved)).toBe(0);
  });

  it('reveals nothing of the folder: no listing, no download, no other upload through the link', async () => {
    const folderId = await folder('inbox-private');
    const link = await createLink({ folderId });
    await drop(link.token, 'secret.txt', Buffer.from('the owner keeps this'));
    // The owner's own /tus/ upload and another link's upload are not reachable through this link.
    const other = await createLink({ folderId });
    const otherUpload = await post(other.token, 10, 'other.bin');
    const otherId = otherUpload.headers.get('location')?.split('/').pop() ?? '';
    const { uploads } = await must(gql<{ uploads: { id: string }[] }>(t.url, '{ uploads { id } }', {}, owner.token));
    expect(uploads.map((u) => u.id)).toContain(otherId);
    const probes = await Promise.all([
      fetch(dropUrl(link.token)).then((r) => r.status),
      fetch(`${dropUrl(link.token)}${otherId}`).then((r) => r.status),
      tusRequest(`${dropUrl(link.token)}${otherId}`, 'HEAD', { ...TUS }).then((r) => r.status),
      tusRequest(`${dropUrl(link.token)}${otherId}`, 'PATCH', { ...TUS, ...OCTETS, 'upload-offset': '0' }, Buffer.alloc(10)).then((r) => r.status),
      tusRequest(`${dropUrl(link.token)}${otherId}`, 'DELETE', { ...TUS }).then((r) => r.status),
      fetch(`${dropUrl(link.token)}../../files`).then((r) => r.status),
    ]);
    expect(probes[0]).toBeGreaterThanOrEqual(404);
    expect(probes.slice(2, 5)).toEqual([404, 404, 404]);
    expect(probes[1]).toBeGreaterThanOrEqual(404);
    const shown = await info(link.token);
    expect(JSON.stringify(shown.data)).not.toContain('secret');
    expect(Object.keys(shown.data?.uploadLinkInfo ?? {}).sort()).toEqual(['bytesLeft', 'expiresAt', 'filesLeft', 'hasPassword']);
  });
});
