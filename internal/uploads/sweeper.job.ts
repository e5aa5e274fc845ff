/**
 * Expires idle upload sessions (default 24 h without activity): aborts their backend multipart
 * uploads (or deletes their assembled object) so no partial bytes stay stored, drops their
 * receipts, and tells subscribers. Recovers completions that died with their process
 * (completion-recovery.service.ts). Finished rows are deleted after a week.
 */
import type { Logger } from '../platform/logger.ts';
import type { SessionCore, UploadsDeps } from './session.core.ts';

export const FINISHED_RETENTION_MS = 7 * 24 * 3_600_000;
/** Temporary files untouched this long were left by a crash (a live body is written every second). */
export const TEMPORARY_MAX_AGE_MS = 3_600_000;

export class UploadSweeper {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly core: SessionCore,
    private readonly deps: UploadsDeps,
    private readonly log: Logger,
  ) {}

  async sweep(): Promise<number> {
    const now = this.core.now();
    let expired = 0;
    for (const row of await this.deps.sessions.findCompleting(200)) {
      await this.core.recover(row).catch((error: unknown) => this.log.warn({ err: error, session: row.id }, 'recovery of an interrupted completion failed'));
    }
    for (const row of await this.deps.sessions.findExpired(now, 200)) {
      // A completion at work holds its lease: it is not expired under it.
      if (row.status === 'COMPLETING') continue;
      if (!(await this.core.moveTo(row, 'EXPIRED'))) continue;
      await this.core.dropBytes(row).catch((error: unknown) => this.log.warn({ err: error, session: row.id }, 'removing the bytes of an expired upload failed'));
      await this.deps.receipts.clear(row.id);
      expired++;
    }
    await this.deps.sessions.deleteFinishedBefore(new Date(now.getTime() - FINISHED_RETENTION_MS));
    await this.sweepTemporary();
    return expired;
  }

  /** Temporary files of the stores (local multipart parts of a dead completion, half-written bodies). */
  async sweepTemporary(): Promise<number> {
    let cleaned = 0;
    for (const { name } of this.deps.storage.backends()) {
      try {
        cleaned += (await this.deps.storage.store(name).sweepTemporary?.(TEMPORARY_MAX_AGE_MS)) ?? 0;
      } catch (error) {
        this.log.warn({ err: error, backend: name }, 'cleaning temporary files failed');
      }
    }
    return cleaned;
  }

  start(intervalMs = 60_000): void {
    // What the previous process left behind is cleaned at start, then with every sweep.
    this.sweepTemporary().catch(() => undefined);
    this.timer = setInterval(() => {
      this.sweep().catch((error: unknown) => this.log.warn({ err: error }, 'upload sweep failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
