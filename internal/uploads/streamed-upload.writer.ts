/**
 * A whole file in one request body of any size, streamed into the backend's multipart upload
 * (WebDAV PUT): the name and the room are checked before a byte is read (a declared length over
 * the room is refused at once), the bytes go to the backend part by part with bounded memory
 * (multipart-stream.writer.ts: a body that crosses the room mid-way is cut off and nothing is
 * kept), and the stored object becomes the file through the one commit path (commitUpload).
 *
 * An existing file of that name is replaced in place when `replace` is set: the file keeps its id
 * (its WebDAV properties, shares and links follow), takes the new content, size and type, and the
 * old content's blob loses a reference (its bytes go when no file uses them any more). Until
 * versions exist (issue 22) the old content is not kept. The room counts the old size as free.
 */
import type { Readable } from 'node:stream';
import type { FileDto } from '../files/index.ts';
import { nameTaken } from '../files/files.statements.ts';
import { AppError } from '../platform/errors.ts';
import { filesPort } from './files.port.ts';
import { writeMultipartStream } from './multipart-stream.writer.ts';
import type { SimpleUploadPorts } from './simple-upload.writer.ts';
import { commitUpload } from './upload-commit.service.ts';
import { defaultTally, meteredCompletion, meteredPart, type PartTally } from './upload.metering.ts';
import { partMediaType } from './media-type.rules.ts';

export interface StreamedUpload {
  parentId: string | null;
  name: string;
  mimeType: string;
  body: Readable;
  /** Content-Length when declared: checked against the room before any byte is read. */
  length: number | null;
  /**
   * A size the client announces for a body without Content-Length (macOS Finder sends
   * X-Expected-Entity-Length with its chunked PUTs): refused at once when over the room, but
   * not binding (the room is still enforced as the bytes arrive).
   */
  expected?: number | undefined;
  /** Replace the live file of that name in place instead of refusing name_taken. */
  replace: boolean;
}

export interface StreamedResult {
  file: FileDto;
  /** True when an existing file took the new content (WebDAV answers 204), false when it is new (201). */
  replaced: boolean;
}

export function writeStreamedUpload(ports: Omit<SimpleUploadPorts, 'blobWriter'>, upload: StreamedUpload): Promise<StreamedResult> {
  const tally = defaultTally(ports.storage);
  return meteredCompletion(ports.meter, async () => {
    try {
      const { target, existing, written, mimeType } = await meteredPart(ports.meter, tally, () => streamBody(ports, upload, tally));
      const file = await commitUpload(
        { files: filesPort(ports.clients.files), storage: ports.storage },
        { parentId: target.parentId, name: target.name, size: written.size, contentHash: written.contentHash, mimeType, backend: written.backend, storageKey: written.storageKey, ...(existing ? { replaces: existing.id } : {}) },
        { bytes: 'request' },
      );
      return { file, replaced: existing !== null };
    } finally {
      // A refusal before the body was read: drained, so the client gets the answer, not a reset.
      if (!upload.body.readableEnded) upload.body.resume();
    }
  });
}

/** The name and the room checked, then the body streamed into the default backend (one WebDAV PUT: one part). */
async function streamBody(ports: Omit<SimpleUploadPorts, 'blobWriter'>, upload: StreamedUpload, tally: PartTally) {
  const files = filesPort(ports.clients.files);
  const target = await files.childByName(upload.parentId, upload.name);
  const existing = target.existing;
  if (existing && (existing.isFolder || !upload.replace)) throw nameTaken(target.name);
  // Unfinished upload sessions hold their whole size; the file being replaced gives its size back.
  const [quota, reserved] = await Promise.all([files.quota(), ports.clients.uploads.reserved.query()]);
  const room = Math.max(0, quota.limit - quota.used - reserved.bytes + (existing?.size ?? 0));
  const overQuota = () => new AppError('QUOTA_EXCEEDED', 'Not enough storage space left', { details: { used: quota.used, limit: quota.limit } });
  if ((upload.length ?? upload.expected ?? 0) > room) throw overQuota();
  const mimeType = partMediaType(upload.mimeType);
  const written = await writeMultipartStream(upload.body, { backend: ports.storage.defaultBackend(), length: upload.length, limit: room, onLimit: overQuota, contentType: mimeType });
  Object.assign(tally, { backend: written.backend, bytes: written.size });
  return { target, existing, written, mimeType };
}
