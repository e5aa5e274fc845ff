/**
 * LocalObjectStore: the `local` driver, objects as plain files in one directory tree.
 *
 * Layout under `root` (all on one filesystem, so every rename below is atomic):
 *   objects/<key>                          the object's bytes (a key's `/` are directories)
 *   meta/<key>                             JSON sidecar: { etag, size, ino, mtimeMs, contentType? }
 *   multipart/<uploadId>/manifest.json     { key, created, contentType? }
 *   multipart/<uploadId>/<partNumber>      a part's bytes
 *   multipart/<uploadId>/<partNumber>.json the part's sidecar (as for objects)
 *   tmp/                                   bodies being received, uploads being aborted
 *   tmp/completing-<uploadId>              an upload claimed by the completion running now
 *
 * Writers always fill a file under tmp/ and rename it into place, so a reader sees the old bytes
 * or the new ones, never a mix. A sidecar is trusted only while its inode, size and mtime match
 * the file it describes; a stale one (a crash or a race between two writers of one key) makes the
 * reader hash the file again. Keys are S3-like but a key cannot be both an object and a "folder"
 * of others (`a` and `a/b`): that write is refused (BAD_INPUT 'key-conflict'). Empty directories
 * left by deletes are harmless. A crash leaves files in tmp/: an upload claimed by a completion
 * that died is put back (on the next call that names it, and by sweepTemporary), everything else
 * there older than the sweep's age is removed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../platform/errors.ts';
import { PRIVATE_DIR_MODE as DIR, PRIVATE_FILE_MODE as FILE } from '../../platform/private-files.ts';
import type {
  ByteRange,
  GetResult,
  MultipartUploadInfo,
  ObjectInfo,
  ObjectStore,
  PartInfo,
  PutOptions,
  StoreCapabilities,
} from '../object-store.ts';
import { badInput, notFoundKey, notFoundUpload } from '../support/storage.errors.ts';
import { ExactLength } from '../support/exact-length.ts';
import { keySegments } from '../support/keys.ts';
import { checkCompletion, checkPartNumber, checkSize, refusing } from '../support/limits.ts';
import { resolveRange } from '../support/range.ts';
import { fsCall, fsError, isCode, readJson } from './fs-errors.ts';
import { install, readSidecar } from './sidecar.ts';

const GiB = 1024 ** 3;

interface Manifest {
  key: string;
  created: string;
  contentType?: string;
}

export class LocalObjectStore implements ObjectStore {
  readonly name: string;
  readonly type = 'local' as const;
  /**
   * Files have no part-size minimum; the one rule kept is S3's "each part must be at least 1
   * byte" for all but the last part (an empty middle part is a client bug). Sizes above 5 GiB are
   * refused like in S3 so that an upload plan valid here is valid on every store.
   */
  readonly capabilities: StoreCapabilities = { minPartSize: 1, maxPartSize: 5 * GiB, maxParts: 10_000, presign: false };
  private readonly root: string;
  /** Uploads this process is completing now (their claims in tmp/ are not left by a crash). */
  private readonly completing = new Set<string>();

  constructor(options: { name: string; root: string }) {
    this.name = options.name;
    this.root = path.resolve(options.root);
  }

  async createMultipart(key: string, options?: PutOptions): Promise<string> {
    keySegments(key);
    const uploadId = randomBytes(16).toString('hex');
    const manifest: Manifest = { key, created: new Date().toISOString(), ...(options?.contentType ? { contentType: options.contentType } : {}) };
    // Built in tmp/ and renamed in, so no one sees an upload directory without its manifest.
    const staging = await this.tmpPath();
    await fsCall(async () => {
      await mkdir(staging, { mode: DIR });
      await writeFile(path.join(staging, 'manifest.json'), JSON.stringify(manifest), { flag: 'wx', mode: FILE });
      await mkdir(path.join(this.root, 'multipart'), { recursive: true, mode: DIR });
      await rename(staging, this.uploadDir(uploadId));
    });
    return uploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Readable, size: number): Promise<PartInfo> {
    await refusing(body, async () => {
      checkPartNumber(partNumber, this.capabilities.maxParts);
      checkSize(size, this.capabilities.maxPartSize);
      await this.manifest(key, uploadId);
    });
    const received = await this.receive(body, size);
    const target = path.join(this.uploadDir(uploadId), String(partNumber));
    try {
      await install(received.tmp, target, `${target}.json`, received.md5, undefined, false);
    } catch (error) {
      // The upload directory vanished between the check and the rename: aborted or completed.
      if (AppError.is(error, 'NOT_FOUND')) throw notFoundUpload(uploadId);
      throw error;
    }
    return { partNumber, etag: received.md5, size };
  }

  async listParts(key: string, uploadId: string): Promise<PartInfo[]> {
    await this.manifest(key, uploadId);
    return this.partsIn(this.uploadDir(uploadId), uploadId);
  }

  async completeMultipart(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<ObjectInfo> {
    const manifest = await this.manifest(key, uploadId);
    const objectPath = this.objectPath(key);
    // Claim the upload with one rename, so a concurrent complete or abort finds it gone.
    const claimed = this.claimPath(uploadId);
    if (this.completing.has(uploadId)) throw notFoundUpload(uploadId);
    this.completing.add(uploadId);
    try {
      await fsCall(async () => {
        await mkdir(path.dirname(claimed), { recursive: true, mode: DIR });
        await rename(this.uploadDir(uploadId), claimed);
      });
    } catch (error) {
      this.completing.delete(uploadId);
      throw AppError.is(error, 'NOT_FOUND') ? notFoundUpload(uploadId) : error;
    }
    const release = async () => {
      await fsCall(() => rename(claimed, this.uploadDir(uploadId)));
      this.completing.delete(uploadId);
    };
    let stored: PartInfo[];
    try {
      stored = checkCompletion(parts, await this.partsIn(claimed, uploadId), this.capabilities.minPartSize);
    } catch (error) {
      await release(); // a refused completion leaves the upload open, as in S3
      throw error;
    }
    // Named after the claim, so that putting a dead completion's claim back also drops this.
    const tmp = `${claimed}.assembling`;
    try {
      await fsCall(() =>
        pipeline(async function* () {
          for (const part of parts) yield* createReadStream(path.join(claimed, String(part.partNumber)));
        }, createWriteStream(tmp, { flags: 'wx', mode: FILE })),
      );
      // S3's multipart ETag: MD5 of the concatenated binary part MD5s, then "-<number of parts>".
      const md5s = createHash('md5');
      for (const part of stored) md5s.update(Buffer.from(part.etag, 'hex'));
      const etag = `${md5s.digest('hex')}-${stored.length}`;
      const info = await install(tmp, objectPath, this.metaPath(key), etag, manifest.contentType);
      await rm(claimed, { recursive: true, force: true });
      this.completing.delete(uploadId);
      return { key, ...info };
    } catch (error) {
      await rm(tmp, { force: true });
      await release();
      throw error;
    }
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.manifest(key, uploadId);
    const doomed = await this.tmpPath();
    await fsCall(() => rename(this.uploadDir(uploadId), doomed)).catch((error: unknown) => {
      throw AppError.is(error, 'NOT_FOUND') ? notFoundUpload(uploadId) : error;
    });
    await rm(doomed, { recursive: true, force: true });
  }

  async listMultipartUploads(prefix = ''): Promise<MultipartUploadInfo[]> {
    const ids = await readdir(path.join(this.root, 'multipart')).catch((error: unknown) => {
      if (isCode(error, 'ENOENT')) return [];
      throw fsError(error);
    });
    const uploads: MultipartUploadInfo[] = [];
    for (const uploadId of ids.filter((id) => /^[0-9a-f]{32}$/.test(id))) {
      const manifest = await readJson<Manifest>(path.join(this.uploadDir(uploadId), 'manifest.json'));
      if (manifest?.key.startsWith(prefix)) uploads.push({ key: manifest.key, uploadId, initiated: new Date(manifest.created) });
    }
    return uploads.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : (a.initiated?.getTime() ?? 0) - (b.initiated?.getTime() ?? 0)));
  }

  async put(key: string, body: Readable, size: number, options?: PutOptions): Promise<ObjectInfo> {
    await refusing(body, () => {
      keySegments(key);
      checkSize(size, 5 * GiB);
    });
    const received = await this.receive(body, size);
    const info = await install(received.tmp, this.objectPath(key), this.metaPath(key), received.md5, options?.contentType);
    return { key, ...info };
  }

  async get(key: string, range?: ByteRange): Promise<GetResult> {
    const handle = await open(this.objectPath(key), 'r').catch((error: unknown) => {
      throw isCode(error, 'ENOENT', 'ENOTDIR') ? notFoundKey(key) : fsError(error);
    });
    try {
      // Size, etag and bytes all come from this one open file, even if the key is replaced now.
      const stats = await handle.stat();
      if (!stats.isFile()) throw notFoundKey(key);
      const { start, end } = range ? resolveRange(range, stats.size) : { start: 0, end: stats.size - 1 };
      const { etag } = await readSidecar(this.metaPath(key), stats, () => handle.createReadStream({ start: 0, autoClose: false }));
      // 1 MiB reads instead of the default 64 KiB: a proxied GiB is 1 024 reads, pushes and socket
      // writes instead of 16 384 (the per-chunk work is what a proxied download spends its CPU on;
      // see s3/lean-get.ts). Memory stays bounded: one read in flight per body.
      const body = handle.createReadStream({ start, end: Math.max(end, start), autoClose: true, highWaterMark: 1024 * 1024 });
      return { body, size: stats.size, contentLength: end - start + 1, etag };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const objectPath = this.objectPath(key);
    const stats = await stat(objectPath).catch((error: unknown) => {
      if (isCode(error, 'ENOENT', 'ENOTDIR')) return null;
      throw fsError(error);
    });
    if (!stats?.isFile()) return null;
    const meta = await readSidecar(this.metaPath(key), stats, () => createReadStream(objectPath));
    return { key, size: stats.size, etag: meta.etag, lastModified: stats.mtime, ...(meta.contentType ? { contentType: meta.contentType } : {}) };
  }

  async delete(key: string): Promise<void> {
    for (const file of [this.objectPath(key), this.metaPath(key)]) {
      // A missing key, or a "folder" of other keys, is simply not an object: nothing to delete.
      await unlink(file).catch((error: unknown) => {
        if (!isCode(error, 'ENOENT', 'ENOTDIR', 'EISDIR')) throw fsError(error);
      });
    }
  }

  async presignGet(): Promise<null> {
    return null; // files have no URL of their own; the API streams them
  }

  async close(): Promise<void> {}

  private objectPath(key: string): string {
    return path.join(this.root, 'objects', ...keySegments(key));
  }

  private metaPath(key: string): string {
    return path.join(this.root, 'meta', ...keySegments(key));
  }

  private uploadDir(uploadId: string): string {
    // Our ids are 32 hex digits; anything else (e.g. `../x`) cannot name an upload.
    if (!/^[0-9a-f]{32}$/.test(uploadId)) throw notFoundUpload(uploadId);
    return path.join(this.root, 'multipart', uploadId);
  }

  private async tmpPath(): Promise<string> {
    const dir = path.join(this.root, 'tmp');
    await fsCall(() => mkdir(dir, { recursive: true, mode: DIR }));
    return path.join(dir, randomBytes(12).toString('hex'));
  }

  private claimPath(uploadId: string): string {
    return path.join(this.root, 'tmp', `completing-${uploadId}`);
  }

  /** Puts back an upload whose completion died with its process (its claim is not ours). */
  private async reclaim(uploadId: string): Promise<boolean> {
    if (this.completing.has(uploadId)) return false;
    const back = await rename(this.claimPath(uploadId), this.uploadDir(uploadId)).then(
      () => true,
      () => false,
    );
    if (back) await rm(`${this.claimPath(uploadId)}.assembling`, { force: true });
    return back;
  }

  /**
   * Cleans what crashes left in tmp/: uploads claimed by a dead completion go back, and bodies
   * half received, uploads half aborted and objects half written older than `olderThanMs` go.
   */
  async sweepTemporary(olderThanMs: number): Promise<number> {
    const dir = path.join(this.root, 'tmp');
    const names = await readdir(dir).catch(() => [] as string[]);
    let cleaned = 0;
    for (const name of names) {
      const claim = /^completing-([0-9a-f]{32})$/.exec(name);
      if (claim?.[1]) {
        if (await this.reclaim(claim[1])) cleaned++;
        continue;
      }
      const stats = await stat(path.join(dir, name)).catch(() => null);
      if (!stats || Date.now() - stats.mtimeMs < olderThanMs) continue;
      await rm(path.join(dir, name), { recursive: true, force: true });
      cleaned++;
    }
    return cleaned;
  }

  private async manifest(key: string, uploadId: string): Promise<Manifest> {
    let manifest = await readJson<Manifest>(path.join(this.uploadDir(uploadId), 'manifest.json'));
    if (!manifest && (await this.reclaim(uploadId))) manifest = await readJson<Manifest>(path.join(this.uploadDir(uploadId), 'manifest.json'));
    // S3: "NoSuchUpload: the specified multipart upload does not exist" also when the id belongs
    // to another key.
    if (manifest?.key !== key) throw notFoundUpload(uploadId);
    return manifest;
  }

  private async partsIn(dir: string, uploadId: string): Promise<PartInfo[]> {
    const names = await readdir(dir).catch((error: unknown) => {
      throw isCode(error, 'ENOENT') ? notFoundUpload(uploadId) : fsError(error);
    });
    const parts: PartInfo[] = [];
    for (const name of names.filter((n) => /^\d+$/.test(n))) {
      const file = path.join(dir, name);
      const stats = await stat(file).catch(() => null);
      if (!stats) continue; // replaced or removed while listing
      const { etag } = await readSidecar(`${file}.json`, stats, () => createReadStream(file));
      parts.push({ partNumber: Number(name), etag, size: stats.size });
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /** Streams `body` into a new file under tmp/, counting and hashing; the exact size or BAD_INPUT. */
  private async receive(body: Readable, size: number): Promise<{ tmp: string; md5: string }> {
    const tmp = await this.tmpPath();
    const meter = new ExactLength(size, { md5: true });
    let bodyFailed = false;
    body.once('error', () => (bodyFailed = true));
    try {
      await pipeline(body, meter, createWriteStream(tmp, { flags: 'wx', mode: FILE }));
    } catch (error) {
      await rm(tmp, { force: true });
      if (AppError.is(error)) throw error;
      throw bodyFailed ? badInput('body-failed', 'the body stream failed', error) : fsError(error);
    }
    return { tmp, md5: meter.md5 };
  }
}
