/**
 * The upload manager: a queue of files. A file of at most one chunk goes in one uploadFile
 * request (upload-way.ts); any other is hashed and sent by its own Web Worker. Per such file:
 * hash → find the person's unfinished session of the same file (name, folder, size, content hash: a session left by a closed browser continues from the server's receipts) or
 * create one → answer the instant-upload challenge (known content completes with no bytes sent)
 * → PUT the missing chunks in parallel → complete. Progress comes from the `uploadProgress`
 * subscription, with the worker's own byte counts as the fallback.
 */
import { freshToken, gql, subscribe } from './api.ts';
import { ApiError, humanError } from './errors.ts';
import type { FromWorker, ToWorker } from './upload-protocol.ts';
import { uploadInOneRequest, uploadWay } from './upload-way.ts';
import { BATCH_BYTES, BATCH_FILES, batchable, uploadBatch } from './upload-batch.ts';
import {
  CompleteUploadDocument,
  CancelUploadDocument,
  CreateFolderDocument,
  CreateUploadDocument,
  FolderDocument,
  OpenUploadsDocument,
  PauseUploadDocument,
  ProveOwnershipDocument,
  ResumeUploadDocument,
  UploadDocument,
  UploadProgressDocument,
  type UploadSessionFragment,
} from './graphql.generated.ts';

export type Phase = 'queued' | 'hashing' | 'checking' | 'uploading' | 'pausing' | 'paused' | 'completing' | 'done' | 'failed' | 'cancelled';

export interface UploadItem {
  key: string;
  file: File;
  name: string;
  /** Folders below the target folder, for files of a dropped or chosen folder. */
  folders: string[];
  baseParentId: string;
  parentId: string | null;
  size: number;
  phase: Phase;
  hashedBytes: number;
  confirmedBytes: number;
  inflightBytes: number;
  serverBytes: number | null;
  sessionId: string | null;
  contentHash: string | null;
  instant: boolean;
  resumed: boolean;
  chunksSent: number;
  error: string | null;
  /** Continue exactly this session (chosen in the unfinished-uploads list). */
  resumeSessionId: string | null;
  /** The uploadFiles request this small file goes in with others (upload-batch.ts), while it is under way. */
  batchKey: string | null;
}

/** An upload session as the app reads it: the UploadSession fragment shared with the CLI. */
export type SessionView = UploadSessionFragment;

const MAX_ACTIVE = 3;
const PARALLEL_CHUNKS = 4;

/** Bytes shown as uploaded: the server's live count when it speaks, else the local one. */
export function shownBytes(item: UploadItem): number {
  if (item.phase === 'done') return item.size;
  const local = item.confirmedBytes + item.inflightBytes;
  const value = item.serverBytes === null ? local : Math.max(item.serverBytes, item.confirmedBytes);
  return Math.min(item.size, value);
}

export function percentOf(done: number, total: number): number {
  if (total <= 0) return 100;
  return Math.min(100, Math.floor((done / total) * 100));
}

type Listener = () => void;
type CompletedListener = (parentId: string | null) => void;

interface Running {
  worker: Worker;
  unsubscribe: (() => void) | null;
}

let nextKey = 1;

export class UploadManager {
  items: UploadItem[] = [];
  private listeners = new Set<Listener>();
  private completedListeners = new Set<CompletedListener>();
  private running = new Map<string, Running>();
  /** The one-request uploads under way: Cancel and Pause stop their bytes. */
  private requests = new Map<string, AbortController>();
  private folderCache = new Map<string, Promise<string>>();

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onCompleted(listener: CompletedListener): () => void {
    this.completedListeners.add(listener);
    return () => this.completedListeners.delete(listener);
  }

  private changed(item?: UploadItem): void {
    if (item) this.items = this.items.map((i) => (i.key === item.key ? { ...item } : i));
    else this.items = [...this.items];
    for (const l of this.listeners) l();
  }

  private update(key: string, patch: Partial<UploadItem>): UploadItem | undefined {
    const item = this.items.find((i) => i.key === key);
    if (!item) return undefined;
    Object.assign(item, patch);
    this.changed(item);
    return this.items.find((i) => i.key === key);
  }

  private get(key: string): UploadItem | undefined {
    return this.items.find((i) => i.key === key);
  }

  /** Queues files for the folder `parentId`; `paths` holds each file's folder path when known. */
  add(files: { file: File; folders?: string[] }[], parentId: string, resumeSessionId: string | null = null, name?: string): void {
    for (const { file, folders } of files) {
      this.items.push({
        key: `u${nextKey++}`,
        file,
        name: name ?? file.name,
        folders: folders ?? [],
        baseParentId: parentId,
        parentId: null,
        size: file.size,
        phase: 'queued',
        hashedBytes: 0,
        confirmedBytes: 0,
        inflightBytes: 0,
        serverBytes: null,
        sessionId: null,
        contentHash: null,
        instant: false,
        resumed: false,
        chunksSent: 0,
        error: null,
        resumeSessionId,
        batchKey: null,
      });
    }
    this.changed();
    this.pump();
  }

  private pump(): void {
    const active = this.items.filter((i) => ['hashing', 'checking', 'uploading', 'completing', 'pausing'].includes(i.phase));
    // A batch is one request: it counts once against MAX_ACTIVE.
    let free = MAX_ACTIVE - active.filter((i) => i.batchKey === null).length - new Set(active.flatMap((i) => (i.batchKey ? [i.batchKey] : []))).size;
    for (const item of this.items) {
      if (free <= 0) break;
      if (item.phase !== 'queued') continue;
      free--;
      if (batchable(item.size, item.resumeSessionId)) {
        void this.startBatch(this.batchOf(item));
        continue;
      }
      item.phase = 'hashing';
      this.changed(item);
      void this.start(item.key);
    }
  }

  /** `first` and the queued small files after it for the same folder, within a batch's bounds; marked as started. */
  private batchOf(first: UploadItem): string[] {
    const batchKey = `b${nextKey++}`;
    const keys: string[] = [];
    let bytes = 0;
    const place = (i: UploadItem) => `${i.baseParentId}/${i.folders.join('/')}`;
    for (const item of this.items) {
      if (keys.length >= BATCH_FILES) break;
      if (item.phase !== 'queued' || !batchable(item.size, item.resumeSessionId) || place(item) !== place(first)) continue;
      if (keys.length > 0 && bytes + item.size > BATCH_BYTES) continue;
      bytes += item.size;
      Object.assign(item, { phase: 'hashing', batchKey });
      keys.push(item.key);
    }
    this.changed();
    return keys;
  }

  /**
   * Small files of one folder in one uploadFiles request; each ends with its own result. Stopping
   * one (pause, cancel) stops the request: the others go back to the queue, nothing of it is kept.
   */
  private async startBatch(keys: string[]): Promise<void> {
    const first = this.get(keys[0] ?? '');
    if (!first) return;
    const request = new AbortController();
    let sending: UploadItem[] = [];
    try {
      const parentId = await this.folderFor(first.baseParentId, first.folders);
      sending = keys.map((key) => this.get(key)).filter((i): i is UploadItem => i?.phase === 'hashing');
      for (const item of sending) {
        this.update(item.key, { parentId, phase: 'uploading', confirmedBytes: 0, inflightBytes: 0 });
        this.requests.set(item.key, request);
      }
      if (sending.length === 0) return;
      const results = await uploadBatch(sending.map((i) => ({ file: i.file, name: i.name })), parentId, {
        signal: request.signal,
        // The files follow each other in the body: the bytes sent so far are shared out in that order.
        onProgress: (sent) => {
          let offset = 0;
          for (const item of sending) {
            if (this.get(item.key)?.phase === 'uploading') this.update(item.key, { inflightBytes: Math.max(0, Math.min(item.size, sent - offset)) });
            offset += item.size;
          }
        },
      });
      results.forEach((result, i) => {
        const key = sending[i]?.key ?? '';
        this.requests.delete(key);
        if (this.get(key)?.phase !== 'uploading') return;
        this.update(key, { batchKey: null });
        if (result.file) this.finish(key, false);
        else this.fail(key, new ApiError(result.error?.message ?? 'Not stored', result.error?.code ?? 'INTERNAL', result.error?.reason ? { reason: result.error.reason } : {}));
      });
    } catch (error) {
      for (const key of keys) {
        this.requests.delete(key);
        const item = this.get(key);
        if (!item || !['hashing', 'uploading'].includes(item.phase)) continue;
        // Stopped for another file of the batch: this one waits for its turn again.
        if (request.signal.aborted) this.update(key, { phase: 'queued', batchKey: null, inflightBytes: 0 });
        else this.fail(key, error);
      }
    } finally {
      for (const key of keys) if (this.get(key)?.batchKey) this.update(key, { batchKey: null });
      this.pump();
    }
  }

  private worker(key: string, onMessage: (msg: FromWorker) => void): Worker {
    const worker = new Worker(new URL('./upload.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      if (event.data.type === 'needToken') {
        void freshToken().then((token) => worker.postMessage({ type: 'token', token: token ?? '' } satisfies ToWorker));
        return;
      }
      onMessage(event.data);
    };
    worker.onerror = (event) => onMessage({ type: 'error', code: 'INTERNAL', message: event.message || 'The upload worker failed' });
    const old = this.running.get(key);
    old?.worker.terminate();
    this.running.set(key, { worker, unsubscribe: old?.unsubscribe ?? null });
    return worker;
  }

  private ask<T extends FromWorker['type']>(key: string, message: ToWorker, until: T, onOther?: (msg: FromWorker) => void): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolve, reject) => {
      const worker = this.worker(key, (msg) => {
        if (msg.type === until) resolve(msg as Extract<FromWorker, { type: T }>);
        else if (msg.type === 'error') reject(new ApiError(msg.message, msg.code));
        else onOther?.(msg);
      });
      worker.postMessage(message);
    });
  }

  private stopWorker(key: string): void {
    const running = this.running.get(key);
    running?.worker.terminate();
    running?.unsubscribe?.();
    this.running.delete(key);
  }

  private async start(key: string): Promise<void> {
    try {
      const item = this.get(key);
      if (!item) return;
      const parentId = await this.folderFor(item.baseParentId, item.folders);
      this.update(key, { parentId });
      if (uploadWay(item.size, item.resumeSessionId) === 'request') await this.sendInOneRequest(key, parentId);
      else await this.startSession(key, item, parentId);
    } catch (error) {
      this.fail(key, error);
    }
  }

  /** Hash, find or create the session, prove ownership when asked, send what is missing. */
  private async startSession(key: string, item: UploadItem, parentId: string): Promise<void> {
    const hashed = await this.ask(key, { type: 'hash', file: item.file }, 'hashed', (msg) => {
      if (msg.type === 'hashProgress') this.update(key, { hashedBytes: msg.bytes });
    });
    if (this.get(key)?.phase !== 'hashing') return; // cancelled meanwhile
    this.update(key, { contentHash: hashed.hash, hashedBytes: item.size, phase: 'checking' });

    let session = await this.findOrCreate(key, parentId, hashed.hash, hashed.blockHashes);
    this.update(key, { sessionId: session.id, confirmedBytes: session.uploadedBytes });
    if (session.status === 'COMPLETED') return this.finish(key, true);
    if (session.challenge && session.uploadedChunks.length === 0) {
      const current = this.get(key);
      if (!current) return;
      const proofs = await this.ask(key, { type: 'prove', file: current.file, nonce: session.challenge.nonce, ranges: session.challenge.ranges }, 'proofs');
      try {
        session = (
          await gql(ProveOwnershipDocument, {
            id: session.id,
            proofs: proofs.proofs,
          })
        ).proveOwnership;
      } catch (error) {
        // Too many proofs: just send the bytes.
        if (!(error instanceof ApiError && error.code === 'RATE_LIMITED')) throw error;
      }
      if (session.status === 'COMPLETED') return this.finish(key, true);
    }
    if (this.get(key)?.phase !== 'checking') return;
    await this.send(key, session);
  }

  /** A file of at most one chunk: one uploadFile request, no hashing, no session (upload-way.ts). */
  private async sendInOneRequest(key: string, parentId: string): Promise<void> {
    if (this.get(key)?.phase !== 'hashing') return; // cancelled or paused while its folder was made
    const item = this.update(key, { phase: 'uploading', confirmedBytes: 0, inflightBytes: 0 });
    if (!item) return;
    const request = new AbortController();
    this.requests.set(key, request);
    try {
      await uploadInOneRequest(item.file, item.name, parentId, {
        signal: request.signal,
        onProgress: (sent) => {
          if (this.get(key)?.phase === 'uploading') this.update(key, { inflightBytes: sent });
        },
      });
    } finally {
      this.requests.delete(key);
    }
    if (this.get(key)?.phase !== 'uploading') return; // stopped meanwhile
    this.finish(key, false);
  }

  /** Stops a one-request upload's bytes (nothing is kept of a request the server did not finish). */
  private stopRequest(key: string): void {
    this.requests.get(key)?.abort();
    this.requests.delete(key);
  }

  private async findOrCreate(key: string, parentId: string, hash: string, blockHashes: string[] | undefined): Promise<SessionView> {
    const item = this.get(key);
    if (!item) throw new ApiError('gone', 'NOT_FOUND');
    const open = (await gql(OpenUploadsDocument)).uploads;
    let session = item.resumeSessionId
      ? open.find((s) => s.id === item.resumeSessionId)
      : open.find((s) => s.name === item.name && s.size === item.size && s.contentHash === hash && s.parentId === parentId && s.status !== 'COMPLETING');
    if (item.resumeSessionId) {
      if (!session) throw new ApiError('This upload is no longer open; choose the file again from the drive.', 'BAD_INPUT');
      if (session.size !== item.size || session.contentHash !== hash) {
        throw new ApiError('That is not the same file as the unfinished upload (its size or content differs).', 'BAD_INPUT');
      }
    }
    if (session) {
      this.update(key, { resumed: true });
      if (session.status === 'PAUSED') {
        session = (await gql(ResumeUploadDocument, { id: session.id })).resumeUpload;
      }
      return session;
    }
    return (
      await gql(CreateUploadDocument, {
        i: { parentId, name: item.name, size: item.size, contentHash: hash, mimeType: item.file.type || null, ...(blockHashes ? { blockHashes } : {}) },
      })
    ).createUpload;
  }

  private async send(key: string, session: SessionView): Promise<void> {
    const item = this.update(key, { phase: 'uploading', confirmedBytes: session.uploadedBytes, inflightBytes: 0, serverBytes: null });
    if (!item) return;
    const token = (await freshToken()) ?? '';
    const done = new Promise<void>((resolve, reject) => {
      const worker = this.worker(key, (msg) => {
        const current = this.get(key);
        if (!current || current.phase !== 'uploading') return;
        if (msg.type === 'inflight') this.update(key, { inflightBytes: msg.bytes });
        else if (msg.type === 'sent') this.update(key, { confirmedBytes: Math.max(current.confirmedBytes + msg.length, msg.answer.uploadedBytes), chunksSent: current.chunksSent + 1 });
        else if (msg.type === 'putDone') resolve();
        else if (msg.type === 'error') reject(new ApiError(msg.message, msg.code));
      });
      worker.postMessage({ type: 'put', file: item.file, sessionId: session.id, chunkSize: session.chunkSize, indexes: session.missingChunks, token, parallel: PARALLEL_CHUNKS } satisfies ToWorker);
    });
    const running = this.running.get(key);
    if (running) {
      running.unsubscribe = subscribe(
        UploadProgressDocument,
        { id: session.id },
        ({ uploadProgress }) => {
          const current = this.get(key);
          if (current && current.phase === 'uploading') this.update(key, { serverBytes: uploadProgress.uploadedBytes });
        },
      );
    }
    await done;
    if (this.get(key)?.phase !== 'uploading') return;
    this.update(key, { phase: 'completing', inflightBytes: 0 });
    const completed = (await gql(CompleteUploadDocument, { id: session.id })).completeUpload;
    if (completed.status !== 'COMPLETED') throw new ApiError(`The upload ended as ${completed.status.toLowerCase()}`, 'INTERNAL');
    this.finish(key, false);
  }

  private finish(key: string, instant: boolean): void {
    this.stopWorker(key);
    const item = this.update(key, { phase: 'done', instant, inflightBytes: 0, confirmedBytes: this.get(key)?.size ?? 0 });
    for (const l of this.completedListeners) l(item?.parentId ?? null);
    this.pump();
  }

  private fail(key: string, error: unknown): void {
    this.stopWorker(key);
    const item = this.get(key);
    if (item && (item.phase === 'cancelled' || item.phase === 'paused' || item.phase === 'pausing')) return;
    this.update(key, { phase: 'failed', error: humanError(error), inflightBytes: 0 });
    this.pump();
  }

  async pause(key: string): Promise<void> {
    const item = this.get(key);
    if (!item) return;
    if (item.phase === 'queued') {
      this.update(key, { phase: 'paused' });
      return;
    }
    if (item.phase === 'uploading' && this.requests.has(key)) {
      // One request has nothing to keep: paused, it starts again from its first byte.
      this.update(key, { phase: 'paused', inflightBytes: 0 });
      this.stopRequest(key);
      this.pump();
      return;
    }
    if (item.phase !== 'uploading' || !item.sessionId) return;
    this.update(key, { phase: 'pausing', inflightBytes: 0 });
    this.stopWorker(key);
    try {
      const session = (await gql(PauseUploadDocument, { id: item.sessionId })).pauseUpload;
      this.update(key, { phase: 'paused', confirmedBytes: session.uploadedBytes, serverBytes: session.uploadedBytes });
    } catch (error) {
      this.update(key, { phase: 'paused', error: humanError(error) });
    }
    this.pump();
  }

  async resume(key: string): Promise<void> {
    const item = this.get(key);
    if (!item || (item.phase !== 'paused' && item.phase !== 'failed')) return;
    if (!item.sessionId) {
      this.update(key, { phase: 'queued', error: null });
      this.pump();
      return;
    }
    this.update(key, { phase: 'checking', error: null });
    try {
      const current = (await gql(UploadDocument, { id: item.sessionId })).upload;
      const session =
        current.status === 'PAUSED'
          ? (await gql(ResumeUploadDocument, { id: item.sessionId })).resumeUpload
          : current;
      if (session.status === 'COMPLETED') return this.finish(key, false);
      await this.send(key, session);
    } catch (error) {
      this.fail(key, error);
    }
  }

  async cancel(key: string): Promise<void> {
    const item = this.get(key);
    if (!item || item.phase === 'done' || item.phase === 'cancelled') return;
    this.stopWorker(key);
    this.update(key, { phase: 'cancelled', inflightBytes: 0 });
    this.stopRequest(key);
    if (item.sessionId) await gql(CancelUploadDocument, { id: item.sessionId }).catch(() => undefined);
    this.pump();
  }

  clearFinished(): void {
    this.items = this.items.filter((i) => !['done', 'cancelled', 'failed'].includes(i.phase));
    this.changed();
  }

  /** The id of folder `names` below `baseId`, creating what is missing (a clash means: it exists). */
  private folderFor(baseId: string, names: string[]): Promise<string> {
    if (names.length === 0) return Promise.resolve(baseId);
    const cacheKey = `${baseId}/${names.join('/')}`;
    const cached = this.folderCache.get(cacheKey);
    if (cached) return cached;
    const made = (async () => {
      const parent = await this.folderFor(baseId, names.slice(0, -1));
      const name = names[names.length - 1] ?? '';
      try {
        return (await gql(CreateFolderDocument, { parentId: parent, name })).createFolder.id;
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'CONFLICT')) throw error;
        const listing = await gql(FolderDocument, { id: parent, first: 500 });
        const found = listing.folder.children.edges.find((e) => e.node.name === name && e.node.isFolder);
        if (!found) throw error;
        return found.node.id;
      }
    })();
    made.catch(() => this.folderCache.delete(cacheKey));
    this.folderCache.set(cacheKey, made);
    return made;
  }
}

export const uploads = new UploadManager();
