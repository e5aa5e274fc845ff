/** The activity log as the web app reads it: a page of events, and the words for each action. */
import { gql } from './api.ts';
import { ActivityDocument, type ActivityAction, type ActivityQuery } from './graphql.generated.ts';

export type ActivityEvent = ActivityQuery['activity']['edges'][number]['node'];

export const ACTIVITY_PAGE = 50;

export async function loadActivity(after: string | null, fileId: string | null = null): Promise<ActivityQuery['activity']> {
  return (await gql(ActivityDocument, { first: ACTIVITY_PAGE, after, fileId })).activity;
}

/** What happened, in words (schema.graphql ActivityAction; a table over every action, so a new one fails to compile here). */
const LABELS: Record<ActivityAction, string> = {
  UPLOADED: 'Uploaded',
  VERSION_ADDED: 'New version',
  RENAMED: 'Renamed',
  MOVED: 'Moved',
  TRASHED: 'Moved to trash',
  RESTORED: 'Restored',
  PURGED: 'Deleted for good',
  SHARE_CREATED: 'Share link created',
  SHARE_OPENED: 'Share link opened',
  SHARE_DOWNLOADED: 'Downloaded through a share',
  DROP_RECEIVED: 'Received through an upload link',
  TOKEN_CREATED: 'Access token created',
  SIGNED_IN: 'Signed in',
  SIGN_IN_FAILED: 'Failed sign-in',
  PASSWORD_CHANGED: 'Password changed',
  TOKEN_REVOKED: 'Access revoked',
  ADMIN_ACTION: 'Administrator action',
};

export function actionLabel(action: ActivityAction): string {
  return LABELS[action];
}

/** A short name for a browser's User-Agent ("Firefox on Linux"); the whole string is in the title. */
export function deviceOf(userAgent: string | null): string {
  if (!userAgent) return '';
  const browser = /Edg\//.test(userAgent) ? 'Edge' : /Firefox\//.test(userAgent) ? 'Firefox' : /Chrom(e|ium)\//.test(userAgent) ? 'Chrome' : /Safari\//.test(userAgent) ? 'Safari' : null;
  const os = /Windows/.test(userAgent) ? 'Windows' : /Android/.test(userAgent) ? 'Android' : /iPhone|iPad/.test(userAgent) ? 'iOS' : /Mac OS X/.test(userAgent) ? 'macOS' : /Linux/.test(userAgent) ? 'Linux' : null;
  if (browser && os) return `${browser} on ${os}`;
  return browser ?? os ?? userAgent.slice(0, 40);
}
