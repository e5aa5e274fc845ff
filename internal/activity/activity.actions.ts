/**
 * The closed set of activity actions (schema.graphql `ActivityAction`, the same names), which of
 * them the audit log shows, and how an event takes the request's origin: the client address
 * shortened to its network (IPv4 /24, IPv6 /48) — a person's log says where from, not which
 * device — and the User-Agent cut to the column's length.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { currentContext } from '../platform/request-context.ts';

export const ACTIVITY_ACTIONS = [
  'UPLOADED', 'VERSION_ADDED', 'RENAMED', 'MOVED', 'TRASHED', 'RESTORED', 'PURGED',
  'SHARE_CREATED', 'SHARE_OPENED', 'SHARE_DOWNLOADED', 'DROP_RECEIVED',
  'TOKEN_CREATED', 'SIGNED_IN', 'SIGN_IN_FAILED',
  // Beyond the list (additive): the rest of the audit log's security events.
  'PASSWORD_CHANGED', 'TOKEN_REVOKED', 'ADMIN_ACTION',
] as const;
export type ActivityAction = (typeof ACTIVITY_ACTIONS)[number];

/**
 * Which actions the administrators' audit log lists (security events). A table over every action
 * (not a default): a new action fails to compile until it is placed here.
 */
const SECURITY: Record<ActivityAction, boolean> = {
  UPLOADED: false, VERSION_ADDED: false, RENAMED: false, MOVED: false, TRASHED: false, RESTORED: false, PURGED: false,
  SHARE_CREATED: false, SHARE_OPENED: false, SHARE_DOWNLOADED: false, DROP_RECEIVED: false,
  TOKEN_CREATED: true, SIGNED_IN: true, SIGN_IN_FAILED: true, PASSWORD_CHANGED: true, TOKEN_REVOKED: true, ADMIN_ACTION: true,
};

/** Whether the administrators' audit log lists events of this action (security events). */
export function isSecurityAction(action: ActivityAction): boolean {
  return SECURITY[action];
}

/** What a write path says about its event; the origin (address, browser) comes from the request. */
export interface ActivityInput {
  /** Chosen by the caller only when it may have to take the event back (activity.repository.ts deleteEvent). */
  id?: string;
  ownerId: string | null;
  action: ActivityAction;
  file?: { id: string; name: string } | null;
  /** The share (or file-drop link) the event went through. */
  shareId?: string | null;
  /** Who did it: the person's username, a drop's uploader name, the login tried; null for a visitor. */
  actorName?: string | null;
  /** What exactly, where the action alone does not say (activity.entities.ts `detail`). */
  detail?: string | null;
}

export interface ActivityOrigin {
  ip: string | null;
  userAgent: string | null;
}

export const USER_AGENT_MAX = 255;

/** The current request's client address (shortened) and User-Agent, or nulls outside a request. */
export function requestOrigin(): ActivityOrigin {
  const rc = currentContext();
  const userAgent = rc?.userAgent ? rc.userAgent.slice(0, USER_AGENT_MAX) : null;
  return { ip: shortenAddress(rc?.ip), userAgent };
}

/**
 * The network of an address: `203.0.113.0/24` keeps `203.0.113.0`, `2001:db8:1:2::5` keeps
 * `2001:db8:1::` (/48). An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`, what a dual-stack
 * socket reports) is its IPv4 address. Anything else is not stored (null).
 */
export function shortenAddress(address: string | undefined | null): string | null {
  if (!address) return null;
  const bare = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  const v4 = mapped?.[1] ?? bare;
  if (isIPv4(v4)) return `${v4.split('.').slice(0, 3).join('.')}.0`;
  if (!isIPv6(bare)) return null;
  const groups = expandIPv6(bare);
  if (!groups) return null;
  return `${groups.slice(0, 3).map((g) => g.toString(16)).join(':')}::`;
}

/** The eight 16-bit groups of a valid IPv6 address (a trailing dotted IPv4 part included). */
function expandIPv6(address: string): number[] | null {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const part = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = part(head);
  const right = tail === undefined ? [] : part(tail);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return null;
  return [...left, ...new Array<number>(missing).fill(0), ...right];
}

/** The event of something the signed-in person did to one of their items. */
export function eventBy(viewer: { userId: string; username: string }, action: ActivityAction, file?: { id: string; name: string } | null, shareId?: string | null): ActivityInput {
  return { ownerId: viewer.userId, action, file: file ? { id: file.id, name: file.name } : null, shareId: shareId ?? null, actorName: viewer.username || null };
}

/** The event of a security change to the signed-in person's account, saying which one in `detail`. */
export function securityEventBy(viewer: { userId: string; username: string }, action: ActivityAction, detail: string): ActivityInput {
  return { ...eventBy(viewer, action), detail };
}
