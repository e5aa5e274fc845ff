/**
 * What the uploads service needs from the files service. In every mode it is the files tRPC
 * client (in process or over HTTP), so uploads never reach into the files tables.
 */
import type { TRPCClient } from '@trpc/client';
import type { FileDto, FilesRouter } from '../files/index.ts';
import { normalizeError } from '../platform/rpc/rpc.errors.ts';

export interface StoredBlob {
  backend: string;
  storageKey: string;
}

export interface FilesPort {
  childByName(parentId: string | null, name: string): Promise<{ parentId: string; name: string; existing: FileDto | null }>;
  quota(): Promise<{ used: number; limit: number }>;
  /** The one-request upload's pre-checks: the folder, the name free in it, the quota; and the folder's path. */
  uploadTarget(parentId: string | null, name: string): Promise<{ parentId: string; name: string; parentPath: string; used: number; limit: number }>;
  blobFor(contentHash: string, size: number): Promise<StoredBlob | null>;
  /** `replaces`: the live file that takes this content in place (same id); `freed` are blobs it no longer uses. */
  commitFile(input: {
    id?: string; parentId: string; name: string; size: number; contentHash: string; mimeType: string | null; backend: string; storageKey: string;
    replaces?: string;
    /** uploadTarget's parentPath: the commit reads no folder while that still holds. */
    parentPath?: string;
    /** The file-drop link the file arrived through (the owner's activity: DROP_RECEIVED). */
    uploadLinkId?: string | null;
    /** conflict NEW_VERSION: a live file of that name takes the content, its old one kept as a version. */
    newVersion?: boolean;
  }): Promise<{ file: FileDto; duplicate: StoredBlob | null; freed?: StoredBlob[] }>;
}

/** The files service's errors arrive as the AppErrors it threw (same code and details). */
export function filesPort(client: TRPCClient<FilesRouter>): FilesPort {
  const call = <T>(promise: Promise<T>) => promise.catch((error: unknown) => Promise.reject(normalizeError(error)));
  return {
    childByName: (parentId, name) => call(client.childByName.query({ parentId, name })),
    quota: () => call(client.quota.query()),
    uploadTarget: (parentId, name) => call(client.uploadTarget.query({ parentId, name })),
    blobFor: (contentHash, size) => call(client.blobFor.query({ contentHash, size })),
    commitFile: (input) => call(client.commitFile.mutate(input)),
  };
}
