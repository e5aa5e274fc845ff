/**
 * COPY (RFC 4918 §9.8) and MOVE (§9.9) within the person's drive.
 * - COPY is by reference, like saving a share: the new files point at the same blobs, no byte is
 *   copied; the quota is charged for the copy (507 when it does not fit). Depth: "infinity" (the
 *   default) copies a folder with everything below; "0" only the folder itself (§9.8.3: "A COPY
 *   of 'Depth: 0' only instructs that the collection and its properties, but not resources
 *   identified by its internal member URLs, are to be copied"); "1" is 400.
 * - MOVE renames and/or re-parents the item in one transaction; on a collection "The MOVE
 *   method on a collection MUST act as if a 'Depth: infinity' header was used on it" (§9.9.2).
 * - Overwrite (§10.6): an existing destination with "F" is 412 Precondition Failed; with "T" it
 *   is first deleted (§9.8.4/§9.9.3: "prior to performing the copy, the server MUST perform a
 *   DELETE with 'Depth: infinity' on the destination resource"), here: moved to the trash.
 * - Status: "201 (Created) - The source resource was successfully copied. The copy operation
 *   resulted in the creation of a new resource", "204 (No Content) - The source resource was
 *   successfully copied to a preexisting destination resource"; 409 when the destination's
 *   folder does not exist ("409 (Conflict) - A resource cannot be created at the destination
 *   until one or more intermediate collections have been created"); 403 when source and
 *   destination are the same or the destination lies inside the source.
 */
import type { FileDto } from '../../internal/files/index.ts';
import { headerOf, requireItem, type DavContext, type DavItem, type DavTarget } from './dav-context.ts';
import { DavError } from './dav-errors.ts';
import { hrefOf, isWithin, sameNames, type DavPath } from './dav-path.ts';
import { destinationOf, overwriteOf } from './destination.ts';

interface Plan {
  source: DavItem;
  dest: DavPath;
  parentId: string;
  name: string;
  /** The live item the destination names now (to be trashed), if any and not the source itself. */
  existing: FileDto | null;
}

export async function copyHandler(ctx: DavContext): Promise<void> {
  const depth = headerOf(ctx, 'depth')?.trim().toLowerCase() ?? 'infinity';
  if (depth !== '0' && depth !== 'infinity') throw new DavError(400, 'COPY takes Depth: 0 or infinity');
  const plan = await planOf(ctx, 'COPY');
  if (!plan.source.node.isFolder) await ctx.deps.clients.files.assertFits.query({ size: plan.source.node.size });
  await clearDestination(ctx, plan, []);
  const copy = await ctx.deps.clients.files.paths.copyTo.mutate({
    id: plan.source.node.id, parentId: plan.parentId, name: plan.name, shallow: depth === '0',
  });
  await ctx.hooks.copied?.(ctx, plan.source.node, copy);
  finish(ctx, plan, copy);
}

export async function moveHandler(ctx: DavContext): Promise<void> {
  const depth = headerOf(ctx, 'depth')?.trim().toLowerCase();
  if (depth !== undefined && depth !== 'infinity') throw new DavError(400, 'MOVE takes Depth: infinity');
  const plan = await planOf(ctx, 'MOVE');
  await clearDestination(ctx, plan, [{ names: plan.source.names, depth: 'infinity' }]);
  const moved = await ctx.deps.clients.files.paths.moveTo.mutate({ id: plan.source.node.id, parentId: plan.parentId, name: plan.name });
  await ctx.hooks.removed?.(ctx, [plan.source.names]);
  finish(ctx, plan, moved);
}

async function planOf(ctx: DavContext, method: 'COPY' | 'MOVE'): Promise<Plan> {
  const source = await requireItem(ctx);
  const dest = destinationOf(ctx);
  const renameOnly = refuseOverlap(source, dest, method);
  const target = await ctx.resolve(dest.names);
  const name = dest.names.at(-1);
  if (!target.parent || name === undefined) throw new DavError(409, 'The destination folder does not exist');
  const existing = renameOnly ? null : target.node;
  if (existing && !overwriteOf(ctx)) throw new DavError(412, 'The destination exists and Overwrite is F');
  return { source, dest, parentId: target.parent.id, name, existing };
}

/**
 * 403 when source and destination are the same or one contains the other; true when they name
 * the same item under another case ("a" → "A"): a rename for MOVE (a clash for COPY, refused).
 */
function refuseOverlap(source: DavItem, dest: DavPath, method: 'COPY' | 'MOVE'): boolean {
  const exact = dest.names.length === source.names.length && dest.names.every((n, i) => n.normalize('NFC') === source.names[i]?.normalize('NFC'));
  if (exact) throw new DavError(403, 'The source and the destination are the same');
  const renameOnly = sameNames(dest.names, source.names);
  if (renameOnly && method === 'COPY') throw new DavError(403, 'The source and the destination are the same item');
  if (renameOnly) return true;
  if (source.node.isFolder && isWithin(dest.names, source.names)) throw new DavError(403, `A folder cannot be ${method === 'COPY' ? 'copied' : 'moved'} into itself`);
  if (isWithin(source.names, dest.names)) throw new DavError(403, 'The destination contains the source');
  return false;
}

/** Checks the locks of what changes, then moves an existing destination to the trash. */
async function clearDestination(ctx: DavContext, plan: Plan, alsoTouched: DavTarget[]): Promise<void> {
  await ctx.hooks.assertWritable?.(ctx, [...alsoTouched, { names: plan.dest.names, depth: 'infinity' }]);
  if (!plan.existing) return;
  await ctx.deps.clients.files.trash.mutate({ id: plan.existing.id });
  await ctx.hooks.removed?.(ctx, [plan.dest.names]);
}

function finish(ctx: DavContext, plan: Plan, node: FileDto): void {
  if (!plan.existing) ctx.res.setHeader('Location', hrefOf(plan.dest.names, node.isFolder));
  ctx.res.setHeader('Content-Length', '0');
  ctx.res.status(plan.existing ? 204 : 201).end();
}
