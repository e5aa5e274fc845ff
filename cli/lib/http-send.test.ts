import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileRange, multipartBody, send, type BodyPart } from './http-send.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'http-send-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A server that answers every request with what it received: method, headers, body. */
async function echoServer(server: http.Server | https.Server, echo = true) {
  if (echo) server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(JSON.stringify({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('base64') })));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function collect(parts: BodyPart[]): Promise<Buffer> {
  const out: Buffer[] = [];
  for (const part of parts) {
    if (Buffer.isBuffer(part)) out.push(part);
    else out.push(readFileSync(part.file).subarray(part.start, part.start + part.bytes));
  }
  return Buffer.concat(out);
}

describe('the CLI byte transport (http-send.ts)', () => {
  const server = http.createServer();
  let host = '';
  beforeAll(async () => {
    host = await echoServer(server);
  });
  afterAll(() => server.close());

  it('writes the multipart body undici’s FormData writes, byte for byte (what the server parsed before)', async () => {
    const file = path.join(dir, 'photo.jpg');
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    writeFileSync(file, bytes);
    // Names with what the HTML form rules escape (", CR, LF) and non-ASCII, which goes as UTF-8.
    const name = 'naïve "x"\r\n漢字.jpg';
    const fields: [string, string][] = [['operations', '{"query":"mutation","variables":{"file":null}}'], ['map', '{"0":["variables.file"]}']];
    const ours = multipartBody(fields, { field: '0', name, type: 'image/jpeg', path: file, size: bytes.length });
    const boundary = /boundary=(.+)$/.exec(ours.contentType)?.[1] ?? '';
    const form = new FormData();
    for (const [k, v] of fields) form.append(k, v);
    form.append('0', new Blob([bytes], { type: 'image/jpeg' }), name);
    const theirs = new Request('http://x/', { method: 'POST', body: form });
    const theirBoundary = /boundary=(.+)$/.exec(theirs.headers.get('content-type') ?? '')?.[1] ?? '';
    const expected = Buffer.from(await theirs.arrayBuffer()).toString('latin1').split(theirBoundary).join(boundary);
    const written = await collect(ours.parts);
    expect(written.toString('latin1')).toBe(expected);
    expect(ours.length).toBe(written.length);
  });

  it('sends the parts with their Content-Length and returns the answer', async () => {
    const file = path.join(dir, 'range.bin');
    writeFileSync(file, Buffer.from('0123456789'));
    const parts: BodyPart[] = [Buffer.from('<'), fileRange(file, 3, 4), Buffer.from('>')];
    const answer = await send(new URL(`http://${host}/upload/x/0`), 'PUT', { authorization: 'Bearer t' }, parts, 6);
    const echoed = JSON.parse(answer.body.toString()) as { method: string; headers: Record<string, string>; body: string };
    expect(answer.status).toBe(200);
    expect(echoed).toMatchObject({ method: 'PUT', headers: { 'content-length': '6', authorization: 'Bearer t' } });
    expect(Buffer.from(echoed.body, 'base64').toString()).toBe('<3456>');
  });

  it('fails, instead of leaving the server waiting, when a file part is shorter than declared (the file changed)', async () => {
    const file = path.join(dir, 'short.bin');
    writeFileSync(file, Buffer.from('abc'));
    const parts: BodyPart[] = [fileRange(file, 0, 10)];
    await expect(send(new URL(`http://${host}/x`), 'PUT', {}, parts, 10)).rejects.toThrow(/changed while it was sent: 3 of 10/);
  });

  it('sends ranges of 20 MiB (more than the kernel buffers hold) byte for byte, 4 requests at once, to a server that reads slowly (read buffers are reused only once written)', async () => {
    // A server that pauses after every read, so writes complete late and the two read buffers of
    // each request (and the spare ones shared by the requests) turn over while others are in flight.
    const slow = http.createServer((req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        bytes += c.length;
        req.pause();
        setTimeout(() => req.resume(), 1);
      });
      req.on('end', () => res.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
    });
    const slowHost = await echoServer(slow, false);
    try {
      const files = [0, 1, 2, 3].map((n) => {
        const file = path.join(dir, `big-${n}.bin`);
        writeFileSync(file, randomBytes(20 * 1024 * 1024 + 12_345 + n));
        return file;
      });
      const start = 777;
      const answers = await Promise.all(files.map(async (file) => {
        const length = statSync(file).size - start - 5;
        const answer = await send(new URL(`http://${slowHost}/upload/x/0`), 'PUT', {}, [Buffer.from('<'), fileRange(file, start, length), Buffer.from('>')], length + 2);
        const expected = createHash('sha256').update('<').update(readFileSync(file).subarray(start, start + length)).update('>').digest('hex');
        return { got: JSON.parse(answer.body.toString()) as unknown, expected: { bytes: length + 2, sha256: expected } };
      }));
      for (const { got, expected } of answers) expect(got).toEqual(expected);
    } finally {
      slow.close();
    }
  });

  it('fails, instead of hanging, when the server drops the connection in the middle of the body', async () => {
    const rude = http.createServer((req) => {
      let bytes = 0;
      req.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes > 1024 * 1024) req.socket.destroy();
      });
    });
    const rudeHost = await echoServer(rude, false);
    try {
      const file = path.join(dir, 'dropped.bin');
      writeFileSync(file, randomBytes(8 * 1024 * 1024));
      await expect(send(new URL(`http://${rudeHost}/x`), 'PUT', {}, [fileRange(file, 0, 8 * 1024 * 1024)], 8 * 1024 * 1024)).rejects.toThrow(/socket hang up|ECONNRESET|EPIPE/);
    } finally {
      rude.close();
    }
  });

  it('speaks TLS to an https:// server (a chunk PUT used node:http for every URL before)', async () => {
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const tls = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) });
    const tlsHost = await echoServer(tls);
    try {
      // The certificate is self-signed, so the handshake itself is refused: proof that TLS was spoken.
      await expect(send(new URL(`https://${tlsHost}/x`), 'PUT', {}, [Buffer.from('x')], 1)).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    } finally {
      tls.close();
    }
  });
});
