/**
 * The periodic age sweep of versions (VERSIONS_MAX_AGE_DAYS > 0): retention also runs whenever a
 * version is added, but a file nobody changes would keep old versions forever without this.
 * Hourly by default; a failed run is logged and the next one tries again.
 */
import type { Logger } from '../../platform/logger.ts';
import { every, type Periodic } from '../../platform/periodic.ts';
import type { VersionsService } from './versions.service.ts';

export const VERSION_SWEEP_INTERVAL_MS = 3_600_000;

export class VersionSweeper {
  private timer: Periodic | undefined;

  constructor(
    private readonly versions: VersionsService,
    private readonly log: Logger,
  ) {}

  start(intervalMs = VERSION_SWEEP_INTERVAL_MS): void {
    // runOnce logs its own failures.
    this.timer ??= every(intervalMs, () => this.runOnce(), () => undefined);
  }

  stop(): void {
    this.timer?.stop();
    this.timer = undefined;
  }

  async runOnce(): Promise<number> {
    try {
      const count = await this.versions.sweep();
      if (count > 0) this.log.info({ count }, 'old versions pruned');
      return count;
    } catch (error) {
      this.log.warn({ err: error }, 'version sweep failed');
      return 0;
    }
  }
}
