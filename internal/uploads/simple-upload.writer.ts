/**
 * A whole file in one request body (uploadFile; the coming WebDAV PUT): the name and the space
 * are checked before a byte is stored, the body is spooled and stored by the BlobWriter (hashed on
 * the way, cut off at the room left), and the stored bytes become the file through the one commit
 * path (upload-commit.service.ts), which removes them again when the file cannot be placed.
 */
import type { Readable } from 'node:stream';
import type { TRPCClient } from '@trpc/client';
import type { BlobWriter, FileDto, FilesRouter } from '../files/index.ts';
import { AppError } from '../platform/errors.ts';
import type { StorageRouter } from '../storage/index.ts';
import { filesPort } from './files.port.ts';
import { commitUpload } from './upload-commit.service.ts';
import type { UploadsRouter } from './uploads.router.ts';

const MIME_RE = /^[\w.+-]+\/[\w.+-]+$/;

export interface SimpleUpload {
  parentId: string | null;
  name: string;
  /** As the client declared it; anything that is not type/subtype is stored as application/octet-stream. */
  mimeType: string;
  body: Readable;
  /** The most this way of uploading takes, and its name for the PAYLOAD_TOO_LARGE answer. */
  limit: { bytes: number; operation: string };
}

/** The services as the gateway reaches them (in process or over HTTP), and its byte paths. */
export interface SimpleUploadPorts {
  clients: { files: TRPCClient<FilesRouter>; uploads: TRPCClient<UploadsRouter> };
  storage: StorageRouter;
  blobWriter: BlobWriter;
}

function settled<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

export async function writeSimpleUpload(ports: SimpleUploadPorts, upload: SimpleUpload): Promise<FileDto> {
  const { files, uploads } = ports.clients;
  try {
    // Name and space are checked before a byte is stored, in one round trip: the three reads are
    // independent, and for a small file their latency, not its bytes, is what the request costs.
    // A refused name is the answer even when the quota read failed too (the order they had).
    const [named, quotaRead, reservedRead] = await Promise.allSettled([
      files.assertNameFree.query({ parentId: upload.parentId, name: upload.name }),
      files.quota.query(),
      // Unfinished upload sessions hold their whole size: the room left is what they do not.
      uploads.reserved.query(),
    ]);
    const target = settled(named);
    const quota = settled(quotaRead);
    const reserved = settled(reservedRead);
    const room = Math.max(0, quota.limit - quota.used - reserved.bytes);
    const max = upload.limit.bytes;
    const mimeType = MIME_RE.test(upload.mimeType) ? upload.mimeType.toLowerCase() : 'application/octet-stream';
    const written = await ports.blobWriter.write(upload.body, Math.min(room, max), () =>
      room < max
        ? new AppError('QUOTA_EXCEEDED', 'Not enough storage space left', { details: { used: quota.used, limit: quota.limit } })
        : new AppError('PAYLOAD_TOO_LARGE', `${upload.limit.operation} takes at most ${max} bytes; use createUpload for larger files`, { details: { limit: max } }),
    mimeType);
    return await commitUpload(
      { files: filesPort(files), storage: ports.storage },
      { parentId: target.parentId, name: target.name, size: written.size, contentHash: written.contentHash, mimeType, backend: written.backend, storageKey: written.storageKey },
      { bytes: 'request' },
    );
  } finally {
    upload.body.destroy();
  }
}
