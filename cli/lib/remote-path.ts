/**
 * Paths like `/docs/2026/report.pdf` on the server, resolved name by name through GraphQL from
 * the root folder (the API addresses items by id). Names are matched as the server compares them
 * for uniqueness — full Unicode case folding (internal/files/names.ts) — so at most one child matches, and
 * `.` / `..` are resolved lexically first, as a shell would (the server allows no such names).
 */
import path from 'node:path';
import { nameKey } from '../../internal/files/shared.ts';
import { ApiError, type StratusApi } from './api.ts';
import { FolderPageDocument, RemoteItemFields, RootFolderDocument, type FolderPageQuery, type RemoteItemFragment } from './graphql.generated.ts';

export const ITEM_FIELDS = RemoteItemFields;

/** An item (fragment RemoteItem, cli/lib/operations.graphql) and its path. */
export type RemoteItem = RemoteItemFragment & {
  /** The item's path with the names as the server spells them ("/" for the root). */
  path: string;
};

/** A folder as listing needs it: its id (null: the root) and its path, to name the children's. */
export type FolderRef = Pick<RemoteItem, 'id' | 'path'> | { id: null; path: string };

/** The largest page the API serves (File.children: first 0..500). */
const PAGE = 500;

/** "/a/./b/../c/" → ["a", "c"]; the root is []. */
export function segments(remote: string): string[] {
  return path.posix.normalize(`/${remote}`).split('/').filter((s) => s !== '');
}

export const joinPath = (parent: string, name: string) => (parent === '/' ? `/${name}` : `${parent}/${name}`);

const noSuchPath = (remote: string) => new ApiError(`no such file or folder: ${remote}`, 'NOT_FOUND', { reason: 'no_such_path' });
const notAFolder = (remote: string) => new ApiError(`not a folder: ${remote}`, 'BAD_INPUT', { reason: 'not_a_folder' });

export async function root(api: StratusApi): Promise<RemoteItem> {
  const { folder } = await api.gql(RootFolderDocument);
  return { ...folder, path: '/' };
}

/** Every child of a folder, folders first then by name (the server's order), page by page. */
export async function listChildren(api: StratusApi, folder: FolderRef): Promise<RemoteItem[]> {
  const items: RemoteItem[] = [];
  for (let after: string | null = null; ; ) {
    const { folder: page }: FolderPageQuery = await api.gql(FolderPageDocument, { id: folder.id, first: PAGE, after });
    items.push(...page.children.edges.map((e) => ({ ...e.node, path: joinPath(folder.path, e.node.name) })));
    if (!page.children.pageInfo.hasNextPage || !page.children.pageInfo.endCursor) return items;
    after = page.children.pageInfo.endCursor;
  }
}

/** The child of `folder` whose name the server would consider equal to `name`, if any. */
export async function findChild(api: StratusApi, folder: FolderRef, name: string): Promise<RemoteItem | undefined> {
  const key = nameKey(name);
  return (await listChildren(api, folder)).find((item) => nameKey(item.name) === key);
}

/**
 * Walks `remote` from the root. Returns the deepest item found and the names left over, so
 * `mkdir -p` can create the rest; a file in the middle of the path is `not_a_folder`.
 */
export async function walk(api: StratusApi, remote: string): Promise<{ found: RemoteItem; rest: string[] }> {
  const names = segments(remote);
  let current = await root(api);
  for (const [i, name] of names.entries()) {
    if (!current.isFolder) throw notAFolder(current.path);
    const child = await findChild(api, current, name);
    if (!child) return { found: current, rest: names.slice(i) };
    current = child;
  }
  return { found: current, rest: [] };
}

/** The item at `remote`; NOT_FOUND (`no_such_path`) when any part of it is missing. */
export async function resolve(api: StratusApi, remote: string): Promise<RemoteItem> {
  const { found, rest } = await walk(api, remote);
  if (rest.length > 0) throw noSuchPath(`/${segments(remote).join('/')}`);
  return found;
}

/** The folder at `remote`: `not_a_folder` when it is a file. */
export async function resolveFolder(api: StratusApi, remote: string): Promise<RemoteItem> {
  const item = await resolve(api, remote);
  if (!item.isFolder) throw notAFolder(item.path);
  return item;
}

/** The parent path and the last name of `remote` ("/a/b" → "/a", "b"); the root has none. */
export function splitLast(remote: string): { parent: string; name: string | undefined } {
  const names = segments(remote);
  return { parent: `/${names.slice(0, -1).join('/')}`, name: names.at(-1) };
}
