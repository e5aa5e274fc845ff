/**
 * MKCOL (RFC 4918 §9.3): a folder at the request path. "If the Request-URI is already mapped to
 * a resource, then the MKCOL MUST fail" (405 Method Not Allowed, §9.3.1); "all ancestors MUST
 * already exist, or the method MUST fail with a 409 (Conflict) status code"; "If the server
 * receives a MKCOL request entity type it does not support or understand, it MUST respond with a
 * 415 (Unsupported Media Type) status code" — no body is supported. The name follows the
 * drive's rules (a refused name is 400 with its reason; nothing is created).
 */
import { hrefOf } from './dav-path.ts';
import type { DavContext } from './dav-context.ts';
import { DavError } from './dav-errors.ts';
import { hasBody } from './dav-xml.ts';
import { COLLECTION_METHODS } from './get.handler.ts';

export async function mkcolHandler(ctx: DavContext): Promise<void> {
  if (hasBody(ctx.req)) throw new DavError(415, 'MKCOL with a request body is not supported');
  const { node, parent } = await ctx.resolve();
  if (node) throw new DavError(405, 'Something already exists at this path', [], { Allow: node.isFolder ? COLLECTION_METHODS : 'OPTIONS, GET, HEAD, PUT, PROPFIND, PROPPATCH, DELETE, COPY, MOVE, LOCK, UNLOCK' });
  const name = ctx.path.names.at(-1);
  if (!parent || name === undefined) throw new DavError(409, 'The folder to create this in does not exist');
  await ctx.hooks.assertWritable?.(ctx, [{ names: ctx.path.names, depth: '0' }]);
  await ctx.deps.clients.files.createFolder.mutate({ parentId: parent.id, name });
  ctx.res.status(201).setHeader('Location', hrefOf(ctx.path.names, true));
  ctx.res.setHeader('Content-Length', '0');
  ctx.res.end();
}
