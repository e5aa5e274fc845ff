/**
 * LOCK and UNLOCK (RFC 4918 §9.10, §9.11): exclusive and shared write locks, Depth 0 or infinity,
 * timeouts, refresh, and locks on unmapped URLs.
 * - §9.10.3: "If no Depth header is submitted on a LOCK request, then the request MUST act as if
 *   a 'Depth:infinity' had been submitted"; Depth 1 is 400;
 * - §9.10.2: a LOCK without a body refreshes the lock whose token the If header submits (412 when
 *   none of them covers the resource); the answer is 200 with its lockdiscovery;
 * - §9.10.4: "A successful lock request to an unmapped URL MUST result in the creation of a
 *   locked (non-collection) resource with empty content" — an empty file, 201 Created; 409 when
 *   its folder does not exist;
 * - §10.7 Timeout: the first supported value, capped (Infinite too); §9.10.1 the answer has the
 *   Lock-Token header and the lockdiscovery of the new lock;
 * - §9.11: UNLOCK with Lock-Token removes that lock, which must cover the Request-URI (else 409
 *   with `lock-token-matches-request-uri`); 204 No Content.
 */
import { Readable } from 'node:stream';
import { DEFAULT_TIMEOUT_SECONDS, keyOf, MAX_OWNER_BYTES, parseTimeout, type DavLock, type LockDepth, type LockRequest } from '../../internal/locks/index.ts';
import { AppError } from '../../internal/platform/errors.ts';
import { writeStreamedUpload } from '../../internal/uploads/index.ts';
import type { DavContext } from './dav-context.ts';
import { DavError } from './dav-errors.ts';
import { activeLockXml, assertWritable, ifListsOf, locksOf } from './dav-locks.ts';
import { hrefOf } from './dav-path.ts';
import { DAV_NS, davChild, escapeXml, hasBody, isDav, parseXml, readBody, serializeXml, type XmlElement } from './dav-xml.ts';
import { submittedTokens } from './if-header.ts';

interface LockInfo {
  scope: 'exclusive' | 'shared';
  owner: string | null;
}

/** A request header as one string (a repeated one joined, as RFC 9110 §5.3 allows for lists). */
function headerOf(ctx: DavContext, name: string): string | undefined {
  const value = ctx.req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function depthOf(ctx: DavContext): LockDepth {
  const depth = headerOf(ctx, 'depth')?.trim().toLowerCase();
  if (depth === undefined || depth === 'infinity') return 'infinity';
  if (depth === '0') return '0';
  throw new DavError(400, 'LOCK takes Depth 0 or infinity');
}

function ownerXml(owner: XmlElement | undefined): string | null {
  if (!owner) return null;
  const xml = owner.children.length === 0 ? escapeXml(owner.text) : owner.children.map(serializeXml).join('');
  if (Buffer.byteLength(xml) > MAX_OWNER_BYTES) throw new DavError(400, `DAV:owner can have at most ${MAX_OWNER_BYTES} bytes`);
  return xml;
}

/** §14.11 lockinfo: lockscope (exclusive | shared), locktype (write), owner?. */
export function lockInfoOf(root: XmlElement | null): LockInfo {
  if (!root || !isDav(root, 'lockinfo')) throw new DavError(400, 'The body must be a DAV:lockinfo');
  const scope = davChild(root, 'lockscope')?.children[0];
  const type = davChild(root, 'locktype')?.children[0];
  if (!scope || scope.ns !== DAV_NS || (scope.name !== 'exclusive' && scope.name !== 'shared')) throw new DavError(400, 'DAV:lockscope must be exclusive or shared');
  if (!type || !isDav(type, 'write')) throw new DavError(400, 'Only write locks exist (DAV:locktype write)');
  return { scope: scope.name, owner: ownerXml(davChild(root, 'owner')) };
}

function sendLock(ctx: DavContext, status: number, lock: DavLock): void {
  ctx.res.status(status);
  ctx.res.setHeader('Lock-Token', `<${lock.token}>`);
  ctx.res.setHeader('Content-Type', 'application/xml; charset=utf-8');
  ctx.res.end(`<?xml version="1.0" encoding="utf-8"?>\n<D:prop xmlns:D="${DAV_NS}"><D:lockdiscovery>${activeLockXml(lock)}</D:lockdiscovery></D:prop>\n`);
}

async function refresh(ctx: DavContext, timeoutSeconds: number): Promise<void> {
  const submitted = submittedTokens(ifListsOf(ctx));
  if (submitted.size === 0) throw new DavError(400, 'A LOCK without a body refreshes a lock: submit its token in the If header');
  await assertWritable(ctx, []);
  try {
    const lock = await locksOf(ctx).refresh(ctx.auth.viewer.userId, keyOf(ctx.path.names), submitted, timeoutSeconds);
    sendLock(ctx, 200, lock);
  } catch (error) {
    if (AppError.is(error, 'CONFLICT') && error.details?.reason === 'lock_token_unknown') throw new DavError(412, error.message, ['lock-token-matches-request-uri']);
    throw error;
  }
}

export async function lockHandler(ctx: DavContext): Promise<void> {
  const timeoutSeconds = parseTimeout(headerOf(ctx, 'timeout')) ?? DEFAULT_TIMEOUT_SECONDS;
  if (!hasBody(ctx.req)) return refresh(ctx, timeoutSeconds);
  const info = lockInfoOf(parseXml(await readBody(ctx.req)));
  const depth = depthOf(ctx);
  const names = ctx.path.names;
  const { node, parent } = await ctx.resolve();
  if (!node && !parent) throw new DavError(409, 'The folder of this name does not exist');
  // A new (empty) file is a new member of its folder: a lock on the folder must allow it.
  await assertWritable(ctx, node ? [] : [{ names: names.slice(0, -1), depth: '0' }]);
  const lock = await takeLock(ctx, { root: keyOf(names), href: hrefOf(names, node?.isFolder ?? false), depth, scope: info.scope, owner: info.owner, timeoutSeconds });
  if (node) return sendLock(ctx, 200, lock);
  await createEmpty(ctx, parent?.id ?? null, names.at(-1) ?? '', lock);
  sendLock(ctx, 201, lock);
}

/** §9.10.6: a conflicting lock is 423 with `no-conflicting-lock`. */
async function takeLock(ctx: DavContext, wanted: LockRequest): Promise<DavLock> {
  try {
    return await locksOf(ctx).lock(ctx.auth.viewer.userId, wanted);
  } catch (error) {
    if (AppError.is(error, 'CONFLICT') && error.details?.reason === 'locked') throw new DavError(423, error.message, ['no-conflicting-lock']);
    throw error;
  }
}

/** §9.10.4: the empty file a lock on an unmapped URL makes; the lock goes again when it cannot be made. */
async function createEmpty(ctx: DavContext, parentId: string | null, name: string, lock: DavLock): Promise<void> {
  try {
    await writeStreamedUpload(
      { clients: ctx.deps.clients, storage: ctx.deps.storage },
      { parentId, name, mimeType: 'application/octet-stream', body: Readable.from([]), length: 0, replace: false },
    );
  } catch (error) {
    await locksOf(ctx).unlock(ctx.auth.viewer.userId, lock.root, lock.token).catch(() => undefined);
    throw error;
  }
}

export async function unlockHandler(ctx: DavContext): Promise<void> {
  const header = headerOf(ctx, 'lock-token')?.trim() ?? '';
  const match = /^<([^<>]+)>$/.exec(header);
  if (!match?.[1]) throw new DavError(400, 'UNLOCK needs a Lock-Token header (<token>)');
  try {
    await locksOf(ctx).unlock(ctx.auth.viewer.userId, keyOf(ctx.path.names), match[1]);
  } catch (error) {
    if (AppError.is(error, 'CONFLICT') && error.details?.reason === 'lock_token_unknown') throw new DavError(409, error.message, ['lock-token-matches-request-uri']);
    throw error;
  }
  ctx.res.status(204).end();
}
