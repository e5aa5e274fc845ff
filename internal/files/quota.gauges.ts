/**
 * `stratus_quota_near_full_users`: people whose usage is at least 90 % of their quota, read at
 * scrape time in one statement (quota-stats.repository.ts), at most once a minute
 * (platform/cached-gauge.ts), by the process that runs the files service (a cluster reports it
 * once per files replica: query it with max(), not sum()).
 */
import { cachedGauge } from '../platform/cached-gauge.ts';
import type { Runtime } from '../platform/runtime.ts';
import { QuotaStatsRepository } from './quota-stats.repository.ts';

export const QUOTA_NEAR_FULL_TTL_MS = 60_000;

export function registerQuotaGauges(runtime: Pick<Runtime, 'metrics' | 'log' | 'orm'>): void {
  const stats = new QuotaStatsRepository(runtime.orm);
  cachedGauge({
    registry: runtime.metrics.registry,
    name: 'stratus_quota_near_full_users',
    help: 'People whose usage is at least 90 % of their quota (read from the database at most every 60 s)',
    ttlMs: QUOTA_NEAR_FULL_TTL_MS,
    log: runtime.log,
    read: async () => [{ labels: {}, value: await stats.nearFull() }],
  });
}
