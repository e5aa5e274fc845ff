/**
 * Expires idle upload sessions (default 24 h without activity): aborts their backend multipart
 * uploads so no partial bytes stay stored, drops their receipts, and tells subscribers. Finished
 * rows are deleted after a week.
 */
import { AppError } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { SessionCore } from './session-core.ts';

export const FINISHED_RETENTION_MS = 7 * 24 * 3_600_000;

export class UploadSweeper {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly core: SessionCore,
    private readonly log: Logger,
  ) {}

  async sweep(): Promise<number> {
    const now = this.core.now();
    let expired = 0;
    for (const row of await this.core.repo.findExpired(now, 200)) {
      if (!(await this.core.transition(row, ['PENDING', 'UPLOADING', 'PAUSED', 'COMPLETING'], 'EXPIRED'))) continue;
      if (row.multipartId) await this.core.storage
        .store(row.backend)
        .abortMultipart(row.storageKey, row.multipartId)
        .catch((error: unknown) => {
          if (!AppError.is(error, 'NOT_FOUND')) this.log.warn({ err: error, session: row.id }, 'abort of an expired upload failed');
        });
      await this.core.receipts.clear(row.id);
      expired++;
    }
    await this.core.repo.deleteFinishedBefore(new Date(now.getTime() - FINISHED_RETENTION_MS));
    return expired;
  }

  start(intervalMs = 60_000): void {
    this.timer = setInterval(() => {
      this.sweep().catch((error: unknown) => this.log.warn({ err: error }, 'upload sweep failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
