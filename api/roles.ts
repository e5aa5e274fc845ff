/**
 * The distributed mode: one image, one role per process (ROLE). `api` runs the gateway and
 * reaches the services by Kubernetes DNS name; `accounts`, `files`, `uploads` and `transfer` each serve
 * their tRPC router over HTTP at /trpc beside /healthz, /readyz and /metrics.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AnyRouter } from '@trpc/server';
import { createAccounts, filesDriveProvisioner, type AccountsRouter } from '../internal/accounts/index.ts';
import { allEntities } from '../internal/entities.ts';
import { createFiles, type FilesRouter } from '../internal/files/index.ts';
import { ConfigError, type Config, type Role } from '../internal/platform/config.ts';
import type { Logger } from '../internal/platform/logger.ts';
import { startMetricsServer, type MetricsServer } from '../internal/platform/metrics-server.ts';
import { serviceClient, type Discovery } from '../internal/platform/rpc/client.ts';
import { resolverLookup } from '../internal/platform/rpc/dns-lookup.ts';
import { trpcHttpHandler } from '../internal/platform/rpc/serve.ts';
import { createRuntime, type Runtime } from '../internal/platform/runtime.ts';
import { createTransfer } from '../internal/transfer/index.ts';
import { createUploads, type UploadsRouter } from '../internal/uploads/index.ts';
import { createClients, type Routers } from './clients.ts';
import { startGateway } from './gateway.ts';
import { keepIdleConnections } from './http/keep-alive.ts';

export interface RunningRole {
  port: number;
  close(): Promise<void>;
}

export function discoveryOf(config: Config): Discovery {
  if (config.discovery.mode === 'inprocess') return { mode: 'inprocess' };
  const { namespace, port, dnsServers, hosts, internalToken } = config.discovery;
  return { mode: 'k8s', namespace, port, lookup: dnsServers ? resolverLookup(dnsServers) : undefined, hosts, internalToken };
}

/** Types only: by DNS a client needs no router object, just its type. */
const remote = {} as Routers;

export async function startRole(role: Exclude<Role, 'all' | 'operator'>, config: Config, log: Logger): Promise<RunningRole> {
  if (config.discovery.mode !== 'k8s') {
    throw new ConfigError(`ROLE=${role} runs one service of a cluster: set SERVICE_DISCOVERY=k8s (or ROLE=all for one process)`);
  }
  const runtime = await createRuntime(config, allEntities, log);
  try {
    switch (role) {
      case 'api':
        return await startApi(runtime, config, log);
      case 'accounts': {
        // Registration makes the new person's root folder and quota through the files service.
        const files = serviceClient<FilesRouter>('files', remote.files, discoveryOf(config), log, runtime.rpcLinks);
        return await serve(runtime, createAccounts(runtime, filesDriveProvisioner(files, runtime.tokens)).router satisfies AccountsRouter, config);
      }
      case 'files':
        return await serve(runtime, createFiles(runtime).router satisfies FilesRouter, config);
      case 'uploads': {
        const files = serviceClient<FilesRouter>('files', remote.files, discoveryOf(config), log, runtime.rpcLinks);
        const uploads = createUploads(runtime, files);
        // Publishes moves off staging backends; the transfer role consumes them.
        const transfer = await createTransfer(runtime, { worker: false, drainer: false });
        uploads.completion.afterComplete = (stored) => transfer.drainer.afterUpload(stored);
        return await serve(runtime, uploads.router satisfies UploadsRouter, config);
      }
      case 'transfer':
        return await serve(runtime, (await createTransfer(runtime, { worker: true, drainer: true })).router, config);
    }
  } catch (error) {
    await runtime.close();
    throw error;
  }
}

async function startApi(runtime: Runtime, config: Config, log: Logger): Promise<RunningRole> {
  const gateway = await startGateway(runtime, createClients(discoveryOf(config), {}, log, runtime.rpcLinks));
  const port = await gateway.listen(config.http.port, config.http.host);
  const metrics = await metricsServerOf(runtime, config);
  return { port, close: () => closeAll(gateway.close().then(() => metrics?.close()), runtime) };
}

/** METRICS_PORT: /metrics on its own port (the routed PORT then does not answer it). */
function metricsServerOf(runtime: Runtime, config: Config): Promise<MetricsServer | undefined> {
  if (config.metricsPort === undefined) return Promise.resolve(undefined);
  return startMetricsServer(runtime.metrics.registry, config.metricsPort, config.http.host);
}

/** A service process: its router at /trpc, health and metrics; nothing else answers. */
async function serve(runtime: Runtime, router: AnyRouter, config: Config): Promise<RunningRole> {
  // Only callers holding INTERNAL_TOKEN (the gateway, and services calling services) get through.
  const trpc = trpcHttpHandler(router, runtime.tokens, runtime.log, { internalToken: config.discovery.internalToken });
  const metricsServer = await metricsServerOf(runtime, config);
  let draining = false;
  const server: Server = keepIdleConnections(createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (url.startsWith('/trpc/')) return trpc(req, res);
    if (url === '/healthz') return json(res, 200, { status: 'ok' });
    if (url === '/readyz') {
      void readiness(runtime).then((checks) => {
        const ok = !draining && Object.values(checks).every((c) => c === 'ok');
        json(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', checks });
      });
      return;
    }
    if (url === '/metrics' && !metricsServer) {
      void runtime.metrics.registry.metrics().then((body) => {
        res.writeHead(200, { 'content-type': runtime.metrics.registry.contentType }).end(body);
      });
      return;
    }
    json(res, 404, { error: { code: 'NOT_FOUND', message: 'Not found' } });
  }));
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.http.port, config.http.host, () => resolve((server.address() as { port: number }).port));
  });
  return {
    port,
    close: async () => {
      // Stop accepting, let requests in flight finish (bounded), then close dependencies.
      draining = true;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, 25_000);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      await metricsServer?.close();
      await runtime.close();
    },
  };
}

async function readiness(runtime: Runtime): Promise<Record<string, string>> {
  const entries = await Promise.all(
    [...runtime.readiness].map(async ([name, check]) => [name, await check().then(() => 'ok', (e: unknown) => `failed: ${e instanceof Error ? e.message : String(e)}`)] as const),
  );
  return Object.fromEntries(entries);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function closeAll(first: Promise<void>, runtime: Runtime): Promise<void> {
  await first;
  await runtime.close();
}
