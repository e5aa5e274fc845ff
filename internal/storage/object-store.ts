/**
 * The ObjectStore contract: what Stratus needs from a place that keeps bytes. Drivers: `ceph`
 * (any S3 API, tested against Ceph RGW), `oss` (Aliyun), `cos` (Tencent), `local` (files).
 * Every driver passes the one suite in `object-store.contract.ts`.
 *
 * Rules every driver keeps:
 * - Bytes are streams in both directions; a driver never holds a whole object or part in memory
 *   (at most a bounded buffer per part in flight).
 * - Part numbers are 1-based (S3, OSS and COS all say so); `uploadPart` is given the exact byte
 *   length and refuses a body that is shorter or longer (BAD_INPUT, nothing recorded).
 * - Errors are AppErrors: a missing key or upload is NOT_FOUND, a backend that cannot be reached
 *   or answers 5xx is UNAVAILABLE, a request the backend refuses as invalid is BAD_INPUT.
 * - Re-uploading a part number replaces it (last write wins), as in S3.
 */
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

export type StoreType = 'ceph' | 'oss' | 'cos' | 'local';

export interface StoreCapabilities {
  /** Smallest size of every part but the last that `completeMultipart` accepts. */
  minPartSize: number;
  maxPartSize: number;
  maxParts: number;
  /** Whether `presignGet` returns a URL a browser can fetch directly. */
  presign: boolean;
}

export interface PartInfo {
  partNumber: number;
  etag: string;
  size: number;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  contentType?: string;
  lastModified?: Date;
}

/** Inclusive byte range, as in HTTP: `{ start: 0, end: 0 }` is the first byte. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface GetResult {
  body: Readable;
  /** Size of the whole object. */
  size: number;
  /** Bytes in `body` (the range's length when a range was asked). */
  contentLength: number;
  etag: string;
  /**
   * Given, the body's chunks are lent memory: hand each one here once its bytes have left the
   * process (a socket write's callback), and the driver reads into it again. A chunk never handed
   * back is only never reused; one handed back too early is overwritten while it waits to be sent.
   */
  release?: (chunk: Buffer) => void;
  /**
   * Given (the S3 driver's lean GET), the body's connection can be taken instead of reading
   * `body`: for a caller that moves the bytes on inside the kernel (internal/platform/splice.ts).
   * Null once the body has been read from. After a take, `body` is dead and `release` unused.
   */
  takeConnection?: () => TakenConnection | null;
}

/** A body's own connection, taken by the caller before any of its bytes were read here. */
export interface TakenConnection {
  /** Body bytes that came with the response head: they go first. */
  prefix: Buffer;
  /** The socket the other `left` bytes come on: no longer read, no timeout, owned (and destroyed) by the caller. */
  socket: Socket;
  left: number;
  /** The driver's own limit on a connection without progress. */
  idleTimeoutMs: number;
}

export interface GetOptions {
  /**
   * How many bytes the caller expects (it knows the file's size): a driver may pick its transport
   * by it (the S3 driver reads big bodies over a lean socket, small ones on the SDK's kept-alive
   * connections). Never changes what is returned.
   */
  expectedBytes?: number;
  /**
   * The caller hands every chunk of the body back through `GetResult.release` once its bytes have
   * left the process: a driver may then lend it read buffers of its own instead of a copy per
   * read (the S3 driver's lean GET does). A caller that keeps chunks (buffers a whole body) must
   * not ask: a lent 1 MiB buffer may hold only a quarter of that.
   */
  pooled?: boolean;
}

export interface BodyOptions {
  /**
   * The MD5 of the body as the caller already computes it (platform/digests, off the event loop),
   * read once the body has ended. A driver that checks the backend's ETag against the bytes sent
   * uses it instead of hashing the body a second time; others ignore it.
   */
  md5?: () => Buffer;
}

export interface PutOptions extends BodyOptions {
  contentType?: string;
}

export interface PresignOptions {
  expiresInSeconds: number;
  /** Sent back as Content-Disposition: attachment; filename*=UTF-8''... */
  downloadName?: string;
  contentType?: string;
}

export interface MultipartUploadInfo {
  key: string;
  uploadId: string;
  initiated?: Date;
}

export interface ObjectStore {
  readonly name: string;
  readonly type: StoreType;
  readonly capabilities: StoreCapabilities;

  createMultipart(key: string, options?: PutOptions): Promise<string>;
  uploadPart(key: string, uploadId: string, partNumber: number, body: Readable, size: number, options?: BodyOptions): Promise<PartInfo>;
  listParts(key: string, uploadId: string): Promise<PartInfo[]>;
  completeMultipart(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<ObjectInfo>;
  abortMultipart(key: string, uploadId: string): Promise<void>;
  /** Unfinished multipart uploads under a prefix (for the sweeper and fsck). */
  listMultipartUploads(prefix?: string): Promise<MultipartUploadInfo[]>;

  put(key: string, body: Readable, size: number, options?: PutOptions): Promise<ObjectInfo>;
  get(key: string, range?: ByteRange, options?: GetOptions): Promise<GetResult>;
  /** null when the key does not exist. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Idempotent: deleting a missing key succeeds. */
  delete(key: string): Promise<void>;
  /** A short-lived GET URL, or null when the store cannot sign one (capabilities.presign false). */
  presignGet(key: string, options: PresignOptions): Promise<string | null>;
  /**
   * Stores that keep temporary files of their own (local disk) clean up what a crash left there,
   * older than `olderThanMs`; returns how many entries went. Remote stores have none.
   */
  sweepTemporary?(olderThanMs: number): Promise<number>;
  close(): Promise<void>;
}
