/**
 * Upload sessions across real server processes sharing MariaDB, Redis and Ceph: progress seen by
 * a subscriber on one process while another receives the chunks (Redis pub/sub), a server killed
 * with SIGKILL mid-upload and restarted, and chunks sent by the GraphQL uploadChunk mutation.
 */
import { createClient } from 'graphql-ws';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SESSION_FIELDS, StratusApi, type SessionView } from '../../cli/lib/api.ts';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { uploadFile } from '../../cli/lib/upload.ts';
import { cephBackend } from '../support/app.ts';
import { createMysqlDatabase, tempDir, type TestDatabase } from '../support/db.ts';
import { redisEnv } from '../support/env.ts';
import { hashDownload, makeFile } from '../support/files.ts';
import { gql } from '../support/graphql.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';

const MiB = 1024 * 1024;
let db: TestDatabase;
let inbox: Inbox;
let env: Record<string, string>;
let a: ServerProcess;
let b: ServerProcess;
let token: string;

beforeAll(async () => {
  db = await createMysqlDatabase('procs');
  inbox = await startInbox();
  const dir = tempDir('stratus-procs-');
  const routing = path.join(dir, 'storage.json');
  writeFileSync(routing, JSON.stringify({ default: 'ceph', backends: [cephBackend()] }));
  env = { DATABASE_URL: db.url!, ...redisEnv(8), STORAGE_CONFIG: routing, JWT_SECRET: TEST_JWT_SECRET, SMTP_URL: inbox.url };
  [a, b] = await Promise.all([startServerProcess({ ...env, DATA_DIR: tempDir() }), startServerProcess({ ...env, DATA_DIR: tempDir() })]);
  const email = `procs-${process.pid}-${Date.now()}@example.com`;
  await gql(a.url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
  const code = await inbox.codeFor(email);
  const reg = await gql<{ register: { accessToken: string } }>(b.url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', {
    i: { username: 'procs', email, password: 'a-good-password-1', code },
  });
  token = reg.data!.register.accessToken;
}, 90_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await inbox?.close();
  await db?.drop();
});

const create = (api: StratusApi, input: Record<string, unknown>) =>
  api.gql<{ createUpload: SessionView }>(`mutation($i: CreateUploadInput!) { createUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: input }).then((r) => r.createUpload);

async function putChunk(url: string, sid: string, index: number, body: Buffer) {
  const res = await fetch(`${url}/upload/${sid}/${index}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body });
  expect(res.status).toBe(200);
}

describe('uploads across processes', () => {
  it('a subscriber on one process sees the chunks another process receives, to COMPLETED', async () => {
    const file = await makeFile('cross.bin', 24 * MiB);
    const onA = new StratusApi(a.url, token);
    const onB = new StratusApi(b.url, token);
    const s = await create(onA, { name: 'cross.bin', size: 24 * MiB, contentHash: await fileContentHash(file, 24 * MiB) });
    const events: { status: string; uploadedChunkCount: number }[] = [];
    const client = createClient({ url: `${a.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    const done = new Promise<void>((resolve, reject) =>
      client.subscribe(
        { query: 'subscription($id: ID!) { uploadProgress(sessionId: $id) { status uploadedChunkCount } }', variables: { id: s.id } },
        { next: (v) => events.push((v.data as { uploadProgress: (typeof events)[number] }).uploadProgress), error: reject, complete: resolve },
      ),
    );
    await expect.poll(() => events.length).toBeGreaterThan(0);
    const result = await uploadFile(onB, file, { noInstant: true, parallel: 3 });
    expect(result).toMatchObject({ resumed: true, chunksSent: 3 });
    await done;
    await client.dispose();
    expect(events.at(-1)).toEqual({ status: 'COMPLETED', uploadedChunkCount: 3 });
    expect(events.filter((e) => e.status === 'UPLOADING').length).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('resumes after the server is killed (SIGKILL) mid-upload, resending no recorded chunk', async () => {
    const file = await makeFile('killed.bin', 48 * MiB);
    const hash = await fileContentHash(file, 48 * MiB);
    const api = new StratusApi(a.url, token);
    const s = await create(api, { name: 'killed.bin', size: 48 * MiB, contentHash: hash });
    const data = readFileSync(file);
    for (const index of [0, 1, 3]) await putChunk(a.url, s.id, index, data.subarray(index * s.chunkSize, (index + 1) * s.chunkSize));
    await a.stop('SIGKILL');
    a = await startServerProcess({ ...env, DATA_DIR: tempDir() });
    const resumed = await uploadFile(new StratusApi(a.url, token), file, { noInstant: true });
    expect(resumed).toMatchObject({ resumed: true, chunksSent: 3 });
    expect(resumed.session.status).toBe('COMPLETED');
    const got = await hashDownload(`${b.url}/files/${resumed.session.file!.id}/content`, { authorization: `Bearer ${token}` });
    expect(got).toMatchObject({ status: 200, contentHash: hash, bytes: 48 * MiB });
  }, 90_000);

  it('takes chunks by the uploadChunk mutation (GraphQL multipart)', async () => {
    const file = await makeFile('mutation.bin', 12 * MiB);
    const hash = await fileContentHash(file, 12 * MiB);
    const api = new StratusApi(b.url, token);
    const s = await create(api, { name: 'mutation.bin', size: 12 * MiB, contentHash: hash });
    const data = readFileSync(file);
    for (let index = 0; index < s.chunkCount; index++) {
      const form = new FormData();
      form.append('operations', JSON.stringify({
        query: 'mutation($s: ID!, $i: Int!, $c: Upload!) { uploadChunk(sessionId: $s, index: $i, chunk: $c) { uploadedChunks status } }',
        variables: { s: s.id, i: index, c: null },
      }));
      form.append('map', JSON.stringify({ 0: ['variables.c'] }));
      form.append('0', new Blob([data.subarray(index * s.chunkSize, (index + 1) * s.chunkSize)]), 'chunk');
      const res = await fetch(`${b.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' }, body: form });
      const body = (await res.json()) as { data?: { uploadChunk: { uploadedChunks: number[] } }; errors?: unknown };
      expect(body.errors).toBeUndefined();
      expect(body.data?.uploadChunk.uploadedChunks).toContain(index);
    }
    const done = await api.gql<{ completeUpload: SessionView }>(`mutation($id: ID!) { completeUpload(sessionId: $id) { ${SESSION_FIELDS} } }`, { id: s.id });
    expect(done.completeUpload.file?.contentHash).toBe(hash);
  }, 60_000);
});
