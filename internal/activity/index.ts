/**
 * The activity log: events written by the write paths in their own transactions (recordEvent),
 * read through the `files.activity` procedures, swept after ACTIVITY_RETENTION_DAYS.
 */
import type { Runtime } from '../platform/runtime.ts';
import { activityRouter } from './activity.router.ts';
import { ActivityRepository } from './activity.repository.ts';
import { ActivityService, type FileOwnership } from './activity.service.ts';
import { ActivitySweeper } from './activity.sweeper.ts';

export function createActivity(runtime: Runtime, ownsFile: FileOwnership, options: { sweepIntervalMs?: number } = {}) {
  const repo = new ActivityRepository(runtime.orm);
  const service = new ActivityService(repo, ownsFile);
  const sweeper = new ActivitySweeper(repo, runtime.config.activityRetentionDays, runtime.log);
  sweeper.start(options.sweepIntervalMs);
  runtime.onClose(() => sweeper.stop());
  return { repo, service, sweeper, router: activityRouter(service) };
}

export { deleteEvent, eventId, recordEvent, recordEvents, ActivityRepository } from './activity.repository.ts';
export { ACTIVITY_ACTIONS, eventBy, securityEventBy, shortenAddress, type ActivityAction, type ActivityInput } from './activity.actions.ts';
export { ACTIVITY_MAX_PAGE, type ActivityConnection, type ActivityEventDto } from './activity.service.ts';
export type { ActivityRouter } from './activity.router.ts';
export { activityEntities } from './activity.entities.ts';
