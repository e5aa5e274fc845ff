/** A file's older contents (File.versions): list, restore, download. */
import { freshToken, gql } from './api.ts';
import { FileVersionsDocument, RestoreVersionDocument, type FileVersionsQuery } from './graphql.generated.ts';

export type FileVersion = FileVersionsQuery['file']['versions'][number];

export async function loadVersions(fileId: string): Promise<FileVersion[]> {
  return (await gql(FileVersionsDocument, { id: fileId })).file.versions;
}

/** The version becomes the current content; the current content becomes a version. */
export async function restoreVersion(fileId: string, versionId: string): Promise<void> {
  await gql(RestoreVersionDocument, { fileId, versionId });
}

/**
 * Saves a version's bytes (GET /files/{id}/versions/{versionId}/content with the access token).
 * Unlike a file's download there is no signed link for a version yet, so the page fetches the
 * bytes and hands the browser a blob: fine for the documents people keep versions of, but the
 * whole version passes through the page's memory.
 */
export async function downloadVersion(file: { id: string; name: string }, versionId: string): Promise<void> {
  const token = await freshToken();
  const res = await fetch(`/files/${encodeURIComponent(file.id)}/versions/${encodeURIComponent(versionId)}/content`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!res.ok) throw new Error(`The version could not be downloaded (${res.status})`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
