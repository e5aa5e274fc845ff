/**
 * Pure rules of tus 1.0.0 (https://tus.io/protocols/resumable-upload): the headers a request
 * carries, the metadata, the checksum, and how an upload session's recorded chunks and stored tail
 * give the upload's offset. No I/O; the handler (api/http/tus) and the PATCH writer use them.
 */
import { AppError } from '../../platform/errors.ts';
import { isMediaType } from '../media-type.rules.ts';

export const TUS_VERSION = '1.0.0';
/** Extensions implemented (Tus-Extension); creation-defer-length and concatenation are not. */
export const TUS_EXTENSIONS = ['creation', 'creation-with-upload', 'termination', 'expiration', 'checksum'] as const;
/** "The Server MUST support at least the SHA1 checksum algorithm identified by `sha1`." */
export const TUS_CHECKSUM_ALGORITHMS = ['sha1', 'sha256'] as const;
export type TusChecksumAlgorithm = (typeof TUS_CHECKSUM_ALGORITHMS)[number];
export const TUS_CONTENT_TYPE = 'application/offset+octet-stream';
/** Upload-Metadata is a header: a bound well above what clients send (names, types, ids). */
export const MAX_METADATA_LENGTH = 8 * 1024;

/**
 * "The `Tus-Resumable` header MUST be included in every request and response except for `OPTIONS`
 * requests ... If the the version specified by the Client is not supported by the Server, it MUST
 * respond with the `412 Precondition Failed` status ... the Server MUST NOT process the request."
 */
export function assertTusResumable(value: string | undefined): void {
  if (value?.trim() === TUS_VERSION) return;
  throw new AppError('BAD_INPUT', value === undefined ? 'Send Tus-Resumable: 1.0.0' : `Tus-Resumable ${value} is not supported; this server speaks ${TUS_VERSION}`, {
    details: { field: 'Tus-Resumable', reason: 'tus_version' },
  });
}

/** A non-negative integer header (Upload-Length, Upload-Offset): "The value MUST be a non-negative integer." */
export function parseNonNegative(name: 'Upload-Length' | 'Upload-Offset' | 'Content-Length', value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^\d{1,16}$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) {
    throw new AppError('BAD_INPUT', `${name} must be a non-negative integer`, { details: { field: name, reason: name === 'Upload-Offset' ? 'offset_invalid' : 'size_invalid' } });
  }
  return Number(value);
}

/**
 * "The `Upload-Metadata` request and response header MUST consist of one or more comma-separated
 * key-value pairs. The key and value MUST be separated by a space. The key MUST NOT contain spaces
 * and commas and MUST NOT be empty. ... the value MUST be Base64 encoded. All keys MUST be unique."
 * A key may come without a value (then its value is the empty string).
 */
export function parseMetadata(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined || header.trim() === '') return out;
  if (header.length > MAX_METADATA_LENGTH) throw badMetadata(`Upload-Metadata may have at most ${MAX_METADATA_LENGTH} characters`);
  for (const pair of header.split(',')) {
    const [key, value, ...rest] = pair.trim().split(' ');
    if (!key || rest.length > 0) throw badMetadata('Each Upload-Metadata pair is a key and a Base64 value separated by one space');
    if (out.has(key)) throw badMetadata(`Upload-Metadata key "${key}" appears twice`);
    if (value !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw badMetadata(`The value of Upload-Metadata key "${key}" is not Base64`);
    const text = Buffer.from(value ?? '', 'base64').toString('utf8');
    if (text.includes('\uFFFD')) throw badMetadata(`The value of Upload-Metadata key "${key}" is not UTF-8 text`);
    out.set(key, text);
  }
  return out;
}

function badMetadata(message: string): AppError {
  return new AppError('BAD_INPUT', message, { details: { field: 'Upload-Metadata', reason: 'metadata_invalid' } });
}

export interface TusChecksum {
  algorithm: TusChecksumAlgorithm;
  digest: Buffer;
}

/**
 * "The header MUST consist of the name of the used checksum algorithm and the Base64 encoded
 * checksum separated by a space." An algorithm the server lacks: "400 Bad Request if the checksum
 * algorithm is not supported by the server".
 */
export function parseChecksum(header: string | undefined): TusChecksum | null {
  if (header === undefined) return null;
  const match = /^([a-z0-9-]+) ([A-Za-z0-9+/]+={0,2})$/.exec(header.trim());
  if (!match?.[1] || !match[2]) throw new AppError('BAD_INPUT', 'Upload-Checksum must be "<algorithm> <Base64 digest>"', { details: { field: 'Upload-Checksum', reason: 'checksum_invalid' } });
  const algorithm = match[1];
  if (!(TUS_CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new AppError('BAD_INPUT', `Checksum algorithm ${algorithm} is not supported (${TUS_CHECKSUM_ALGORITHMS.join(', ')})`, {
      details: { field: 'Upload-Checksum', reason: 'checksum_algorithm' },
    });
  }
  const digest = Buffer.from(match[2], 'base64');
  if (digest.length !== (algorithm === 'sha1' ? 20 : 32)) throw new AppError('BAD_INPUT', `A ${algorithm} digest has ${algorithm === 'sha1' ? 20 : 32} bytes`, { details: { field: 'Upload-Checksum', reason: 'checksum_invalid' } });
  return { algorithm: algorithm as TusChecksumAlgorithm, digest };
}

/** "The value of the `Upload-Expires` header MUST be in RFC 9110 datetime format" (IMF-fixdate). */
export function httpDate(date: Date): string {
  return date.toUTCString();
}

/** What the upload's file is called and where it goes, from the creation's metadata. */
export interface TusTarget {
  name: string;
  mimeType: string | null;
  parentId: string | null;
}

/**
 * `filename` (tus-js-client and Uppy send it; `name` as a fallback) names the file — the files
 * service judges it (name_empty, name_invalid_character …); `filetype` its type when it is a
 * media type (anything else: unknown, not refused: browsers send "" for unknown types);
 * `parentId` its folder unless the principal forces one.
 */
export function targetOf(metadata: ReadonlyMap<string, string>, forcedFolder: string | null): TusTarget {
  const name = metadata.get('filename') ?? metadata.get('name');
  if (name === undefined) {
    throw new AppError('BAD_INPUT', 'Upload-Metadata must name the file: filename <Base64 name>', { details: { field: 'Upload-Metadata', reason: 'name_empty' } });
  }
  const type = metadata.get('filetype')?.toLowerCase() ?? '';
  const parent = metadata.get('parentId');
  return { name, mimeType: isMediaType(type) ? type : null, parentId: forcedFolder ?? (parent ? parent : null) };
}

/** The length of chunk `index` of a session (the last may be shorter). */
export function chunkLengthOf(plan: { size: number; chunkSize: number; chunkCount: number }, index: number): number {
  return index < plan.chunkCount - 1 ? plan.chunkSize : plan.size - plan.chunkSize * (plan.chunkCount - 1);
}

/**
 * The offset of a tus upload: the bytes of the unbroken run of recorded chunks from chunk 0, plus
 * the stored tail when it continues that run (a tail recorded for an earlier run is stale: its
 * bytes went into a chunk since). Chunks past a gap (sent by the chunk API) do not count: tus
 * offsets are contiguous.
 */
export function tusOffset(plan: { size: number; chunkSize: number; chunkCount: number }, recorded: ReadonlySet<number>, tail: { index: number; length: number } | null): { offset: number; nextIndex: number; tailLength: number } {
  let nextIndex = 0;
  while (nextIndex < plan.chunkCount && recorded.has(nextIndex)) nextIndex++;
  const prefix = nextIndex === plan.chunkCount ? plan.size : nextIndex * plan.chunkSize;
  const tailLength = tail && tail.index === nextIndex && nextIndex < plan.chunkCount && tail.length < chunkLengthOf(plan, nextIndex) ? tail.length : 0;
  return { offset: prefix + tailLength, nextIndex, tailLength };
}

/** Tus-Max-Size: the largest object any backend here takes (a backend may refuse less: 413 then). */
export { MAX_OBJECT_SIZE as TUS_MAX_SIZE } from '../upload-plan.rules.ts';
