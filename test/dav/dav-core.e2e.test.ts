/**
 * WebDAV core against the real stack (MariaDB, Redis, Ceph) over plain HTTP: OPTIONS, auth (401
 * with the Basic challenge, Basic with a personal access token, a READ token refused on writes),
 * PROPFIND (depth 0/1, infinity refused, allprop/prop/propname, quota, another person's path),
 * GET/HEAD (Range, ETag, conditionals), MKCOL, DELETE, COPY, MOVE (Overwrite, Destination),
 * names the drive refuses, 507 over quota — and a 10 000-file PROPFIND streamed page by page with
 * the same statements per page as a 50-file folder's single page.
 */
import { createConnection, type Connection } from 'mysql2/promise';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { gql } from '../support/graphql.ts';

let t: TestApp;
let db: Connection;
let token: string;
let userId: string;

interface Answer { status: number; text: string; headers: Headers }

async function dav(method: string, path: string, headers: Record<string, string> = {}, body?: string, auth = `Bearer ${token}`): Promise<Answer> {
  const res = await fetch(`${t.url}/dav/${path}`, { method, headers: { ...(auth ? { authorization: auth } : {}), ...headers }, ...(body === undefined ? {} : { body }) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}
/** A request whose path goes out exactly as written (no URL normalisation). */
function raw(method: string, path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(t.url);
    const req = request({ hostname, port, path, method, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject).end();
  });
}
const propfind = (path: string, depth: string, body?: string, auth?: string) => dav('PROPFIND', path, { depth, 'content-type': 'application/xml' }, body, auth);
const destination = (path: string) => `${t.url}/dav/${path}`;
const hrefs = (xml: string) => [...xml.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]);
const PROP = (inner: string) => `<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop>${inner}</d:prop></d:propfind>`;

async function live(name: string): Promise<{ id: string; trashed_at: Date | null }[]> {
  const [rows] = await db.query('select id, trashed_at from files where owner_id = ? and name = ?', [userId, name]);
  return rows as { id: string; trashed_at: Date | null }[];
}

beforeAll(async () => {
  t = await startTestApp();
  ({ token, userId } = await t.signUp());
  db = await createConnection(t.db.url ?? '');
});

afterAll(async () => {
  await db?.end();
  await t?.close();
});

describe('OPTIONS and authentication', () => {
  it('OPTIONS names DAV classes 1 and 2, the methods and MS-Author-Via, with or without credentials', async () => {
    for (const auth of [`Bearer ${token}`, '']) {
      const res = await dav('OPTIONS', '', {}, undefined, auth);
      expect(res.status).toBe(200);
      expect(res.headers.get('dav')).toBe('1, 2');
      expect(res.headers.get('ms-author-via')).toBe('DAV');
      for (const m of ['PROPFIND', 'GET', 'MKCOL', 'DELETE', 'COPY', 'MOVE']) expect(res.headers.get('allow')).toContain(m);
    }
  });

  it('answers 401 with the Basic challenge without or with bad credentials', async () => {
    for (const auth of ['', `Basic ${Buffer.from('someone:stp_wrong').toString('base64')}`, 'Bearer not-a-jwt']) {
      const res = await propfind('', '0', undefined, auth);
      expect(res.status, auth).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="Stratus"/);
    }
  });

  it('takes Basic auth with a personal access token; a READ token reads but cannot write (403)', async () => {
    const make = async (scopes: string[]) => {
      const res = await gql<{ createAccessToken: { token: string } }>(t.url, 'mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) { token } }', { i: { name: `dav ${scopes.join()}`, scopes } }, token);
      const secret = res.data?.createAccessToken.token;
      if (!secret) throw new Error(JSON.stringify(res.errors));
      const [rows] = await db.query('select username from users where id = ?', [userId]);
      const username = (rows as { username: string }[])[0]?.username ?? '';
      return `Basic ${Buffer.from(`${username}:${secret}`).toString('base64')}`;
    };
    const readOnly = await make(['READ']);
    expect((await propfind('', '0', undefined, readOnly)).status).toBe(207);
    const refused = await dav('MKCOL', 'read-only-made', {}, undefined, readOnly);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('token_scope');
    expect(await live('read-only-made')).toEqual([]);
    const writer = await make(['READ', 'WRITE']);
    expect((await dav('MKCOL', 'token-made', {}, undefined, writer)).status).toBe(201);
  });
});

describe('MKCOL and names', () => {
  it('creates a folder (201), refuses an existing one (405), a missing parent (409) and a body (415)', async () => {
    expect((await dav('MKCOL', 'made')).status).toBe(201);
    expect((await dav('MKCOL', 'made/')).status).toBe(405);
    expect((await dav('MKCOL', 'nowhere/deeper')).status).toBe(409);
    expect((await dav('MKCOL', 'with-body', { 'content-type': 'application/xml' }, '<x/>')).status).toBe(415);
    expect(await live('with-body')).toEqual([]);
  });

  it('refuses names the drive refuses with 400 and a clear body, and creates nothing', async () => {
    const cases: [string, string][] = [
      ['a%00b', 'name_invalid_character'], ['a%2Fb', 'name_invalid_character'], ['made/..', 'name_only_dots'],
      ['made/../x', 'name_only_dots'], ['made/%2E%2E', 'name_only_dots'], ['%20lead', 'name_whitespace'], ['bad%FF', 'name_invalid_character'],
    ];
    for (const [path, reason] of cases) {
      // Sent as is: fetch would resolve the dot-segments before sending.
      const res = await raw('MKCOL', `/dav/${path}`);
      expect(res.status, path).toBe(400);
      expect(res.text, path).toContain(reason);
    }
    const [rows] = await db.query('select count(*) as n from files where owner_id = ? and (name like ? or name like ?)', [userId, 'a%b', '%lead']);
    expect((rows as { n: number }[])[0]?.n).toBe(0);
  });
});

describe('PROPFIND', () => {
  let file: { id: string; contentHash: string };
  beforeAll(async () => {
    await dav('MKCOL', 'docs');
    const [folder] = await live('docs');
    const up = await uploadSmall(t.url, token, 'note.txt', 'hello webdav', folder?.id ?? null, 'text/plain');
    if (!up.data) throw new Error(JSON.stringify(up.errors));
    file = up.data.uploadFile;
  });

  it('depth 0 and 1 list the folder and its members with their live properties', async () => {
    const zero = await propfind('docs', '0');
    expect(zero.status).toBe(207);
    expect(hrefs(zero.text)).toEqual(['/dav/docs/']);
    const one = await propfind('docs/', '1');
    expect(hrefs(one.text)).toEqual(['/dav/docs/', '/dav/docs/note.txt']);
    expect(one.text).toContain('<D:resourcetype><D:collection/></D:resourcetype>');
    expect(one.text).toContain(`<D:getetag>"${file.contentHash}"</D:getetag>`);
    expect(one.text).toContain('<D:getcontentlength>12</D:getcontentlength>');
    expect(one.text).toContain('<D:getcontenttype>text/plain</D:getcontenttype>');
    expect(one.text).toMatch(/<D:getlastmodified>\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT<\/D:getlastmodified>/);
    expect(one.text).toMatch(/<D:creationdate>\d{4}-\d{2}-\d{2}T[\d:.]+Z<\/D:creationdate>/);
    expect(one.text).toContain('<D:supportedlock><D:lockentry>');
  });

  it('Depth infinity (or none) is 403 with propfind-finite-depth', async () => {
    for (const res of [await propfind('docs', 'infinity'), await dav('PROPFIND', 'docs')]) {
      expect(res.status).toBe(403);
      expect(res.text).toContain('<D:propfind-finite-depth/>');
    }
  });

  it('prop: found ones under 200, unknown ones under 404; quota on collections; propname', async () => {
    const res = await propfind('', '0', PROP('<d:quota-used-bytes/><d:quota-available-bytes/><d:getetag/><x:nope xmlns:x="urn:x"/>'));
    expect(res.status).toBe(207);
    const [ok, missing] = res.text.split('</D:propstat>');
    expect(ok).toContain('<D:quota-used-bytes>12</D:quota-used-bytes>');
    expect(ok).toMatch(/<D:quota-available-bytes>\d+<\/D:quota-available-bytes>/);
    expect(ok).toContain('200 OK');
    expect(missing).toContain('<D:getetag/>');
    expect(missing).toContain('<nope xmlns="urn:x"/>');
    expect(missing).toContain('404 Not Found');
    const names = await propfind('docs/note.txt', '0', '<propfind xmlns="DAV:"><propname/></propfind>');
    expect(names.text).toContain('<D:getetag/>');
    expect(names.text).not.toContain('hello');
  });

  it('a malformed body is 400; another person\'s path and a missing one are 404', async () => {
    expect((await propfind('docs', '0', '<d:propfind xmlns:d="DAV:"><d:prop>')).status).toBe(400);
    expect((await propfind('docs', '0', '<!DOCTYPE x [<!ENTITY a "b">]><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>')).status).toBe(400);
    const other = await t.signUp();
    expect((await propfind('docs', '0', undefined, `Bearer ${other.token}`)).status).toBe(404);
    expect((await dav('GET', 'docs/note.txt', {}, undefined, `Bearer ${other.token}`)).status).toBe(404);
    expect((await propfind('nothing-here', '0')).status).toBe(404);
  });
});

describe('GET and HEAD', () => {
  it('serve the bytes with Range, ETag, Last-Modified and the conditional headers; a folder is 405', async () => {
    await dav('MKCOL', 'get');
    const [folder] = await live('get');
    const up = await uploadSmall(t.url, token, 'bytes.bin', '0123456789', folder?.id ?? null);
    const etag = `"${up.data?.uploadFile.contentHash}"`;
    const whole = await dav('GET', 'get/bytes.bin');
    expect(whole.status).toBe(200);
    expect(whole.text).toBe('0123456789');
    expect(whole.headers.get('etag')).toBe(etag);
    expect(whole.headers.get('last-modified')).toMatch(/GMT$/);
    const part = await dav('GET', 'get/bytes.bin', { range: 'bytes=2-4' });
    expect([part.status, part.text, part.headers.get('content-range')]).toEqual([206, '234', 'bytes 2-4/10']);
    expect((await dav('GET', 'get/bytes.bin', { 'if-none-match': etag })).status).toBe(304);
    expect((await dav('GET', 'get/bytes.bin', { 'if-match': '"other"' })).status).toBe(412);
    expect((await dav('GET', 'get/bytes.bin', { range: 'bytes=20-' })).status).toBe(416);
    const head = await dav('HEAD', 'get/bytes.bin');
    expect([head.status, head.text, head.headers.get('content-length')]).toEqual([200, '', '10']);
    expect((await dav('GET', 'get/')).status).toBe(405);
  });
});

describe('DELETE, COPY and MOVE', () => {
  beforeAll(async () => {
    await dav('MKCOL', 'src');
    await dav('MKCOL', 'src/inner');
    const [src] = await live('src');
    const [inner] = await live('inner');
    await uploadSmall(t.url, token, 'a.txt', 'aaaa', src?.id ?? null);
    await uploadSmall(t.url, token, 'b.txt', 'bbbbbb', inner?.id ?? null);
  });

  it('DELETE moves the item to the trash (204), then it is gone (404)', async () => {
    await dav('MKCOL', 'doomed');
    expect((await dav('DELETE', 'doomed')).status).toBe(204);
    expect((await live('doomed'))[0]?.trashed_at).not.toBeNull();
    expect((await dav('DELETE', 'doomed')).status).toBe(404);
    expect((await dav('DELETE', '')).status).toBe(403);
  });

  it('COPY copies by reference: a file (201), a tree (Depth infinity), only the folder (Depth 0)', async () => {
    const [blobsBefore] = await db.query('select count(*) as n from blobs');
    expect((await dav('COPY', 'src/a.txt', { destination: destination('a-copy.txt') })).status).toBe(201);
    expect((await dav('GET', 'a-copy.txt')).text).toBe('aaaa');
    expect((await dav('COPY', 'src', { destination: destination('tree-copy') })).status).toBe(201);
    expect(hrefs((await propfind('tree-copy/inner', '1')).text)).toEqual(['/dav/tree-copy/inner/', '/dav/tree-copy/inner/b.txt']);
    expect((await dav('COPY', 'src', { destination: destination('shallow-copy'), depth: '0' })).status).toBe(201);
    expect(hrefs((await propfind('shallow-copy', '1')).text)).toEqual(['/dav/shallow-copy/']);
    const [blobsAfter] = await db.query('select count(*) as n from blobs');
    expect(blobsAfter).toEqual(blobsBefore);
  });

  it('COPY/MOVE onto an existing item: Overwrite F is 412, T replaces it (204, the old one in the trash)', async () => {
    await uploadSmall(t.url, token, 'target.txt', 'old');
    expect((await dav('COPY', 'src/a.txt', { destination: destination('target.txt'), overwrite: 'F' })).status).toBe(412);
    expect((await dav('MOVE', 'a-copy.txt', { destination: destination('target.txt'), overwrite: 'F' })).status).toBe(412);
    const [old] = await live('target.txt');
    expect((await dav('MOVE', 'a-copy.txt', { destination: destination('target.txt'), overwrite: 'T' })).status).toBe(204);
    expect((await dav('GET', 'target.txt')).text).toBe('aaaa');
    const [row] = (await live('target.txt')).filter((r) => r.id === old?.id);
    expect(row?.trashed_at).not.toBeNull();
    expect((await dav('GET', 'a-copy.txt')).status).toBe(404);
  });

  it('MOVE renames and re-parents (201); refuses its own subtree (403), a missing folder (409), another server (502), the same path (403)', async () => {
    expect((await dav('MOVE', 'tree-copy', { destination: destination('shallow-copy/moved') })).status).toBe(201);
    expect((await dav('GET', 'shallow-copy/moved/inner/b.txt')).text).toBe('bbbbbb');
    expect((await dav('MOVE', 'shallow-copy', { destination: destination('shallow-copy/moved/x') })).status).toBe(403);
    expect((await dav('MOVE', 'src/a.txt', { destination: destination('missing/a.txt') })).status).toBe(409);
    expect((await dav('MOVE', 'src/a.txt', { destination: 'http://elsewhere.example/dav/a.txt' })).status).toBe(502);
    expect((await dav('MOVE', 'src/a.txt', { destination: destination('src/a.txt') })).status).toBe(403);
    expect((await dav('MOVE', 'src/a.txt', { destination: destination('src/bad%00name') })).status).toBe(400);
    expect((await dav('MOVE', 'src/a.txt', { destination: '/dav/src/A.txt' })).status).toBe(201);
    expect(hrefs((await propfind('src', '1')).text)).toContain('/dav/src/A.txt');
  });

  it('COPY over the quota is 507 and copies nothing', async () => {
    const [rows] = await db.query('select used_bytes from quotas where user_id = ?', [userId]);
    const used = Number((rows as { used_bytes: number }[])[0]?.used_bytes);
    await db.query('update quotas set limit_bytes = ? where user_id = ?', [used + 1, userId]);
    try {
      const res = await dav('COPY', 'src/A.txt', { destination: destination('too-much.txt') });
      expect(res.status).toBe(507);
      expect(await live('too-much.txt')).toEqual([]);
      expect((await dav('COPY', 'src', { destination: destination('too-much') })).status).toBe(507);
      expect(await live('too-much')).toEqual([]);
    } finally {
      await db.query('update quotas set limit_bytes = ? where user_id = ?', [10 ** 12, userId]);
    }
  });
});

describe('PROPFIND of a large folder', () => {
  async function folderWith(name: string, count: number): Promise<void> {
    expect((await dav('MKCOL', name)).status).toBe(201);
    const [folder] = await live(name);
    const [rows] = await db.query('select path from files where id = ?', [folder?.id]);
    const parentPath = (rows as { path: string }[])[0]?.path ?? '';
    const now = new Date();
    for (let start = 0; start < count; start += 1000) {
      const values = Array.from({ length: Math.min(1000, count - start) }, (_, i) => {
        const id = randomUUID();
        const file = `f${String(start + i).padStart(5, '0')}.txt`;
        return [id, userId, folder?.id, file, file, `${parentPath}${id}/`, false, 7, null, 'c'.repeat(64), 'text/plain', '', null, null, now, now];
      });
      await db.query('insert into files (id, owner_id, parent_id, name, name_key, path, is_folder, size, blob_id, content_hash, mime_type, trash_key, trashed_at, trashed_by, created_at, updated_at) values ?', [values]);
    }
  }

  /** The statements on the files table a PROPFIND ran, and the size of its answer. */
  async function measured(name: string): Promise<{ statements: string[]; members: number }> {
    t.queries.length = 0;
    const res = await fetch(`${t.url}/dav/${name}/`, { method: 'PROPFIND', headers: { authorization: `Bearer ${token}`, depth: '1' } });
    expect(res.status).toBe(207);
    // Read as a stream, counting responses, without keeping the body.
    let members = -1;
    const decoder = new TextDecoder();
    let tail = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const text = tail + decoder.decode(chunk, { stream: true });
      members += text.split('<D:response>').length - 1;
      tail = text.slice(-12);
    }
    const statements = t.queries
      .filter((q) => /\bfiles\b/.test(q))
      .map((q) => q.replace(/\[took.*$/, '').replace(/'[^']*'/g, '?').replace(/\b\d+\b/g, 'N').replace(/in \((\?, )*\?\)/g, 'in (…)').trim());
    return { statements, members };
  }

  it('10 000 members stream with the statements of a 50-member folder, a fixed three per page of 500', async () => {
    await folderWith('fifty', 50);
    await folderWith('many', 10_000);
    const small = await measured('fifty');
    const heapBefore = process.memoryUsage().heapUsed;
    const large = await measured('many');
    const heapDelta = process.memoryUsage().heapUsed - heapBefore;
    expect(small.members).toBe(50);
    expect(large.members).toBe(10_000);
    // The same statement shapes: nothing per member, no count, the same lookups; the only new
    // shape is the page query continuing after a cursor (keyset paging).
    const smallShapes = new Set(small.statements);
    const extra = [...new Set(large.statements)].filter((s) => !smallShapes.has(s));
    expect(extra).toHaveLength(1);
    expect(extra[0]).toMatch(/`?name_key`? > \?/);
    expect([...smallShapes].every((s) => large.statements.includes(s))).toBe(true);
    // A page costs a fixed few statements (the folder, the page, its dead properties in one
    // batch): 20 pages of 500 instead of 1, each with the statements of the 50-member page.
    const pageOf = (list: string[]) => list.filter((s) => /order by (`f0`\.)?`?is_folder`?/.test(s)).length;
    expect([pageOf(small.statements), pageOf(large.statements)]).toEqual([1, 20]);
    expect(large.statements.length - small.statements.length).toBe(19 * 3);
    // A page at a time: far less than 10 000 members' answer (≈ 6 MB) plus their rows kept at once.
    expect(heapDelta).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);
});
