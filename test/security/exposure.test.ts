/**
 * What Stratus gives away without being asked (issue 17, item 9), on the real stack:
 * - files under DATA_DIR (SQLite database, local objects, multipart parts, spooled bodies, the
 *   development JWT secret) are 0600 and their folders 0700: in process with a permissive umask
 *   (explicit modes where files are made) and as `api/main.ts` (which also sets umask 0o077);
 * - every HTML response carries a Content-Security-Policy without inline scripts and with
 *   `frame-ancestors 'none'`, plus `X-Content-Type-Options: nosniff` and a `Referrer-Policy`;
 *   downloads keep `nosniff`;
 * - `/metrics` labels HTTP requests by route template, never by raw path or id, nor all as "/";
 * - proveOwnership answers a wrong proof for stored content as fast as unknown content (medians
 *   of interleaved runs, compared with each other, not with a fixed time).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAllInOne } from '../../api/all-in-one.ts';
import type { Mailer } from '../../internal/accounts/mailer.driver.ts';
import { loadConfig } from '../../internal/platform/config.ts';
import { createLogger } from '../../internal/platform/logger.ts';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { tempDir } from '../support/db.ts';
import { gql } from '../support/graphql.ts';
import { startServerProcess } from '../support/server.ts';

/** Every path under `root` (itself included) whose mode lets anyone but the owner in. */
function tooOpen(root: string): string[] {
  const found: string[] = [];
  const walk = (p: string) => {
    const s = statSync(p);
    const want = s.isDirectory() ? 0o700 : 0o600;
    if ((s.mode & 0o777) !== want) found.push(`${path.relative(root, p) || '.'} ${(s.mode & 0o777).toString(8)}`);
    if (s.isDirectory()) for (const name of readdirSync(p)) walk(path.join(p, name));
  };
  walk(root);
  return found;
}

/** Signs up, uploads a file in one request, and leaves a chunked upload open with one chunk in. */
async function fillDataDir(url: string, code: (email: string) => Promise<string>): Promise<void> {
  const name = `x${randomBytes(5).toString('hex')}`;
  const email = `${name}@example.com`;
  await gql(url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
  const reg = await gql<{ register: { accessToken: string } }>(url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', { i: { username: name, email, password: 'a-good-password-1', code: await code(email) } });
  const token = reg.data!.register.accessToken;
  expect((await uploadSmall(url, token, 'secret.txt', 'private words')).data?.uploadFile.size).toBe(13);
  const session = await gql<{ createUpload: { id: string } }>(url, 'mutation { createUpload(input: { name: "big.bin", size: 10 }) { id } }', {}, token);
  const put = await fetch(`${url}/upload/${session.data!.createUpload.id}/0`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: Buffer.alloc(10, 7) });
  expect(put.status).toBeLessThan(300);
}

describe('files under DATA_DIR', () => {
  it('are 0600 in 0700 folders even under a permissive umask (modes set where files are made)', async () => {
    const old = process.umask(0o022);
    const dataDir = path.join(tempDir('stratus-modes-'), 'data');
    const codes = new Map<string, string>();
    const mailer: Mailer = { send: async (m) => void codes.set(m.to, /(\d{6})/.exec(m.text)?.[1] ?? ''), close: () => undefined };
    try {
      const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
      const app = await startAllInOne(config, createLogger({ level: 'silent' }), { mailer });
      try {
        await fillDataDir(`http://127.0.0.1:${app.port}`, async (e) => codes.get(e) ?? '');
        expect(readdirSync(dataDir).sort()).toEqual(expect.arrayContaining(['jwt-secret', 'objects', 'stratus.sqlite']));
        expect(tooOpen(dataDir)).toEqual([]);
      } finally {
        await app.close();
      }
    } finally {
      process.umask(old);
    }
  });

  it('are 0600 in 0700 folders when the real server makes them (npm start on embedded defaults)', async () => {
    // A DATA_DIR an older version made world-readable is closed at start.
    const dataDir = path.join(tempDir('stratus-modes-'), 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const server = await startServerProcess({ DATA_DIR: dataDir }, 60_000);
    try {
      // The process runs with umask 0077 (Linux shows it in /proc/<pid>/status).
      expect(/^Umask:\s+(\d+)$/m.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))?.[1]).toBe('0077');
      await fillDataDir(server.url, async (email) => {
        await expect.poll(() => server.logs.join('').includes(email)).toBe(true);
        return /Your Stratus code: (\d{6})/.exec(server.logs.join('').slice(server.logs.join('').lastIndexOf(email)))?.[1] ?? '';
      });
      expect(tooOpen(dataDir)).toEqual([]);
    } finally {
      await server.stop();
    }
  }, 90_000);
});

describe('responses', () => {
  let t: TestApp;
  let token: string;
  let fileId: string;
  beforeAll(async () => {
    t = await startTestApp();
    token = (await t.signUp()).token;
    fileId = (await uploadSmall(t.url, token, 'page.html', '<script>alert(1)</script>', null, 'text/html')).data!.uploadFile.id;
  });
  afterAll(() => t?.close());

  it('every HTML page has a CSP without inline scripts and framing, nosniff and a Referrer-Policy', async () => {
    const pages = ['/', '/folder/abc', '/share/abc', '/graphiql', '/graphql', '/no/such/page'];
    let html = 0;
    for (const p of pages) {
      const res = await fetch(`${t.url}${p}`, { headers: { accept: 'text/html' } });
      await res.arrayBuffer();
      expect(res.headers.get('x-content-type-options'), p).toBe('nosniff');
      if (!res.headers.get('content-type')?.startsWith('text/html')) continue;
      html++;
      const csp = res.headers.get('content-security-policy') ?? '';
      const directive = (name: string) => csp.split(';').map((d) => d.trim()).find((d) => d.startsWith(`${name} `));
      expect(directive('frame-ancestors'), p).toBe("frame-ancestors 'none'");
      const scripts = directive('script-src') ?? directive('default-src');
      expect(scripts, p).toBeDefined();
      expect(scripts, p).not.toMatch(/'unsafe-inline'|'unsafe-eval'|\*|data:|blob:/);
      expect(directive('object-src'), p).toBe("object-src 'none'");
      expect(res.headers.get('referrer-policy'), p).toMatch(/^(no-referrer|same-origin|strict-origin)/);
    }
    expect(html).toBeGreaterThanOrEqual(4);
  });

  it('GraphiQL has no inline script left to allow', async () => {
    const page = await (await fetch(`${t.url}/graphiql`)).text();
    expect(page).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
  });

  it('a download keeps nosniff, and a stored HTML page is an attachment even when asked inline', async () => {
    for (const query of ['', '?inline=1']) {
      const res = await fetch(`${t.url}/files/${fileId}/content${query}`, { headers: { authorization: `Bearer ${token}` } });
      expect(await res.text()).toBe('<script>alert(1)</script>');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-disposition')).toMatch(/^attachment;/);
    }
    // Any other answer a browser could render (here JSON) may run nothing.
    const json = await fetch(`${t.url}/graphql?query=%7B__typename%7D`, { headers: { 'apollo-require-preflight': 'true' } });
    await json.arrayBuffer();
    expect(json.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  });

  it('/metrics labels requests by route template: no ids, and not everything "/"', async () => {
    await gql(t.url, '{ me { id } }', {}, token);
    await fetch(`${t.url}/files/${fileId}/content`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer());
    await fetch(`${t.url}/healthz`).then((r) => r.arrayBuffer());
    await fetch(`${t.url}/s/${'a'.repeat(22)}`).then((r) => r.arrayBuffer());
    await fetch(`${t.url}/graphiql/assets/graphiql.css`).then((r) => r.arrayBuffer());
    const text = await (await fetch(`${t.url}/metrics`)).text();
    const routes = new Set([...text.matchAll(/^stratus_http_request_duration_seconds_count\{[^}]*route="([^"]*)"/gm)].map((m) => m[1]));
    for (const want of ['/graphql', '/files/:id/content', '/healthz', '/s/:token', '/graphiql/assets/:name']) expect([...routes], want).toContain(want);
    expect(text).not.toContain(fileId);
    expect(text).not.toContain('a'.repeat(22));
  });

  it('proveOwnership takes as long for unknown content as for a wrong proof of stored content', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const stored = (await uploadSmall(t.url, token, 'known.bin', bytes)).data!.uploadFile as unknown as { contentHash: string };
    type Session = { id: string; challenge: { ranges: unknown[] } };
    const open = async (who: string, contentHash: string) => {
      const r = await gql<{ createUpload: Session }>(t.url, 'mutation($i: CreateUploadInput!) { createUpload(input: $i) { id challenge { ranges { offset } } } }', { i: { name: `p-${randomBytes(4).toString('hex')}.bin`, size: bytes.length, contentHash } }, who);
      return r.data!.createUpload;
    };
    const timeProof = async (who: string, s: Session) => {
      const started = performance.now();
      const r = await gql(t.url, 'mutation($id: ID!, $p: [String!]!) { proveOwnership(sessionId: $id, proofs: $p) { status } }', { id: s.id, p: s.challenge.ranges.map(() => '0'.repeat(64)) }, who);
      expect(r.errors).toBeUndefined();
      return performance.now() - started;
    };
    // Two people (the proof budget is per person and per session), runs interleaved.
    const [knownBy, unknownBy] = [(await t.signUp()).token, (await t.signUp()).token];
    const known: number[] = [];
    const unknown: number[] = [];
    for (let round = 0; round < 5; round++) {
      const k = await open(knownBy, stored.contentHash);
      const u = await open(unknownBy, randomBytes(32).toString('hex'));
      for (let i = 0; i < 4; i++) {
        known.push(await timeProof(knownBy, k));
        unknown.push(await timeProof(unknownBy, u));
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratio = median(known) / median(unknown);
    expect(ratio, `known ${median(known).toFixed(1)} ms, unknown ${median(unknown).toFixed(1)} ms`).toBeGreaterThan(0.85);
    expect(ratio).toBeLessThan(1.15);
  }, 60_000);
});
