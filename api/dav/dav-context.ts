/**
 * What every WebDAV handler gets: the authenticated person, the request's path as names, the
 * services (through the gateway's tRPC clients) and the extension hooks the lock and
 * dead-property handlers (PUT, PROPPATCH, LOCK, UNLOCK) fill in. Handlers stay thin: they read
 * the request, call the files service, and answer.
 */
import type { Request, Response } from 'express';
import type { FileDto, ResolvedPath } from '../../internal/files/index.ts';
import type { LocksService } from '../../internal/locks/index.ts';
import { AppError } from '../../internal/platform/errors.ts';
import type { Logger } from '../../internal/platform/logger.ts';
import type { DownloadMeter, UploadMeter } from '../../internal/platform/metrics.ts';
import type { StorageRouter } from '../../internal/storage/index.ts';
import type { Clients } from '../clients.ts';
import type { Splicer } from '../../internal/platform/splice.ts';
import type { AuthDeps, Authenticated } from '../http/auth.ts';
import { hrefOf, type DavPath } from './dav-path.ts';

export interface DavDeps extends AuthDeps {
  clients: Clients;
  storage: StorageRouter;
  log: Logger;
  /** WebDAV locks, in the shared KV store (internal/locks; dav-locks.ts). */
  locks: LocksService;
  /** The process's metrics: a PUT is one upload part and one completion, a GET one proxied download. */
  uploadMeter?: UploadMeter;
  downloadMeter?: DownloadMeter;
  /** Moves a GET's body kernel to kernel where it can (api/http/splice-body.ts). */
  splicer?: Splicer | null;
}

/** A resource as PROPFIND and the hooks see it: the node, its names from the root, its href. */
export interface DavItem {
  node: FileDto;
  names: readonly string[];
  href: string;
}

/** A dead property (RFC 4918 §4.2): its name and its value as self-contained XML (dav-xml.ts serializeXml). */
export interface DeadProperty {
  ns: string;
  name: string;
  valueXml: string;
}

/** A path a write touches: `infinity` when everything below it changes too (DELETE, MOVE's source). */
export interface DavTarget {
  names: readonly string[];
  depth: '0' | 'infinity';
}

/**
 * Extension points for locks and dead properties. Batch hooks take a whole page of items and
 * answer in one go (keyed by href), so a PROPFIND of any size costs the same statements per page.
 */
export interface DavHooks {
  /** Dead properties of a page of items (PROPFIND allprop, propname, or prop naming one). */
  deadProperties?(ctx: DavContext, items: readonly DavItem[]): Promise<Map<string, DeadProperty[]>>;
  /** The inner XML of DAV:lockdiscovery (the `<D:activelock>` elements) of a page of items. */
  lockDiscovery?(ctx: DavContext, items: readonly DavItem[]): Promise<Map<string, string>>;
  /** Before a write: throws (423 Locked, 412) unless the request may change these paths (If header). */
  assertWritable?(ctx: DavContext, targets: readonly DavTarget[]): Promise<void>;
  /** After resources stopped existing at these paths (DELETE, MOVE's source, an overwritten target). */
  removed?(ctx: DavContext, paths: readonly (readonly string[])[]): Promise<void>;
  /** After a COPY or MOVE made `to` from `from` (dead properties follow a copy: RFC 4918 §9.8.2). */
  copied?(ctx: DavContext, from: FileDto, to: FileDto): Promise<void>;
}

export interface DavContext {
  req: Request;
  res: Response;
  deps: DavDeps;
  auth: Authenticated;
  /** The request target's names (dav-path.ts). */
  path: DavPath;
  hooks: DavHooks;
  /** The node at a path and the folder holding it (one statement per name); the request's own is remembered. */
  resolve(names?: readonly string[]): Promise<ResolvedPath>;
}

export function createDavContext(req: Request, res: Response, deps: DavDeps, auth: Authenticated, path: DavPath, hooks: DavHooks): DavContext {
  let own: Promise<ResolvedPath> | undefined;
  const lookup = (names: readonly string[]) => deps.clients.files.paths.resolve.query({ names: [...names] });
  return {
    req, res, deps, auth, path, hooks,
    resolve: (names) => {
      if (names !== undefined) return lookup(names);
      own ??= lookup(path.names);
      return own;
    },
  };
}

/** The item at the request path, or NOT_FOUND (404). */
export async function requireItem(ctx: DavContext): Promise<DavItem> {
  const { node } = await ctx.resolve();
  if (!node) throw notFound();
  return { node, names: ctx.path.names, href: hrefOf(ctx.path.names, node.isFolder) };
}

export function itemOf(parent: DavItem, node: FileDto): DavItem {
  const names = [...parent.names, node.name];
  return { node, names, href: hrefOf(names, node.isFolder) };
}

/** A request header as one string (a repeated field joined by commas, RFC 9110 §5.3). */
export function headerOf(ctx: Pick<DavContext, 'req'>, name: string): string | undefined {
  const value = ctx.req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

export const notFound = (): AppError => new AppError('NOT_FOUND', 'No such file or folder');
