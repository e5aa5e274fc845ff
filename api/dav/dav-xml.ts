/**
 * XML for WebDAV request and response bodies (RFC 4918 §14, §17). Requests are parsed with
 * namespaces (sax, xmlns mode) into small element trees: the DAV: elements are matched by
 * namespace URI and local name, never by prefix ("DAV:" may be bound to any prefix, or be the
 * default namespace). A DOCTYPE is refused (no entity can expand: §20.6 on XML entities).
 * Responses are written as text with every element's namespace declared where it is used.
 */
import type { Request } from 'express';
import sax from 'sax';
import { AppError } from '../../internal/platform/errors.ts';

export const DAV_NS = 'DAV:';

export interface XmlElement {
  ns: string;
  name: string;
  attributes: { ns: string; name: string; value: string }[];
  children: XmlElement[];
  /** The element's own character data (its text children, concatenated). */
  text: string;
}

/** Request bodies of PROPFIND, PROPPATCH and LOCK are small; more than this is refused. */
export const MAX_XML_BODY = 1024 * 1024;

const badXml = (message: string, cause?: unknown) =>
  new AppError('BAD_INPUT', `The request body is not acceptable XML: ${message}`, { cause, details: { field: 'body' } });

/** The request body, up to `limit` bytes (413 beyond it). */
export async function readBody(req: Request, limit = MAX_XML_BODY): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new AppError('PAYLOAD_TOO_LARGE', `A WebDAV XML body can have at most ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Whether the request carries a body (Content-Length > 0 or chunked transfer coding). */
export function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/** The document element of an XML body, or null for an empty body. BAD_INPUT when malformed. */
export function parseXml(body: Buffer | string): XmlElement | null {
  const text = body.toString();
  if (text.trim() === '') return null;
  const parser = sax.parser(true, { xmlns: true, position: false });
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  let failure: unknown = null;
  parser.onerror = (error) => {
    failure ??= error;
    parser.resume();
  };
  parser.ondoctype = () => {
    failure ??= new Error('a DOCTYPE is not allowed');
  };
  parser.onopentag = (tag) => {
    const t = tag as sax.QualifiedTag;
    const attributes = Object.values(t.attributes).filter((a) => a.prefix !== 'xmlns' && a.name !== 'xmlns').map((a) => ({ ns: a.uri, name: a.local, value: a.value }));
    const element: XmlElement = { ns: t.uri, name: t.local, attributes, children: [], text: '' };
    const parent = stack.at(-1);
    if (parent) parent.children.push(element);
    else root ??= element;
    stack.push(element);
  };
  parser.onclosetag = () => void stack.pop();
  parser.ontext = (value) => appendText(stack, value);
  parser.oncdata = (value) => appendText(stack, value);
  parser.write(text).close();
  if (failure) throw badXml(failure instanceof Error ? failure.message.split('\n')[0] ?? 'malformed' : 'malformed', failure);
  if (!root) throw badXml('no document element');
  return root;
}

function appendText(stack: XmlElement[], value: string): void {
  const current = stack.at(-1);
  if (current) current.text += value;
}

export const isDav = (element: XmlElement, name: string): boolean => element.ns === DAV_NS && element.name === name;

/** The first child with this DAV: name. */
export const davChild = (element: XmlElement, name: string): XmlElement | undefined => element.children.find((c) => isDav(c, name));

/** Character data: "&" and "<" must be escaped (XML 1.0 §2.4), ">" too for "]]>". */
export function escapeXml(value: string): string {
  return value.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] ?? c);
}

/** An attribute value in double quotes. */
export function escapeAttr(value: string): string {
  return escapeXml(value).replace(/"/g, '&quot;');
}

/** An element in its namespace, self-contained: `<D:x>` for DAV:, `<x xmlns="ns">` otherwise. */
export function element(ns: string, name: string, inner = ''): string {
  if (ns === DAV_NS) return inner === '' ? `<D:${name}/>` : `<D:${name}>${inner}</D:${name}>`;
  const open = `${name} xmlns="${escapeAttr(ns)}"`;
  return inner === '' ? `<${open}/>` : `<${open}>${inner}</${name}>`;
}

/**
 * An element tree back to text, each element declaring its own namespace (as `element` does):
 * what a dead property's value is stored as, so it reads back the same wherever it is embedded.
 */
export function serializeXml(node: XmlElement): string {
  const inner = escapeXml(node.text.trim() === '' && node.children.length > 0 ? '' : node.text) + node.children.map(serializeXml).join('');
  const attrs = node.attributes.filter((a) => a.ns === '').map((a) => ` ${a.name}="${escapeAttr(a.value)}"`).join('');
  const open = `${node.name} xmlns="${escapeAttr(node.ns)}"${attrs}`;
  return inner === '' ? `<${open}/>` : `<${open}>${inner}</${node.name}>`;
}
