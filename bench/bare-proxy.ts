/**
 * The floor of a proxied download, run by the download bench as a child process (its CPU is its
 * own): a bare `node:http` server that streams one RGW object to the client with nothing between
 * the two sockets but `pipeline(upstream, res)` — no auth, no database, no express, no logging.
 *
 *   GET /sdk/<key>    upstream: `@aws-sdk/client-s3` GetObject (the client Stratus used to proxy with)
 *   GET /http/<key>   upstream: a `node:http` GET of a URL signed with the SDK's presigner
 *
 * A `Range: bytes=a-b` header is passed on and answered 206. Prints `ready on http://localhost:PORT`.
 */
import http from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { rgwClientConfig } from './lib/stack.ts';
import { testEnv } from '../test/support/env.ts';

const client = new S3Client(rgwClientConfig());
const bucket = testEnv.s3.bucket;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

interface Upstream {
  status: number;
  headers: Record<string, string>;
  body: Readable;
}

async function viaSdk(key: string, range: string | undefined): Promise<Upstream> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
  const headers: Record<string, string> = { 'content-length': String(out.ContentLength ?? 0) };
  if (out.ContentRange) headers['content-range'] = out.ContentRange;
  return { status: out.ContentRange ? 206 : 200, headers, body: out.Body as Readable };
}

async function viaHttp(key: string, range: string | undefined): Promise<Upstream> {
  const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: 300 });
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: range ? { range } : {} }, (up) => {
        const headers: Record<string, string> = { 'content-length': up.headers['content-length'] ?? '0' };
        const contentRange = up.headers['content-range'];
        if (contentRange) headers['content-range'] = contentRange;
        resolve({ status: up.statusCode ?? 502, headers, body: up });
      })
      .on('error', reject);
  });
}

const server = http.createServer((req, res) => {
  const [, kind, ...rest] = (req.url ?? '').split('/');
  const key = decodeURIComponent(rest.join('/'));
  const open = kind === 'sdk' ? viaSdk : kind === 'http' ? viaHttp : null;
  if (!open || !key) {
    res.writeHead(404).end();
    return;
  }
  open(key, req.headers.range)
    .then(async (up) => {
      res.writeHead(up.status, up.headers);
      await pipeline(up.body, res);
    })
    .catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502).end(String(error));
      else res.destroy();
    });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') console.log(`ready on http://localhost:${address.port}`);
});
