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

export interface Splicer {
  /**
   * Moves exactly `bytes` from `from` to `to`. Fails on the first error of either socket, on
   * `idleTimeoutMs` without progress, or when `signal` aborts; never throws for those.
   */
  move(from: Socket, to: Socket, bytes: number, options: { idleTimeoutMs: number; signal?: AbortSignal }): Promise<SpliceOutcome>;
}

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

function splicerOf(addon: Addon): Splicer {
  return {
    move(from, to, bytes, { idleTimeoutMs, signal }) {
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
    },
  };
}

let loaded: Splicer | null | undefined;

/** The splicer, or null where the addon is not built or cannot load here. Loaded once. */
export function loadSplicer(): Splicer | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform !== 'linux' || !existsSync(ADDON)) return loaded;
  try {
    loaded = splicerOf(createRequire(import.meta.url)(ADDON) as Addon);
  } catch {
    // Built for another Node ABI or libc: streaming through this process still works.
    loaded = null;
  }
  return loaded;
}
