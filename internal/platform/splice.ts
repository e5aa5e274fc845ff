/**
 * Bytes moved from one TCP socket to another inside the kernel (native/splice: splice(2) through a
 * pipe, on a thread of its own), for proxied downloads: the object store's socket straight into
 * the client's, with no copy into this process and back. Linux only; where the addon was not built
 * (no toolchain at install, another OS) `loadSplicer` answers null and callers stream as before.
 *
 * The caller owns both sockets and must neither read the source nor write the target until the
 * move has settled (the addon works on duplicates of their descriptors, so destroying one meanwhile
 * is safe: the move stops at once, cancelled).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type SpliceSide = 'source' | 'target';

/** How a move ended: every byte moved, or stopped with whose fault it was. */
export type SpliceOutcome =
  | { ok: true; moved: number }
  | {
      ok: false;
      moved: number;
      /** An errno name (EPIPE, ECONNRESET…), EOF (the source closed early), ETIMEDOUT or ECANCELED. */
      code: string;
      /** Null for a cancel or a failure of neither socket. */
      side: SpliceSide | null;
    };

export interface SpliceOptions {
  idleTimeoutMs: number;
  signal?: AbortSignal;
}

export interface Splicer {
  /**
   * A place for one move, or null when `maxMoves` are already under way. Each move is a thread, a
   * pipe and two descriptors: a flood of slow downloads must not make threads without bound, so
   * past the limit the caller streams instead. The place is given back when its move settles, or
   * by `release` when it goes unused.
   */
  reserve(): SpliceSlot | null;
}

export interface SpliceSlot {
  /**
   * Moves exactly `bytes` from `from` to `to`. Fails on the first error of either socket, on
   * `idleTimeoutMs` without progress, or when `signal` aborts; never throws for those. Once only.
   */
  move(from: Socket, to: Socket, bytes: number, options: SpliceOptions): Promise<SpliceOutcome>;
  /** Gives the place back unused (a no-op once given back). */
  release(): void;
}

/** Moves at once, by default: past it, downloads stream through the process. */
export const SPLICE_MAX_MOVES = 256;

interface Addon {
  start(from: number, to: number, bytes: number, idleMs: number, done: (code: string | null, side: SpliceSide | null, moved: number) => void): object;
  cancel(handle: object): void;
}

const ADDON = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../native/splice/build/Release/splice.node');

/**
 * The descriptor of a plain TCP socket, or null: a TLS socket (its bytes must be encrypted in this
 * process), a socket without a handle yet or any more, or a stream that is no socket at all.
 */
export function descriptorOf(socket: Socket | null | undefined): number | null {
  if (!socket || socket.destroyed || 'encrypted' in socket) return null;
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : null;
}

/** Bytes each socket was sent by splices: `socket.bytesWritten` counts only what went through Node. */
const splicedInto = new WeakMap<Socket, number>();

/** Everything written to `socket` so far, through Node and spliced (what an access log counts). */
export function bytesWrittenTo(socket: Socket): number {
  return socket.bytesWritten + (splicedInto.get(socket) ?? 0);
}

function moveWith(addon: Addon, from: Socket, to: Socket, bytes: number, { idleTimeoutMs, signal }: SpliceOptions): Promise<SpliceOutcome> {
  const source = descriptorOf(from);
  const target = descriptorOf(to);
  if (source === null || target === null) return Promise.resolve({ ok: false, moved: 0, code: 'EBADF', side: source === null ? 'source' : 'target' });
  if (signal?.aborted) return Promise.resolve({ ok: false, moved: 0, code: 'ECANCELED', side: null });
  return new Promise((resolve) => {
    const handle = addon.start(source, target, bytes, Math.max(1, Math.round(idleTimeoutMs)), (code, side, moved) => {
      signal?.removeEventListener('abort', stop);
      if (moved > 0) splicedInto.set(to, (splicedInto.get(to) ?? 0) + moved);
      resolve(code === null ? { ok: true, moved } : { ok: false, moved, code, side });
    });
    const stop = () => addon.cancel(handle);
    signal?.addEventListener('abort', stop, { once: true });
  });
}

function splicerOf(addon: Addon, maxMoves: number): Splicer {
  let active = 0;
  return {
    reserve() {
      if (active >= maxMoves) return null;
      active++;
      let held = true;
      const release = () => {
        if (held) active--;
        held = false;
      };
      return {
        release,
        async move(from, to, bytes, options) {
          if (!held) return { ok: false, moved: 0, code: 'EINVAL', side: null };
          try {
            return await moveWith(addon, from, to, bytes, options);
          } finally {
            release();
          }
        },
      };
    },
  };
}

let addon: Addon | null | undefined;

/**
 * A splicer of at most `maxMoves` moves at once, or null where the addon is not built or cannot
 * load here (the addon is loaded once).
 */
export function loadSplicer(maxMoves = SPLICE_MAX_MOVES): Splicer | null {
  if (addon === undefined) {
    addon = null;
    if (process.platform === 'linux' && existsSync(ADDON)) {
      try {
        addon = createRequire(import.meta.url)(ADDON) as Addon;
      } catch {
        // Built for another Node ABI or libc: streaming through this process still works.
        addon = null;
      }
    }
  }
  return addon ? splicerOf(addon, maxMoves) : null;
}
