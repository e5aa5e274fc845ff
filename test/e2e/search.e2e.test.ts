/**
 * Search end to end through GraphQL on the real stack (MariaDB, Redis, Ceph RGW): uploads and
 * folders found by name regardless of case and accents, best matches first, filters, the trash
 * left out, paging, another person's drive invisible, and bad input with stable codes and
 * reasons (a 10 000-character query, only wildcards, empty, `first` out of range, a cursor of
 * another search or person).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { gql, type GraphQLResponse } from '../support/graphql.ts';

let t: TestApp;
let alice: string;
let bob: string;

interface Found {
  search: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: { id: string; name: string; isFolder: boolean } }[] };
}

const SEARCH = `query($q: String!, $first: Int, $after: String, $filter: SearchFilter) { search(query: $q, first: $first, after: $after, filter: $filter) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id name isFolder } } } }`;

const search = (token: string, q: string, more: Record<string, unknown> = {}) => gql<Found>(t.url, SEARCH, { q, ...more }, token);
const names = async (token: string, q: string, more: Record<string, unknown> = {}) => {
  const res = await search(token, q, more);
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.search.edges.map((e) => e.node.name);
};
const reason = <T,>(res: GraphQLResponse<T>) => {
  const ext = res.errors?.[0]?.extensions as { code?: string; details?: { reason?: string } } | undefined;
  return `${ext?.code}:${ext?.details?.reason}`;
};

beforeAll(async () => {
  t = await startTestApp();
  ({ token: alice } = await t.signUp());
  ({ token: bob } = await t.signUp());
  const folder = await gql<{ createFolder: { id: string } }>(t.url, 'mutation { createFolder(name: "Résumés") { id } }', {}, alice);
  const folderId = folder.data!.createFolder.id;
  await uploadSmall(t.url, alice, 'Résumé Jean.pdf', 'jean', folderId, 'application/pdf');
  await uploadSmall(t.url, alice, 'RESUME anna.docx', 'anna', folderId, 'application/msword');
  await uploadSmall(t.url, alice, 'unresumed.txt', 'x', null, 'text/plain');
  await uploadSmall(t.url, alice, 'photo-resume.jpg', 'jpeg bytes here', null, 'image/jpeg');
  const gone = await uploadSmall(t.url, alice, 'resume old.pdf', 'old', null, 'application/pdf');
  await gql(t.url, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: gone.data!.uploadFile.id }, alice);
}, 60_000);
afterAll(() => t?.close());

describe('search through GraphQL', () => {
  it('finds uploads and folders regardless of case and accents, best matches first, not the trash', async () => {
    expect(await names(alice, 'resume')).toEqual(['photo-resume.jpg', 'RESUME anna.docx', 'Résumé Jean.pdf', 'Résumés', 'unresumed.txt']);
    expect(await names(alice, 'RÉSUMÉS')).toEqual(['Résumés']);
    expect(await names(alice, 'jean')).toEqual(['Résumé Jean.pdf']);
    expect(await names(alice, 'old')).toEqual([]);
  });

  it('filters by MIME type, size and folders', async () => {
    expect(await names(alice, 'resume', { filter: { mimeTypePrefix: 'image/' } })).toEqual(['photo-resume.jpg']);
    expect(await names(alice, 'resume', { filter: { foldersOnly: true } })).toEqual(['Résumés']);
    expect(await names(alice, 'resume', { filter: { minSize: 5, maxSize: 100 } })).toEqual(['photo-resume.jpg']);
    expect(reason(await search(alice, 'resume', { filter: { minSize: -1 } }))).toBe('BAD_INPUT:bad_user_input');
  });

  it('pages with cursors and counts every match', async () => {
    const first = (await search(alice, 'resume', { first: 2 })).data!.search;
    expect(first).toMatchObject({ totalCount: 5, pageInfo: { hasNextPage: true } });
    const next = (await search(alice, 'resume', { first: 10, after: first.pageInfo.endCursor })).data!.search;
    expect(next.edges.map((e) => e.node.name)).toEqual(['Résumé Jean.pdf', 'Résumés', 'unresumed.txt']);
    expect(next.pageInfo.hasNextPage).toBe(false);
  });

  it("shows nobody else's items", async () => {
    expect(await names(bob, 'resume')).toEqual([]);
    expect(await names(bob, 'jean')).toEqual([]);
  });

  it('refuses bad input with stable reasons', async () => {
    expect(reason(await search(alice, 'a'.repeat(10_000)))).toBe('BAD_INPUT:search_query_too_long');
    expect(reason(await search(alice, 'é'.repeat(10_000)))).toBe('BAD_INPUT:search_query_too_long');
    for (const q of ['', '%', '%%%%', '_', '*', '%_*']) expect(reason(await search(alice, q)), q).toBe('BAD_INPUT:search_query_empty');
    expect(reason(await search(alice, 'resume', { first: 501 }))).toBe('BAD_INPUT:page_size');
    expect(reason(await search(alice, 'resume', { first: -1 }))).toBe('BAD_INPUT:page_size');
    const cursor = (await search(alice, 'resume', { first: 1 })).data!.search.pageInfo.endCursor;
    expect(reason(await search(alice, 'jean', { after: cursor }))).toBe('BAD_INPUT:invalid_cursor');
    expect(reason(await search(bob, 'resume', { after: cursor }))).toBe('BAD_INPUT:invalid_cursor');
    expect(reason(await search(alice, 'resume', { after: 'garbage' }))).toBe('BAD_INPUT:invalid_cursor');
  });

  it('needs a viewer', async () => {
    const res = await gql<Found>(t.url, SEARCH, { q: 'resume' });
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.data).toBeFalsy();
  });
});
