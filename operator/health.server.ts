/**
 * The operator's HTTP endpoints, on the port the chart's probes ask (`http`, PORT):
 * - `/healthz`: the process is alive (the event loop answers); liveness and startup probes;
 * - `/readyz`: the API server answers an authenticated read and, on the leader, the StorageBackend
 *   list+watch is synced and streaming; 503 with the failed checks otherwise;
 * - `/metrics`: Prometheus text (operator/metrics.ts), on METRICS_PORT when one is given (then not
 *   on the probe port, so nothing that routes the probe port can expose it), else on PORT.
 * Nothing else answers (404).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../internal/platform/logger.ts';
import type { OperatorMetrics } from './metrics.ts';

/** What the endpoints read from the operator (operator.ts implements it). */
export interface HealthSource {
  readonly isLeader: boolean;
  readonly metrics: OperatorMetrics;
  watchRunning(): boolean;
  checkApiServer(): Promise<void>;
}

export interface OperatorHealthOptions {
  operator: HealthSource;
  port: number;
  host: string;
  /** Serve /metrics here instead of on `port`. */
  metricsPort?: number | undefined;
  logger: Logger;
  /** Below the chart's readiness timeoutSeconds (3), so a hung API server is a clear 503. */
  apiTimeoutMs?: number;
}

export interface OperatorHealthServer {
  url: string;
  metricsUrl: string | undefined;
  close(): Promise<void>;
}

export async function startOperatorHealthServer(o: OperatorHealthOptions): Promise<OperatorHealthServer> {
  const separateMetrics = o.metricsPort !== undefined;
  const probes = createServer((req, res) => {
    const path = pathOf(req);
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/readyz') return void readiness(o).then((checks) => respondReady(res, checks));
    if (path === '/metrics' && !separateMetrics) return void serveMetrics(o, res);
    json(res, 404, { error: { code: 'NOT_FOUND', message: 'Not found' } });
  });
  const metrics = separateMetrics
    ? createServer((req, res) => {
        if (pathOf(req) === '/metrics') return void serveMetrics(o, res);
        json(res, 404, { error: { code: 'NOT_FOUND', message: 'Not found' } });
      })
    : undefined;
  const port = await listen(probes, o.port, o.host);
  const metricsPort = metrics ? await listen(metrics, o.metricsPort ?? 0, o.host) : undefined;
  const hostForUrl = o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  o.logger.info({ port, metricsPort }, 'operator health server listening');
  return {
    url: `http://${hostForUrl}:${port}`,
    metricsUrl: metricsPort === undefined ? undefined : `http://${hostForUrl}:${metricsPort}`,
    async close() {
      await Promise.all([probes, metrics].map((server) => (server ? closeServer(server) : undefined)));
    },
  };
}

async function readiness(o: OperatorHealthOptions): Promise<Record<string, string>> {
  const checks: Record<string, string> = {};
  const timeoutMs = o.apiTimeoutMs ?? 2000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([o.operator.checkApiServer(), timeout]);
    checks.apiServer = 'ok';
  } catch (error) {
    checks.apiServer = `failed: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    clearTimeout(timer);
  }
  checks.leader = o.operator.isLeader ? 'yes' : 'no';
  // Only the leader watches; a follower is ready as a hot standby once the API server answers.
  if (o.operator.isLeader) checks.watch = o.operator.watchRunning() ? 'ok' : 'failed: not synced or not streaming';
  return checks;
}

function respondReady(res: ServerResponse, checks: Record<string, string>): void {
  const ok = Object.entries(checks).every(([name, value]) => name === 'leader' || value === 'ok');
  json(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', checks });
}

async function serveMetrics(o: OperatorHealthOptions, res: ServerResponse): Promise<void> {
  try {
    const body = await o.operator.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': o.operator.metrics.registry.contentType }).end(body);
  } catch (error) {
    o.logger.warn({ err: error }, 'metrics collection failed');
    json(res, 500, { error: { code: 'INTERNAL', message: 'Internal error' } });
  }
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://operator').pathname;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
