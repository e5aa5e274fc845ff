/**
 * The drive commands of the `stratus` binary end to end against the all-in-one app: `ls`, `mkdir
 * [-p]`, `mv`, `rm`, `share`, each with `--json`; paths like /a/b resolved by name through
 * GraphQL; errors on stderr with the server's stable reason; exit codes 0 / 1 / 2; uploads carry
 * the MIME type of the file's extension (an empty file too).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StratusApi } from '../../cli/lib/api.ts';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { tempDir } from '../support/db.ts';
import { gql } from '../support/graphql.ts';
import { makeHome, run as runCli, type Home } from './cli-harness.ts';

interface Item {
  id: string;
  name: string;
  path: string;
  isFolder: boolean;
  size: number;
  mimeType: string | null;
  parentId: string | null;
}

let t: TestApp;
let token: string;
let home: Home;
let api: StratusApi;

beforeAll(async () => {
  t = await startTestApp();
  token = (await t.signUp()).token;
  home = makeHome();
  api = new StratusApi(t.url, token);
});
afterAll(() => t?.close());

const run = (args: string[], stdin?: string) => runCli(args, { url: t.url, home, token, ...(stdin === undefined ? {} : { stdin }) });
async function json<T>(args: string[], stdin?: string): Promise<T> {
  const r = await run([...args, '--json'], stdin);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}
const children = async (id: string | null) =>
  (await api.gql<{ folder: { children: { edges: { node: { id: string; name: string; isFolder: boolean } }[] } } }>('query($id: ID) { folder(id: $id) { children(first: 500) { edges { node { id name isFolder } } } } }', { id })).folder.children.edges.map((e) => e.node);

describe('stratus mkdir and ls', () => {
  it('mkdir -p creates every missing folder of a path; again it is a no-op; without -p a missing parent is NOT_FOUND', async () => {
    const made = await json<Item>(['mkdir', '-p', '/docs/2026/march']);
    expect(made).toMatchObject({ name: 'march', path: '/docs/2026/march', isFolder: true });
    const again = await json<Item>(['mkdir', '-p', '/docs/2026/march']);
    expect(again.id).toBe(made.id);
    const text = await run(['mkdir', '/docs/2026/april']);
    expect([text.code, text.stdout]).toEqual([0, expect.stringMatching(/^created \/docs\/2026\/april [0-9a-f-]{36}$/m)]);
    const exists = await run(['mkdir', '/docs/2026/APRIL']);
    expect([exists.code, exists.stderr]).toEqual([1, expect.stringMatching(/^error: CONFLICT: .*\(reason: name_taken\)$/m)]);
    const missing = await run(['mkdir', '/nowhere/x']);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/^error: NOT_FOUND: .*\/nowhere.*\(reason: no_such_path\)$/m)]);
    expect((await children(null)).map((c) => c.name)).not.toContain('nowhere');
  }, 120_000);

  it('ls lists a folder as a table or a JSON array, resolves paths by name (case-insensitively, as the server compares names) and shows a single file', async () => {
    const docs = (await children(null)).find((c) => c.name === 'docs')!;
    await uploadSmall(t.url, token, 'notes.txt', 'hello\n', docs.id, 'text/plain');
    const table = await run(['ls', '/docs']);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TYPE\s+SIZE\s+MODIFIED\s+ID\s+NAME$/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^dir\s+-\s+\S+ \S+\s+[0-9a-f-]{36}\s+2026\/$/), expect.stringMatching(/^file\s+6 B\s+\S+ \S+\s+[0-9a-f-]{36}\s+notes\.txt$/)]);
    const items = await json<Item[]>(['ls', '/DOCS/']);
    expect(items.map((i) => [i.name, i.path, i.isFolder, i.size])).toEqual([['2026', '/docs/2026', true, 0], ['notes.txt', '/docs/notes.txt', false, 6]]);
    const one = await json<Item[]>(['ls', '/docs/notes.txt']);
    expect(one).toEqual([expect.objectContaining({ name: 'notes.txt', mimeType: 'text/plain', path: '/docs/notes.txt' })]);
    const root = await json<Item[]>(['ls']);
    expect(root.map((i) => i.path)).toContain('/docs');
    const nothing = await run(['ls', '/docs/none', '--json']);
    expect(nothing.code).toBe(1);
    expect(JSON.parse(nothing.stderr)).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('/docs/none'), reason: 'no_such_path' } });
  }, 120_000);

  it('ls pages through a folder of more than 500 entries', async () => {
    const big = await json<Item>(['mkdir', '/big']);
    const names = Array.from({ length: 505 }, (_, i) => `f${String(i).padStart(3, '0')}`);
    for (let i = 0; i < names.length; i += 25) {
      await Promise.all(names.slice(i, i + 25).map((name) => api.gql('mutation($p: ID, $n: String!) { createFolder(parentId: $p, name: $n) { id } }', { p: big.id, n: name })));
    }
    const items = await json<Item[]>(['ls', '/big']);
    expect(items.map((i) => i.name)).toEqual(names);
  }, 120_000);
});

describe('stratus mv and rm', () => {
  it('mv renames in place, moves into an existing folder, and moves and renames at once', async () => {
    const dir = await json<Item>(['mkdir', '-p', '/mv/a']);
    await json<Item>(['mkdir', '/mv/b']);
    const file = (await uploadSmall(t.url, token, 'x.txt', 'x', dir.id, 'text/plain')).data!.uploadFile;
    expect(await json<Item>(['mv', '/mv/a/x.txt', '/mv/a/y.txt'])).toMatchObject({ id: file.id, name: 'y.txt', path: '/mv/a/y.txt' });
    expect(await json<Item>(['mv', '/mv/a/y.txt', '/mv/b'])).toMatchObject({ id: file.id, name: 'y.txt', path: '/mv/b/y.txt' });
    const text = await run(['mv', '/mv/b/y.txt', '/mv/a/z.txt']);
    expect([text.code, text.stdout]).toEqual([0, `moved /mv/b/y.txt -> /mv/a/z.txt ${file.id}\n`]);
    // A folder moves with its contents.
    expect(await json<Item>(['mv', '/mv/a', '/mv/b/a2'])).toMatchObject({ id: dir.id, path: '/mv/b/a2' });
    expect((await json<Item[]>(['ls', '/mv/b/a2'])).map((i) => i.name)).toEqual(['z.txt']);
  }, 120_000);

  it('mv refuses to overwrite, to move a folder into itself, and changes nothing when it refuses', async () => {
    const dir = await json<Item>(['mkdir', '-p', '/mv2/in']);
    await uploadSmall(t.url, token, 'one.txt', '1', dir.id);
    await uploadSmall(t.url, token, 'two.txt', '2', dir.id);
    const clash = await run(['mv', '/mv2/in/one.txt', '/mv2/in/two.txt']);
    expect([clash.code, clash.stderr]).toEqual([1, expect.stringMatching(/^error: CONFLICT: .*\(reason: name_taken\)$/m)]);
    // The target folder holds the name: refused before the rename, so one.txt keeps its name.
    const other = await json<Item>(['mkdir', '/mv2/other']);
    await uploadSmall(t.url, token, 'three.txt', '3', other.id);
    const late = await run(['mv', '/mv2/in/one.txt', '/mv2/other/three.txt']);
    expect(late.code).toBe(1);
    expect((await json<Item[]>(['ls', '/mv2/in'])).map((i) => i.name)).toEqual(['one.txt', 'two.txt']);
    const cycle = await run(['mv', '/mv2', '/mv2/in/deeper']);
    expect([cycle.code, cycle.stderr]).toEqual([1, expect.stringMatching(/\(reason: move_cycle\)$/m)]);
    const root = await run(['mv', '/', '/x']);
    expect([root.code, root.stderr]).toEqual([1, expect.stringMatching(/\(reason: root\)$/m)]);
  }, 120_000);

  it('rm moves a file or a whole folder to the trash; rm of the root or a missing path fails', async () => {
    const dir = await json<Item>(['mkdir', '-p', '/rm/inner']);
    const gone = await json<Item>(['rm', '/rm']);
    expect(gone).toMatchObject({ name: 'rm', path: '/rm', isFolder: true });
    const trash = await api.gql<{ trash: { id: string }[] }>('{ trash { id } }');
    expect(trash.trash.map((f) => f.id)).toContain(gone.id);
    const missing = await run(['ls', '/rm/inner']);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('NOT_FOUND')]);
    expect(dir.id).not.toBe(gone.id);
    await json<Item>(['mkdir', '/rm2']);
    const text = await run(['rm', '/rm2']);
    expect([text.code, text.stdout]).toEqual([0, expect.stringMatching(/^trashed \/rm2 [0-9a-f-]{36}$/m)]);
    const root = await run(['rm', '/']);
    expect([root.code, root.stderr]).toEqual([1, expect.stringMatching(/\(reason: root\)$/m)]);
  }, 120_000);
});

describe('stratus share', () => {
  it('prints the link; --max-downloads, --expires and --password-stdin set the share, and the visitor sees them', async () => {
    const docs = await json<Item>(['mkdir', '-p', '/share']);
    await uploadSmall(t.url, token, 'doc.pdf', '%PDF-1.4', docs.id, 'application/pdf');
    const plain = await run(['share', '/share/doc.pdf']);
    expect([plain.code, plain.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^${t.url}/share/[\\w-]{43}\\n$`))]);
    const before = Date.now();
    const share = await json<{ url: string; token: string; maxDownloads: number; expiresAt: string; hasPassword: boolean }>(
      ['share', '/share/doc.pdf', '--max-downloads', '3', '--expires', '7d', '--password-stdin'],
      'share-secret-1\n',
    );
    expect(share).toMatchObject({ maxDownloads: 3, hasPassword: true, url: expect.stringContaining(share.token) });
    expect(Date.parse(share.expiresAt) - before).toBeGreaterThan(7 * 86_400_000 - 60_000);
    expect(Date.parse(share.expiresAt) - before).toBeLessThan(7 * 86_400_000 + 60_000);
    const visitor = await gql<{ share: { hasPassword: boolean; root: { name: string } } }>(t.url, 'query($t: String!, $p: String) { share(token: $t, password: $p) { hasPassword root { name } } }', { t: share.token, p: 'share-secret-1' });
    expect(visitor.data?.share).toEqual({ hasPassword: true, root: { name: 'doc.pdf' } });
    const dated = await json<{ expiresAt: string }>(['share', '/share', '--expires', '2099-01-02T03:04:05Z']);
    expect(dated.expiresAt).toBe('2099-01-02T03:04:05.000Z');
  }, 120_000);

  it('errors: past expiry and a short password carry the server reason; bad options are usage errors (exit 2)', async () => {
    await json<Item>(['mkdir', '-p', '/share2']);
    const past = await run(['share', '/share2', '--expires', '2000-01-01T00:00:00Z']);
    expect([past.code, past.stderr]).toEqual([1, expect.stringMatching(/^error: BAD_INPUT: .*\(reason: expiry_in_past\)$/m)]);
    const short = await run(['share', '/share2', '--password-stdin', '--json'], 'ab\n');
    expect(short.code).toBe(1);
    expect(JSON.parse(short.stderr)).toMatchObject({ error: { code: 'BAD_INPUT', reason: 'share_password_length' } });
    for (const args of [['share'], ['share', '/share2', '--max-downloads', 'zero'], ['share', '/share2', '--expires', 'soon'], ['mv', '/a'], ['ls', '/a', '/b'], ['rm'], ['mkdir'], ['mkdir', '-p']]) {
      const r = await run(args);
      expect([args, r.code, r.stderr]).toEqual([args, 2, expect.stringContaining('usage')]);
    }
  }, 120_000);
});

describe('stratus upload: MIME types', () => {
  it('sends the MIME type of the extension (case-insensitive), none for an unknown one, and uploads an empty file with it', async () => {
    const dir = tempDir('stratus-cli-mime-');
    const files = { 'photo.PNG': 'png-bytes', 'page.html': '<p>hi</p>', 'data.unknownext': 'x', 'empty.json': '' };
    for (const [name, body] of Object.entries(files)) writeFileSync(path.join(dir, name), body);
    const folder = await json<Item>(['mkdir', '/mime']);
    for (const name of Object.keys(files)) {
      const r = await run(['upload', path.join(dir, name), '--folder', folder.id]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
    }
    const items = await json<Item[]>(['ls', '/mime']);
    expect(Object.fromEntries(items.map((i) => [i.name, [i.mimeType, i.size]]))).toEqual({
      'data.unknownext': [null, 1],
      'empty.json': ['application/json', 0],
      'page.html': ['text/html', 9],
      'photo.PNG': ['image/png', 9],
    });
  }, 120_000);
});
