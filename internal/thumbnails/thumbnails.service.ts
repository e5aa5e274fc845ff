/**
 * Thumbnails of images: requested when a file's content is recorded, made by a queued job (one at
 * a time per process), stored beside the blob in its backend and shared by every file with that
 * content; handed out as signed URLs; swept when no blob has the content any more.
 */
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { FileDto } from '../files/files.dto.ts';
import type { FilesService } from '../files/files.service.ts';
import { AppError } from '../platform/errors.ts';
import type { KeyValueStore } from '../platform/kv/kv.ts';
import type { Logger } from '../platform/logger.ts';
import type { JobQueue } from '../platform/mq/queue.ts';
import type { Viewer } from '../platform/request-context.ts';
import type { ObjectStore, StorageRouter } from '../storage/index.ts';
import { renderThumbnails } from './thumbnail.renderer.ts';
import type { ThumbnailLinks } from './thumbnail-links.ts';
import { contentKeyText, type ContentKey, type ThumbnailsRepository } from './thumbnails.repository.ts';
import { looksLikeImage, THUMBNAIL_SIZE_NAMES, thumbnailKey, type ThumbnailLimits, type ThumbnailSize } from './thumbnails.rules.ts';

export const ThumbnailJob = z.object({ contentHash: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().min(0) });

/** One File of a page the gateway lists, as `signed` needs it. */
export interface SignItem extends ContentKey {
  fileId: string;
  name: string;
  mimeType: string | null;
  thumb: ThumbnailSize;
}

export interface ThumbnailTarget {
  backend: string;
  key: string;
  etag: string;
  /** Unix seconds the signature is good until (null: opened with a Bearer token). */
  expires: number | null;
}

/** How long a content's job request stands before it may be asked again (the job is queued or running meanwhile). */
const ASK_AGAIN_MS = 15 * 60_000;

const notReady = () => new AppError('NOT_FOUND', 'This file has no thumbnail (yet)', { details: { reason: 'thumbnail_not_ready' } });

export class ThumbnailsService {
  constructor(
    private readonly repo: ThumbnailsRepository,
    private readonly storage: StorageRouter,
    private readonly queue: Promise<JobQueue>,
    private readonly files: Pick<FilesService, 'content'>,
    private readonly links: ThumbnailLinks,
    private readonly limits: ThumbnailLimits,
    private readonly log: Logger,
    private readonly kv?: KeyValueStore,
  ) {}

  /**
   * Queues a job for an image's content (never fails the caller): after its content was recorded,
   * and when it is listed without any thumbnail row (content stored before thumbnails existed, or a
   * job lost because its publish failed). At most once per ASK_AGAIN_MS per content across replicas
   * (a KV key set only when absent), so a listing shown again and again while the job runs queues
   * nothing more.
   */
  requested(file: Pick<FileDto, 'name' | 'mimeType' | 'contentHash' | 'size'>): void {
    if (!file.contentHash || !looksLikeImage(file.name, file.mimeType)) return;
    const job = { contentHash: file.contentHash, size: file.size };
    const first = this.kv ? this.kv.set(`thumbnails:asked:${contentKeyText(job)}`, '1', { ttlMs: ASK_AGAIN_MS, ifAbsent: true }) : Promise.resolve(true);
    first
      .then(async (go) => go && (await (await this.queue).publish(job)))
      .catch((error: unknown) => this.log.warn({ err: error, ...job }, 'thumbnail job not queued'));
  }

  /** Runs one job: idempotent (a row already there, or a blob gone, ends it). */
  async run(job: ContentKey): Promise<void> {
    const blob = await this.repo.findBlob(job);
    if (!blob || (await this.repo.find(job))) return;
    const store = this.storage.store(blob.backend);
    const result = await renderThumbnails({
      size: Number(blob.size),
      head: (bytes) => readHead(store, blob.storageKey, bytes),
      open: async () => (await store.get(blob.storageKey)).body,
    }, this.limits);
    if (result.kind === 'failed') {
      this.log.info({ ...job, reason: result.reason }, 'no thumbnail for this content');
      return this.repo.record(job, 'FAILED', blob.backend, result.reason);
    }
    for (const [size, image] of result.images) {
      await store.put(thumbnailKey(job, size), Readable.from([image]), image.length, { contentType: 'image/webp' });
    }
    await this.repo.record(job, 'READY', blob.backend, null);
  }

  /**
   * A job whose every delivery ended unfinished (the image crashed or hung its worker each time):
   * recorded FAILED `crashed`, so listings never ask for it again.
   */
  async deadLettered(job: ContentKey): Promise<void> {
    const blob = await this.repo.findBlob(job);
    this.log.warn(job, 'thumbnail job never finished: marked failed');
    await this.repo.record(job, 'FAILED', blob?.backend ?? '', 'crashed');
  }

  /**
   * Signatures for files the gateway just read for the viewer (a File of theirs: its content is in
   * hand, so no file is read again); null when not ready, not an image or not a file. A signature
   * opens nothing by itself: the thumbnail route checks the file against its signer on every fetch.
   * An image without any thumbnail row is asked for (`requested`).
   */
  async signed(viewer: Viewer, items: readonly SignItem[]): Promise<({ sig: string; version: string } | null)[]> {
    const statuses = await this.repo.statusesAmong(items);
    for (const item of items) if (!statuses.has(contentKeyText(item))) this.requested(item);
    return items.map((item) => {
      if (statuses.get(contentKeyText(item)) !== 'READY') return null;
      return { sig: this.links.sign(viewer.userId, item.fileId, item.thumb).sig, version: item.contentHash.slice(0, 16) };
    });
  }

  /** Where one thumbnail is, for the viewer (Bearer) or a signature's signer; NOT_FOUND otherwise. */
  async open(caller: { viewer: Viewer } | { sig: string }, fileId: string, size: ThumbnailSize): Promise<ThumbnailTarget> {
    const signed = 'sig' in caller ? this.links.verify(fileId, size, caller.sig) : null;
    const viewer = 'viewer' in caller ? caller.viewer : { userId: signed?.userId ?? '', username: '', isAdmin: false };
    const { file } = await this.files.content(viewer, fileId).catch((error: unknown) => {
      // A folder has no thumbnail: answered like any file without one.
      if (AppError.is(error, 'BAD_INPUT')) throw notReady();
      throw error;
    });
    if (!file.contentHash) throw notReady();
    const key = { contentHash: file.contentHash, size: file.size };
    const row = await this.repo.find(key);
    if (row?.status !== 'READY') throw notReady();
    return { backend: row.backend, key: thumbnailKey(key, size), etag: `${file.contentHash}-${size}`, expires: signed?.expires ?? null };
  }

  /** Which contents have their thumbnails ready (for a share page's files, already authorised by the share). */
  async ready(keys: readonly ContentKey[]): Promise<boolean[]> {
    const statuses = await this.repo.statusesAmong(keys);
    return keys.map((k) => statuses.get(contentKeyText(k)) === 'READY');
  }

  /** Where a content's thumbnail is; the caller has checked who may see that content (a share). */
  async locate(key: ContentKey, size: ThumbnailSize): Promise<ThumbnailTarget> {
    const row = await this.repo.find(key);
    if (row?.status !== 'READY') throw notReady();
    return { backend: row.backend, key: thumbnailKey(key, size), etag: `${key.contentHash}-${size}`, expires: null };
  }

  /** Deletes the thumbnails of content no blob has any more; returns how many contents went. */
  async sweep(limit = 500): Promise<number> {
    let removed = 0;
    for (const row of await this.repo.orphans(limit)) {
      if (!(await this.repo.deleteIfOrphan(row))) continue;
      removed++;
      if (row.status !== 'READY') continue;
      const store = this.storage.store(row.backend);
      for (const size of THUMBNAIL_SIZE_NAMES) {
        await store.delete(thumbnailKey(row, size)).catch((error: unknown) => this.log.warn({ err: error, contentHash: row.contentHash }, 'thumbnail object not deleted'));
      }
    }
    return removed;
  }
}

async function readHead(store: ObjectStore, key: string, bytes: number): Promise<Buffer> {
  if (bytes === 0) return Buffer.alloc(0);
  const object = await store.get(key, { start: 0, end: bytes - 1 }, { expectedBytes: bytes });
  const chunks: Buffer[] = [];
  for await (const chunk of object.body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
