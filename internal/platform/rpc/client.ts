/**
 * Typed clients for the internal services. The same routers are reached two ways:
 * - in process (the all-in-one server): in-process.link.ts, no HTTP, context taken from the
 *   caller's AsyncLocalStorage request context;
 * - over HTTP by Kubernetes DNS name (`http://<service>.<namespace>.svc.cluster.local:<port>/trpc`)
 *   with the caller's access token, request id and "this request wrote" flag forwarded; name
 *   resolution is injectable.
 */
import { createTRPCClient, httpLink, type TRPCClient, type TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import type { Logger } from '../logger.ts';
import { currentContext, newRequestId } from '../request-context.ts';
import { injectTrace } from '../tracing/tracing.ts';
import { INTERNAL_TOKEN_HEADER } from './internal-token.ts';
import { inProcessLink } from './in-process.link.ts';
import { jsonCopy } from './json-copy.ts';
import { createNodeFetch, type LookupFunction } from './node-fetch.ts';
import type { ServiceContext } from './trpc.ts';

export type ServiceName = 'accounts' | 'files' | 'uploads' | 'transfer';

/**
 * A link every client of a process puts before its transport (metrics.link.ts; tracing), built
 * per client so it knows the service it calls and how.
 */
export type ClientLink = (target: { service: ServiceName; transport: 'inprocess' | 'http' }) => TRPCLink<AnyRouter>;
export type ClientLinks = readonly ClientLink[];

/** The links of a client of `service`; none when the caller passes none (tests, tools). */
export interface Observed {
  service: ServiceName;
  links: ClientLinks;
}

function observing<R extends AnyRouter>(observed: Observed | undefined, transport: 'inprocess' | 'http'): TRPCLink<R>[] {
  if (!observed) return [];
  return observed.links.map((link) => link({ service: observed.service, transport }) as TRPCLink<R>);
}

export type Discovery =
  | { mode: 'inprocess' }
  | {
      mode: 'k8s';
      namespace: string;
      port: number;
      lookup?: LookupFunction | undefined;
      clusterDomain?: string;
      /** The Service name (or full host name) of each service; default: the service's own name. */
      hosts?: Partial<Record<ServiceName, string>> | undefined;
      /** INTERNAL_TOKEN, sent with every call (the callee refuses calls without it). */
      internalToken?: string | undefined;
    };

/**
 * `http://accounts.stratus.svc.cluster.local:8080/trpc`; with hosts.accounts = `rel-accounts`,
 * `http://rel-accounts.stratus.svc…`; a host with a dot is a full name and used as it is.
 */
export function serviceUrl(service: ServiceName, d: Extract<Discovery, { mode: 'k8s' }>): string {
  const host = d.hosts?.[service] ?? service;
  const fqdn = host.includes('.') ? host : `${host}.${d.namespace}.svc.${d.clusterDomain ?? 'cluster.local'}`;
  return `http://${fqdn}:${d.port}/trpc`;
}

/**
 * Copies each in-process result as the HTTP link's JSON would (jsonCopy: same value, no string in
 * between), so a caller never holds the callee's objects.
 */
function jsonCopyLink<R extends AnyRouter>(): TRPCLink<R> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        const subscription = next(op).subscribe({
          next: (envelope) => {
            const result = envelope.result;
            // Queries and mutations answer { data } (no `type`); subscriptions' state results pass.
            observer.next('data' in result && result.type === undefined ? { ...envelope, result: { ...result, data: jsonCopy(result.data) } } : envelope);
          },
          error: (error) => observer.error(error),
          complete: () => observer.complete(),
        });
        return () => subscription.unsubscribe();
      });
}

export function localClient<R extends AnyRouter>(router: R, log: Logger, observed?: Observed): TRPCClient<R> {
  return createTRPCClient<R>({
    links: [
      ...observing<R>(observed, 'inprocess'),
      jsonCopyLink<R>(),
      inProcessLink<R>(router, async (): Promise<ServiceContext> => {
        const rc = currentContext();
        const requestId = rc?.requestId ?? newRequestId();
        return { requestId, viewer: rc?.viewer, ip: rc?.ip, log };
      }),
    ],
  });
}

export function httpClient<R extends AnyRouter>(url: string, lookup?: LookupFunction, internalToken?: string, observed?: Observed): TRPCClient<R> {
  return createTRPCClient<R>({
    links: [
      ...observing<R>(observed, 'http'),
      httpLink({
        url,
        fetch: createNodeFetch({ lookup }),
        headers: () => {
          const rc = currentContext();
          const headers: Record<string, string> = {};
          if (internalToken) headers[INTERNAL_TOKEN_HEADER] = internalToken;
          if (rc?.requestId) headers['x-request-id'] = rc.requestId;
          if (rc?.accessToken) headers.authorization = `Bearer ${rc.accessToken}`;
          if (rc?.ip) headers['x-stratus-client-ip'] = rc.ip;
          if (rc?.userAgent) headers['x-stratus-user-agent'] = rc.userAgent;
          // Read-your-writes along the call chain: the callee reads from the primary too.
          if (rc?.wrote || rc?.recentWriter) headers['x-stratus-wrote'] = '1';
          // W3C traceparent: this call's CLIENT span (tracing.link.ts), or the client's own when off.
          injectTrace(headers, rc);
          return headers;
        },
      }) as never,
    ],
  });
}

export function serviceClient<R extends AnyRouter>(
  service: ServiceName,
  router: R,
  discovery: Discovery,
  log: Logger,
  /** The process's links (Runtime.rpcLinks): metrics, tracing. */
  links: ClientLinks = [],
): TRPCClient<R> {
  switch (discovery.mode) {
    case 'inprocess':
      return localClient(router, log, { service, links });
    case 'k8s':
      return httpClient<R>(serviceUrl(service, discovery), discovery.lookup, discovery.internalToken, { service, links });
  }
}

export { normalizeError } from './rpc.errors.ts';
