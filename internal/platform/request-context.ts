/**
 * Per-request context carried through async calls (AsyncLocalStorage): the request id for logs,
 * the caller's credentials for service calls, and whether this request has written (so later
 * reads in the same request go to the primary database).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What a personal access token may do: READ (queries, downloads) or WRITE (everything else too). */
export type AccessScope = 'READ' | 'WRITE';

export interface Viewer {
  userId: string;
  username: string;
  isAdmin: boolean;
  /**
   * Set when the caller signed in with a personal access token (internal/accounts
   * access-tokens.service.ts): its id and scopes. Absent: a session (password login) — every scope.
   */
  accessTokenId?: string;
  scopes?: readonly AccessScope[];
  /**
   * The login (refresh-token family) the access token was issued to, its `sid` claim: ending that
   * login refuses the token at once (internal/platform/auth/session-revocations.ts).
   */
  sessionId?: string;
}

export interface RequestContext {
  requestId: string;
  /** The raw access token presented by the client; forwarded on service calls across processes. */
  accessToken?: string;
  viewer?: Viewer;
  /** Client address, for rate limits. */
  ip?: string;
  /** The client's User-Agent, for the activity log (internal/activity). */
  userAgent?: string;
  /**
   * Set once this request wrote to the database (by the database layer, or from the calling
   * service's `x-stratus-wrote` header): later reads use the primary.
   */
  wrote?: boolean;
  /** The viewer wrote within the read-your-writes window (KV marker `rw:<userId>`): reads use the primary. */
  recentWriter?: boolean;
  /** Tracing off: the caller's W3C trace context, passed on unchanged (platform/tracing). */
  traceparent?: string;
  tracestate?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

export function newRequestId(fromHeader?: string | string[]): string {
  const value = Array.isArray(fromHeader) ? fromHeader[0] : fromHeader;
  // A caller-supplied id is kept only when it is short and harmless, so it cannot inject into logs.
  return value && /^[A-Za-z0-9._-]{1,64}$/.test(value) ? value : randomUUID();
}
