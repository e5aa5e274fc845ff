/**
 * An in-process fake Kubernetes API server (node:http) with the surface @kubernetes/client-node
 * 1.4 uses for controllers: namespaced list/create/get/put/patch/delete of core resources
 * (configmaps, secrets, events), leases and custom resources, their `/status` subresource, and
 * watches. Semantics live in `kube-store.ts`; this file is the wire format:
 * - list: `{ kind: "<Kind>List", metadata: { resourceVersion }, items }`;
 * - watch (`?watch=true&resourceVersion=N`): NDJSON `{ type, object }` lines, headers flushed at
 *   once (client-node awaits them before it reads), BOOKMARK lines when `allowWatchBookmarks=true`,
 *   and an ERROR event with a 410 Expired Status when N is older than the kept history;
 * - errors are `Status` objects with `code` and `reason` (NotFound, AlreadyExists, Conflict...);
 * - PATCH: `application/json-patch+json` and `application/merge-patch+json`; strategic merge and
 *   server-side apply are 415, as for a custom resource on a real server;
 * - Lease `acquireTime`/`renewTime` must be MicroTime (6 fractional digits), or 400.
 * - with `rbac`, every request is authenticated by its bearer token (401) and authorized by the
 *   given Roles/bindings (403 Forbidden, recorded in `denied`): kube-rbac.ts.
 * Hooks let a test inject a failure on the next write, drop every watch, or expire the history.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { applyJsonPatch, applyMergePatch, PatchError } from './kube-patch.ts';
import { admit, verbOf, type Rbac, type RequestAttributes } from './kube-rbac.ts';
import { KubeError, KubeStore, resourceKey, type KubeObject, type ResourceDef, type StoredEvent } from './kube-store.ts';

export type { KubeObject, ResourceDef } from './kube-store.ts';

const BUILTIN: ResourceDef[] = [
  { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', status: false },
  { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', status: false },
  { group: '', version: 'v1', plural: 'events', kind: 'Event', status: false },
  { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', status: false },
  { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', status: false },
];

export interface FakeKubeOptions {
  /** Custom resources served under /apis/{group}/{version}; all have a status subresource. */
  customResources?: Omit<ResourceDef, 'status'>[];
  /** How often an open watch that asked for bookmarks gets one. */
  bookmarkIntervalMs?: number;
  historyLimit?: number;
  /** Enforce these Roles/bindings for these tokens; without it every request is allowed. */
  rbac?: Rbac;
}

export interface DeniedRequest extends RequestAttributes {
  user: string;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
}

interface InjectedFailure {
  code: number;
  reason: string;
  match: (method: string, path: string) => boolean;
}

export interface FakeKubeApiServer {
  url: string;
  store: KubeStore;
  requests: RequestRecord[];
  /** Requests RBAC refused (403), in order. */
  denied: DeniedRequest[];
  /** The next write (POST/PUT/PATCH/DELETE) whose path matches fails with this code (default 409 Conflict). */
  failNextWrite(options?: { code?: number; reason?: string; pathIncludes?: string; method?: string }): void;
  /** Ends every open watch stream, as an API server restart or a load balancer timeout does. */
  dropWatches(): void;
  /** Forgets the event history: resuming a watch from an older version now gets 410 Expired. */
  expireHistory(): void;
  /** Open watch streams. */
  watchCount(): number;
  resource(group: string, plural: string): ResourceDef;
  close(): Promise<void>;
}

export async function startKubeApiServer(options: FakeKubeOptions = {}): Promise<FakeKubeApiServer> {
  const store = new KubeStore(options.historyLimit);
  const defs = new Map<string, ResourceDef>();
  for (const def of [...BUILTIN, ...(options.customResources ?? []).map((d) => ({ ...d, status: true }))]) defs.set(resourceKey(def), def);
  const failures: InjectedFailure[] = [];
  const watches = new Set<ServerResponse>();
  const requests: RequestRecord[] = [];
  const denied: DeniedRequest[] = [];

  const server: Server = createServer((req, res) => {
    // Recorded on arrival (a watch never "finishes"); the status is filled in once it is sent.
    const record: RequestRecord = { method: req.method ?? 'GET', path: req.url ?? '/', status: 0 };
    requests.push(record);
    res.on('close', () => (record.status = res.statusCode));
    handle(req, res).catch((error: unknown) => {
      const e = error instanceof KubeError ? error : new KubeError(500, 'InternalError', String(error));
      if (!res.headersSent) sendStatus(res, e);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const route = parsePath(url.pathname);
    if (!route) throw new KubeError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const def = defs.get(`${route.group}/${route.plural}`);
    if (!def || def.version !== route.version) throw new KubeError(404, 'NotFound', `no resource ${route.plural} in ${route.group}/${route.version}`);
    if (route.subresource && (route.subresource !== 'status' || !def.status)) throw new KubeError(404, 'NotFound', `no subresource ${route.subresource}`);
    const method = req.method ?? 'GET';
    if (options.rbac) checkAccess(options.rbac, req, route, url.searchParams.get('watch') === 'true');
    if (method !== 'GET') {
      const index = failures.findIndex((f) => f.match(method, url.pathname));
      if (index >= 0) {
        const [failure] = failures.splice(index, 1);
        await readBody(req);
        if (failure) throw new KubeError(failure.code, failure.reason, `injected ${failure.reason}`);
      }
    }
    const { namespace, name } = route;
    if (name === undefined) {
      if (method === 'GET' && url.searchParams.get('watch') === 'true') return watch(def, namespace, url.searchParams, res);
      if (method === 'GET') {
        return send(res, 200, {
          kind: `${def.kind}List`,
          apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
          metadata: { resourceVersion: String(store.resourceVersion) },
          items: store.list(def, namespace),
        });
      }
      if (method === 'POST') {
        const body = (await readJson(req)) as KubeObject;
        validate(def, body);
        return send(res, 201, store.create(def, namespace, body));
      }
      throw new KubeError(405, 'MethodNotAllowed', `${method} not allowed on a collection`);
    }
    const subresource = route.subresource === 'status';
    switch (method) {
      case 'GET':
        return send(res, 200, store.get(def, namespace, name));
      case 'PUT': {
        const body = (await readJson(req)) as KubeObject;
        validate(def, body);
        return send(res, 200, store.update(def, namespace, name, body, subresource));
      }
      case 'PATCH': {
        const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
        const patch = await readJson(req);
        const current = store.get(def, namespace, name);
        let next: KubeObject;
        try {
          if (contentType === 'application/json-patch+json') next = applyJsonPatch(current, patch);
          else if (contentType === 'application/merge-patch+json') next = applyMergePatch(current, patch);
          else throw new KubeError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json (got ${contentType})`);
        } catch (error) {
          if (error instanceof PatchError) throw new KubeError(422, 'Invalid', error.message);
          throw error;
        }
        validate(def, next);
        return send(res, 200, store.update(def, namespace, name, next, subresource));
      }
      case 'DELETE':
        await readBody(req);
        return send(res, 200, store.delete(def, namespace, name));
      default:
        throw new KubeError(405, 'MethodNotAllowed', `${method} not allowed`);
    }
  }

  function checkAccess(rbac: Rbac, req: IncomingMessage, route: Route, isWatch: boolean): void {
    const attributes: RequestAttributes = {
      verb: verbOf(req.method ?? 'GET', route.name !== undefined, isWatch),
      apiGroup: route.group,
      namespace: route.namespace,
      resource: route.plural,
      subresource: route.subresource,
      name: route.name,
    };
    const refusal = admit(rbac, req.headers.authorization, attributes);
    if (refusal?.code === 403) denied.push({ user: refusal.user, ...attributes });
    if (refusal) throw new KubeError(refusal.code, refusal.reason, refusal.message);
  }

  function watch(def: ResourceDef, namespace: string, params: URLSearchParams, res: ServerResponse): void {
    const key = resourceKey(def);
    const from = Number(params.get('resourceVersion') || '0');
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    // client-node awaits the response headers before it reads a line: send them now.
    res.flushHeaders();
    const write = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
    const backlog = from === 0 ? store.list(def, namespace).map((object) => ({ type: 'ADDED', object })) : store.eventsSince(key, namespace, from);
    if (backlog === null) {
      write('ERROR', statusBody(new KubeError(410, 'Expired', `too old resource version: ${from} (${store.resourceVersion})`)));
      res.end();
      return;
    }
    for (const event of backlog) write(event.type, event.object);
    watches.add(res);
    const unsubscribe = store.onEvent((event: StoredEvent) => {
      if (event.resource === key && event.namespace === namespace) write(event.type, event.object);
    });
    const bookmarks =
      params.get('allowWatchBookmarks') === 'true'
        ? setInterval(() => {
            write('BOOKMARK', {
              kind: def.kind,
              apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
              metadata: { resourceVersion: String(store.resourceVersion) },
            });
          }, options.bookmarkIntervalMs ?? 1000)
        : undefined;
    const timeout = params.get('timeoutSeconds');
    const timer = timeout ? setTimeout(() => res.end(), Number(timeout) * 1000) : undefined;
    res.on('close', () => {
      watches.delete(res);
      unsubscribe();
      clearInterval(bookmarks);
      clearTimeout(timer);
    });
  }

  function validate(def: ResourceDef, body: KubeObject): void {
    if (typeof body !== 'object' || body === null || typeof body.metadata !== 'object') {
      throw new KubeError(400, 'BadRequest', 'the body must be an object with metadata');
    }
    if (def.kind === 'Lease') {
      const spec = (body.spec ?? {}) as Record<string, unknown>;
      for (const field of ['acquireTime', 'renewTime']) {
        const value = spec[field];
        if (value !== undefined && value !== null && !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(String(value))) {
          throw new KubeError(400, 'BadRequest', `spec.${field}: a MicroTime needs 6 fractional digits, got ${JSON.stringify(value)}`);
        }
      }
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    store,
    requests,
    denied,
    failNextWrite(opts = {}) {
      failures.push({
        code: opts.code ?? 409,
        reason: opts.reason ?? 'Conflict',
        match: (method, path) => (!opts.method || opts.method === method) && (!opts.pathIncludes || path.includes(opts.pathIncludes)),
      });
    },
    dropWatches() {
      for (const res of watches) res.destroy();
      watches.clear();
    },
    expireHistory() {
      store.expireHistory();
    },
    watchCount: () => watches.size,
    resource(group, plural) {
      const def = defs.get(`${group}/${plural}`);
      if (!def) throw new Error(`unknown resource ${group}/${plural}`);
      return def;
    },
    async close() {
      for (const res of watches) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface Route {
  group: string;
  version: string;
  namespace: string;
  plural: string;
  name?: string;
  subresource?: string;
}

function parsePath(pathname: string): Route | null {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group = '';
  let rest: string[];
  if (parts[0] === 'api') rest = parts.slice(1);
  else if (parts[0] === 'apis') {
    group = parts[1] ?? '';
    rest = parts.slice(2);
  } else return null;
  const [version, nsWord, namespace, plural, name, subresource] = rest;
  if (!version || nsWord !== 'namespaces' || !namespace || !plural) return null;
  return { group, version, namespace, plural, ...(name ? { name } : {}), ...(subresource ? { subresource } : {}) };
}

function statusBody(error: KubeError): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: error.message, reason: error.reason, code: error.code };
}

function sendStatus(res: ServerResponse, error: KubeError): void {
  send(res, error.code, statusBody(error));
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new KubeError(400, 'BadRequest', 'the request body is not JSON');
  }
}
