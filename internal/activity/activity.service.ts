/**
 * Reads of the activity log: a person's own events (all, or one file's), and the administrators'
 * audit log of everyone's security events. Newest first, keyset-paged by (at, id) with an opaque
 * cursor. The events themselves are written by the write paths (activity.repository.ts recordEvent).
 */
import { AppError } from '../platform/errors.ts';
import type { Viewer } from '../platform/request-context.ts';
import type { ActivityAction } from './activity.actions.ts';
import type { ActivityEventRow } from './activity.entities.ts';
import type { ActivityRepository, EventCursor, EventFilter } from './activity.repository.ts';

/** The most events one page returns (`first`; api/graphql/list-sizes.ts prices by it). */
export const ACTIVITY_MAX_PAGE = 200;

export interface ActivityEventDto {
  id: string;
  at: string;
  action: ActivityAction;
  fileId: string | null;
  fileName: string | null;
  shareId: string | null;
  actorName: string | null;
  ip: string | null;
  userAgent: string | null;
  detail: string | null;
}

export interface ActivityConnection {
  edges: { cursor: string; node: ActivityEventDto }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export interface ActivityPage {
  first: number;
  after?: string | undefined;
}

/** Whether the person has (or had, trashed) a file with this id: `activity(fileId:)` of another person's is NOT_FOUND. */
export type FileOwnership = (ownerId: string, fileId: string) => Promise<boolean>;

export class ActivityService {
  constructor(
    private readonly repo: ActivityRepository,
    private readonly ownsFile: FileOwnership,
  ) {}

  async list(viewer: Viewer, page: ActivityPage, fileId?: string | null): Promise<ActivityConnection> {
    const filter: EventFilter = { ownerId: viewer.userId, ...(fileId ? { fileId } : {}) };
    const connection = await this.page(filter, page);
    // Events of the viewer's prove the file was theirs (also once purged); none: it must be theirs now.
    if (fileId && connection.edges.length === 0 && !page.after && !(await this.ownsFile(viewer.userId, fileId))) {
      throw new AppError('NOT_FOUND', 'No such file or folder');
    }
    return connection;
  }

  /** Everyone's security events; administrators only (the router checks, and so does this). */
  async auditLog(viewer: Viewer, page: ActivityPage): Promise<ActivityConnection> {
    if (!viewer.isAdmin) throw new AppError('FORBIDDEN', 'Administrators only');
    return this.page({ securityOnly: true }, page);
  }

  private async page(filter: EventFilter, page: ActivityPage): Promise<ActivityConnection> {
    if (!Number.isInteger(page.first) || page.first < 0 || page.first > ACTIVITY_MAX_PAGE) {
      throw new AppError('BAD_INPUT', `first must be between 0 and ${ACTIVITY_MAX_PAGE}`, { details: { field: 'first', reason: 'page_size' } });
    }
    const after = page.after ? decodeCursor(page.after) : null;
    const rows = page.first === 0 ? [] : await this.repo.page(filter, page.first + 1, after);
    const edges = rows.slice(0, page.first).map((row) => ({ cursor: encodeCursor(row), node: toDto(row) }));
    return { edges, pageInfo: { hasNextPage: rows.length > page.first, endCursor: edges.at(-1)?.cursor ?? null } };
  }
}

function toDto(row: ActivityEventRow): ActivityEventDto {
  return {
    id: row.id, at: row.at.toISOString(), action: row.action as ActivityAction, fileId: row.fileId, fileName: row.fileName,
    shareId: row.shareId, actorName: row.actorName, ip: row.ip, userAgent: row.userAgent, detail: row.detail,
  };
}

function encodeCursor(row: ActivityEventRow): string {
  return Buffer.from(JSON.stringify({ t: row.at.getTime(), id: row.id })).toString('base64url');
}

function decodeCursor(after: string): EventCursor {
  const invalid = () => new AppError('BAD_INPUT', 'Invalid cursor', { details: { field: 'after', reason: 'invalid_cursor' } });
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const c = parsed as { t?: unknown; id?: unknown } | null;
  if (!c || typeof c.t !== 'number' || !Number.isFinite(c.t) || typeof c.id !== 'string' || c.id.length > 36) throw invalid();
  return { at: new Date(c.t), id: c.id };
}
