/**
 * PUT (RFC 4918 §9.7, RFC 9110 §9.3.4): the body becomes the file at the request path, streamed
 * into the backend's multipart upload with bounded memory through the one upload path
 * (internal/uploads writeStreamedUpload → commitUpload): same content stored once, the quota
 * checked before anything is kept (a Content-Length over the room is 507 at once, a body that
 * crosses it is cut off: 507 and nothing kept).
 * - 201 Created for a new file, 204 No Content when an existing file took the new content (it
 *   keeps its id, properties and shares; the old content is not kept until versions exist);
 * - §9.7.1: "A PUT that would result in the creation of a resource without an appropriately
 *   scoped parent collection MUST fail with a 409 (Conflict)";
 * - PUT to a collection: 405 (§9.7.2 leaves it undefined; the drive has no content for folders);
 * - RFC 9110 §14.5: a PUT with Content-Range is a partial update the drive does not do: 400;
 * - If-Match / If-None-Match are honoured (412), as is the If header with locks (dav-locks.ts);
 * - the answer carries the file's ETag (its content hash).
 */
import type { FileDto } from '../../internal/files/index.ts';
import { writeStreamedUpload } from '../../internal/uploads/index.ts';
import type { DavContext } from './dav-context.ts';
import { DavError } from './dav-errors.ts';
import { assertWritable } from './dav-locks.ts';
import { etagOf } from './properties.ts';

function declaredLength(ctx: DavContext, name: 'content-length' | 'x-expected-entity-length'): number | null {
  const header = ctx.req.headers[name]?.toString();
  if (header === undefined) return null;
  if (!/^\d{1,16}$/.test(header)) throw new DavError(400, `${name} must be a number of bytes`);
  return Number(header);
}

/**
 * RFC 9110 §13.1.1/§13.1.2 on a PUT: `If-None-Match: *` creates only ("MUST NOT perform the
 * requested method if ... the current representation exists"), `If-Match` replaces only the
 * version named (strong comparison; `*` = any current one). 412 otherwise.
 */
function assertPreconditions(ctx: DavContext, node: FileDto | null): void {
  const list = (name: string) => ctx.req.headers[name]?.toString().split(',').map((v) => v.trim()).filter(Boolean);
  const noneMatch = list('if-none-match');
  if (noneMatch && node && (noneMatch.includes('*') || noneMatch.includes(etagOf(node)))) throw new DavError(412, 'The file exists (If-None-Match)');
  const match = list('if-match');
  if (match && (!node || !(match.includes('*') || match.includes(etagOf(node))))) throw new DavError(412, 'The file is not the version named by If-Match');
}

export async function putHandler(ctx: DavContext): Promise<void> {
  const names = ctx.path.names;
  const name = names.at(-1);
  if (name === undefined || ctx.path.trailingSlash) throw new DavError(405, 'PUT needs a file name, not a folder', [], { Allow: 'OPTIONS, PROPFIND, PROPPATCH, LOCK, UNLOCK, MKCOL' });
  if (ctx.req.headers['content-range'] !== undefined) throw new DavError(400, 'A PUT with Content-Range (a partial update) is not supported');
  const length = declaredLength(ctx, 'content-length');
  // macOS Finder streams chunked and announces the size here: a quota refusal before the bytes.
  const expected = length === null ? declaredLength(ctx, 'x-expected-entity-length') : null;
  const { node, parent } = await ctx.resolve();
  if (node?.isFolder) throw new DavError(405, 'A folder has no content to PUT', [], { Allow: 'OPTIONS, PROPFIND, PROPPATCH, LOCK, UNLOCK, DELETE, MOVE, COPY' });
  if (!parent) throw new DavError(409, 'The folder to put this file in does not exist');
  assertPreconditions(ctx, node);
  // A new member changes its folder: a lock on the folder covers that (§7.4), the file's own too.
  await assertWritable(ctx, node ? [{ names, depth: '0' }] : [{ names, depth: '0' }, { names: names.slice(0, -1), depth: '0' }]);
  const { file, replaced } = await writeStreamedUpload(
    { clients: ctx.deps.clients, storage: ctx.deps.storage, meter: ctx.deps.uploadMeter },
    { parentId: parent.id, name, mimeType: (ctx.req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '', body: ctx.req, length, expected: expected ?? undefined, replace: true },
  );
  ctx.res.setHeader('ETag', etagOf(file));
  ctx.res.status(replaced ? 204 : 201).end();
}
