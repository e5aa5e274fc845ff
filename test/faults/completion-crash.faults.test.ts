/**
 * Fault: the server is killed with SIGKILL while completeUpload assembles the parts, on the
 * embedded default (SQLite, local disk, in-memory key-value store: everything but the database
 * and the files dies with the process). Before the fix the session and the person's whole
 * `uploads` list answered NOT_FOUND after the restart, complete and cancel refused, the parts
 * stayed in objects/tmp, and `stratus fsck` said clean.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SESSION_FIELDS, StratusApi, type SessionView } from '../../cli/lib/api.ts';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { putChunks } from '../support/chunks.ts';
import { tempDir } from '../support/db.ts';
import { testEnv } from '../support/env.ts';
import { hashDownload, makeFile } from '../support/files.ts';
import { gql } from '../support/graphql.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';

const MiB = 1024 * 1024;
const SIZE = 768 * MiB;
let inbox: Inbox;
let env: Record<string, string>;
let server: ServerProcess;
let token: string;
let dataDir: string;

beforeAll(async () => {
  inbox = await startInbox();
  dataDir = tempDir('stratus-complete-crash-');
  env = { DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET, SMTP_URL: inbox.url };
  server = await startServerProcess(env);
  const email = `crash-${process.pid}-${Date.now()}@example.com`;
  await gql(server.url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
  const code = await inbox.codeFor(email);
  const reg = await gql<{ register: { accessToken: string } }>(server.url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', {
    i: { username: `crash${process.pid}`, email, password: 'a-good-password-1', code },
  });
  token = reg.data!.register.accessToken;
});
afterAll(async () => {
  await server?.stop('SIGKILL');
  await inbox?.close();
});

/** `stratus fsck --grace 0 --json` beside the (stopped or running) server, with its environment. */
async function fsck(...args: string[]): Promise<{ code: number | null; report: { counts: Record<string, { found: number; repaired: number }>; clean: boolean } }> {
  const child = spawn(process.execPath, [path.join(testEnv.root, 'bin/stratus.mjs'), 'fsck', '--grace', '0', '--json', ...args], {
    cwd: testEnv.root,
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, report: JSON.parse(out) as never };
}

const tmpEntries = () => {
  const dir = path.join(dataDir, 'objects', 'tmp');
  return existsSync(dir) ? readdirSync(dir) : [];
};

it('SIGKILL during completeUpload: after a restart the session recovers on its own, the list works, fsck finds it, nothing is lost or left in tmp', async () => {
  const file = await makeFile('crash-in-completion.bin', SIZE);
  const contentHash = await fileContentHash(file, SIZE);
  const api = new StratusApi(server.url, token);
  const s = (await api.gql<{ createUpload: SessionView }>(`mutation($i: CreateUploadInput!) { createUpload(input: $i) { ${SESSION_FIELDS} } }`, {
    i: { parentId: null, name: 'crash.bin', size: SIZE, contentHash, chunkSize: 64 * MiB },
  })).createUpload;
  await putChunks(server.url, token, file, s, Array.from({ length: s.chunkCount }, (_, i) => i));

  // Complete, and kill the process while the parts are being assembled (~1 s for 768 MiB on
  // local disk): the local store's claim of the upload and the object being written are in tmp/.
  const completing = api.gql(`mutation($id: ID!) { completeUpload(sessionId: $id) { status } }`, { id: s.id }).then(() => 'finished', () => 'interrupted');
  await expect.poll(() => tmpEntries().some((n) => n.endsWith('.assembling')), { timeout: 30_000, interval: 1 }).toBe(true);
  await server.stop('SIGKILL');
  expect(await completing).toBe('interrupted');
  // The parts, claimed by the completion that died, wait in tmp/.
  expect(tmpEntries().filter((n) => n.startsWith('completing-'))).toHaveLength(2);

  // Server down: fsck sees the interrupted completion (it used to say clean).
  const found = await fsck();
  expect(found.code).toBe(1);
  expect(found.report.counts.session_completion_interrupted?.found).toBe(1);

  server = await startServerProcess(env);
  const again = new StratusApi(server.url, token);
  // The list works and shows the session with every chunk in; its own read recovers it.
  const listed = (await again.gql<{ uploads: SessionView[] }>(`{ uploads { ${SESSION_FIELDS} } }`)).uploads;
  expect(listed.map((u) => [u.id, u.status, u.missingChunks.length])).toEqual([[s.id, 'UPLOADING', 0]]);
  expect(tmpEntries().filter((n) => n.startsWith('completing-'))).toEqual([]);
  const done = (await again.gql<{ completeUpload: SessionView }>(`mutation($id: ID!) { completeUpload(sessionId: $id) { ${SESSION_FIELDS} } }`, { id: s.id })).completeUpload;
  expect(done.status).toBe('COMPLETED');
  const got = await hashDownload(`${server.url}/files/${done.file!.id}/content`, { authorization: `Bearer ${token}` });
  expect(got).toMatchObject({ status: 200, bytes: SIZE, contentHash });
  expect(tmpEntries()).toEqual([]);
  const after = await fsck();
  expect([after.code, after.report.clean]).toEqual([0, true]);
}, 240_000);
