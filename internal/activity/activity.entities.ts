/**
 * Database model of the activity log: one row per thing that happened to a person's drive or
 * account, written in the same transaction as the change it records (activity.repository.ts
 * `recordEvent`), so a refused operation leaves no event and a done one always has its event.
 *
 * - `ownerId` is whose log it is; null only for a failed sign-in with an unknown login (the audit
 *   log shows it, nobody's activity does).
 * - `fileName` is the name at the time: the file may be renamed or purged later (`file` in the API
 *   is then the live file or null, and the name stays readable here).
 * - `ip` is already shortened (IPv4 /24, IPv6 /48) before it is stored.
 * - `security` marks the events the administrators' audit log lists (sign-ins, tokens, password
 *   changes, administrators' actions).
 * - `detail` says what the action alone does not: which token was revoked (or `all_logins` for
 *   logoutAll), how a password changed (`changed`, `reset`), which administrator operation ran
 *   (`retryTransfer <job id>`). Null for every other event.
 */
import { EntitySchema } from '@mikro-orm/core';

export class ActivityEventRow {
  id!: string;
  ownerId!: string | null;
  action!: string;
  fileId!: string | null;
  fileName!: string | null;
  shareId!: string | null;
  actorName!: string | null;
  ip!: string | null;
  userAgent!: string | null;
  detail!: string | null;
  security!: boolean;
  at!: Date;
}

export const ActivityEventSchema = new EntitySchema<ActivityEventRow>({
  class: ActivityEventRow,
  tableName: 'activity_events',
  indexes: [
    { name: 'activity_owner_at_idx', properties: ['ownerId', 'at', 'id'] },
    { name: 'activity_owner_file_idx', properties: ['ownerId', 'fileId', 'at'] },
    { name: 'activity_security_at_idx', properties: ['security', 'at', 'id'] },
    { name: 'activity_at_idx', properties: ['at'] },
  ],
  properties: {
    id: { type: 'string', primary: true, length: 36 },
    ownerId: { type: 'string', length: 36, nullable: true },
    action: { type: 'string', length: 24 },
    fileId: { type: 'string', length: 36, nullable: true },
    fileName: { type: 'string', length: 255, nullable: true },
    shareId: { type: 'string', length: 36, nullable: true },
    actorName: { type: 'string', length: 254, nullable: true },
    ip: { type: 'string', length: 64, nullable: true },
    userAgent: { type: 'string', length: 255, nullable: true },
    detail: { type: 'string', length: 128, nullable: true },
    security: { type: 'boolean', default: false },
    at: { type: 'datetime', length: 3 },
  },
});

export const activityEntities = [ActivityEventSchema];
