/**
 * How long an idle keep-alive connection stays open on Stratus's HTTP servers (the gateway and
 * every service process). Node's default, 5 s, is shorter than the proxies in front keep theirs
 * (nginx's upstream `keepalive_timeout` and AWS ALB's idle timeout: 60 s) and close to what
 * clients keep (undici reuses a connection until 1 s before the advertised timeout, on a timer
 * that runs late on a busy machine). A request sent into that close is lost with no answer
 * (ECONNRESET, "other side closed"; a POST is not sent again): RFC 9112 §9.5, "a client might
 * have started to send a new request at the same time that the server has decided to close the
 * 'idle' connection". Keeping idle connections longer than the proxies do leaves the close to
 * them. The server says so in `Keep-Alive: timeout=65`; shutting down still closes idle
 * connections at once (Node's `server.close()`, Apollo's drain).
 */
import type { Server } from 'node:http';

export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export function keepIdleConnections(server: Server): Server {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  return server;
}
