/**
 * PROPPATCH (RFC 4918 §9.2): sets and removes dead properties, kept by the files service.
 * - "Instructions MUST either all be executed or none executed" and in document order: the changes
 *   go to the service as one list, applied in one transaction;
 * - §9.2.1: a protected (live) property answers 403 with `cannot-modify-protected-property`, the
 *   others of the request 424 Failed Dependency; a value too large for the store answers 507
 *   ("insufficient space to record the property");
 * - success is 207 Multi-Status with 200 for every property; removing a property that does not
 *   exist is not an error (§14.23: "Specifying the removal of a property that does not exist is
 *   not an error").
 */
import { propertyRefusal, type PropertyChange } from '../../internal/files/index.ts';
import { AppError } from '../../internal/platform/errors.ts';
import { normalizeError } from '../../internal/platform/rpc/client.ts';
import { requireItem, type DavContext } from './dav-context.ts';
import { DavError } from './dav-errors.ts';
import { assertWritable } from './dav-locks.ts';
import { davChild, element, escapeXml, isDav, parseXml, readBody, serializeXml, type XmlElement } from './dav-xml.ts';
import { responseXml, sendMultistatus, type PropStat } from './multistatus.ts';

/** The inner XML of a property element: its value as stored (its children declare their namespaces). */
function valueOf(prop: XmlElement): string {
  if (prop.children.length === 0) return escapeXml(prop.text);
  return (prop.text.trim() === '' ? '' : escapeXml(prop.text)) + prop.children.map(serializeXml).join('');
}

/** The changes of a DAV:propertyupdate body, in document order. */
export function changesOf(root: XmlElement | null): PropertyChange[] {
  if (!root || !isDav(root, 'propertyupdate')) throw new DavError(400, 'The body must be a DAV:propertyupdate');
  const changes: PropertyChange[] = [];
  for (const directive of root.children) {
    const set = isDav(directive, 'set');
    if (!set && !isDav(directive, 'remove')) continue;
    const prop = davChild(directive, 'prop');
    if (!prop) throw new DavError(400, `DAV:${directive.name} needs a DAV:prop`);
    for (const p of prop.children) {
      changes.push(set ? { op: 'set', namespace: p.ns, name: p.name, value: valueOf(p) } : { op: 'remove', namespace: p.ns, name: p.name });
    }
  }
  if (changes.length === 0) throw new DavError(400, 'The DAV:propertyupdate changes no property');
  return changes;
}

const nameXml = (c: PropertyChange) => element(c.namespace, c.name);

/** The status a refused change answers with (§9.2.1). */
function refusedStatus(error: AppError): number {
  if (error.details?.reason === 'property_protected') return 403;
  return 507;
}

export async function proppatchHandler(ctx: DavContext): Promise<void> {
  const item = await requireItem(ctx);
  await assertWritable(ctx, [{ names: item.names, depth: '0' }]);
  const changes = changesOf(parseXml(await readBody(ctx.req)));
  const refused = changes.map((c) => propertyRefusal(c));
  if (refused.some((r) => r !== null)) {
    const stats: PropStat[] = changes.map((c, i) => {
      const r = refused[i];
      return { status: r ? refusedStatus(r) : 424, props: [nameXml(c)] };
    });
    return sendMultistatus(ctx.res, [responseXml(item.href, stats)]);
  }
  try {
    await ctx.deps.clients.files.properties.patch.mutate({ fileId: item.node.id, changes });
  } catch (thrown) {
    const error = normalizeError(thrown);
    // The file's property count bound: nothing was kept (§9.2.1 507 "insufficient space").
    if (AppError.is(error) && error.details?.reason === 'too_many_properties') {
      return sendMultistatus(ctx.res, [responseXml(item.href, [{ status: 507, props: changes.map(nameXml) }])]);
    }
    throw error;
  }
  sendMultistatus(ctx.res, [responseXml(item.href, [{ status: 200, props: changes.map(nameXml) }])]);
}
