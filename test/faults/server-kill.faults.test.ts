/**
 * Fault: the server is killed with SIGKILL while chunks are streaming, then restarted. The upload
 * resumes: no recorded chunk is lost or sent again, and the final bytes match.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
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
let server: ServerProcess;
let token: string;

beforeAll(async () => {
  db = await createMysqlDatabase('kill');
  inbox = await startInbox();
  const routing = path.join(tempDir('stratus-kill-'), 'storage.json');
  writeFileSync(routing, JSON.stringify({ default: 'ceph', backends: [cephBackend()] }));
  env = { DATABASE_URL: db.url!, ...redisEnv(10), STORAGE_CONFIG: routing, JWT_SECRET: TEST_JWT_SECRET, SMTP_URL: inbox.url, DATA_DIR: tempDir() };
  server = await startServerProcess(env);
  const email = `kill-${process.pid}-${Date.now()}@example.com`;
  await gql(server.url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
  const code = await inbox.codeFor(email);
  const reg = await gql<{ register: { accessToken: string } }>(server.url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', { i: { username: `kill${process.pid}`, email, password: 'a-good-password-1', code } });
  token = reg.data!.register.accessToken;
});
afterAll(async () => {
  await server?.stop('SIGKILL');
  await inbox?.close();
  await db?.drop();
});

it('SIGKILL mid-upload while chunks stream; restarted, the upload resumes without losing or resending a recorded chunk', async () => {
  const file = await makeFile('killed-mid-chunk.bin', 160 * MiB);
  const hash = await fileContentHash(file, 160 * MiB);
  let sessionId = '';
  let progressed = 0;
  const running = uploadFile(new StratusApi(server.url, token), file, {
    noInstant: true,
    parallel: 2,
    onSession: (s) => (sessionId = s.id),
    onProgress: () => {
      progressed++;
    },
  }).then(() => 'finished', () => 'interrupted');
  // Kill while later chunks are in flight.
  await expect.poll(() => progressed, { timeout: 60_000, interval: 20 }).toBeGreaterThanOrEqual(5);
  await server.stop('SIGKILL');
  expect(await running).toBe('interrupted');

  server = await startServerProcess(env);
  const api = new StratusApi(server.url, token);
  const recorded = (await api.gql<{ upload: SessionView }>(`query($id: ID!) { upload(id: $id) { ${SESSION_FIELDS} } }`, { id: sessionId })).upload;
  expect(recorded.uploadedChunks.length).toBeGreaterThanOrEqual(3);
  expect(recorded.uploadedChunks.length).toBeLessThan(recorded.chunkCount);
  const resumed = await uploadFile(api, file, { noInstant: true, parallel: 2 });
  expect(resumed.resumed).toBe(true);
  expect(resumed.chunksSent).toBe(recorded.chunkCount - recorded.uploadedChunks.length);
  expect(resumed.session.status).toBe('COMPLETED');
  const got = await hashDownload(`${server.url}/files/${resumed.session.file!.id}/content`, { authorization: `Bearer ${token}` });
  expect(got).toMatchObject({ status: 200, bytes: 160 * MiB, contentHash: hash });
}, 180_000);
