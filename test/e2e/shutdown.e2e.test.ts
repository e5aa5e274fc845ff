/**
 * Graceful shutdown: on SIGTERM the server stops accepting connections but lets a chunk that is
 * streaming finish and be recorded, then exits 0.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SESSION_FIELDS, StratusApi, type SessionView } from '../../cli/lib/api.ts';
import { tempDir } from '../support/db.ts';
import { gql } from '../support/graphql.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';

const MiB = 1024 * 1024;
let server: ServerProcess;
let inbox: Inbox;
let token: string;

beforeAll(async () => {
  inbox = await startInbox();
  const dataDir = tempDir();
  server = await startServerProcess({ DATA_DIR: dataDir, SMTP_URL: inbox.url });
  const email = 'shutdown@example.com';
  await gql(server.url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
  const reg = await gql<{ register: { accessToken: string } }>(server.url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', {
    i: { username: 'shutdown', email, password: 'a-good-password-1', code: await inbox.codeFor(email) },
  });
  token = reg.data!.register.accessToken;
});
afterAll(async () => {
  await server?.stop('SIGKILL');
  await inbox?.close();
});

it('finishes a chunk in flight on SIGTERM, then exits 0', async () => {
  const api = new StratusApi(server.url, token);
  const s = (await api.gql<{ createUpload: SessionView }>(`mutation($i: CreateUploadInput!) { createUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: { name: 'term.bin', size: 8 * MiB } })).createUpload;
  const response = new Promise<number>((resolve, reject) => {
    const req = http.request(`${server.url}/upload/${s.id}/0`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-length': String(8 * MiB) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.write(Buffer.alloc(4 * MiB, 1));
    // The rest comes after the signal.
    void sleep(800).then(() => req.end(Buffer.alloc(4 * MiB, 2)));
  });
  await sleep(300);
  const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
  server.child.kill('SIGTERM');
  expect(await response).toBe(200);
  expect(await exited).toBe(0);
}, 60_000);
