/** HTTP and XML helpers shared by the fake OSS and COS servers. */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Query parameters in order, decoded; a parameter without `=` has the value null (`?uploads`). */
export function rawQuery(url: string): [string, string | null][] {
  const at = url.indexOf('?');
  if (at < 0) return [];
  return url
    .slice(at + 1)
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, '%20'));
      return eq < 0 ? [decode(pair), null] : [decode(pair.slice(0, eq)), decode(pair.slice(eq + 1))];
    });
}

/** The decoded object key of a path-style or virtual-host request path. */
export function keyOf(url: string, bucket: string): string {
  const path = decodeURIComponent((url.split('?')[0] ?? '/').slice(1));
  return path === bucket ? '' : path.startsWith(`${bucket}/`) ? path.slice(bucket.length + 1) : path;
}

export function requestId(): string {
  return randomBytes(12).toString('hex').toUpperCase();
}

export function escapeXml(value: string): string {
  return value.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function unescapeXml(value: string): string {
  return value
    .replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export type XmlValue = string | number | boolean | XmlNode | XmlNode[] | undefined;
export interface XmlNode {
  [tag: string]: XmlValue;
}

/** `{ A: 1, B: [{ C: 'x' }, { C: 'y' }] }` → `<A>1</A><B><C>x</C></B><B><C>y</C></B>`. */
export function toXml(node: XmlNode): string {
  return Object.entries(node)
    .map(([tag, value]) => {
      if (value === undefined) return '';
      if (Array.isArray(value)) return value.map((item) => `<${tag}>${toXml(item)}</${tag}>`).join('');
      if (typeof value === 'object') return `<${tag}>${toXml(value)}</${tag}>`;
      return `<${tag}>${escapeXml(String(value))}</${tag}>`;
    })
    .join('');
}

export function xmlDocument(root: string, node: XmlNode): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${toXml({ [root]: node })}`;
}

/** Reads a small request body (XML); refuses more than `limit` bytes. */
export async function readSmallBody(req: IncomingMessage, limit = 2 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `<Part><PartNumber>n</PartNumber><ETag>e</ETag></Part>` entries of a CompleteMultipartUpload body. */
export function parseCompleteBody(xml: string): { partNumber: number; etag: string }[] | null {
  if (!/<CompleteMultipartUpload[\s>]/.test(xml)) return null;
  const parts: { partNumber: number; etag: string }[] = [];
  for (const match of xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
    const inner = match[1] ?? '';
    const number = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(inner)?.[1];
    const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(inner)?.[1];
    if (number === undefined || etag === undefined) return null;
    parts.push({ partNumber: Number(number), etag: unescapeXml(etag).trim() });
  }
  return parts;
}

export type RangeResult = { start: number; end: number } | 'unsatisfiable' | 'none';

/** RFC 7233 single byte range against an object of `size` bytes. */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return 'none';
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return 'none';
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || (match[2] !== '' && Number(match[2]) < start)) return 'unsatisfiable';
  return { start, end };
}

/** Waits until the request body is consumed (or the client went away), so a reply is not cut short. */
export async function drain(req: IncomingMessage): Promise<void> {
  if (req.complete || req.readableEnded || req.destroyed) return;
  await new Promise<void>((resolve) => {
    req.on('end', resolve);
    req.on('close', resolve);
    req.on('error', () => resolve());
    req.resume();
  });
}

export async function send(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number>,
  body?: string,
): Promise<void> {
  await drain(req);
  if (res.headersSent || res.destroyed) return;
  const bytes = body === undefined ? undefined : Buffer.from(body, 'utf8');
  // A HEAD reply keeps the Content-Length of the resource it describes.
  const length = req.method === 'HEAD' && 'Content-Length' in headers ? headers['Content-Length'] : (bytes?.length ?? 0);
  res.writeHead(status, { ...headers, 'Content-Length': length });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

export async function sendStream(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number>,
  body: Readable | null,
): Promise<void> {
  res.writeHead(status, headers);
  if (!body) {
    res.end();
    return;
  }
  try {
    await pipeline(body, res);
  } catch {
    res.destroy();
  }
}
