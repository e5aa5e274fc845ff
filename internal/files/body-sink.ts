/**
 * Where a body of unknown length waits for its single PUT (blobs.writer.ts): in memory while it is
 * small and the process's byte budget has room, else in a private temp file.
 *
 * Most files of a drive are small (84 % under 1 MB in the ownCloud/OpenCloud load model); for
 * them a temp file's create, write, read and unlink cost more than the bytes, and a PUT from a
 * buffer with a known length is the cheapest one the store client makes. Memory stays bounded:
 * one body holds at most `bodyMax` bytes, and all bodies held in memory by the process together
 * at most their shared ByteBudget; a body that would cross either limit moves to disk with what
 * it had so far, and its bytes go back to the budget at once.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { PRIVATE_FILE_MODE } from '../platform/private-files.ts';

/** The largest body held in memory: the one-request threshold of the CLI and the web app. */
export const MEMORY_BODY_MAX = 8 * 1024 * 1024;
/** What all bodies held in memory may take together in one process. */
export const PROCESS_BODY_BYTES = 64 * 1024 * 1024;

/** Bytes that bodies held in memory may take together (one per process, shared by every writer). */
export class ByteBudget {
  private used = 0;

  constructor(readonly total: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Takes `bytes` if they fit; false (nothing taken) when they do not. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.total) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}

export const PROCESS_BODY_BUDGET = new ByteBudget(PROCESS_BODY_BYTES);

export interface BodySinkOptions {
  bodyMax: number;
  budget: ByteBudget;
  /** The path of a new private temp file (its directory exists). */
  spoolFile: () => Promise<string>;
}

/** A Writable that keeps the body in memory or spools it; `body()` reads it back once it finished. */
export class BodySink extends Writable {
  private chunks: Buffer[] = [];
  /** Bytes taken from the budget (the chunks held in memory). */
  private held = 0;
  private file: { path: string; stream: WriteStream } | null = null;
  private discarded = false;

  constructor(private readonly options: BodySinkOptions) {
    super();
  }

  /** The temp file the body went to, or null while it is held in memory. */
  get spooledTo(): string | null {
    return this.file?.path ?? null;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.file && this.held + chunk.length <= this.options.bodyMax && this.options.budget.take(chunk.length)) {
      this.chunks.push(chunk);
      this.held += chunk.length;
      callback();
      return;
    }
    this.toFile().then((stream) => {
      if (stream.write(chunk)) callback();
      else stream.once('drain', () => callback());
    }, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.file) {
      callback();
      return;
    }
    const stream = this.file.stream;
    stream.end();
    finished(stream).then(() => callback(), callback);
  }

  /** The whole body, to be read once after the sink finished. */
  body(): Readable {
    if (this.file) return createReadStream(this.file.path);
    return Readable.from(this.chunks, { objectMode: false });
  }

  /** Gives the memory back to the budget and removes the temp file (always, success or not). */
  async discard(): Promise<void> {
    this.discarded = true;
    this.release();
    if (this.file) {
      this.file.stream.destroy();
      await rm(this.file.path, { force: true });
    }
  }

  private release(): void {
    this.options.budget.give(this.held);
    this.held = 0;
    this.chunks = [];
  }

  /** Moves what is held so far into a temp file; later chunks go there too. */
  private async toFile(): Promise<WriteStream> {
    if (this.file) return this.file.stream;
    const path = await this.options.spoolFile();
    // Discarded meanwhile (the upload failed): no file to leave behind.
    if (this.discarded) throw new Error('the body was discarded');
    const stream = createWriteStream(path, { mode: PRIVATE_FILE_MODE });
    stream.on('error', (error) => this.destroy(error));
    this.file = { path, stream };
    for (const chunk of this.chunks) stream.write(chunk);
    this.release();
    return stream;
  }
}
