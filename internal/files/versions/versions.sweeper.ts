/**
 * The periodic age sweep of versions (VERSIONS_MAX_AGE_DAYS > 0): retention also runs whenever a
 * version is added, but a file nobody changes would keep old versions forever without this.
 * Hourly by default; a failed run is logged and the next one tries again.
 */
import type { Logger } from '../../platform/logger.ts';
import type { VersionsService } from './versions.service.ts';

export const VERSION_SWEEP_INTERVAL_MS = 3_600_000;

export class VersionSweeper {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly versions: VersionsService,
    private readonly log: Logger,
  ) {}

  start(intervalMs = VERSION_SWEEP_INTERVAL_MS): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.runOnce(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
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
