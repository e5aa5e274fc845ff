/**
 * Retention of the activity log (ACTIVITY_RETENTION_DAYS): deletes events older than that in
 * bounded batches, so one sweep never holds a long lock or a huge transaction; what is left over
 * goes with the next sweep.
 */
import type { Logger } from '../platform/logger.ts';
import { every, type Periodic } from '../platform/periodic.ts';
import type { ActivityRepository } from './activity.repository.ts';

export const SWEEP_BATCH = 1000;
/** Batches one sweep deletes at most (then the next sweep goes on). */
export const SWEEP_MAX_BATCHES = 50;

export class ActivitySweeper {
  private timer: Periodic | undefined;

  constructor(
    private readonly repo: ActivityRepository,
    private readonly retentionDays: number,
    private readonly log: Logger,
    private readonly now: () => Date = () => new Date(),
    private readonly batch = SWEEP_BATCH,
  ) {}

  /** Deletes events past retention; returns how many went. */
  async sweep(): Promise<number> {
    const before = new Date(this.now().getTime() - this.retentionDays * 86_400_000);
    let deleted = 0;
    for (let i = 0; i < SWEEP_MAX_BATCHES; i++) {
      const n = await this.repo.deleteOlderThan(before, this.batch);
      deleted += n;
      if (n < this.batch) break;
    }
    return deleted;
  }

  start(intervalMs = 3_600_000): void {
    this.timer = every(intervalMs, () => this.sweep(), (error) => this.log.warn({ err: error }, 'activity retention sweep failed'));
  }

  stop(): void {
    this.timer?.stop();
  }
}
