/**
 * Dead properties for PROPFIND and COPY (the DavHooks `deadProperties` and `copied`), kept by the
 * files service (files.properties.*): a page of items is one call, so a PROPFIND of any size costs
 * the same statements per page. MOVE keeps the file's id and so its properties; a purge deletes them.
 */
import type { FileDto } from '../../internal/files/index.ts';
import type { DavContext, DavItem, DeadProperty } from './dav-context.ts';

/** Ids per call: the router's bound. */
const BATCH = 1000;

export async function deadProperties(ctx: DavContext, items: readonly DavItem[]): Promise<Map<string, DeadProperty[]>> {
  const out = new Map<string, DeadProperty[]>();
  for (let i = 0; i < items.length; i += BATCH) {
    const page = items.slice(i, i + BATCH);
    const byId = await ctx.deps.clients.files.properties.forFiles.query({ ids: page.map((item) => item.node.id) });
    for (const item of page) {
      const props = byId[item.node.id];
      if (props && props.length > 0) out.set(item.href, props.map((p) => ({ ns: p.namespace, name: p.name, valueXml: p.value })));
    }
  }
  return out;
}

/** §9.8.2: "The dead properties ... SHOULD be duplicated at the destination" of a COPY. */
export async function copied(ctx: DavContext, from: FileDto, to: FileDto): Promise<void> {
  if (from.id === to.id) return;
  await ctx.deps.clients.files.properties.copySubtree.mutate({ fromId: from.id, toId: to.id });
}
