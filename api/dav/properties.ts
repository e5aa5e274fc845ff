/**
 * The properties PROPFIND reports (RFC 4918 §15, RFC 4331 §3–4) and what a PROPFIND body asks
 * for (§9.1, §14.20 propfind: "propname | (allprop, include?) | prop").
 *
 * Live properties: displayname, resourcetype, getcontentlength, getcontenttype, getetag (the
 * content hash, a strong entity-tag, quoted: §15.6 "The getetag property MUST be defined on any
 * DAV-compliant resource that returns the Etag header"), getlastmodified (§15.7: "rfc1123-date"),
 * creationdate (§15.1: "date-time" of RFC 3339), supportedlock and lockdiscovery (§15.10, §15.8),
 * and the quota properties on collections (RFC 4331 §3: quota-available-bytes "REQUIRED on
 * collections"; §4: quota-used-bytes). Folders have no content, so the content properties are
 * not defined on them (404 in the propstat when asked for).
 *
 * allprop: §9.1 "the 'allprop' element ... return the dead properties and the live properties
 * defined in this document"; the RFC 4331 properties are not (they are reported when named), so
 * a plain listing never costs the quota read.
 */
import type { FileDto, QuotaDto } from '../../internal/files/index.ts';
import { AppError } from '../../internal/platform/errors.ts';
import { formatHttpDate } from '../http/conditional.ts';
import type { DavItem, DeadProperty } from './dav-context.ts';
import { DAV_NS, element, escapeXml, isDav, type XmlElement } from './dav-xml.ts';
import type { PropStat } from './multistatus.ts';

export interface PropName {
  ns: string;
  name: string;
}

export type PropRequest =
  | { kind: 'allprop'; include: PropName[] }
  | { kind: 'propname' }
  | { kind: 'prop'; names: PropName[] };

/** What a page of items shares: the batch hooks' answers and the quota (read once per request). */
export interface PageFacts {
  dead: Map<string, DeadProperty[]>;
  locks: Map<string, string>;
  quota: QuotaDto | undefined;
}

const RFC4918_LIVE = ['creationdate', 'displayname', 'getcontentlength', 'getcontenttype', 'getetag', 'getlastmodified', 'lockdiscovery', 'resourcetype', 'supportedlock'] as const;
const QUOTA_LIVE = ['quota-available-bytes', 'quota-used-bytes'] as const;
type LiveName = (typeof RFC4918_LIVE)[number] | (typeof QUOTA_LIVE)[number];
const LIVE: ReadonlySet<string> = new Set<string>([...RFC4918_LIVE, ...QUOTA_LIVE]);

export const isLive = (p: PropName): p is { ns: 'DAV:'; name: LiveName } => p.ns === DAV_NS && LIVE.has(p.name);
export const isQuota = (p: PropName): boolean => p.ns === DAV_NS && (QUOTA_LIVE as readonly string[]).includes(p.name);

/** The PROPFIND body (§9.1: "A client may choose not to submit a request body. An empty PROPFIND request body MUST be treated as if it were an 'allprop' request"). */
export function propRequestOf(root: XmlElement | null): PropRequest {
  if (!root) return { kind: 'allprop', include: [] };
  if (!isDav(root, 'propfind')) throw badBody('the document element must be DAV:propfind');
  const [first, ...rest] = root.children;
  if (!first) throw badBody('DAV:propfind needs DAV:prop, DAV:allprop or DAV:propname');
  if (isDav(first, 'propname')) return { kind: 'propname' };
  if (isDav(first, 'prop')) return { kind: 'prop', names: first.children.map(nameOf) };
  if (isDav(first, 'allprop')) {
    const include = rest.find((c) => isDav(c, 'include'));
    return { kind: 'allprop', include: include ? include.children.map(nameOf) : [] };
  }
  throw badBody(`unexpected element ${first.name} in DAV:propfind`);
}

const nameOf = (e: XmlElement): PropName => ({ ns: e.ns, name: e.name });
const badBody = (message: string) => new AppError('BAD_INPUT', `Bad PROPFIND body: ${message}`, { details: { field: 'body' } });

/** Whether answering needs the dead-property hook, the lock hook, the quota. */
export function needs(request: PropRequest): { dead: boolean; locks: boolean; quota: boolean } {
  if (request.kind === 'propname') return { dead: true, locks: false, quota: false };
  if (request.kind === 'allprop') return { dead: true, locks: true, quota: request.include.some(isQuota) };
  return {
    dead: request.names.some((n) => !isLive(n)),
    locks: request.names.some((n) => n.ns === DAV_NS && n.name === 'lockdiscovery'),
    quota: request.names.some(isQuota),
  };
}

/** The propstats of one item: found properties under 200, unknown or undefined ones under 404. */
export function propstatsOf(item: DavItem, request: PropRequest, facts: PageFacts): PropStat[] {
  const dead = facts.dead.get(item.href) ?? [];
  if (request.kind === 'propname') {
    const names = [...RFC4918_LIVE.filter((n) => liveValue(n, item, facts) !== null), ...(item.node.isFolder ? QUOTA_LIVE : [])];
    return [{ status: 200, props: [...names.map((n) => element(DAV_NS, n)), ...dead.map((d) => element(d.ns, d.name))] }];
  }
  const wanted = request.kind === 'allprop'
    ? [...RFC4918_LIVE.map((name) => ({ ns: DAV_NS, name })), ...dead, ...request.include.filter((p) => isLive(p) && !(RFC4918_LIVE as readonly string[]).includes(p.name))]
    : request.names;
  const found: string[] = [];
  const missing: string[] = [];
  for (const prop of wanted) {
    const value = valueOf(prop, item, facts, dead);
    if (value !== null) found.push(value);
    else if (request.kind === 'prop') missing.push(element(prop.ns, prop.name));
  }
  return [{ status: 200, props: found }, { status: 404, props: missing }];
}

function valueOf(prop: PropName, item: DavItem, facts: PageFacts, dead: readonly DeadProperty[]): string | null {
  if (isLive(prop)) {
    const value = liveValue(prop.name, item, facts);
    return value === null ? null : element(DAV_NS, prop.name, value);
  }
  const stored = dead.find((d) => d.ns === prop.ns && d.name === prop.name);
  return stored ? element(stored.ns, stored.name, stored.valueXml) : null;
}

/** A live property's value (inner XML), or null where it is not defined. */
export function liveValue(name: LiveName, item: DavItem, facts: PageFacts): string | null {
  const node = item.node;
  const file = (value: () => string) => (node.isFolder ? null : value());
  const folder = (value: (q: QuotaDto) => number) => (node.isFolder && facts.quota ? String(value(facts.quota)) : null);
  switch (name) {
    case 'creationdate': return escapeXml(node.createdAt);
    case 'displayname': return escapeXml(node.name);
    case 'getcontentlength': return file(() => String(node.size));
    case 'getcontenttype': return file(() => escapeXml(node.mimeType ?? 'application/octet-stream'));
    case 'getetag': return file(() => escapeXml(etagOf(node)));
    case 'getlastmodified': return formatHttpDate(new Date(node.updatedAt));
    case 'lockdiscovery': return facts.locks.get(item.href) ?? '';
    case 'resourcetype': return node.isFolder ? '<D:collection/>' : '';
    case 'supportedlock': return SUPPORTED_LOCK;
    // RFC 4331 §3: "the amount of additional disk space ... that may be allocated"; never negative.
    case 'quota-available-bytes': return folder((q) => Math.max(0, q.limit - q.used));
    case 'quota-used-bytes': return folder((q) => q.used);
  }
}

/** The strong entity-tag of a file: its content hash (the download endpoints send the same). */
export const etagOf = (node: FileDto): string => `"${node.contentHash ?? node.id}"`;

/** §15.10: exclusive and shared write locks (LOCK: lock.handler.ts). */
const SUPPORTED_LOCK = ['exclusive', 'shared']
  .map((scope) => `<D:lockentry><D:lockscope><D:${scope}/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>`)
  .join('');
