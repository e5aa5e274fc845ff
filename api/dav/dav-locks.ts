/**
 * Locks and the If header on every write (RFC 4918 §7, §10.4): the DavHooks `assertWritable`,
 * `lockDiscovery` and `removed`, over the LocksService (internal/locks, shared by every replica).
 *
 * - §10.4: the If header is evaluated first; false → 412 Precondition Failed ("If the header
 *   evaluates to false ... the server MUST reject the request with status 412").
 * - §7.4/§6.4: a write to a locked resource (or to a collection whose membership a lock covers)
 *   needs the lock's token submitted in the If header; missing → 423 Locked with the
 *   `lock-token-submitted` precondition (§16).
 */
import type { DavLock } from '../../internal/locks/index.ts';
import { keyOf, type LocksService } from '../../internal/locks/index.ts';
import { AppError } from '../../internal/platform/errors.ts';
import type { DavContext, DavItem, DavTarget } from './dav-context.ts';
import { DavError } from './dav-errors.ts';
import { parseDavPath } from './dav-path.ts';
import { escapeXml } from './dav-xml.ts';
import { evaluateIf, IfHeaderSyntaxError, parseIfHeader, submittedTokens, type IfList, type ResourceState } from './if-header.ts';
import { etagOf } from './properties.ts';

/** The locks of the drive (DavDeps.locks). */
export const locksOf = (ctx: DavContext): LocksService => ctx.deps.locks;

/** The If header's lists (none when absent); a malformed one is 400. */
export function ifListsOf(ctx: DavContext): IfList[] {
  const header = ctx.req.headers.if;
  if (header === undefined) return [];
  try {
    return parseIfHeader(Array.isArray(header) ? header.join(' ') : header);
  } catch (error) {
    if (error instanceof IfHeaderSyntaxError) throw new DavError(400, `Malformed If header: ${error.message}`);
    throw error;
  }
}

/** The names of a tagged resource (absolute URI or absolute path), or null when it is not below /dav/. */
function namesOfTag(tag: string): string[] | null {
  try {
    const path = /^[a-z][a-z0-9+.-]*:\/\//i.test(tag) ? new URL(tag).pathname : tag;
    return parseDavPath(path).names;
  } catch {
    return null;
  }
}

async function stateOf(ctx: DavContext, names: readonly string[] | null, locks: readonly DavLock[]): Promise<ResourceState> {
  if (names === null) return { etag: null, lockTokens: new Set() };
  const { node } = await ctx.resolve(names).catch(() => ({ node: null }));
  const key = keyOf(names);
  const lockTokens = new Set(locks.filter((l) => coversKey(l, key)).map((l) => l.token));
  return { etag: node && !node.isFolder ? etagOf(node) : null, lockTokens };
}

function coversKey(lock: DavLock, key: string): boolean {
  if (lock.root === key) return true;
  return lock.depth === 'infinity' && (lock.root === '/' || key.startsWith(`${lock.root}/`));
}

/**
 * Methods that add or remove a member of a collection: "a depth-0 write lock on a collection
 * protects the collection properties plus the internal member URLs of that collection" (§7.4),
 * so the folder holding each target is checked too (PUT and LOCK name their folders themselves).
 */
const MEMBERSHIP = new Set(['DELETE', 'MOVE', 'COPY', 'MKCOL']);

function withFolders(method: string, targets: readonly DavTarget[]): readonly DavTarget[] {
  if (!MEMBERSHIP.has(method)) return targets;
  const folders = targets.filter((t) => t.names.length > 0).map((t): DavTarget => ({ names: t.names.slice(0, -1), depth: '0' }));
  return [...targets, ...folders];
}

/** §10.4 evaluation, then the lock check of each target; the submitted tokens are returned. */
export async function assertWritable(ctx: DavContext, targets: readonly DavTarget[]): Promise<ReadonlySet<string>> {
  const lists = ifListsOf(ctx);
  const submitted = submittedTokens(lists);
  const userId = ctx.auth.viewer.userId;
  if (lists.length > 0) {
    const locks = await locksOf(ctx).all(userId);
    const ok = await evaluateIf(lists, (tag) => stateOf(ctx, tag === null ? ctx.path.names : namesOfTag(tag), locks));
    if (!ok) throw new DavError(412, 'The If header evaluated to false', []);
  }
  for (const target of withFolders(ctx.req.method, targets)) {
    try {
      await locksOf(ctx).assertWritable(userId, keyOf(target.names), submitted, { subtree: target.depth === 'infinity' });
    } catch (error) {
      if (AppError.is(error, 'CONFLICT') && error.details?.reason === 'locked') throw new DavError(423, error.message, ['lock-token-submitted']);
      throw error;
    }
  }
  return submitted;
}

/** §14.1 activelock of one lock. */
export function activeLockXml(lock: DavLock, now = Date.now()): string {
  const remaining = Math.max(0, Math.ceil((lock.expiresAt - now) / 1000));
  return '<D:activelock>'
    + `<D:locktype><D:write/></D:locktype><D:lockscope><D:${lock.scope}/></D:lockscope><D:depth>${lock.depth}</D:depth>`
    + (lock.owner === null ? '' : `<D:owner>${lock.owner}</D:owner>`)
    + `<D:timeout>Second-${remaining}</D:timeout>`
    + `<D:locktoken><D:href>${escapeXml(lock.token)}</D:href></D:locktoken>`
    + `<D:lockroot><D:href>${escapeXml(lock.href)}</D:href></D:lockroot>`
    + '</D:activelock>';
}

/** lockdiscovery of a page of items: one read of the person's locks for the whole page. */
export async function lockDiscovery(ctx: DavContext, items: readonly DavItem[]): Promise<Map<string, string>> {
  const locks = await locksOf(ctx).all(ctx.auth.viewer.userId);
  const out = new Map<string, string>();
  if (locks.length === 0) return out;
  for (const item of items) {
    const key = keyOf(item.names);
    const xml = locks.filter((l) => coversKey(l, key)).map((l) => activeLockXml(l)).join('');
    if (xml !== '') out.set(item.href, xml);
  }
  return out;
}

/** Resources gone from these paths (DELETE, MOVE's source): their locks go too (§9.6, §9.9). */
export async function removed(ctx: DavContext, paths: readonly (readonly string[])[]): Promise<void> {
  for (const names of paths) await locksOf(ctx).releaseUnder(ctx.auth.viewer.userId, keyOf(names));
}
