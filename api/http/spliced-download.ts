/**
 * A download's body spliced (splice-body.ts) where it can be, for download.handler.ts: whether it
 * can (`spliceable`), and what follows the splice (`spliceFirst`): counted and done, or a new read
 * of the rest when the store broke off.
 */
import type { Response } from 'express';
import type { Logger } from '../../internal/platform/logger.ts';
import type { SpliceSlot, Splicer } from '../../internal/platform/splice.ts';
import type { GetResult, TakenConnection } from '../../internal/storage/index.ts';
import type { Counting } from './download.handler.ts';
import { canSplice, spliceBody } from './splice-body.ts';

/**
 * The body's connection and a place among the splicer's moves, when both are there and the
 * response is a plain HTTP/1.1 socket; else null, and the body streams (past the splicer's limit too).
 */
export function spliceable(res: Response, object: GetResult, splicer: Splicer | null | undefined): { slot: SpliceSlot; taken: TakenConnection } | null {
  if (!splicer || !object.takeConnection || !canSplice(res)) return null;
  const slot = splicer.reserve();
  if (!slot) return null;
  const taken = object.takeConnection();
  if (taken) return { slot, taken };
  slot.release();
  return null;
}

/**
 * The body spliced from the store's connection into the client's (splice-body.ts). Null when the
 * download has ended (sent, or the client gone); else the store broke off, and what is returned
 * is a new read of the rest and where it starts, for the caller to stream.
 */
export async function spliceFirst(
  res: Response,
  taken: TakenConnection,
  slot: SpliceSlot,
  etag: string,
  get: (offset: number) => Promise<GetResult>,
  log: Logger,
  options: Counting,
): Promise<{ object: GetResult; offset: number } | null> {
  const spliced = await spliceBody(taken, res, slot);
  options.meter?.spliced(spliced.spliced);
  switch (spliced.kind) {
    case 'sent':
      options.count('ok', spliced.sent);
      await options.onSent?.(options.endsFile);
      return null;
    case 'client-gone':
      options.count('aborted', spliced.sent);
      log.debug({ sent: spliced.sent }, 'download interrupted: the client went away');
      return null;
    case 'source-failed':
      break;
    default:
      return unreachable(spliced);
  }
  // The head and `sent` bytes are out: the rest is streamed from a new GET.
  log.debug({ sent: spliced.sent, reason: spliced.reason }, 'spliced download broke off: going on from a new read');
  const offset = spliced.sent;
  const object = await get(offset).catch((error: unknown) => {
    options.count('failed', offset);
    res.destroy();
    throw error;
  });
  if (object.etag !== etag) {
    // Blobs never change; if this one did, the rest would not continue the bytes sent.
    object.body.destroy();
    options.count('failed', offset);
    res.destroy();
    return null;
  }
  return { object, offset };
}

function unreachable(value: never): never {
  throw new Error(`unexpected: ${JSON.stringify(value)}`);
}
