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
import { normalizeError } from '../platform/rpc/rpc.errors.ts';
import type { UploadMeter } from '../platform/metrics.ts';
import type { StorageRouter } from '../storage/index.ts';
import { filesPort } from './files.port.ts';
import { commitUpload, type ConflictPolicy } from './upload-commit.service.ts';
import { conflictAllows } from './upload-conflict.rules.ts';
import type { UploadsRouter } from './uploads.router.ts';
import { defaultTally, meteredCompletion, meteredPart, type PartTally } from './upload.metering.ts';
import { isMediaType, partMediaType } from './media-type.rules.ts';

export interface SimpleUpload {
  parentId: string | null;
  name: string;
  /** The part's Content-Type as the client sent it; anything that is not type/subtype is stored as application/octet-stream. */
  mimeType: string;
  /**
   * uploadFile's `mimeType` argument, which wins over the part's type when given: null records no
   * type (a multipart part cannot say "none": it always has a Content-Type), a string must be
   * type/subtype (else BAD_INPUT, before a byte is stored).
   */
  declaredType?: string | null;
  body: Readable;
  /**
   * The body's length as the client declared it (uploadFile's `size`): the bytes are then streamed
   * on to the backend as they arrive (BlobWriter.writeSized); null: held until the body ends.
   */
  size?: number | null;
  /** The most this way of uploading takes, and its name for the PAYLOAD_TOO_LARGE answer. */
  limit: { bytes: number; operation: string };
  /** What a name taken in the folder does (issue 22): FAIL (default), RENAME, NEW_VERSION. */
  conflict?: ConflictPolicy;
}

/** The services as the gateway reaches them (in process or over HTTP), and its byte paths. */
export interface SimpleUploadPorts {
  clients: { files: TRPCClient<FilesRouter>; uploads: TRPCClient<UploadsRouter> };
  storage: StorageRouter;
  blobWriter: BlobWriter;
  /** The process's upload metrics (absent: not counted). */
  meter?: UploadMeter | undefined;
}

export function writeSimpleUpload(ports: SimpleUploadPorts, upload: SimpleUpload): Promise<FileDto> {
  const tally = defaultTally(ports.storage);
  return meteredCompletion(ports.meter, async () => {
    try {
      const { target, written, mimeType } = await meteredPart(ports.meter, tally, () => storeBody(ports, upload, tally));
      return await commitUpload(
        { files: filesPort(ports.clients.files), storage: ports.storage },
        // The folder's path as read: the commit reads no folder again while it still holds there.
        { parentId: target.parentId, parentPath: target.parentPath, name: target.name, size: written.size, contentHash: written.contentHash, mimeType, backend: written.backend, storageKey: written.storageKey },
        { bytes: 'request', conflict: upload.conflict ?? 'FAIL' },
      );
    } finally {
      upload.body.destroy();
    }
  });
}

/** The pre-checks, then the body spooled and stored (hashed on the way, cut off at the room left). */
async function storeBody(ports: SimpleUploadPorts, upload: SimpleUpload, tally: PartTally) {
  // Name and space are checked before a byte is stored, in one call (for a small file the
  // latency of these reads, not its bytes, is most of what the request costs): the folder, the
  // name free in it (refused first), the quota, and what unfinished upload sessions reserve
  // (they hold their whole size: the room left is what they do not).
  const target = await preChecks(ports, upload);
  const quota = { used: target.used, limit: target.limit };
  const room = Math.max(0, quota.limit - quota.used - target.reserved);
  const max = upload.limit.bytes;
  const mimeType = recordedType(upload);
  const overLimit = () =>
    room < max
      ? new AppError('QUOTA_EXCEEDED', 'Not enough storage space left', { details: { used: quota.used, limit: quota.limit } })
      : new AppError('PAYLOAD_TOO_LARGE', `${upload.limit.operation} takes at most ${max} bytes; use createUpload for larger files`, { details: { limit: max } });
  const size = upload.size ?? null;
  if (size !== null && size > Math.min(room, max)) throw overLimit();
  const written = size === null ? await ports.blobWriter.write(upload.body, Math.min(room, max), overLimit, mimeType ?? undefined) : await ports.blobWriter.writeSized(upload.body, size, mimeType ?? undefined);
  Object.assign(tally, { backend: written.backend, bytes: written.size });
  return { target, written, mimeType };
}

/** The type the file gets: the declared one when given (checked), else the part's (lenient). */
function recordedType(upload: SimpleUpload): string | null {
  const declared = upload.declaredType;
  if (declared === undefined) return partMediaType(upload.mimeType);
  if (declared === null) return null;
  if (!isMediaType(declared)) {
    throw new AppError('BAD_INPUT', 'mimeType must be a media type, type/subtype', { details: { field: 'mimeType', reason: 'invalid' } });
  }
  return declared.toLowerCase();
}

/**
 * The pre-checks in one call; when the name is taken and the conflict policy lets the upload go on
 * (RENAME, NEW_VERSION over a file), the same figures by the usual reads (the commit then reads the
 * folder itself: no parentPath).
 */
async function preChecks(ports: SimpleUploadPorts, upload: SimpleUpload): Promise<{ parentId: string; parentPath?: string; name: string; used: number; limit: number; reserved: number }> {
  const { files, uploads } = ports.clients;
  try {
    return await uploads.oneRequestTarget.query({ parentId: upload.parentId, name: upload.name });
  } catch (thrown) {
    const error = normalizeError(thrown);
    const taken = AppError.is(error, 'CONFLICT') && error.details?.reason === 'name_taken';
    if (!taken || (upload.conflict ?? 'FAIL') === 'FAIL') throw error;
    const port = filesPort(files);
    const [found, quota, reserved] = await Promise.all([port.childByName(upload.parentId, upload.name), port.quota(), uploads.reserved.query()]);
    if (!conflictAllows(upload.conflict, found.existing, { size: -1 })) throw error;
    return { parentId: found.parentId, name: found.name, used: quota.used, limit: quota.limit, reserved: reserved.bytes };
  }
}
