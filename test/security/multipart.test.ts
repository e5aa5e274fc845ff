/**
 * Malformed GraphQL multipart requests (jaydenseric/graphql-multipart-request-spec) on the real
 * stack, over ONE kept-alive socket: each is answered 400 BAD_INPUT (413 PAYLOAD_TOO_LARGE for a
 * part over its limit) with a stable `details.reason`, nothing is stored for any of them, the
 * next request on the same socket is served (RFC 9112 §9.6: the refused body is read and dropped,
 * not left to reset the connection), and nothing is logged at error level.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../internal/platform/logger.ts';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { gql } from '../support/graphql.ts';
import { multipartBody, OneSocketClient, sendAndHangUp, type Answer, type Part } from '../support/multipart.ts';

const B = 'stratus-test-boundary';
const UPLOAD_FILE = 'mutation($p: ID, $f: Upload!) { uploadFile(parentId: $p, file: $f) { id name } }';
const UPLOAD_FILES = 'mutation($fs: [UploadFileInput!]!) { uploadFiles(files: $fs) { name file { id } error { code reason } } }';
const UPLOAD_CHUNK = 'mutation($s: ID!, $i: Int!, $c: Upload!) { uploadChunk(sessionId: $s, index: $i, chunk: $c) { id uploadedChunks } }';
const ops = (query: string, variables: Record<string, unknown>) => ({ name: 'operations', value: JSON.stringify({ query, variables }) });
const map = (value: unknown) => ({ name: 'map', value: JSON.stringify(value) });
const file = (name = '0', data: Buffer | string = 'hello multipart', filename = 'a.txt') => ({ name, filename, data, type: 'text/plain' });
const fileOps = () => ops(UPLOAD_FILE, { p: null, f: null });
const form = (parts: Part[], close = true) => multipartBody(B, parts, close);

const logLines: string[] = [];
let t: TestApp;
let alice: { token: string };
let client: OneSocketClient;
let sessionId: string;

beforeAll(async () => {
  const log = createLogger({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  t = await startTestApp({ log });
  alice = await t.signUp();
  client = new OneSocketClient(t.url);
  const created = await gql<{ createUpload: { id: string } }>(t.url, 'mutation($i: CreateUploadInput!) { createUpload(input: $i) { id } }', { i: { name: 'chunked.bin', size: 1000 } }, alice.token);
  sessionId = created.data!.createUpload.id;
}, 60_000);
afterAll(async () => {
  client?.close();
  await t?.close();
});

const headers = (contentType = `multipart/form-data; boundary=${B}`) => ({ authorization: `Bearer ${alice.token}`, 'apollo-require-preflight': 'true', 'content-type': contentType });
const post = (body: Buffer | Buffer[], contentType?: string) => client.request('/graphql', headers(contentType), body);

/** The next request on the same client: a plain query that must be served. */
async function nextRequestWorks(): Promise<Answer> {
  const res = await client.request('/graphql', { authorization: `Bearer ${alice.token}`, 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ query: '{ me { id } }' })));
  expect(res.status, res.text).toBe(200);
  return res;
}

function expectRefused(res: Answer, reason: string, code = 'BAD_INPUT', status = 400) {
  const error = res.json?.errors?.[0];
  expect({ status: res.status, code: error?.extensions?.code, reason: error?.extensions?.details?.reason }, res.text).toEqual({ status, code, reason });
  expect(res.text).not.toMatch(/INTERNAL|at .*\.(ts|js):\d+/);
}

async function driveState() {
  const res = await gql<{ folder: { children: { edges: { node: { name: string } }[] } }; trash: { id: string }[]; me: { quota: { used: number } }; upload: { uploadedChunks: number[] } }>(
    t.url,
    'query($s: ID!) { folder(id: null) { children(first: 100) { edges { node { name } } } } trash { id } me { quota { used } } upload(id: $s) { uploadedChunks } }',
    { s: sessionId },
    alice.token,
  );
  const tmp = path.join(t.dataDir, 'tmp');
  const spooled = existsSync(tmp) ? readdirSync(tmp, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name) : [];
  return { files: res.data!.folder.children.edges.map((e) => e.node.name), trash: res.data!.trash.length, used: res.data!.me.quota.used, chunks: res.data!.upload.uploadedChunks, spooled };
}
const nothingStored = { files: [], trash: 0, used: 0, chunks: [], spooled: [] };

const errorLogs = () => logLines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50 || /"stack"/.test(line));

describe('malformed multipart requests on one kept-alive socket', () => {
  const cases: { name: string; body: () => Buffer | Buffer[]; contentType?: string; reason: string; code?: string; status?: number }[] = [
    { name: 'operations missing', body: () => form([map({ 0: ['variables.f'] }), file()]), reason: 'operations_missing' },
    { name: 'operations not JSON', body: () => form([{ name: 'operations', value: '{"query": "mutation' }, map({ 0: ['variables.f'] }), file()]), reason: 'operations_invalid' },
    { name: 'map missing', body: () => form([fileOps(), file()]), reason: 'map_missing' },
    { name: 'map not JSON', body: () => form([fileOps(), { name: 'map', value: '{0: variables.f' }, file()]), reason: 'map_invalid' },
    { name: 'map points at a missing path', body: () => form([fileOps(), map({ 0: ['variables.nope'] }), file()]), reason: 'map_path_invalid' },
    { name: 'map points through a missing object', body: () => form([fileOps(), map({ 0: ['variables.f.x.y'] }), file()]), reason: 'map_path_invalid' },
    { name: 'map points at a non-Upload variable', body: () => form([fileOps(), map({ 0: ['variables.p'] }), file()]), reason: 'map_not_upload' },
    { name: 'the mapped file is missing', body: () => form([fileOps(), map({ 0: ['variables.f'] })]), reason: 'file_missing' },
    { name: 'the file field twice', body: () => form([fileOps(), map({ 0: ['variables.f'] }), file('0', 'first'), file('0', 'second')]), reason: 'file_duplicate' },
    { name: 'a file the map does not name', body: () => form([fileOps(), map({ 0: ['variables.f'] }), file('0'), file('1', 'extra')]), reason: 'file_unexpected' },
    { name: 'a second file mapped to a variable that is not an Upload', body: () => form([ops(UPLOAD_FILE, { p: null, f: null, g: null }), map({ 0: ['variables.f'], 1: ['variables.g'] }), file('0'), file('1')]), reason: 'map_not_upload' },
    { name: 'more files than uploadFiles takes (100)', body: () => form([ops(UPLOAD_FILES, { fs: Array.from({ length: 101 }, () => ({ file: null, size: 1 })) }), map(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [i, [`variables.fs.${i}.file`]]))), file('0')]), reason: 'too_many_files' },
    { name: 'a boundary the body does not use', body: () => form([fileOps(), map({ 0: ['variables.f'] }), file()]), contentType: 'multipart/form-data; boundary=another-boundary', reason: 'boundary_mismatch' },
    { name: 'no boundary', body: () => form([fileOps(), map({ 0: ['variables.f'] }), file()]), contentType: 'multipart/form-data', reason: 'boundary_missing' },
    { name: 'the wrong multipart Content-Type', body: () => form([fileOps(), map({ 0: ['variables.f'] }), file()]), contentType: `multipart/mixed; boundary=${B}`, reason: 'content_type' },
    { name: 'a malformed part header', body: () => form([fileOps(), map({ 0: ['variables.f'] }), { raw: `--${B}\r\nContent-Disposition form-data no-colon\r\n\r\nx\r\n` }]), reason: 'multipart_malformed' },
    { name: 'a field over its size limit', body: () => form([ops(UPLOAD_FILE, { p: null, f: null, pad: 'x'.repeat(200_000) }), map({ 0: ['variables.f'] }), file()]), reason: 'field_too_large', code: 'PAYLOAD_TOO_LARGE', status: 413 },
    // Chunked transfer coding ends the body cleanly at the HTTP level, mid-multipart.
    { name: 'a file part cut short', body: () => [form([fileOps(), map({ 0: ['variables.f'] }), file('0', Buffer.alloc(300_000, 7))], false).subarray(0, 150_000)], reason: 'body_incomplete' },
    { name: 'a body cut after the file, before the closing delimiter', body: () => [Buffer.concat([form([fileOps(), map({ 0: ['variables.f'] }), file()], false), Buffer.from(`--${B}`)])], reason: 'body_incomplete' },
    // The first file complete, the second cut: the first is not kept either (its stream ends only with the whole body).
    { name: 'uploadFiles cut inside its second file', body: () => [form([ops(UPLOAD_FILES, { fs: [{ file: null, size: 15 }, { file: null, size: 300_000 }] }), map({ 0: ['variables.fs.0.file'], 1: ['variables.fs.1.file'] }), file('0', 'first complete.', 'one.txt'), file('1', Buffer.alloc(300_000, 7), 'two.txt')], false).subarray(0, 150_000)], reason: 'body_incomplete' },
    { name: 'uploadChunk at a wrong index', body: () => form([ops(UPLOAD_CHUNK, { s: sessionId, i: 5, c: null }), map({ 0: ['variables.c'] }), file('0', Buffer.alloc(1000, 1))]), reason: 'index_out_of_range' },
    { name: 'uploadChunk of the wrong size', body: () => form([ops(UPLOAD_CHUNK, { s: sessionId, i: 0, c: null }), map({ 0: ['variables.c'] }), file('0', Buffer.alloc(999, 1))]), reason: 'size-mismatch' },
    { name: 'uploadChunk cut short', body: () => [form([ops(UPLOAD_CHUNK, { s: sessionId, i: 0, c: null }), map({ 0: ['variables.c'] }), file('0', Buffer.alloc(1000, 1))], false)], reason: 'body_incomplete' },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.code ?? 'BAD_INPUT'} ${c.reason}, and the same socket serves the next request`, async () => {
      const res = await post(c.body(), c.contentType);
      expectRefused(res, c.reason, c.code, c.status);
      const next = await nextRequestWorks();
      expect(next.socket, 'the next request needed a new connection').toBe(res.socket);
    });
  }

  it('after all of them: one socket served everything, nothing was stored, nothing logged at error level', async () => {
    expect(client.sockets.size).toBe(1);
    expect(await driveState()).toEqual(nothingStored);
    expect(errorLogs()).toEqual([]);
  });

  it('a client that hangs up mid-body leaves nothing behind, whether it stops inside the file or after it', async () => {
    const port = Number(new URL(t.url).port);
    const whole = form([fileOps(), map({ 0: ['variables.f'] }), file('0', Buffer.alloc(64 * 1024, 3))]);
    const head = (length: number) => `POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.token}\r\nApollo-Require-Preflight: true\r\nContent-Type: multipart/form-data; boundary=${B}\r\nContent-Length: ${length}\r\n\r\n`;
    // Inside the file; then right after the delimiter that ends the file part (`\r\n--B`), before
    // the `--` that closes the body: the file's bytes are all there, the body is not.
    for (const cut of [whole.length - 40_000, whole.length - '--\r\n'.length]) {
      const answer = await sendAndHangUp(port, head(whole.length), whole.subarray(0, cut));
      expect(answer).not.toMatch(/^HTTP\/1\.1 (200|5\d\d)/);
    }
    // Whatever the server was doing with those bodies has finished by now; nothing was kept.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await driveState()).toEqual(nothingStored);
    expect(errorLogs()).toEqual([]);
  });

  it('a well-formed upload on the same client still works (the checks above can see a stored file)', async () => {
    const res = await post(form([fileOps(), map({ 0: ['variables.f'] }), file('0', 'kept', 'kept.txt')]));
    expect(res.status, res.text).toBe(200);
    expect((res.json?.data as { uploadFile: { name: string } }).uploadFile.name).toBe('kept.txt');
    expect((await driveState()).files).toEqual(['kept.txt']);
    expect((await uploadSmall(t.url, alice.token, 'kept.txt', 'again')).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    expect(errorLogs()).toEqual([]);
  });

  it('a resolver that refuses before reading the file: its code and status, the unread MiB dropped, the socket kept', async () => {
    const res = await post(form([fileOps(), map({ 0: ['variables.f'] }), file('0', Buffer.alloc(1024 * 1024, 5), 'kept.txt')]));
    expectRefused(res, 'name_taken', 'CONFLICT', 409);
    expect((await nextRequestWorks()).socket).toBe(res.socket);
    expect(client.sockets.size).toBe(1);
    expect((await driveState()).files).toEqual(['kept.txt']);
  });
});
