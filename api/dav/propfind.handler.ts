/**
 * PROPFIND (RFC 4918 §9.1) with Depth 0 or 1. "Servers SHOULD treat a request without a Depth
 * header as if a 'Depth: infinity' header was included" and "Servers MAY reject requests with a
 * Depth of infinity" — answered 403 with the `DAV:propfind-finite-depth` precondition (§9.1,
 * §16: "This server does not allow infinite-depth PROPFIND requests on collections").
 *
 * A folder's members are streamed: the multistatus head goes out first, then one page of up to
 * PAGE members at a time (keyset paging of the files service), each page's dead properties and
 * locks fetched in one batch, waiting for the socket between pages. Memory is one page whatever
 * the folder's size; statements are a fixed few per page, none per member.
 */
import type { QuotaDto } from '../../internal/files/index.ts';
import { headerOf, itemOf, requireItem, type DavContext, type DavItem } from './dav-context.ts';
import { DavError } from './dav-errors.ts';
import { parseXml, readBody } from './dav-xml.ts';
import { MultistatusWriter, responseXml } from './multistatus.ts';
import { needs, propRequestOf, propstatsOf, type PageFacts, type PropRequest } from './properties.ts';

/** Members per page: the files service's largest page. */
export const PAGE = 500;

export async function propfindHandler(ctx: DavContext): Promise<void> {
  const depth = depthOf(headerOf(ctx, 'depth'));
  const request = propRequestOf(parseXml(await readBody(ctx.req)));
  const item = await requireItem(ctx);
  const quota = needs(request).quota ? await ctx.deps.clients.files.quota.query() : undefined;
  const out = new MultistatusWriter(ctx.res);
  await out.write(await pageXml(ctx, [item], request, quota));
  if (depth === '1' && item.node.isFolder) await streamMembers(ctx, item, request, quota, out);
  out.end();
}

function depthOf(header: string | undefined): '0' | '1' {
  const value = header?.trim().toLowerCase() ?? 'infinity';
  if (value === '0' || value === '1') return value;
  if (value === 'infinity') throw new DavError(403, 'PROPFIND with Depth: infinity is not supported; use Depth 0 or 1', ['propfind-finite-depth']);
  throw new DavError(400, `Depth must be 0, 1 or infinity, not "${value}"`);
}

async function streamMembers(ctx: DavContext, folder: DavItem, request: PropRequest, quota: QuotaDto | undefined, out: MultistatusWriter): Promise<void> {
  let after: string | undefined;
  for (;;) {
    const page = await ctx.deps.clients.files.paths.page.query({ folderId: folder.node.id, first: PAGE, ...(after ? { after } : {}) });
    const items = page.nodes.map((node) => itemOf(folder, node));
    if (items.length > 0) await out.write(await pageXml(ctx, items, request, quota));
    // The client went away: stop reading pages nobody will receive.
    if (!page.hasNextPage || page.endCursor === null || out.closed) return;
    after = page.endCursor;
  }
}

/** The responses of a page of items, with one batch call per hook. */
async function pageXml(ctx: DavContext, items: readonly DavItem[], request: PropRequest, quota: QuotaDto | undefined): Promise<string> {
  const need = needs(request);
  const [dead, locks] = await Promise.all([
    need.dead && ctx.hooks.deadProperties ? ctx.hooks.deadProperties(ctx, items) : new Map<string, never>(),
    need.locks && ctx.hooks.lockDiscovery ? ctx.hooks.lockDiscovery(ctx, items) : new Map<string, string>(),
  ]);
  const facts: PageFacts = { dead, locks, quota };
  return items.map((item) => responseXml(item.href, propstatsOf(item, request, facts))).join('');
}
