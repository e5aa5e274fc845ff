/**
 * uploadFiles: several files into one folder in one request, one transaction. Small files are most
 * of a drive (84 % under 1 MB in the ownCloud/OpenCloud load model), and for them the per-file
 * request, GraphQL operation, service calls and transaction, not the bytes, were what an upload
 * cost. Here a batch pays those once: one call checks the folder, the quota and every name before a
 * byte is stored, the bodies are stored as their parts arrive, and one transaction records them all.
 *
 * Each file succeeds or fails on its own, with the code uploadFile would have answered for it
 * (CONFLICT name_taken, QUOTA_EXCEEDED — the files that fit, in order, are stored —, BAD_INPUT for
 * its name, size or type); its bytes are never kept when it fails. The request as a whole fails
 * only when it cannot be read (a malformed body), is over its limits, or its folder is not one.
 *
 * A body is held until the whole request has been read (multipart-body.ts ends a file's stream only
 * then, so nothing is stored from a body that turns out malformed), in memory within the process
 * budget or spooled (BlobWriter.write), and PUT after: a PUT held open per file until the end of
 * the request would hold one backend connection per file, and requests waiting for connections
 * that other requests hold would wait for each other.
 */
import type { Readable } from 'node:stream';
import type { FileDto, NameCheck } from '../files/index.ts';
import { UPLOAD_FILES_MAX } from '../files/index.ts';
import { AppError } from '../platform/errors.ts';
import { faultOf } from '../platform/metrics-outcome.ts';
import { normalizeError } from '../platform/rpc/rpc.errors.ts';
import { filesPort } from './files.port.ts';
import { isMediaType, partMediaType } from './media-type.rules.ts';
import type { SimpleUploadPorts } from './simple-upload.writer.ts';
import { commitUpload, type ConflictPolicy } from './upload-commit.service.ts';

/** One file of the batch: its part (resolved when the parser reaches it), its declared size, name and type. */
export interface BatchFile {
  part: Promise<{ filename: string; mimetype: string; createReadStream(): Readable }>;
  size: number;
  /** The file's name; absent: the part's filename. */
  name?: string | null;
  /** As uploadFile's mimeType: absent, the part's type; null, none recorded; a string, checked. */
  declaredType?: string | null;
}

export interface BatchUpload {
  parentId: string | null;
  files: BatchFile[];
  conflict: ConflictPolicy;
  /** The most the batch's files take together, and the operation's name for PAYLOAD_TOO_LARGE. */
  limit: { bytes: number; operation: string };
  /** Whether a failed body is the request's body failing as a whole (then the request fails with it). */
  bodyFailure: (error: unknown) => boolean;
}

export interface BatchOutcome {
  name: string;
  file: FileDto | null;
  error: AppError | null;
}

/** A refusal of the batch's transaction: nothing was recorded, and each file is committed alone to learn whose it is. */
const REFUSALS: ReadonlySet<string> = new Set(['CONFLICT', 'QUOTA_EXCEEDED', 'BAD_INPUT', 'NOT_FOUND']);

/** How one file goes: refused before its bytes are stored, in the batch's transaction, or committed alone. */
type Plan = { refused: AppError } | { way: 'batch' | 'alone' };

interface Stored {
  backend: string;
  storageKey: string;
  size: number;
  contentHash: string;
  mimeType: string | null;
}

export async function writeBatchUpload(ports: SimpleUploadPorts, batch: BatchUpload): Promise<BatchOutcome[]> {
  const { files } = batch;
  if (files.length > UPLOAD_FILES_MAX) {
    throw new AppError('BAD_INPUT', `uploadFiles takes at most ${UPLOAD_FILES_MAX} files`, { details: { field: 'files', reason: 'too_many_files', limit: UPLOAD_FILES_MAX } });
  }
  const total = files.reduce((sum, f) => sum + f.size, 0);
  if (total > batch.limit.bytes) {
    throw new AppError('PAYLOAD_TOO_LARGE', `${batch.limit.operation} takes at most ${batch.limit.bytes} bytes in all; use createUpload for larger files`, { details: { limit: batch.limit.bytes } });
  }
  const given = files.flatMap((f) => (f.name == null ? [] : [f.name]));
  const [target, reserved] = await Promise.all([
    ports.clients.files.batch.uploadTargets.query({ parentId: batch.parentId, names: given }),
    ports.clients.uploads.reserved.query(),
  ]).catch((error: unknown) => Promise.reject(normalizeError(error)));
  const plans = planFiles(batch, target.names, Math.max(0, target.limit - target.used - reserved.bytes), target);
  const names: string[] = [];
  const writes: Promise<Stored | AppError>[] = [];
  try {
    for (const [i, file] of files.entries()) {
      // Parts arrive in order: the next resolves once this one has been taken (or dropped).
      const part = await file.part;
      names.push(file.name ?? part.filename);
      const body = part.createReadStream();
      const plan = plans[i] as Plan;
      if ('refused' in plan) {
        body.destroy();
        writes.push(Promise.resolve(plan.refused));
        continue;
      }
      writes.push(store(ports, body, file.size, typeOf(file, part.mimetype)));
    }
  } catch (error) {
    // The body failed before every part arrived: whatever was stored goes, the request fails.
    await discard(ports, await Promise.all(writes));
    throw error;
  }
  const stored = await Promise.all(writes);
  const bodyError = stored.find((s) => s instanceof AppError && batch.bodyFailure(s));
  if (bodyError) {
    await discard(ports, stored);
    throw bodyError;
  }
  const outcomes = await commitAll(ports, batch, target, plans, names, stored);
  for (const o of outcomes) ports.meter?.completion(o.error ? faultOf(o.error) : 'ok');
  return outcomes;
}

/** Each file's way, from the pre-checks: name (given names only), type, quota in order, and the conflict policy. */
function planFiles(batch: BatchUpload, checks: NameCheck[], room: number, target: { used: number; limit: number }): Plan[] {
  let named = 0;
  let charged = 0;
  return batch.files.map((file): Plan => {
    const check = file.name == null ? undefined : checks[named++];
    if (check && 'refused' in check) {
      return { refused: new AppError('BAD_INPUT', check.refused.message, { details: { field: 'name', ...(check.refused.reason ? { reason: check.refused.reason } : {}) } }) };
    }
    if (file.declaredType != null && !isMediaType(file.declaredType)) {
      return { refused: new AppError('BAD_INPUT', 'mimeType must be a media type, type/subtype', { details: { field: 'mimeType', reason: 'invalid' } }) };
    }
    if (check?.taken && batch.conflict === 'FAIL') {
      return { refused: new AppError('CONFLICT', `An item named "${check.name}" already exists in this folder`, { details: { field: 'name', reason: 'name_taken' } }) };
    }
    if (charged + file.size > room) {
      return { refused: new AppError('QUOTA_EXCEEDED', 'Not enough storage space left', { details: { used: target.used, limit: target.limit } }) };
    }
    charged += file.size;
    // A taken name that the policy lets through (RENAME, NEW_VERSION) is committed alone, after the batch.
    return { way: check?.taken ? 'alone' : 'batch' };
  });
}

/** The type the file gets: the declared one (checked by planFiles) when given, else the part's (lenient). */
function typeOf(file: BatchFile, partType: string): string | null {
  if (file.declaredType === undefined) return partMediaType(partType);
  return file.declaredType === null ? null : file.declaredType.toLowerCase();
}

/** One body held until the request is read, then PUT; a body of another length than declared is refused and not kept. */
async function store(ports: SimpleUploadPorts, body: Readable, size: number, mimeType: string | null): Promise<Stored | AppError> {
  const mismatch = () => new AppError('BAD_INPUT', `The file is not the ${size} bytes declared`, { details: { field: 'size', reason: 'size-mismatch' } });
  try {
    const written = await ports.blobWriter.write(body, size, mismatch, mimeType ?? undefined);
    ports.meter?.part(written.backend, 'ok', written.size);
    if (written.size === size) return { ...written, mimeType };
    await ports.storage.store(written.backend).delete(written.storageKey).catch(() => undefined);
    return mismatch();
  } catch (error) {
    const failure = normalizeError(error);
    ports.meter?.part(ports.storage.defaultBackend().name, faultOf(failure), 0);
    return failure;
  } finally {
    body.destroy();
  }
}

async function discard(ports: SimpleUploadPorts, stored: (Stored | AppError)[]): Promise<void> {
  for (const s of stored) if (!(s instanceof AppError)) await ports.storage.store(s.backend).delete(s.storageKey).catch(() => undefined);
}

/**
 * The stored files of the batch's way in one transaction; when it refuses (a name taken or space
 * used meanwhile, an invalid part filename), each of them alone, so that one file's refusal is its
 * own. Then the files committed alone, in order (a RENAME counts the names the batch just took).
 */
async function commitAll(ports: SimpleUploadPorts, batch: BatchUpload, target: { parentId: string; parentPath: string }, plans: Plan[], names: string[], stored: (Stored | AppError)[]): Promise<BatchOutcome[]> {
  const outcomes: BatchOutcome[] = names.map((name, i) => {
    const s = stored[i];
    return { name, file: null, error: s instanceof AppError ? s : null };
  });
  const ready = (way: 'batch' | 'alone') => plans.flatMap((p, i) => ('way' in p && p.way === way && !(stored[i] instanceof AppError) ? [i] : []));
  const together = ready('batch');
  let alone = ready('alone');
  if (together.length > 0) {
    try {
      const files = together.map((i) => ({ name: names[i] as string, ...(stored[i] as Stored) }));
      const committed = await ports.clients.files.batch.commitFiles.mutate({ parentId: target.parentId, parentPath: target.parentPath, files });
      for (const [k, c] of committed.entries()) {
        const i = together[k] as number;
        outcomes[i] = { name: c.file.name, file: c.file, error: null };
        if (c.duplicate) await ports.storage.store(c.duplicate.backend).delete(c.duplicate.storageKey).catch(() => undefined);
      }
    } catch (thrown) {
      const error = normalizeError(thrown);
      if (!REFUSALS.has(error.code)) {
        // Not a refusal: whether the transaction committed is not known (an answer lost between
        // services). The bytes stay (an orphan object fsck finds, never a file without its bytes).
        for (const i of together) outcomes[i] = { name: names[i] as string, file: null, error };
      } else {
        alone = [...together, ...alone].sort((a, b) => a - b);
      }
    }
  }
  for (const i of alone) {
    const s = stored[i] as Stored;
    try {
      const file = await commitUpload(
        { files: filesPort(ports.clients.files), storage: ports.storage },
        { parentId: target.parentId, name: names[i] as string, size: s.size, contentHash: s.contentHash, mimeType: s.mimeType, backend: s.backend, storageKey: s.storageKey },
        { bytes: 'request', conflict: batch.conflict },
      );
      outcomes[i] = { name: file.name, file, error: null };
    } catch (error) {
      outcomes[i] = { name: names[i] as string, file: null, error: normalizeError(error) };
    }
  }
  return outcomes;
}
