/**
 * `stratus_upload_sessions{status}`: upload sessions by status, read at scrape time from
 * upload_sessions in one grouped statement, at most once per 15 s (platform/cached-gauge.ts), by
 * the process that runs the uploads service (so a cluster reports it once per uploads replica:
 * query it with max(), not sum()). Every status is reported, 0 when none is in it.
 */
import { cachedGauge } from '../platform/cached-gauge.ts';
import type { Runtime } from '../platform/runtime.ts';
import { UPLOAD_STATUSES } from './session-status.machine.ts';
import type { UploadsRepository } from './uploads.repository.ts';

export const UPLOAD_SESSIONS_TTL_MS = 15_000;

export function registerUploadGauges(runtime: Pick<Runtime, 'metrics' | 'log'>, sessions: UploadsRepository): void {
  cachedGauge({
    registry: runtime.metrics.registry,
    name: 'stratus_upload_sessions',
    help: 'Upload sessions by status (read from the database at most every 15 s)',
    labelNames: ['status'],
    ttlMs: UPLOAD_SESSIONS_TTL_MS,
    log: runtime.log,
    read: async () => {
      const counts = await sessions.countByStatus();
      return UPLOAD_STATUSES.map((status) => ({ labels: { status }, value: counts.get(status) ?? 0 }));
    },
  });
}
