/**
 * The pure parts of WebDAV core (fast tier): paths to names and back, XML bodies with namespaces,
 * what a PROPFIND asks for and the propstats of an item, the Destination header, and the status
 * each refusal gets.
 */
import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import type { FileDto } from '../../internal/files/index.ts';
import { AppError } from '../../internal/platform/errors.ts';
import type { DavContext, DavItem } from './dav-context.ts';
import { davStatusOf, DavError } from './dav-errors.ts';
import { hrefOf, isWithin, parseDavPath, sameNames } from './dav-path.ts';
import { parseXml, serializeXml } from './dav-xml.ts';
import { destinationOf, overwriteOf } from './destination.ts';
import { propRequestOf, propstatsOf, type PageFacts } from './properties.ts';

const reasonOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return error instanceof AppError ? `${error.code}:${error.details?.reason ?? ''}` : error instanceof DavError ? String(error.status) : 'other';
  }
  return undefined;
};

describe('paths', () => {
  it('reads names percent-decoded, ignores empty segments, notes the trailing slash', () => {
    expect(parseDavPath('/dav')).toEqual({ names: [], trailingSlash: false });
    expect(parseDavPath('/dav/')).toEqual({ names: [], trailingSlash: true });
    expect(parseDavPath('/dav/a%20b//c%C3%A9/?x=1')).toEqual({ names: ['a b', 'cé'], trailingSlash: true });
    // An encoded slash or NUL is part of a name; the files service refuses such a name.
    expect(parseDavPath('/dav/a%2Fb/%00').names).toEqual(['a/b', '\0']);
  });

  it('refuses dot-segments, bad percent-encoding and paths outside /dav', () => {
    expect(reasonOf(() => parseDavPath('/dav/a/../b'))).toBe('BAD_INPUT:name_only_dots');
    expect(reasonOf(() => parseDavPath('/dav/./b'))).toBe('BAD_INPUT:name_only_dots');
    expect(reasonOf(() => parseDavPath('/dav/%FF'))).toBe('BAD_INPUT:name_invalid_character');
    expect(reasonOf(() => parseDavPath('/davx/a'))).toBe('NOT_FOUND:');
  });

  it('writes hrefs with every reserved character escaped; collections end in /', () => {
    expect(hrefOf([], true)).toBe('/dav/');
    expect(hrefOf(['a b', "it's (1)"], false)).toBe('/dav/a%20b/it%27s%20%281%29');
    expect(hrefOf(['x#y?z'], true)).toBe('/dav/x%23y%3Fz/');
    expect(parseDavPath(hrefOf(['ünï cödé', '100%'], false)).names).toEqual(['ünï cödé', '100%']);
  });

  it('compares names caselessly for containment', () => {
    expect(isWithin(['A', 'b', 'c'], ['a', 'B'])).toBe(true);
    expect(isWithin(['a'], ['a', 'b'])).toBe(false);
    expect(sameNames(['Doc'], ['doc'])).toBe(true);
  });
});

describe('XML bodies', () => {
  it('matches elements by namespace, whatever the prefix', () => {
    const body = '<?xml version="1.0"?><x:propfind xmlns:x="DAV:"><x:prop><getetag xmlns="DAV:"/><z:color xmlns:z="urn:z"/></x:prop></x:propfind>';
    expect(propRequestOf(parseXml(body))).toEqual({ kind: 'prop', names: [{ ns: 'DAV:', name: 'getetag' }, { ns: 'urn:z', name: 'color' }] });
    expect(propRequestOf(parseXml(''))).toEqual({ kind: 'allprop', include: [] });
    expect(propRequestOf(parseXml('<propfind xmlns="DAV:"><propname/></propfind>'))).toEqual({ kind: 'propname' });
    const include = '<D:propfind xmlns:D="DAV:"><D:allprop/><D:include><D:quota-used-bytes/></D:include></D:propfind>';
    expect(propRequestOf(parseXml(include))).toEqual({ kind: 'allprop', include: [{ ns: 'DAV:', name: 'quota-used-bytes' }] });
  });

  it('refuses malformed XML, a DOCTYPE, a wrong document element', () => {
    expect(reasonOf(() => parseXml('<a><b></a>'))).toBe('BAD_INPUT:');
    expect(reasonOf(() => parseXml('<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'))).toBe('BAD_INPUT:');
    expect(reasonOf(() => propRequestOf(parseXml('<prop xmlns="DAV:"/>')))).toBe('BAD_INPUT:');
    expect(reasonOf(() => propRequestOf(parseXml('<propfind xmlns="urn:not-dav"><allprop/></propfind>')))).toBe('BAD_INPUT:');
  });

  it('serializes a tree with each namespace declared where it is used', () => {
    const tree = parseXml('<a:x xmlns:a="urn:a" xmlns:b="urn:b" k="v"><b:y>1 &amp; 2</b:y></a:x>');
    expect(tree && serializeXml(tree)).toBe('<x xmlns="urn:a" k="v"><y xmlns="urn:b">1 &amp; 2</y></x>');
  });
});

describe('properties', () => {
  const node = (over: Partial<FileDto>): FileDto => ({
    id: 'f1', name: 'a&b.txt', size: 5, contentHash: 'ab'.repeat(32), mimeType: null, isFolder: false, parentId: 'root',
    createdAt: '2026-01-02T03:04:05.000Z', updatedAt: '2026-01-02T03:04:05.000Z', trashedAt: null, ...over,
  });
  const item = (n: FileDto): DavItem => ({ node: n, names: [n.name], href: hrefOf([n.name], n.isFolder) });
  const facts: PageFacts = { dead: new Map([['/dav/a%26b.txt', [{ ns: 'urn:z', name: 'color', valueXml: 'red' }]]]), locks: new Map(), quota: { used: 10, limit: 100 } };

  it('allprop: the RFC 4918 live properties and the dead ones, no quota', () => {
    const [ok] = propstatsOf(item(node({})), { kind: 'allprop', include: [] }, facts);
    const xml = ok?.props.join('') ?? '';
    expect(xml).toContain(`<D:getetag>"${'ab'.repeat(32)}"</D:getetag>`);
    expect(xml).toContain('<D:displayname>a&amp;b.txt</D:displayname>');
    expect(xml).toContain('<D:getcontenttype>application/octet-stream</D:getcontenttype>');
    expect(xml).toContain('<D:getlastmodified>Fri, 02 Jan 2026 03:04:05 GMT</D:getlastmodified>');
    expect(xml).toContain('<color xmlns="urn:z">red</color>');
    expect(xml).not.toContain('quota');
  });

  it('prop: quota on a folder, content properties 404 on it', () => {
    const names = ['quota-available-bytes', 'quota-used-bytes', 'getcontentlength', 'getetag'].map((name) => ({ ns: 'DAV:', name }));
    const [ok, missing] = propstatsOf(item(node({ isFolder: true, name: 'docs' })), { kind: 'prop', names }, facts);
    expect(ok?.props).toEqual(['<D:quota-available-bytes>90</D:quota-available-bytes>', '<D:quota-used-bytes>10</D:quota-used-bytes>']);
    expect(missing).toEqual({ status: 404, props: ['<D:getcontentlength/>', '<D:getetag/>'] });
  });
});

describe('Destination and Overwrite', () => {
  const ctx = (headers: Record<string, string>) => ({ req: { headers: { host: 'drive.example:8080', ...headers } } as unknown as Request }) as DavContext;
  it('takes an absolute URI on this server or an absolute path below /dav/', () => {
    expect(destinationOf(ctx({ destination: 'http://drive.example:8080/dav/a%20b/c' })).names).toEqual(['a b', 'c']);
    expect(destinationOf(ctx({ destination: '/dav/x/' })).names).toEqual(['x']);
  });
  it('refuses another server (502), a path outside /dav (502), no header or a bad one (400)', () => {
    expect(reasonOf(() => destinationOf(ctx({ destination: 'http://elsewhere/dav/a' })))).toBe('502');
    expect(reasonOf(() => destinationOf(ctx({ destination: 'http://drive.example:8080/dav/../files/a' })))).toBe('502');
    expect(reasonOf(() => destinationOf(ctx({})))).toBe('400');
    expect(reasonOf(() => overwriteOf(ctx({ overwrite: 'maybe' })))).toBe('400');
    expect(overwriteOf(ctx({}))).toBe(true);
    expect(overwriteOf(ctx({ overwrite: 'f' }))).toBe(false);
  });
});

describe('statuses', () => {
  it('maps refusals to WebDAV statuses', () => {
    const cases: [AppError, number][] = [
      [new AppError('QUOTA_EXCEEDED', 'full'), 507],
      [new AppError('CONFLICT', 'locked', { details: { reason: 'locked' } }), 423],
      [new AppError('CONFLICT', 'taken', { details: { reason: 'name_taken' } }), 412],
      [new AppError('BAD_INPUT', 'cycle', { details: { reason: 'move_cycle' } }), 403],
      [new AppError('BAD_INPUT', 'file', { details: { reason: 'not_a_folder' } }), 409],
      [new AppError('BAD_INPUT', 'bad name', { details: { reason: 'name_invalid_character' } }), 400],
      [new AppError('NOT_FOUND', 'none'), 404],
      [new AppError('UNAUTHENTICATED', 'who'), 401],
    ];
    for (const [error, status] of cases) expect(davStatusOf(error), error.message).toBe(status);
  });
});
