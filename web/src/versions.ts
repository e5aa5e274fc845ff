/** A file's older contents (File.versions): list, restore, download. */
import { gql } from './api.ts';
import { saveUrl } from './files.ts';
import { CreateDownloadLinkDocument, FileVersionsDocument, RestoreVersionDocument, type FileVersionsQuery } from './graphql.generated.ts';

export type FileVersion = FileVersionsQuery['file']['versions'][number];

export async function loadVersions(fileId: string): Promise<FileVersion[]> {
  return (await gql(FileVersionsDocument, { id: fileId })).file.versions;
}

/** The version becomes the current content; the current content becomes a version. */
export async function restoreVersion(fileId: string, versionId: string): Promise<void> {
  await gql(RestoreVersionDocument, { fileId, versionId });
}

/**
 * Saves a version's bytes through the browser's download manager (resumable, never in the page's
 * memory): `createDownloadLink(id, versionId)` signs a 5-minute link to
 * GET /files/{id}/versions/{versionId}/content, as for a file's current content.
 */
export async function downloadVersion(file: { id: string; name: string }, versionId: string): Promise<void> {
  const data = await gql(CreateDownloadLinkDocument, { id: file.id, versionId });
  saveUrl(data.createDownloadLink.url, file.name);
}
