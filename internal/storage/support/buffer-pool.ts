/**
 * Fixed-size Buffers lent out and given back, so that a proxied download reads the object store's
 * socket into memory that is already mapped. Why: each fresh 1 MiB Buffer is new memory that the
 * kernel faults in page by page and that V8 counts as external memory until a GC frees it; a
 * proxied GiB read into fresh Buffers cost 3.5–4.4 CPU s (62 % of it in allocating and copying
 * them, bench/profile/lean-get-probe.ts), the same GiB through a pool a fraction of that.
 *
 * Only a buffer this pool lent is taken back, and only once (a second give, or a chunk of memory
 * it never lent, is ignored): a buffer given back too early would be overwritten by the next read
 * while its bytes still wait to be sent, so giving back is the one thing callers must get right —
 * only once the bytes have left the process (a socket write's callback).
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  /** The buffers out on loan, by their memory: a chunk (a view of one) finds its buffer here. */
  private readonly lent = new WeakMap<ArrayBufferLike, Buffer>();
  private created = 0;
  private out = 0;

  /**
   * @param size bytes of each buffer
   * @param keep most buffers kept while nobody uses them; beyond it, given-back buffers are left to
   *   the GC (a burst of downloads must not pin its peak memory for ever)
   */
  constructor(
    readonly size: number,
    private readonly keep: number,
  ) {}

  take(): Buffer {
    let buffer = this.free.pop();
    if (!buffer) {
      // Slow: a buffer of its own memory (not a slice of Node's shared 8 KiB pool), so `lent` can
      // find it by its ArrayBuffer.
      buffer = Buffer.allocUnsafeSlow(this.size);
      this.created++;
    }
    this.lent.set(buffer.buffer, buffer);
    this.out++;
    return buffer;
  }

  /** Gives back the buffer `chunk` is a view of; anything the pool did not lend is ignored. */
  give(chunk: Uint8Array): void {
    const buffer = this.lent.get(chunk.buffer);
    if (!buffer) return;
    this.lent.delete(chunk.buffer);
    this.out--;
    if (this.free.length < this.keep) this.free.push(buffer);
  }

  /** Buffers made so far, out on loan, and waiting to be lent: what a test or a probe reads. */
  stats(): { created: number; out: number; free: number } {
    return { created: this.created, out: this.out, free: this.free.length };
  }
}
