/**
 * Hostile file names (issue 17, item 8), on the real stack:
 * - every Cc character (C0, DEL, C1 including U+0085 NEL and U+009B CSI) is refused with
 *   `name_invalid_character`; an unpaired surrogate with `name_unpaired_surrogate` (MariaDB's
 *   utf8mb4 cannot hold one: it was stored as "?", the name read back differed);
 * - uniqueness per folder uses full Unicode case folding (CaseFolding.txt C+F, canonical caseless
 *   match of Unicode §3.13 D145): `ΟΔΟΣ`/`οδοσ`, `straße`/`STRASSE`, `ﬁle`/`FILE` clash;
 * - the migration `*_name_keys` recomputes the key of existing rows on MariaDB and SQLite; a row
 *   whose new key is taken is renamed (`name (1)`) instead of failing the migration.
 */
import { MikroORM } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allEntities } from '../../internal/entities.ts';
import { UserRow } from '../../internal/accounts/accounts.entities.ts';
import { FileRow } from '../../internal/files/files.entities.ts';
import { nameKey, normalizeName } from '../../internal/files/names.ts';
import { migrationsFor, type Dialect } from '../../internal/platform/db/migrations/index.ts';
import { ormOptions } from '../../internal/platform/db/orm.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { createMysqlDatabase, createSqliteDatabase, type TestDatabase } from '../support/db.ts';
import { errorCode, gql, type GraphQLResponse } from '../support/graphql.ts';

const reasonOf = (fn: () => unknown): unknown => {
  try {
    fn();
    return 'accepted';
  } catch (error) {
    return (error as { details?: { reason?: unknown } }).details?.reason;
  }
};
const reason = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.details?.reason;

describe('the name rules', () => {
  it('refuse every Cc character: C0, DEL and C1 (U+0080–U+009F, with U+0085 NEL and U+009B CSI)', () => {
    const cc = [...Array.from({ length: 0x20 }, (_, i) => i), ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i)];
    expect(cc).toContain(0x85);
    expect(cc).toContain(0x9b);
    for (const c of cc) expect(reasonOf(() => normalizeName(`a${String.fromCharCode(c)}b`)), `U+${c.toString(16)}`).toBe('name_invalid_character');
    // Their neighbours are ordinary characters.
    for (const ok of ['a b', 'a\u00a0b', 'a~b', 'a\u00a1b']) expect(normalizeName(ok)).toBe(ok);
  });

  it('refuse unpaired surrogates, high or low, anywhere; a pair (an emoji) is one character and fine', () => {
    for (const bad of ['a\ud800', '\udc00a', 'x\ud83dy', 'x\ude00y', '\ude00\ud83d']) expect(reasonOf(() => normalizeName(bad)), JSON.stringify(bad)).toBe('name_unpaired_surrogate');
    expect(normalizeName('photo \ud83d\ude00.jpg')).toBe('photo 😀.jpg');
  });

  it('key names by full case folding, on the canonical form', () => {
    const same = [
      ['ΟΔΟΣ', 'οδοσ'], ['ΟΔΟΣ', 'οδος'], ['straße', 'STRASSE'], ['ẞ', 'ss'], ['ﬁle', 'FILE'], ['ǅ', 'ǆ'], ['ſ', 's'],
      ['K', 'k'], ['Ꭰ', 'ꭰ'], ['𐐀', '𐐨'], ['ᾼ', 'αι'], ['Report.pdf', 'report.PDF'], ['e\u0301', '\u00c9'], ['ΐ', '\u03b9\u0308\u0301'],
    ];
    for (const [a, b] of same) expect(nameKey(a!), `${a} ~ ${b}`).toBe(nameKey(b!));
    for (const [a, b] of [['é', 'e'], ['a', 'á'], ['ss', 's'], ['ı', 'i']]) expect(nameKey(a!), `${a} ≠ ${b}`).not.toBe(nameKey(b!));
  });
});

describe('names over GraphQL (MariaDB)', () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp();
    token = (await t.signUp()).token;
  });
  afterAll(() => t?.close());

  const mkdir = (name: string, parentId: string | null = null) =>
    gql<{ createFolder: { id: string; name: string } }>(t.url, 'mutation($p: ID, $n: String!) { createFolder(parentId: $p, name: $n) { id name } }', { p: parentId, n: name }, token);
  const children = async (id: string) => {
    const r = await gql<{ folder: { children: { edges: { node: { name: string } }[] } } }>(t.url, 'query($id: ID) { folder(id: $id) { children(first: 50) { edges { node { name } } } } }', { id }, token);
    return r.data!.folder.children.edges.map((e) => e.node.name);
  };

  it('refuses C1 controls and lone surrogates, and makes nothing', async () => {
    const box = (await mkdir('controls')).data!.createFolder.id;
    for (const [name, why] of [['a\u0085b', 'name_invalid_character'], ['a\u009b31mb', 'name_invalid_character'], ['a\u0080', 'name_invalid_character'], ['a\ud800b', 'name_unpaired_surrogate'], ['\udfffz', 'name_unpaired_surrogate']]) {
      const r = await mkdir(name!, box);
      expect(errorCode(r), JSON.stringify(name)).toBe('BAD_INPUT');
      expect(reason(r)).toBe(why);
    }
    expect(await children(box)).toEqual([]);
    const emoji = await mkdir('notes 😀', box);
    expect(emoji.data?.createFolder.name).toBe('notes 😀');
    expect(await children(box)).toEqual(['notes 😀']);
  });

  it('lets no two names that fold alike share a folder, whether made, renamed or moved in', async () => {
    const box = (await mkdir('folding')).data!.createFolder.id;
    for (const [first, second] of [['ΟΔΟΣ', 'οδοσ'], ['straße', 'STRASSE'], ['ﬁle', 'FILE']]) {
      expect((await mkdir(first!, box)).data?.createFolder.name).toBe(first);
      const clash = await mkdir(second!, box);
      expect(errorCode(clash), `${first} / ${second}`).toBe('CONFLICT');
      expect(reason(clash)).toBe('name_taken');
      // Renamed onto it, and moved in from elsewhere under that name.
      const other = (await mkdir(`${second} elsewhere`)).data!.createFolder.id;
      const renamed = await gql(t.url, 'mutation($id: ID!, $n: String!) { renameFile(id: $id, name: $n) { name } }', { id: other, n: second }, token);
      expect(errorCode(renamed)).toBeUndefined();
      const moved = await gql(t.url, 'mutation($id: ID!, $p: ID) { moveFile(id: $id, parentId: $p) { name } }', { id: other, p: box }, token);
      expect(errorCode(moved), `move ${second}`).toBe('CONFLICT');
    }
    expect((await children(box)).sort()).toEqual(['straße', 'ΟΔΟΣ', 'ﬁle'].sort());
  });
});

const MIGRATION = 'Migration20261205050000_name_keys';

describe.each(['mysql', 'sqlite'] satisfies Dialect[])('the name-key migration on %s', (dialect) => {
  let db: TestDatabase;
  let orm: MikroORM;
  beforeAll(async () => {
    db = dialect === 'mysql' ? await createMysqlDatabase('names') : createSqliteDatabase();
    orm = await MikroORM.init(ormOptions(db.options, allEntities, undefined, {}, {}, { defaultQuotaBytes: 1_000_000 }));
  });
  afterAll(async () => {
    await orm?.close();
    await db?.drop();
  });

  it('recomputes every key with case folding and renames, never fails on, the rows that now clash', async () => {
    const names = migrationsFor(dialect).map((m) => m.name);
    expect(names).toContain(MIGRATION);
    await orm.getMigrator().up({ to: names[names.indexOf(MIGRATION) - 1] });
    const em = orm.em.fork();
    const user = { id: randomUUID(), username: 'legacy', usernameKey: 'legacy', email: 'legacy@example.com', passwordHash: 'x', isAdmin: false, createdAt: new Date() };
    await em.insert(UserRow, user);
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const row = (name: string, seconds: number, extra: { parentId?: string; trashKey?: string } = {}) => {
      const id = randomUUID();
      return {
        id, ownerId: user.id, parentId: extra.parentId ?? user.id, name, nameKey: name.normalize('NFC').toLowerCase(), path: `/${user.id}/${id}/`, isFolder: true, size: 0,
        blobId: null, contentHash: null, mimeType: null, trashKey: extra.trashKey ?? '', trashedAt: null, trashedBy: null, createdAt: at(seconds), updatedAt: at(seconds),
      };
    };
    const root = row('', 0, {});
    Object.assign(root, { id: user.id, parentId: null, path: `/${user.id}/`, nameKey: '' });
    const rows = {
      older: row('STRASSE', 1), younger: row('Straße', 2), greek: row('ΟΔΟΣ', 3), greekLower: row('οδοσ', 4),
      alone: row('ǅungla', 5), plain: row('Plain.txt', 6), trashed: row('straße', 7, { trashKey: randomUUID() }), taken: row('ΟΔΟΣ (1)', 0),
    };
    await em.insert(FileRow, root);
    for (const r of Object.values(rows)) await em.insert(FileRow, r);

    await orm.getMigrator().up();
    const after = new Map((await orm.em.fork().find(FileRow, { ownerId: user.id })).map((r) => [r.id, { name: r.name, key: r.nameKey }]));
    expect(after.get(rows.older.id)).toEqual({ name: 'STRASSE', key: 'strasse' });
    expect(after.get(rows.younger.id)).toEqual({ name: 'Straße (1)', key: 'strasse (1)' });
    // A row whose key does not change keeps its name; re-keyed rows go oldest first, and one whose
    // new key is taken gets the first free " (n)" ("ΟΔΟΣ (1)" is taken too, once re-keyed).
    expect(after.get(rows.greek.id)).toEqual({ name: 'ΟΔΟΣ (2)', key: 'οδοσ (2)' });
    expect(after.get(rows.greekLower.id)).toEqual({ name: 'οδοσ', key: 'οδοσ' });
    expect(after.get(rows.taken.id)).toEqual({ name: 'ΟΔΟΣ (1)', key: 'οδοσ (1)' });
    expect(after.get(rows.alone.id)).toEqual({ name: 'ǅungla', key: 'ǆungla' });
    expect(after.get(rows.plain.id)).toEqual({ name: 'Plain.txt', key: 'plain.txt' });
    expect(after.get(rows.trashed.id)).toEqual({ name: 'straße', key: 'strasse' });
    for (const [, v] of after) expect(v.key).toBe(nameKey(v.name));
  });
});
