/**
 * Decides which blobs must move, and enqueues them:
 * - `afterUpload`: the hook the uploads service calls after a completion; a blob that landed on a
 *   staging (or draining) backend is queued for its destination at once.
 * - `sweep`: every blob on a draining or staging backend, in batches; run at start, whenever the
 *   routing config changes (StorageRouter.onChange), and on an interval as a safety net (a hook
 *   that failed, an upload by another path, a job row whose message was lost).
 * Enqueuing is idempotent (one live job per blob), so overlapping sweeps cost queries, not moves.
 */
import type { Logger } from '../platform/logger.ts';
import type { StorageRouter } from '../storage/index.ts';
import { destinationOf } from './destinations.rules.ts';
import type { TransferRepository } from './transfer.repository.ts';
import type { TransferService } from './transfer.service.ts';

const BATCH = 200;
/** Publishes confirmed concurrently within a batch: one broker round trip per batch, not per blob. */
const PARALLEL = 20;
const STALE_QUEUED_MS = 5 * 60_000;

export class TransferDrainer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private again = false;
  private off: (() => void) | undefined;

  constructor(
    private readonly storage: StorageRouter,
    private readonly repo: TransferRepository,
    private readonly service: TransferService,
    private readonly log: Logger,
  ) {}

  /** Sweeps now, on every routing change and every `intervalMs`. */
  start(intervalMs = 5 * 60_000): void {
    // trigger() never rejects: a failed sweep is logged and the next one tries again.
    this.off = this.storage.onChange(() => void this.trigger());
    this.timer = setInterval(() => void this.trigger(), intervalMs);
    this.timer.unref();
    void this.trigger();
  }

  async stop(): Promise<void> {
    this.off?.();
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  async afterUpload(stored: { backend: string; contentHash: string; size: number }): Promise<void> {
    try {
      const to = destinationOf(this.storage.backends(), stored.backend);
      if (!to) return;
      const blob = await this.repo.findBlobByContent(stored.contentHash, stored.size);
      // A duplicate upload links the blob that exists, wherever it is: that one is what counts.
      if (!blob || blob.backend !== stored.backend) return;
      await this.service.enqueue({ blobId: blob.id, from: stored.backend, to, mode: 'move' });
    } catch (error) {
      // The upload itself succeeded; the next sweep queues the move.
      this.log.warn({ err: error, backend: stored.backend }, 'transfer after upload not queued');
    }
  }

  /** One sweep; a trigger while one runs schedules exactly one more. Resolves to the jobs queued. */
  trigger(): Promise<number> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let total = 0;
      do {
        this.again = false;
        total += await this.sweep();
      } while (this.again);
      return total;
    })()
      .catch((error: unknown) => {
        this.log.error({ err: error }, 'transfer sweep failed');
        return 0;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async sweep(): Promise<number> {
    const backends = this.storage.backends();
    let queued = 0;
    for (const backend of backends) {
      const to = destinationOf(backends, backend.name);
      if (!to) continue;
      let after = '';
      let here = 0;
      for (;;) {
        const ids = await this.repo.blobIdsOn(backend.name, after, BATCH);
        for (let i = 0; i < ids.length; i += PARALLEL) {
          await Promise.all(ids.slice(i, i + PARALLEL).map((blobId) => this.service.enqueue({ blobId, from: backend.name, to, mode: 'move' })));
        }
        here += ids.length;
        const last = ids.at(-1);
        if (last === undefined || ids.length < BATCH) break;
        after = last;
      }
      if (here > 0) this.log.info({ from: backend.name, to, blobs: here }, 'transfers queued by sweep');
      queued += here;
    }
    await this.service.republishStale(new Date(Date.now() - STALE_QUEUED_MS));
    return queued;
  }
}
