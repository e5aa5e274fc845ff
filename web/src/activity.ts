/** The activity log as the web app reads it: a page of events, and the words for each action. */
import { gql } from './api.ts';
import { ActivityDocument, type ActivityAction, type ActivityQuery } from './graphql.generated.ts';

export type ActivityEvent = ActivityQuery['activity']['edges'][number]['node'];

export const ACTIVITY_PAGE = 50;

export async function loadActivity(after: string | null, fileId: string | null = null): Promise<ActivityQuery['activity']> {
  return (await gql(ActivityDocument, { first: ACTIVITY_PAGE, after, fileId })).activity;
}

/** What happened, in words (schema.graphql ActivityAction; a new action fails to compile here). */
export function actionLabel(action: ActivityAction): string {
  switch (action) {
    case 'UPLOADED':
      return 'Uploaded';
    case 'VERSION_ADDED':
      return 'New version';
    case 'RENAMED':
      return 'Renamed';
    case 'MOVED':
      return 'Moved';
    case 'TRASHED':
      return 'Moved to trash';
    case 'RESTORED':
      return 'Restored';
    case 'PURGED':
      return 'Deleted for good';
    case 'SHARE_CREATED':
      return 'Share link created';
    case 'SHARE_OPENED':
      return 'Share link opened';
    case 'SHARE_DOWNLOADED':
      return 'Downloaded through a share';
    case 'DROP_RECEIVED':
      return 'Received through an upload link';
    case 'TOKEN_CREATED':
      return 'Access token created';
    case 'SIGNED_IN':
      return 'Signed in';
    case 'SIGN_IN_FAILED':
      return 'Failed sign-in';
  }
}

/** A short name for a browser's User-Agent ("Firefox on Linux"); the whole string is in the title. */
export function deviceOf(userAgent: string | null): string {
  if (!userAgent) return '';
  const browser = /Edg\//.test(userAgent) ? 'Edge' : /Firefox\//.test(userAgent) ? 'Firefox' : /Chrom(e|ium)\//.test(userAgent) ? 'Chrome' : /Safari\//.test(userAgent) ? 'Safari' : null;
  const os = /Windows/.test(userAgent) ? 'Windows' : /Android/.test(userAgent) ? 'Android' : /iPhone|iPad/.test(userAgent) ? 'iOS' : /Mac OS X/.test(userAgent) ? 'macOS' : /Linux/.test(userAgent) ? 'Linux' : null;
  if (browser && os) return `${browser} on ${os}`;
  return browser ?? os ?? userAgent.slice(0, 40);
}
