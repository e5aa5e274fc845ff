/**
 * Issue 23 metrics and the access log on the real stack (MariaDB, Redis, Ceph RGW): a chunked
 * upload, a chunk with a wrong Content-Digest, a one-request upload, a listing, a proxied, a
 * signed-link, a share and a redirected download, then one scrape of /metrics checks that the
 * counters and histograms moved with the right labels, that routes are templates, and that the
 * database gauges cost one statement however often /metrics is scraped. The access log is the
 * app's own pino logger writing into this test: its fields, and no token, password, signature
 * or share secret in any line.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StratusApi, SESSION_FIELDS, type SessionView } from '../../cli/lib/api.ts';
import { uploadFile } from '../../cli/lib/upload.ts';
import { createLogger } from '../../internal/platform/logger.ts';
import { cephBackend, startTestApp, uploadSmall, writeRouting, type TestApp } from '../support/app.ts';
import { until } from '../support/chunks.ts';
import { makeFile } from '../support/files.ts';
import { gql } from '../support/graphql.ts';

const MiB = 1024 * 1024;
const SIZE = 18 * MiB + 4321;
/** The one-request ways: uploadFile, a tus upload of one PATCH, a WebDAV PUT. */
const SMALL = 64 * 1024;
const SHARE_PASSWORD = 'open sesame 42';
const COMMIT = 'abc1234def';

const logLines: string[] = [];
const routing = (dir: string, downloads: 'proxy' | 'redirect') => ({
  default: 'ceph',
  backends: [{ ...cephBackend(), downloads }, { name: 'local', type: 'local', path: `${dir}/objects`, state: 'active' }],
});

let t: TestApp;
let alice: StratusApi;
let token: string;
let refreshToken: string;
let fileId: string;
let chunkCount: number;
/** Every secret the run handed out: none may appear in the log. */
const secrets: string[] = [SHARE_PASSWORD];
let scrape: string;

async function metricsText(): Promise<string> {
  const res = await fetch(`${t.url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of one series (labels in any order), or undefined when it is not there. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[4]);
  }
  return undefined;
}

beforeAll(async () => {
  const destination = { write: (line: string) => void logLines.push(line) };
  t = await startTestApp({
    routing: (dir) => routing(dir, 'proxy'),
    // A 20 MiB quota: the 18 MiB upload leaves its owner near full (≥ 90 %).
    env: { STRATUS_COMMIT: COMMIT, DEFAULT_QUOTA_BYTES: String(20 * MiB), ACCESS_LOG_RATE: '0' },
    log: createLogger({ level: 'info' }, destination),
  });
  const signed = await t.signUp();
  token = signed.token;
  alice = new StratusApi(t.url, token);
  refreshToken = signed.refreshToken;
  secrets.push(signed.token, signed.refreshToken);
  await driveTheStack();
  // Three scrapes in a row: the database gauges are read once (cached), however often scraped.
  t.queries.length = 0;
  scrape = await metricsText();
  await metricsText();
  await metricsText();
}, 240_000);
afterAll(() => t?.close());

async function driveTheStack(): Promise<void> {
  // A chunked upload (chunk PUTs with their Content-Digest, then completeUpload).
  const file = await makeFile('metrics.bin', SIZE);
  const uploaded = await uploadFile(alice, file, { parallel: 2 });
  fileId = uploaded.session.file!.id;
  chunkCount = uploaded.session.chunkCount;
  expect(chunkCount).toBeGreaterThanOrEqual(2);
  await oneRequestUploads();
  // A chunk whose bytes do not match its Content-Digest: refused, the client's fault.
  const bad = await alice.gql<{ createUpload: SessionView }>(`mutation($i: CreateUploadInput!) { createUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: { name: 'bad.bin', size: 1 * MiB } });
  const body = randomBytes(MiB);
  const wrong = `sha-256=:${createHash('sha256').update('not these bytes').digest('base64')}:`;
  const put = await fetch(`${t.url}/upload/${bad.createUpload.id}/0`, { method: 'PUT', headers: alice.headers({ 'content-digest': wrong }), body });
  expect(put.status).toBe(400);
  // A service call that fails (tRPC outcome error): an upload that does not exist.
  expect((await gql(t.url, 'query { upload(id: "00000000-0000-4000-8000-000000000000") { id } }', {}, token)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  // A listing.
  expect((await gql(t.url, 'query { folder { children(first: 10) { edges { node { id name } } } } }', {}, token)).errors).toBeUndefined();
  await downloads();
}

/** uploadFile (GraphQL multipart), tus (POST, then one PATCH), WebDAV PUT: one part and one completion each. */
async function oneRequestUploads(): Promise<void> {
  expect((await uploadSmall(t.url, token, 'one-request.bin', randomBytes(SMALL))).errors).toBeUndefined();
  const tus = { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0' };
  const created = await fetch(`${t.url}/tus/`, { method: 'POST', headers: { ...tus, 'upload-length': String(SMALL), 'upload-metadata': `filename ${Buffer.from('tus.bin').toString('base64')}` } });
  expect(created.status).toBe(201);
  const patched = await fetch(new URL(created.headers.get('location')!, t.url), {
    method: 'PATCH', headers: { ...tus, 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }, body: randomBytes(SMALL),
  });
  expect(patched.status).toBe(204);
  const put = await fetch(`${t.url}/dav/dav.bin`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: randomBytes(SMALL) });
  expect(put.status).toBe(201);
}

async function downloads(): Promise<void> {
  // Proxied, with the Bearer token; then by a signed link (?sig=).
  expect((await (await fetch(`${t.url}/files/${fileId}/content`, { headers: alice.headers() })).arrayBuffer()).byteLength).toBe(SIZE);
  const link = await gql<{ createDownloadLink: { url: string } }>(t.url, `mutation { createDownloadLink(id: "${fileId}") { url } }`, {}, token);
  const signedUrl = link.data!.createDownloadLink.url;
  secrets.push(new URL(signedUrl).searchParams.get('sig')!);
  expect((await (await fetch(signedUrl)).arrayBuffer()).byteLength).toBe(SIZE);
  // A password share, downloaded with its unlock token in the URL (?unlock=).
  const share = await gql<{ createShare: { token: string } }>(t.url, 'mutation($i: CreateShareInput!) { createShare(input: $i) { token } }', { i: { fileId, password: SHARE_PASSWORD } }, token);
  const shareToken = share.data!.createShare.token;
  const unlock = await gql<{ unlockShare: string }>(t.url, 'mutation($t: String!, $p: String!) { unlockShare(token: $t, password: $p) }', { t: shareToken, p: SHARE_PASSWORD });
  const unlockToken = unlock.data!.unlockShare;
  secrets.push(shareToken, unlockToken);
  const shared = await fetch(`${t.url}/s/${shareToken}?unlock=${encodeURIComponent(unlockToken)}`, { headers: { range: 'bytes=0-999' } });
  expect(shared.status).toBe(206);
  expect((await shared.arrayBuffer()).byteLength).toBe(1000);
  // The backend switched to redirects: a 302 to a presigned URL, its range's bytes counted.
  writeRouting(t.storageConfigPath, routing(t.dataDir, 'redirect'));
  await until(async () => t.app.runtime.storage.downloadMode('ceph') === 'redirect', 'the routing file reloaded', 10_000);
  expect((await fetch(`${t.url}/files/${fileId}/content`, { headers: alice.headers({ range: 'bytes=0-4095' }), redirect: 'manual' })).status).toBe(302);
  // The cookie refresh carries the refresh token in its body: it must not reach the log either.
  await fetch(`${t.url}/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: `stratus_refresh=${refreshToken}` }, body: JSON.stringify({ refreshToken }) });
}

describe('metrics of the issue 23 contract', () => {
  it('counts chunks, bytes and completions by backend and outcome', () => {
    // The chunked upload's chunks, then uploadFile, the tus PATCH's one part and the WebDAV PUT.
    expect(value(scrape, 'stratus_upload_chunks_total', { backend: 'ceph', outcome: 'ok' })).toBe(chunkCount + 3);
    expect(value(scrape, 'stratus_upload_bytes_total', { backend: 'ceph', outcome: 'ok' })).toBe(SIZE + 3 * SMALL);
    expect(value(scrape, 'stratus_upload_chunks_total', { backend: 'ceph', outcome: 'rejected' })).toBe(1);
    expect(value(scrape, 'stratus_upload_chunks_total', { outcome: 'failed' })).toBeUndefined();
    expect(value(scrape, 'stratus_upload_completions_total', { outcome: 'ok' })).toBe(4);
    expect(value(scrape, 'stratus_upload_completions_total', { outcome: 'rejected' })).toBeUndefined();
  });

  it('reads upload sessions by status and near-full quotas from the database, one statement each for three scrapes', () => {
    // The chunked upload and the tus upload (a session too).
    expect(value(scrape, 'stratus_upload_sessions', { status: 'COMPLETED' })).toBe(2);
    // The session whose only chunk was refused.
    expect(value(scrape, 'stratus_upload_sessions', { status: 'UPLOADING' })! + value(scrape, 'stratus_upload_sessions', { status: 'PENDING' })!).toBe(1);
    expect(value(scrape, 'stratus_upload_sessions', { status: 'CANCELLED' })).toBe(0);
    expect(value(scrape, 'stratus_quota_near_full_users')).toBe(1);
    expect(t.queries.filter((sql) => sql.includes('from upload_sessions group by status'))).toHaveLength(1);
    expect(t.queries.filter((sql) => sql.includes('from quotas where limit_bytes'))).toHaveLength(1);
  });

  it('counts downloads and their bytes by mode', () => {
    expect(value(scrape, 'stratus_downloads_total', { mode: 'proxy', outcome: 'ok' })).toBe(2);
    expect(value(scrape, 'stratus_download_bytes_total', { mode: 'proxy' })).toBe(2 * SIZE);
    expect(value(scrape, 'stratus_downloads_total', { mode: 'share', outcome: 'ok' })).toBe(1);
    expect(value(scrape, 'stratus_download_bytes_total', { mode: 'share' })).toBe(1000);
    expect(value(scrape, 'stratus_downloads_total', { mode: 'redirect', outcome: 'ok' })).toBe(1);
    expect(value(scrape, 'stratus_download_bytes_total', { mode: 'redirect' })).toBe(4096);
  });

  it('times object-store calls by backend and operation, and tRPC calls by procedure and outcome', () => {
    const store = (operation: string) => value(scrape, 'stratus_object_store_request_duration_seconds_count', { backend: 'ceph', operation, outcome: 'ok' });
    expect(store('uploadPart')).toBeGreaterThanOrEqual(3);
    // The chunked upload's and the tus upload's (a small WebDAV PUT is one put).
    expect(store('completeMultipart')).toBeGreaterThanOrEqual(2);
    expect(store('get')).toBeGreaterThanOrEqual(3);
    expect(store('presignGet')).toBeGreaterThanOrEqual(1);
    const trpc = (procedure: string, outcome: string) => value(scrape, 'stratus_trpc_client_duration_seconds_count', { procedure, transport: 'inprocess', outcome });
    expect(trpc('uploads.beginChunk', 'ok')).toBeGreaterThanOrEqual(3);
    expect(trpc('uploads.complete', 'ok')).toBe(2);
    expect(trpc('files.shares.content', 'ok')).toBe(1);
    expect(trpc('uploads.get', 'error')).toBe(1);
  });

  it('labels HTTP requests by route template, never an id or token', () => {
    const http = (method: string, route: string, status: string) => value(scrape, 'stratus_http_request_duration_seconds_count', { method, route, status });
    expect(http('PUT', '/upload/:id/:index', '200')).toBe(chunkCount);
    expect(http('PUT', '/upload/:id/:index', '400')).toBe(1);
    expect(http('GET', '/files/:id/content', '200')).toBe(2);
    expect(http('GET', '/s/:token', '206')).toBe(1);
    const routes = new Set([...scrape.matchAll(/route="([^"]*)"/g)].map((m) => m[1]));
    for (const route of routes) expect(route).not.toContain(fileId);
    for (const secret of secrets) expect(scrape).not.toContain(secret);
  });

  it('shows the build and the default process metrics without a prefix', () => {
    expect(value(scrape, 'stratus_build_info', { commit: COMMIT, version: '0.1.0' })).toBe(1);
    expect(value(scrape, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value(scrape, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(scrape).toContain('nodejs_eventloop_lag_seconds');
    expect(scrape).not.toMatch(/^stratus_process_|^stratus_nodejs_/m);
  });
});

describe('a download the client abandons', () => {
  it('counts as aborted, with the bytes that went', async () => {
    const aborted = async () => value(await metricsText(), 'stratus_downloads_total', { mode: 'proxy', outcome: 'aborted' }) ?? 0;
    const before = await aborted();
    const controller = new AbortController();
    // ?inline=1 is never redirected: proxied although the backend now redirects.
    const res = await fetch(`${t.url}/files/${fileId}/content?inline=1`, { headers: alice.headers(), signal: controller.signal });
    await res.body!.getReader().read();
    controller.abort();
    await until(async () => (await aborted()) === before + 1, 'the abandoned download counted');
    expect(value(await metricsText(), 'stratus_downloads_total', { mode: 'proxy', outcome: 'ok' })).toBe(2);
  });
});

describe('the access log', () => {
  const entries = () => logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.msg === 'request');

  it('has one info line per request with method, route template, status, bytes, duration and request id', () => {
    const puts = entries().filter((e) => e.route === '/upload/:id/:index');
    expect(puts.length).toBe(chunkCount + 1);
    const ok = puts.find((e) => e.status === 200)!;
    expect(ok).toMatchObject({ level: 30, method: 'PUT', route: '/upload/:id/:index' });
    expect(ok.requestId).toMatch(/^[\w.-]{1,64}$/);
    expect(ok.bytes).toBeGreaterThan(0);
    expect(typeof ok.ms).toBe('number');
    const download = entries().find((e) => e.route === '/files/:id/content' && e.status === 200)!;
    expect(download.bytes).toBeGreaterThan(SIZE);
    expect(entries().find((e) => e.route === '/s/:token')).toMatchObject({ method: 'GET', status: 206 });
    expect(entries().find((e) => e.route === '/auth/refresh')).toMatchObject({ method: 'POST' });
    expect(entries().find((e) => e.route === '/tus/:id')).toMatchObject({ method: 'PATCH', status: 204 });
    expect(entries().find((e) => e.route === '/dav/*')).toMatchObject({ method: 'PUT', status: 201 });
  });

  it('never holds a token, a password, a signature or a share secret', () => {
    const text = logLines.join('');
    expect(text.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain('unlock=');
    expect(text).not.toContain('sig=');
    // The access lines name routes, not paths: no id either.
    expect(JSON.stringify(entries())).not.toContain(fileId);
  });
});
