/**
 * The only code of the activity log that touches the database. `recordEvent` runs inside the
 * transaction of the change it records (the caller's EntityManager): one INSERT, so the event
 * commits or rolls back with that change.
 */
import { randomBytes } from 'node:crypto';
import type { EntityManager, FilterQuery } from '@mikro-orm/core';
import type { Orm } from '../platform/db/orm.ts';
import { isSecurityAction, requestOrigin, type ActivityInput } from './activity.actions.ts';
import { ActivityEventRow } from './activity.entities.ts';

const NAME_MAX = 255;
const ACTOR_MAX = 254;
const DETAIL_MAX = 128;

let lastMs = -1;
let sequence = 0;

/**
 * A UUIDv7-shaped id that sorts as the events were written: the millisecond first, then a counter
 * within it (this process), then random bits. Pages are ordered by (at, id), so two events of one
 * millisecond (a transaction's, or a fast sequence's) still come newest first.
 */
export function eventId(at: Date): string {
  const ms = at.getTime();
  sequence = ms === lastMs ? (sequence + 1) & 0xfff : 0;
  lastMs = ms;
  const time = Math.max(0, ms).toString(16).padStart(12, '0');
  const random = randomBytes(8).toString('hex');
  const variant = ((parseInt(random.slice(0, 1), 16) & 0x3) | 0x8).toString(16);
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${sequence.toString(16).padStart(3, '0')}-${variant}${random.slice(1, 4)}-${random.slice(4, 16)}`;
}

/** Inserts the event with the request's origin, in `em`'s transaction (or on its own without one). */
export async function recordEvent(em: EntityManager, input: ActivityInput, at: Date = new Date()): Promise<void> {
  await em.insert(ActivityEventRow, eventRow(input, at));
}

/** Several events of one change (a batch of uploads) in one INSERT, in the caller's transaction. */
export async function recordEvents(em: EntityManager, inputs: readonly ActivityInput[], at: Date = new Date()): Promise<void> {
  if (inputs.length === 0) return;
  await em.insertMany(ActivityEventRow, inputs.map((input) => eventRow(input, at)));
}

function eventRow(input: ActivityInput, at: Date): ActivityEventRow {
  const { ip, userAgent } = requestOrigin();
  return {
    id: input.id ?? eventId(at),
    ownerId: input.ownerId,
    action: input.action,
    fileId: input.file?.id ?? null,
    fileName: input.file ? input.file.name.slice(0, NAME_MAX) : null,
    shareId: input.shareId ?? null,
    actorName: input.actorName ? input.actorName.slice(0, ACTOR_MAX) : null,
    ip,
    userAgent,
    detail: input.detail ? input.detail.slice(0, DETAIL_MAX) : null,
    security: isSecurityAction(input.action),
    at,
  };
}

/**
 * Takes an event back in the transaction that undoes what it recorded (a share download whose slot
 * is given back before any byte was sent).
 */
export async function deleteEvent(em: EntityManager, id: string): Promise<void> {
  await em.nativeDelete(ActivityEventRow, { id });
}

export interface EventCursor {
  at: Date;
  id: string;
}

export interface EventFilter {
  ownerId?: string;
  fileId?: string;
  securityOnly?: boolean;
}

export class ActivityRepository {
  constructor(private readonly orm: Orm) {}

  private em(): EntityManager {
    return this.orm.em.fork();
  }

  /** Records an event on its own (for what has no transaction of its own: a failed sign-in). */
  async record(input: ActivityInput, at?: Date): Promise<void> {
    await recordEvent(this.em(), input, at);
  }

  /** Newest first, ties by id: `limit` rows after the cursor. */
  async page(filter: EventFilter, limit: number, after: EventCursor | null): Promise<ActivityEventRow[]> {
    const where: FilterQuery<ActivityEventRow> = {
      ...(filter.ownerId !== undefined ? { ownerId: filter.ownerId } : {}),
      ...(filter.fileId !== undefined ? { fileId: filter.fileId } : {}),
      ...(filter.securityOnly ? { security: true } : {}),
      ...(after ? { $or: [{ at: { $lt: after.at } }, { at: after.at, id: { $lt: after.id } }] } : {}),
    };
    return this.em().find(ActivityEventRow, where, { orderBy: [{ at: 'desc' }, { id: 'desc' }], limit });
  }

  /** Deletes up to `batch` events older than `before`; returns how many went. */
  async deleteOlderThan(before: Date, batch: number): Promise<number> {
    const em = this.em();
    const rows = await em.find(ActivityEventRow, { at: { $lt: before } }, { fields: ['id'], limit: batch, connectionType: 'write' });
    if (rows.length === 0) return 0;
    return em.nativeDelete(ActivityEventRow, { id: { $in: rows.map((r) => r.id) } });
  }
}
