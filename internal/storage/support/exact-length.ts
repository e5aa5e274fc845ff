/**
 * The size guard every driver puts between a caller's body and its backend. A body sent with a
 * fixed Content-Length that is short makes the request hang, and one that is long is cut, so the
 * bytes are counted here and a mismatch is BAD_INPUT 'size-mismatch' (the contract's rule).
 */
import { createHash, type Hash } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { AppError } from '../../platform/errors.ts';
import { badInput } from './storage.errors.ts';

/**
 * Passes exactly `expected` bytes through, and fails (BAD_INPUT 'size-mismatch') on a body that is
 * shorter or longer. The last byte is held back until the source has ended, so a body that turns
 * out to be too long never reaches the backend complete (it cannot record a part we then refuse).
 * With `md5`, the MD5 of the bytes is in `md5` once the stream has flushed.
 */
export class ExactLength extends Transform {
  /** The size mismatch, set as soon as it is seen (before the stream emits 'error'). */
  failure: AppError | undefined;
  md5 = '';
  private count = 0;
  private held: Buffer | undefined;
  private readonly hash: Hash | undefined;

  constructor(
    private readonly expected: number,
    options: { md5?: boolean } = {},
  ) {
    super();
    this.hash = options.md5 ? createHash('md5') : undefined;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count += chunk.length;
    if (this.count > this.expected) {
      callback(this.mismatch(`body is longer than the declared ${this.expected} bytes`));
      return;
    }
    this.hash?.update(chunk);
    if (this.count === this.expected && chunk.length > 0) {
      this.held = chunk.subarray(chunk.length - 1);
      callback(null, chunk.length > 1 ? chunk.subarray(0, chunk.length - 1) : undefined);
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.count !== this.expected) {
      callback(this.mismatch(`body has ${this.count} bytes, ${this.expected} were declared`));
      return;
    }
    if (this.hash) this.md5 = this.hash.digest('hex');
    callback(null, this.held);
  }

  private mismatch(message: string): AppError {
    this.failure = new AppError('BAD_INPUT', message, {
      details: { reason: 'size-mismatch', expected: this.expected, received: this.count },
    });
    return this.failure;
  }
}

/**
 * Pipes `body` through an ExactLength, for an SDK that takes a stream and sends it with a fixed
 * Content-Length. An error of the guard aborts the HTTP request (the backend then records nothing);
 * `failure()` says why, so it can win over whatever the aborted request reported: the size
 * mismatch, or BAD_INPUT 'body-failed' when the body itself failed.
 */
export function guardLength(body: Readable, size: number): { stream: Readable; failure: () => AppError | null } {
  const guard = new ExactLength(size);
  let bodyFailure: AppError | null = null;
  pipeline(body, guard, (error) => {
    if (error && !guard.failure) bodyFailure ??= badInput('body-failed', 'the body stream failed', error);
  });
  return { stream: guard, failure: () => guard.failure ?? bodyFailure };
}
