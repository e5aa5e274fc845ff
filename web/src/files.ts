/** Files and folders: the queries and mutations the drive pages use, and downloads. */
import { gql } from './api.ts';

export interface FileNode {
  id: string;
  name: string;
  size: number;
  contentHash: string | null;
  mimeType: string | null;
  isFolder: boolean;
  parentId: string | null;
  createdAt: string;
  updatedAt: string;
  trashedAt?: string | null;
}

export interface Folder extends FileNode {
  ancestors: { id: string; name: string }[];
  children: { edges: { node: FileNode }[]; totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

export type SortField = 'NAME' | 'SIZE' | 'UPDATED_AT';
export type SortDirection = 'ASC' | 'DESC';

export const FILE_FIELDS = 'id name size contentHash mimeType isFolder parentId createdAt updatedAt';

export async function loadFolder(id: string | null, field: SortField, direction: SortDirection, first = 200): Promise<Folder> {
  const data = await gql<{ folder: Folder }>(
    `query($id: ID, $first: Int, $order: FileOrder) { folder(id: $id) { ${FILE_FIELDS} ancestors { id name }
      children(first: $first, orderBy: $order) { totalCount pageInfo { hasNextPage endCursor } edges { node { ${FILE_FIELDS} } } } } }`,
    { id, first, order: { field, direction } },
  );
  return data.folder;
}

export async function subfolders(id: string | null): Promise<Folder> {
  const data = await gql<{ folder: Folder }>(
    `query($id: ID) { folder(id: $id) { ${FILE_FIELDS} ancestors { id name }
      children(first: 500, orderBy: { field: NAME, direction: ASC }) { totalCount pageInfo { hasNextPage endCursor } edges { node { ${FILE_FIELDS} } } } } }`,
    { id },
  );
  return { ...data.folder, children: { ...data.folder.children, edges: data.folder.children.edges.filter((e) => e.node.isFolder) } };
}

export const createFolder = (parentId: string | null, name: string) =>
  gql<{ createFolder: FileNode }>(`mutation($p: ID, $n: String!) { createFolder(parentId: $p, name: $n) { ${FILE_FIELDS} } }`, { p: parentId, n: name });
export const renameFile = (id: string, name: string) =>
  gql<{ renameFile: FileNode }>(`mutation($id: ID!, $n: String!) { renameFile(id: $id, name: $n) { ${FILE_FIELDS} } }`, { id, n: name });
export const moveFile = (id: string, parentId: string | null) =>
  gql<{ moveFile: FileNode }>(`mutation($id: ID!, $p: ID) { moveFile(id: $id, parentId: $p) { ${FILE_FIELDS} } }`, { id, p: parentId });
export const deleteFile = (id: string) => gql<{ deleteFile: FileNode }>(`mutation($id: ID!) { deleteFile(id: $id) { id } }`, { id });
export const restoreFile = (id: string) => gql<{ restoreFile: FileNode }>(`mutation($id: ID!) { restoreFile(id: $id) { ${FILE_FIELDS} } }`, { id });
export const purgeFile = (id: string) => gql<{ purgeFile: boolean }>(`mutation($id: ID!) { purgeFile(id: $id) }`, { id });
export const loadTrash = async () => (await gql<{ trash: FileNode[] }>(`{ trash { ${FILE_FIELDS} trashedAt } }`)).trash;

/**
 * Hands a URL to the browser's own download manager with a temporary `<a download>`: the browser
 * streams the bytes to disk (and can pause and resume them with Range requests); the page never
 * holds them, so a file of any size downloads in constant page memory.
 */
function saveUrl(url: string, name: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}

/**
 * Downloads one of the viewer's files: `createDownloadLink` signs a 5-minute link (an `<a>`
 * navigation cannot carry the Bearer token) that Stratus serves with Range and ETag, or redirects
 * to the storage backend when it is set to.
 */
export async function downloadFile(file: { id: string; name: string }): Promise<void> {
  const data = await gql<{ createDownloadLink: { url: string } }>(`mutation($id: ID!) { createDownloadLink(id: $id) { url } }`, { id: file.id });
  saveUrl(data.createDownloadLink.url, file.name);
}

/**
 * Downloads a file of a share through the browser's download manager (resumable, never in the
 * page's memory). Without a password the link itself is the credential; a password share's unlock
 * token (never the password) goes along as `?unlock=`.
 */
export async function downloadShared(path: string, name: string, unlockToken: string | null): Promise<void> {
  // The browser's download manager fetches (and resumes) the file; the unlock token rides in the
  // URL because a navigation carries no Authorization header.
  saveUrl(unlockToken ? `${path}${path.includes('?') ? '&' : '?'}unlock=${encodeURIComponent(unlockToken)}` : path, name);
}
