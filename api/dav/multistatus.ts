/**
 * A 207 Multi-Status body (RFC 4918 §13), written as it is produced: the head goes out first,
 * then each batch of `<D:response>` elements, waiting for the socket to drain between batches,
 * so a folder of any size is sent with the memory of one page. "The default 207 (Multi-Status)
 * response body is a text/xml or application/xml HTTP entity with a 'multistatus' root element"
 * (§13); "each 'response' element MUST have an 'href' element" (§14.24).
 */
import type { Response } from 'express';
import { once } from 'node:events';
import { STATUS_CODES } from 'node:http';
import { DAV_NS, element, escapeXml } from './dav-xml.ts';

export interface PropStat {
  status: number;
  /** Property elements, already XML (`element(ns, name, value)`). */
  props: string[];
}

export const statusLine = (status: number): string => `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`;

/** One `<D:response>`: the href with a propstat per status (§14.22: "one propstat for each status"). */
export function responseXml(href: string, propstats: readonly PropStat[]): string {
  const stats = propstats
    .filter((p) => p.props.length > 0)
    .map((p) => `<D:propstat><D:prop>${p.props.join('')}</D:prop><D:status>${statusLine(p.status)}</D:status></D:propstat>`)
    .join('');
  return `<D:response><D:href>${escapeXml(href)}</D:href>${stats}</D:response>`;
}

/** A `<D:response>` with a status of its own (a member that failed as a whole, §14.24). */
export function statusResponseXml(href: string, status: number): string {
  return `<D:response><D:href>${escapeXml(href)}</D:href><D:status>${statusLine(status)}</D:status></D:response>`;
}

export class MultistatusWriter {
  private started = false;

  constructor(private readonly res: Response) {}

  /** Sends the status and head; the body follows with `write` and ends with `end`. */
  start(): void {
    this.started = true;
    this.res.status(207);
    this.res.setHeader('Content-Type', 'application/xml; charset=utf-8');
    this.res.write(`<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="${DAV_NS}">`);
  }

  /** Writes a batch of responses; resolves once the socket can take more (or the client left). */
  async write(xml: string): Promise<void> {
    if (!this.started) this.start();
    if (this.res.destroyed || this.res.write(xml)) return;
    // The wait that lost the race is called off: a big folder waits many times on one response,
    // and each `once` left its listeners (and an 'error' one) on it until the response closed.
    const lost = new AbortController();
    try {
      await Promise.race([once(this.res, 'drain', { signal: lost.signal }), once(this.res, 'close', { signal: lost.signal })]);
    } finally {
      lost.abort();
    }
  }

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  end(): void {
    if (!this.started) this.start();
    this.res.end('</D:multistatus>\n');
  }
}

/** A whole multistatus answer at once (COPY/MOVE/DELETE failures of members, PROPPATCH). */
export function sendMultistatus(res: Response, responses: readonly string[]): void {
  res.status(207).setHeader('Content-Type', 'application/xml; charset=utf-8');
  res.end(`<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="${DAV_NS}">${responses.join('')}</D:multistatus>\n`);
}

/** `<D:error>` with a precondition element (§16), e.g. `davErrorXml('propfind-finite-depth')`. */
export function davErrorXml(...conditions: string[]): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="${DAV_NS}">${conditions.map((c) => element(DAV_NS, c)).join('')}</D:error>\n`;
}
