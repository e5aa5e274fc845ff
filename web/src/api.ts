/**
 * The app's one door to the server: GraphQL over HTTP with the access token, silent refresh
 * (shortly before the token expires, and once on UNAUTHENTICATED), tokens in localStorage, and
 * a graphql-ws client for subscriptions that always connects with the current token.
 */
import { createClient, type Client } from 'graphql-ws';
import { ApiError } from './errors.ts';

const ACCESS = 'stratus.accessToken';
const REFRESH = 'stratus.refreshToken';
const USER = 'stratus.user';

export interface User {
  id: string;
  username: string;
  email: string;
  /** Absent right after sign-in (the auth payload cannot resolve it): filled by the `me` query. */
  quota?: { used: number; limit: number };
}

export interface AuthPayload {
  accessToken: string;
  refreshToken: string;
  user: User;
}

export const USER_FIELDS = 'id username email quota { used limit }';
/** The user fields an AuthPayload can resolve (quota needs a signed-in request). */
export const AUTH_USER_FIELDS = 'id username email';

type Listener = () => void;
const listeners = new Set<Listener>();
let refreshTimer: number | undefined;
let refreshing: Promise<boolean> | null = null;

export const auth = {
  get accessToken(): string | null {
    return localStorage.getItem(ACCESS);
  },
  get refreshToken(): string | null {
    return localStorage.getItem(REFRESH);
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
    return Boolean(localStorage.getItem(REFRESH));
  },
  set(payload: AuthPayload): void {
    localStorage.setItem(ACCESS, payload.accessToken);
    localStorage.setItem(REFRESH, payload.refreshToken);
    localStorage.setItem(USER, JSON.stringify({ ...(auth.user?.id === payload.user.id ? auth.user : {}), ...payload.user }));
    scheduleRefresh();
    emit();
  },
  setUser(user: User): void {
    localStorage.setItem(USER, JSON.stringify(user));
    emit();
  },
  clear(): void {
    localStorage.removeItem(ACCESS);
    localStorage.removeItem(REFRESH);
    localStorage.removeItem(USER);
    window.clearTimeout(refreshTimer);
    resetSubscriptions();
    emit();
  },
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

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

/** Rotates the refresh token; false when the session is over (then the person signs in again). */
export function refreshNow(): Promise<boolean> {
  if (refreshing) return refreshing;
  const used = auth.refreshToken;
  if (!used) return Promise.resolve(false);
  refreshing = (async () => {
    try {
      const data = await request<{ refreshToken: AuthPayload }>(
        `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken user { ${AUTH_USER_FIELDS} } } }`,
        { t: used },
        null,
      );
      auth.set(data.refreshToken);
      return true;
    } catch (error) {
      // Another tab may have rotated it first: then its new tokens are already stored.
      if (auth.refreshToken && auth.refreshToken !== used) {
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

/** A valid access token, refreshed first when it is about to expire. */
export async function freshToken(): Promise<string | null> {
  const token = auth.accessToken;
  if (token && expiryOf(token) * 1000 - Date.now() > 15_000) return token;
  if (!auth.refreshToken) return token;
  await refreshNow();
  return auth.accessToken;
}

interface GraphQLBody<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; details?: Record<string, unknown>; retryAfter?: number } }[];
}

async function request<T>(query: string, variables: Record<string, unknown>, token: string | null): Promise<T> {
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
  let body: GraphQLBody<T>;
  try {
    body = (await res.json()) as GraphQLBody<T>;
  } catch {
    throw new ApiError(`HTTP ${res.status}`, res.status === 503 ? 'UNAVAILABLE' : 'INTERNAL');
  }
  const first = body.errors?.[0];
  if (first) throw new ApiError(first.message, first.extensions?.code ?? 'INTERNAL', first.extensions?.details ?? {}, first.extensions?.retryAfter);
  if (!body.data) throw new ApiError('Empty answer', 'INTERNAL');
  return body.data;
}

/** A GraphQL operation as the signed-in person (or anonymously when nobody is). */
export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const token = await freshToken();
  try {
    return await request<T>(query, variables, token);
  } catch (error) {
    if (token && error instanceof ApiError && error.code === 'UNAUTHENTICATED' && (await refreshNow())) {
      return request<T>(query, variables, auth.accessToken);
    }
    throw error;
  }
}

/** Anonymous GraphQL (public share pages), whoever is signed in. */
export function publicGql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  return request<T>(query, variables, null);
}

let wsClient: Client | null = null;

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

function resetSubscriptions(): void {
  const old = wsClient;
  wsClient = null;
  void old?.dispose();
}

/** Subscribes; returns the unsubscribe function. Errors end the subscription quietly. */
export function subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void, onEnd?: (error?: unknown) => void): () => void {
  return ws().subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.data) onData(result.data as T);
      },
      error: (error) => onEnd?.(error),
      complete: () => onEnd?.(),
    },
  );
}

if (auth.accessToken) scheduleRefresh();
