/**
 * The app's one door to the server: GraphQL over HTTP with the access token, silent refresh
 * (shortly before the token expires, and once on UNAUTHENTICATED), and a graphql-ws client for
 * subscriptions that always connects with the current token and hands the connection each
 * refreshed one (`refreshConnection`), so subscriptions outlive the 15-minute token.
 *
 * The refresh token never stays in JavaScript: right after sign-in it is moved into an HttpOnly,
 * SameSite=Strict cookie scoped to /auth (POST /auth/refresh with the `x-stratus-csrf` header,
 * api/http/refresh-cookie.ts), so a script injected into the page cannot read it. Only the
 * short-lived access token and the user are kept in localStorage.
 */
import { createClient, type Client } from 'graphql-ws';
import { ApiError } from './errors.ts';
import { RefreshConnectionDocument, type Operation, type RefreshConnectionMutationVariables } from './graphql.generated.ts';

const ACCESS = 'stratus.accessToken';
const USER = 'stratus.user';
/** Not a secret: says the refresh cookie should exist (the cookie itself is unreadable here). */
const SIGNED_IN = 'stratus.signedIn';
/** Where earlier versions kept the refresh token: moved into the cookie once, then removed. */
const LEGACY_REFRESH = 'stratus.refreshToken';

export interface User {
  id: string;
  username: string;
  email: string;
  /** Absent right after sign-in (the auth payload cannot resolve it): filled by the `me` query. */
  quota?: { used: number; limit: number };
}

export interface AuthPayload {
  accessToken: string;
  /** From login/register; moved into the cookie at once, never stored. */
  refreshToken?: string;
  user: User;
}

type Listener = () => void;
const listeners = new Set<Listener>();
let refreshTimer: number | undefined;
let refreshing: Promise<boolean> | null = null;

export const auth = {
  get accessToken(): string | null {
    return localStorage.getItem(ACCESS);
  },
  get user(): User | null {
    const raw = localStorage.getItem(USER);
    try {
      return raw ? (JSON.parse(raw) as User) : null;
    } catch {
      return null;
    }
  },
  signedIn(): boolean {
    return Boolean(localStorage.getItem(SIGNED_IN));
  },
  /** A sign-in's answer: its refresh token goes into the cookie (and is rotated there). */
  set(payload: AuthPayload): void {
    store(payload);
    if (payload.refreshToken) void cookieRefresh(payload.refreshToken);
  },
  setUser(user: User): void {
    localStorage.setItem(USER, JSON.stringify(user));
    emit();
  },
  clear(): void {
    localStorage.removeItem(ACCESS);
    localStorage.removeItem(USER);
    localStorage.removeItem(SIGNED_IN);
    localStorage.removeItem(LEGACY_REFRESH);
    window.clearTimeout(refreshTimer);
    resetSubscriptions();
    emit();
  },
  /** Ends this login on the server (the cookie's) and forgets it here. */
  async signOut(): Promise<void> {
    await postAuth('/auth/logout').catch(() => undefined);
    auth.clear();
  },
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

function store(payload: { accessToken: string; user: User }): void {
  localStorage.setItem(ACCESS, payload.accessToken);
  localStorage.setItem(SIGNED_IN, '1');
  localStorage.setItem(USER, JSON.stringify({ ...(auth.user?.id === payload.user.id ? auth.user : {}), ...payload.user }));
  scheduleRefresh();
  refreshConnection(payload.accessToken);
  emit();
}

function emit(): void {
  for (const l of listeners) l();
}

/** Seconds since the epoch at which a JWT expires (0 when unreadable). */
function expiryOf(token: string): number {
  try {
    const part = token.split('.')[1] ?? '';
    const json = JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: number };
    return json.exp ?? 0;
  } catch {
    return 0;
  }
}

function scheduleRefresh(): void {
  window.clearTimeout(refreshTimer);
  const token = auth.accessToken;
  if (!token) return;
  // One minute before expiry (at least in 5 s), never more than the timer's range.
  const inMs = Math.min(2 ** 31 - 1, Math.max(5_000, expiryOf(token) * 1000 - Date.now() - 60_000));
  refreshTimer = window.setTimeout(() => void refreshNow(), inMs);
}

/** POST to the cookie endpoints; the header is their CSRF protection. */
async function postAuth(path: string, body: Record<string, unknown> = {}): Promise<{ accessToken: string; user: User }> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-stratus-csrf': '1' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError('Network error', 'NETWORK');
  }
  const answer = (await res.json().catch(() => null)) as { accessToken?: string; user?: User; error?: { code?: string; message?: string } } | null;
  if (!res.ok || !answer) throw new ApiError(answer?.error?.message ?? `HTTP ${res.status}`, answer?.error?.code ?? (res.status === 503 ? 'UNAVAILABLE' : 'INTERNAL'));
  return answer as { accessToken: string; user: User };
}

/** Rotates the cookie's refresh token (or adopts `initial`); false when the session is over. */
function cookieRefresh(initial?: string): Promise<boolean> {
  if (refreshing) return refreshing;
  const before = auth.accessToken;
  refreshing = (async () => {
    try {
      store(await postAuth('/auth/refresh', initial ? { refreshToken: initial } : {}));
      return true;
    } catch (error) {
      // Another tab may have refreshed first (the cookie is shared): then its token is stored.
      if (auth.accessToken && auth.accessToken !== before) {
        scheduleRefresh();
        return true;
      }
      if (error instanceof ApiError && error.code !== 'NETWORK' && error.code !== 'UNAVAILABLE') auth.clear();
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** Refreshes the access token through the cookie; false when the session is over. */
export function refreshNow(): Promise<boolean> {
  if (!auth.signedIn()) return Promise.resolve(false);
  return cookieRefresh();
}

/** A valid access token, refreshed first when it is about to expire. */
export async function freshToken(): Promise<string | null> {
  const token = auth.accessToken;
  if (token && expiryOf(token) * 1000 - Date.now() > 15_000) return token;
  if (!auth.signedIn()) return token;
  await refreshNow();
  return auth.accessToken;
}

interface GraphQLBody<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; details?: Record<string, unknown>; retryAfter?: number } }[];
}

type Variables = Record<string, unknown>;

async function request<T>(query: string, variables: unknown, token: string | null): Promise<T> {
  let res: Response;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError('Network error', 'NETWORK');
  }
  // A body cut off on the way reads as one that is not JSON: its HTTP status says what happened.
  return answerData<T>(res.status, await res.text().catch(() => ''));
}

/** The data of a GraphQL answer, or the ApiError it carries (a body that is not JSON: by its HTTP status). */
export function answerData<T>(status: number, text: string): T {
  let body: GraphQLBody<T>;
  try {
    body = JSON.parse(text) as GraphQLBody<T>;
  } catch {
    throw new ApiError(`HTTP ${status}`, status === 503 ? 'UNAVAILABLE' : 'INTERNAL');
  }
  const first = body.errors?.[0];
  if (first) throw new ApiError(first.message, first.extensions?.code ?? 'INTERNAL', first.extensions?.details ?? {}, first.extensions?.retryAfter);
  if (!body.data) throw new ApiError('Empty answer', 'INTERNAL');
  return body.data;
}

/**
 * A GraphQL operation as the signed-in person (or anonymously when nobody is). A generated
 * operation (web/src/operations.graphql, `npm run codegen`) types its variables and answer.
 */
export async function gql<T, V = Variables>(query: Operation<T, V> | string, variables?: V): Promise<T> {
  const token = await freshToken();
  try {
    return await request<T>(query, variables ?? {}, token);
  } catch (error) {
    if (token && error instanceof ApiError && error.code === 'UNAUTHENTICATED' && (await refreshNow())) {
      return request<T>(query, variables ?? {}, auth.accessToken);
    }
    throw error;
  }
}

/** Anonymous GraphQL (public share pages), whoever is signed in. */
export function publicGql<T, V = Variables>(query: Operation<T, V> | string, variables?: V): Promise<T> {
  return request<T>(query, variables ?? {}, null);
}

let wsClient: Client | null = null;
let activeSubscriptions = 0;

function ws(): Client {
  if (!wsClient) {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
    wsClient = createClient({
      url,
      lazy: true,
      retryAttempts: 5,
      connectionParams: async () => ({ authorization: `Bearer ${(await freshToken()) ?? ''}` }),
    });
  }
  return wsClient;
}

/** Hands an open connection the fresh token, so its subscriptions are not closed at expiry. */
function refreshConnection(accessToken: string): void {
  if (!wsClient || activeSubscriptions === 0) return;
  wsClient.subscribe(
    { query: RefreshConnectionDocument, variables: { accessToken } satisfies RefreshConnectionMutationVariables },
    { next: () => undefined, error: () => undefined, complete: () => undefined },
  );
}

function resetSubscriptions(): void {
  const old = wsClient;
  wsClient = null;
  void old?.dispose();
}

/** Subscribes; returns the unsubscribe function. Errors end the subscription quietly. */
export function subscribe<T, V extends Variables = Variables>(query: Operation<T, V> | string, variables: V, onData: (data: T) => void, onEnd?: (error?: unknown) => void): () => void {
  activeSubscriptions += 1;
  let ended = false;
  const end = () => {
    if (!ended) activeSubscriptions -= 1;
    ended = true;
  };
  const stop = ws().subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.data) onData(result.data as T);
      },
      error: (error) => {
        end();
        onEnd?.(error);
      },
      complete: () => {
        end();
        onEnd?.();
      },
    },
  );
  return () => {
    end();
    stop();
  };
}

// An earlier version kept the refresh token in localStorage: move it into the cookie once.
const legacy = localStorage.getItem(LEGACY_REFRESH);
if (legacy) {
  localStorage.removeItem(LEGACY_REFRESH);
  localStorage.setItem(SIGNED_IN, '1');
  void cookieRefresh(legacy);
} else if (auth.accessToken) scheduleRefresh();
