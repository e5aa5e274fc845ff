/**
 * The sign-in of graphql-ws connections over their lifetime. A connection holds the access token it
 * signed in with; it must not outlive it:
 * - when the token expires the socket is closed with 4403 (the protocol's Forbidden), unless the
 *   client handed it a fresh token of the same person first (`refreshConnection` over the socket),
 *   or it signed in with a personal access token: that is exchanged again for a fresh access token
 *   shortly before (the socket closes when the exchange is refused: revoked or expired);
 * - every operation re-checks the token (expiry, and whether its login ended: one KV read);
 * - when a login ends anywhere (logout, logoutAll, a password change or reset, on any replica:
 *   pub/sub), its sockets on this replica are closed with 4403 at once.
 * An anonymous connection has nothing to expire.
 */
import type { TokenSigner } from '../../internal/platform/auth/access-token.ts';
import { AppError } from '../../internal/platform/errors.ts';
import type { RequestContext } from '../../internal/platform/request-context.ts';
import type { Identity } from './context.ts';

/** graphql-transport-ws: "4403: Forbidden" closes a connection whose credentials are refused. */
export const FORBIDDEN_CLOSE = 4403;
/** A personal access token's connection renews its access token this long before it expires. */
const RENEW_AHEAD_MS = 30_000;

export interface ConnectionSocket {
  close(code: number, reason: string): void;
}

/** What a resolver may do with its graphql-ws connection (GraphQLContext.connection). */
export interface ConnectionAuth {
  /** Replaces the connection's access token by a fresh one of the same person. */
  refresh(accessToken: string): Promise<boolean>;
}

export class WsConnection implements ConnectionAuth {
  private timer: NodeJS.Timeout | undefined;
  /** The request contexts of operations under way: they take a refreshed token too. */
  readonly operations = new Map<string, RequestContext>();

  constructor(
    private readonly registry: WsSessions,
    private readonly socket: ConnectionSocket,
    public identity: Identity,
  ) {
    this.arm();
  }

  get sessionId(): string | undefined {
    return this.identity.viewer?.sessionId;
  }

  async refresh(accessToken: string): Promise<boolean> {
    const current = this.identity.viewer;
    if (!current) throw new AppError('UNAUTHENTICATED', 'Sign in first');
    const fresh = await this.registry.tokens.verifyAccessToken(accessToken).catch(() => undefined);
    // Another person's token would change who every operation under way runs as: refused.
    if (!fresh || fresh.viewer.userId !== current.userId) {
      throw new AppError('BAD_INPUT', 'Not a valid access token of the person this connection signed in as', { details: { field: 'accessToken', reason: 'token_refused' } });
    }
    this.registry.untrack(this);
    this.identity = { viewer: fresh.viewer, accessToken, expiresAt: fresh.expiresAt };
    for (const request of this.operations.values()) Object.assign(request, { viewer: fresh.viewer, accessToken });
    this.registry.track(this);
    this.arm();
    return true;
  }

  /** Before each operation: the token still verifies (not expired, its login not ended). */
  async check(): Promise<boolean> {
    const token = this.identity.accessToken;
    if (token === undefined) return true;
    const ok = await this.registry.tokens.verifyAccessToken(token).then(() => true, () => false);
    if (!ok) this.close('Token expired or login ended');
    return ok;
  }

  close(reason: string): void {
    this.dispose();
    this.socket.close(FORBIDDEN_CLOSE, reason);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.registry.untrack(this);
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.identity.expiresAt === undefined) return;
    const { renew } = this.identity;
    const inMs = Math.min(2 ** 31 - 1, Math.max(0, this.identity.expiresAt - Date.now() - (renew ? RENEW_AHEAD_MS : 0)));
    this.timer = setTimeout(() => (renew ? void this.renewWith(renew) : this.close('Token expired')), inMs);
    this.timer.unref();
  }

  /** A personal access token's connection: its token exchanged again, for the same person only. */
  private async renewWith(renew: () => Promise<Identity>): Promise<void> {
    const fresh = await renew().catch(() => undefined);
    if (!fresh?.viewer || fresh.viewer.userId !== this.identity.viewer?.userId) return this.close('Token expired or revoked');
    this.registry.untrack(this);
    // A token that ends before the next renewal would be due is not renewed again: the socket closes when it expires.
    this.identity = fresh.expiresAt - Date.now() > RENEW_AHEAD_MS ? fresh : { ...fresh, renew: undefined };
    for (const request of this.operations.values()) Object.assign(request, { viewer: fresh.viewer, accessToken: fresh.accessToken });
    this.registry.track(this);
    this.arm();
  }
}

/** The signed-in connections of this replica by login, closed when their login ends. */
export class WsSessions {
  private readonly bySession = new Map<string, Set<WsConnection>>();
  private unsubscribe: (() => Promise<void>) | undefined;

  constructor(readonly tokens: TokenSigner) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.tokens.sessions?.onEnded((sids) => {
      for (const sid of sids) for (const conn of [...(this.bySession.get(sid) ?? [])]) conn.close('Login ended');
    });
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
  }

  open(socket: ConnectionSocket, identity: Identity): WsConnection {
    const conn = new WsConnection(this, socket, identity);
    this.track(conn);
    return conn;
  }

  track(conn: WsConnection): void {
    const sid = conn.sessionId;
    if (!sid) return;
    const set = this.bySession.get(sid) ?? new Set();
    set.add(conn);
    this.bySession.set(sid, set);
  }

  untrack(conn: WsConnection): void {
    const sid = conn.sessionId;
    const set = sid ? this.bySession.get(sid) : undefined;
    if (!set || !sid) return;
    set.delete(conn);
    if (set.size === 0) this.bySession.delete(sid);
  }
}
