/** Files and folders: the queries and mutations the drive pages use, and downloads. */
import { gql } from './api.ts';
import {
  CreateDownloadLinkDocument,
  CreateFolderDocument,
  DeleteFileDocument,
  FileNodeFields,
  FolderDocument,
  MoveFileDocument,
  PurgeFileDocument,
  RenameFileDocument,
  RestoreFileDocument,
  TrashDocument,
  type FileNodeFragment,
  type FileOrderField,
  type FolderQuery,
  type OrderDirection,
} from './graphql.generated.ts';

/** A file or folder as the drive pages read it (fragment FileNode, web/src/operations.graphql). */
export type FileNode = FileNodeFragment & { trashedAt?: string | null };

export type Folder = FolderQuery['folder'];

/** The sort orders: schema.graphql's FileOrderField and OrderDirection. */
export type SortField = FileOrderField;
export type SortDirection = OrderDirection;

export const FILE_FIELDS = FileNodeFields;

export async function loadFolder(id: string | null, field: SortField, direction: SortDirection, first = 200): Promise<Folder> {
  return (await gql(FolderDocument, { id, first, order: { field, direction } })).folder;
}

export async function subfolders(id: string | null): Promise<Folder> {
  const { folder } = await gql(FolderDocument, { id, first: 500, order: { field: 'NAME', direction: 'ASC' } });
  return { ...folder, children: { ...folder.children, edges: folder.children.edges.filter((e) => e.node.isFolder) } };
}

export const createFolder = (parentId: string | null, name: string) => gql(CreateFolderDocument, { parentId, name });
export const renameFile = (id: string, name: string) => gql(RenameFileDocument, { id, name });
export const moveFile = (id: string, parentId: string | null) => gql(MoveFileDocument, { id, parentId });
export const deleteFile = (id: string) => gql(DeleteFileDocument, { id });
export const restoreFile = (id: string) => gql(RestoreFileDocument, { id });
export const purgeFile = (id: string) => gql(PurgeFileDocument, { id });
export const loadTrash = async (): Promise<FileNode[]> => (await gql(TrashDocument)).trash;

/**
 * Hands a URL to the browser's own download manager with a temporary `<a download>`: the browser
 * streams the bytes to disk (and can pause and resume them with Range requests); the page never
 * holds them, so a file of any size downloads in constant page memory.
 */
export function saveUrl(url: string, name: string): void {
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
  const data = await gql(CreateDownloadLinkDocument, { id: file.id });
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
