/**
 * DELETE (RFC 4918 §9.6): the item goes to the trash, as a deletion in the drive does (it can be
 * restored from there). "A client MUST NOT submit a Depth header with a DELETE on a collection
 * with any value but infinity" (§9.6.1) — anything else is 400. Success is 204 No Content.
 */
import { headerOf, requireItem, type DavContext } from './dav-context.ts';
import { DavError } from './dav-errors.ts';

export async function deleteHandler(ctx: DavContext): Promise<void> {
  const item = await requireItem(ctx);
  const depth = headerOf(ctx, 'depth')?.trim().toLowerCase();
  if (item.node.isFolder && depth !== undefined && depth !== 'infinity') throw new DavError(400, 'DELETE of a folder takes Depth: infinity');
  await ctx.hooks.assertWritable?.(ctx, [{ names: item.names, depth: 'infinity' }]);
  await ctx.deps.clients.files.trash.mutate({ id: item.node.id });
  await ctx.hooks.removed?.(ctx, [item.names]);
  ctx.res.status(204).end();
}
