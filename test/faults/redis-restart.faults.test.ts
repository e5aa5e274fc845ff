/**
 * Fault: Redis restarted mid-upload with its data gone (it keeps nothing on disk here). The
 * upload resumes from the database row and the backend's listParts: recorded chunks are not sent
 * again, and the completed file is hashed once more since the block digests were lost.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SESSION_FIELDS, StratusApi, type SessionView } from '../../cli/lib/api.ts';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { uploadFile } from '../../cli/lib/upload.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { putChunks } from '../support/chunks.ts';
import { testEnv } from '../support/env.ts';
import { hashDownload, makeFile } from '../support/files.ts';

const MiB = 1024 * 1024;
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
  // Whatever happened, leave Redis running for whoever comes next.
  execFileSync('bash', ['scripts/services.sh', 'up'], { cwd: testEnv.root, stdio: 'ignore' });
});

it('resumes after Redis restarts without its data', async () => {
  const { token } = await t.signUp();
  const api = new StratusApi(t.url, token);
  const file = await makeFile('redis.bin', 40 * MiB);
  const hash = await fileContentHash(file, 40 * MiB);
  const s = (await api.gql<{ createUpload: SessionView }>(`mutation($i: CreateUploadInput!) { createUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: { name: 'redis.bin', size: 40 * MiB, contentHash: hash } })).createUpload;
  await putChunks(t.url, token, file, s, [0, 3]);

  execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', '6379', 'shutdown', 'nosave']);
  execFileSync('bash', ['scripts/services.sh', 'up'], { cwd: testEnv.root, stdio: 'ignore' });
  expect(execFileSync('redis-cli', ['-h', '127.0.0.1', 'dbsize']).toString().trim()).toBe('0');

  // The app's Redis client reconnects by itself; the session is whole again from listParts.
  await expect.poll(async () => (await api.gql<{ upload: SessionView }>(`query($id: ID!) { upload(id: $id) { uploadedChunks } }`, { id: s.id }).catch(() => null))?.upload.uploadedChunks, { timeout: 20_000 }).toEqual([0, 3]);
  const result = await uploadFile(api, file, { noInstant: true });
  expect(result).toMatchObject({ resumed: true, chunksSent: 3 });
  expect(result.session.status).toBe('COMPLETED');
  expect((await hashDownload(`${t.url}/files/${result.session.file!.id}/content`, { authorization: `Bearer ${token}` })).contentHash).toBe(hash);
}, 120_000);
