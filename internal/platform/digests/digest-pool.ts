/**
 * Hashing off the event loop. Every byte Stratus stores is hashed twice: SHA-256 per 4 MiB block
 * (the content hash) and MD5 (the backend's ETag check). On the event loop that was 2.3 CPU s/GiB
 * during which no socket was read or written: a tus upload in one request went 115 MiB/s with the
 * hashing and 170 MiB/s without it (bench tus, 2026-12-05). Here the hashing runs on worker
 * threads, overlapped with the I/O.
 *
 * The bytes reach a worker through SharedArrayBuffer segments (one copy on the event loop, ~0.1 s/GiB,
 * and one message per segment instead of one per 64 KiB read); a job holds at most
 * `segmentsPerJob` segments, so a worker that falls behind slows its stream (backpressure) instead
 * of queueing the body in memory. A job's messages go to one worker, in order.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { WORKER_SOURCE, type FromWorker, type ToWorker } from './digest-worker.source.ts';

export interface Digests {
  /** SHA-256 of each block (the last may be shorter); none for an empty input. */
  blocks: Buffer[];
  md5: Buffer;
  bytes: number;
}

export interface DigestPoolOptions {
  threads: number;
  /** Bytes per shared segment (default 256 KiB). */
  segmentBytes?: number;
  /** Segments one job may have at a worker before `update` waits (default 2). */
  segmentsPerJob?: number;
}

interface Segment {
  buffer: Buffer;
  used: number;
}

interface SegmentSource {
  take(): Buffer;
  giveBack(buffers: Buffer[]): void;
}

/**
 * At most this many idle segments are kept (8 MiB of 256 KiB ones). Segments are memory outside
 * the V8 heap: with 1 MiB × 4 per job and 32 spare, 32 chunk PUTs in flight took the server from
 * 237 to 455 MiB resident (bench memory); 256 KiB × 2 hash as fast (a worker hashes one in ~0.5 ms).
 */
const SPARE_SEGMENTS = 32;

interface Thread {
  worker: Worker;
  jobs: Map<number, DigestJob>;
}

let nextJobId = 1;

export class DigestPool {
  private readonly threads: (Thread | null)[];
  private readonly segmentBytes: number;
  private readonly segmentsPerJob: number;
  /** Segments no job holds, kept for the next jobs: new SharedArrayBuffers are freed only by a GC. */
  private readonly spare: Buffer[] = [];
  private closed = false;

  constructor(options: DigestPoolOptions) {
    this.threads = Array.from({ length: Math.max(1, options.threads) }, () => null);
    this.segmentBytes = options.segmentBytes ?? 256 * 1024;
    this.segmentsPerJob = Math.max(1, options.segmentsPerJob ?? 2);
  }

  /** A new digest of one byte stream, SHA-256 per `blockSize` bytes and MD5 of the whole. */
  job(blockSize: number): DigestJob {
    if (this.closed) throw new Error('digest pool closed');
    const index = this.leastBusy();
    const thread = (this.threads[index] ??= this.spawn(index));
    const segments: SegmentSource = {
      take: () => this.spare.pop() ?? Buffer.from(new SharedArrayBuffer(this.segmentBytes)),
      giveBack: (buffers) => this.spare.push(...buffers.slice(0, SPARE_SEGMENTS - this.spare.length)),
    };
    const job = new DigestJob(nextJobId++, thread.worker, blockSize, segments, this.segmentsPerJob, () => thread.jobs.delete(job.id));
    thread.jobs.set(job.id, job);
    return job;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t?.worker.terminate()));
  }

  private leastBusy(): number {
    let best = 0;
    for (let i = 0; i < this.threads.length; i++) {
      const load = this.threads[i]?.jobs.size ?? -1;
      if (load < (this.threads[best]?.jobs.size ?? -1)) best = i;
    }
    return best;
  }

  private spawn(index: number): Thread {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    // Idle workers must not keep a process (a CLI, a test) alive.
    worker.unref();
    const thread: Thread = { worker, jobs: new Map() };
    worker.on('message', (message: FromWorker) => thread.jobs.get(message.job)?.receive(message));
    const fail = (error: Error) => {
      this.threads[index] = null;
      for (const job of thread.jobs.values()) job.fail(error);
      thread.jobs.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`digest worker exited with code ${code}`)));
    return thread;
  }
}

export class DigestJob {
  private current: Segment | null = null;
  private readonly free: Buffer[] = [];
  /** Segments at the worker, in the order sent (a worker acknowledges in order). */
  private readonly sent: Buffer[] = [];
  private ended = false;
  private atWorker = 0;
  private segments = 0;
  private waiting: (() => void) | null = null;
  private finished: { resolve: (d: Digests) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  bytes = 0;

  constructor(
    readonly id: number,
    private readonly worker: Worker,
    blockSize: number,
    private readonly source: SegmentSource,
    private readonly maxSegments: number,
    private readonly onDone: () => void,
  ) {
    this.post({ type: 'begin', job: id, blockSize });
  }

  /** Takes a copy of `data`; resolves at once unless the worker holds the job's every segment. */
  async update(data: Uint8Array): Promise<void> {
    let at = 0;
    while (at < data.length) {
      if (this.failure) throw this.failure;
      const segment = this.current ?? (this.current = { buffer: await this.segment(), used: 0 });
      const take = Math.min(segment.buffer.length - segment.used, data.length - at);
      segment.buffer.set(data.subarray(at, at + take), segment.used);
      segment.used += take;
      at += take;
      if (segment.used === segment.buffer.length) this.send();
    }
    this.bytes += data.length;
  }

  /** The digests once the worker has seen every byte; the job ends (no update after this). */
  finish(): Promise<Digests> {
    if (this.failure) return Promise.reject(this.failure);
    this.send();
    return new Promise<Digests>((resolve, reject) => {
      this.finished = { resolve, reject };
      this.post({ type: 'end', job: this.id });
    });
  }

  /** Drops the job (a failed or abandoned stream): the worker forgets its state. */
  abort(): void {
    if (this.failure) return;
    this.fail(new Error('digest aborted'));
    this.post({ type: 'end', job: this.id });
  }

  receive(message: FromWorker): void {
    switch (message.type) {
      case 'ack':
        this.atWorker--;
        // The worker's view of a segment is the same memory: the job's own Buffer goes back on the list.
        this.free.push(this.sent.shift() ?? Buffer.from(message.segment));
        this.waiting?.();
        return;
      case 'done':
        this.done();
        this.finished?.resolve({ blocks: message.blocks.map((b) => Buffer.from(b)), md5: Buffer.from(message.md5), bytes: this.bytes });
        return;
      default: {
        const exhaustive: never = message;
        throw new Error(`unknown digest worker message ${JSON.stringify(exhaustive)}`);
      }
    }
  }

  /** Ends the job once: the pool forgets it and gets back the segments the worker no longer reads. */
  private done(): void {
    if (this.ended) return;
    this.ended = true;
    this.onDone();
    if (this.atWorker === 0) this.source.giveBack([...this.free, ...(this.current ? [this.current.buffer] : [])]);
    this.free.length = 0;
    this.current = null;
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.done();
    this.waiting?.();
    this.finished?.reject(error);
  }

  private send(): void {
    const segment = this.current;
    if (!segment || segment.used === 0) return;
    this.current = null;
    this.atWorker++;
    this.sent.push(segment.buffer);
    this.post({ type: 'data', job: this.id, segment: segment.buffer.buffer as SharedArrayBuffer, length: segment.used });
  }

  private async segment(): Promise<Buffer> {
    for (;;) {
      if (this.failure) throw this.failure;
      const reused = this.free.pop();
      if (reused) return reused;
      if (this.segments < this.maxSegments) {
        this.segments++;
        return this.source.take();
      }
      await new Promise<void>((resolve) => (this.waiting = resolve));
      this.waiting = null;
    }
  }

  private post(message: ToWorker): void {
    this.worker.postMessage(message);
  }
}

let shared: DigestPool | undefined;

/**
 * The process's pool: one thread per core but one (the event loop keeps a core), at least one, at
 * most four. Created on first use; its idle threads do not keep the process alive.
 */
export function digestPool(): DigestPool {
  shared ??= new DigestPool({ threads: Math.min(4, Math.max(1, availableParallelism() - 1)) });
  return shared;
}
