/**
 * Fault: the storage backend becomes unreachable during completeUpload (a TCP proxy in front of
 * the real RGW is cut). The person gets UNAVAILABLE, the session stays resumable, no file row
 * points at missing bytes; once the backend is back the same session completes and the bytes match.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SESSION_FIELDS, StratusApi, type SessionView } from '../../cli/lib/api.ts';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { FileRow } from '../../internal/files/files.entities.ts';
import { cephBackend, startTestApp, type TestApp } from '../support/app.ts';
import { putChunks } from '../support/chunks.ts';
import { testEnv } from '../support/env.ts';
import { hashDownload, makeFile } from '../support/files.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const MiB = 1024 * 1024;
let proxy: TcpProxy;
let t: TestApp;

beforeAll(async () => {
  const rgw = new URL(testEnv.s3.endpoint);
  proxy = await startTcpProxy({ host: rgw.hostname, port: Number(rgw.port) });
  t = await startTestApp({ routing: () => ({ default: 'ceph', backends: [{ ...cephBackend(), endpoint: proxy.url }] }) });
});
afterAll(async () => {
  await t?.close();
  await proxy?.close();
});

it('completeUpload with the backend unreachable: UNAVAILABLE, resumable, nothing half-written', async () => {
  const { token } = await t.signUp();
  const api = new StratusApi(t.url, token);
  const file = await makeFile('down.bin', 24 * MiB);
  const hash = await fileContentHash(file, 24 * MiB);
  const s = (await api.gql<{ createUpload: SessionView }>(`mutation($i: CreateUploadInput!) { createUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: { name: 'down.bin', size: 24 * MiB, contentHash: hash } })).createUpload;
  await putChunks(t.url, token, file, s, [0, 1, 2]);

  proxy.cut();
  const complete = () => api.gql<{ completeUpload: SessionView }>(`mutation($id: ID!) { completeUpload(sessionId: $id) { ${SESSION_FIELDS} } }`, { id: s.id });
  const failed = await complete().then(() => 'completed', (e: { code?: string }) => e.code);
  expect(failed).toBe('UNAVAILABLE');
  const during = (await api.gql<{ upload: SessionView }>(`query($id: ID!) { upload(id: $id) { ${SESSION_FIELDS} } }`, { id: s.id })).upload;
  expect(during).toMatchObject({ status: 'UPLOADING', uploadedChunks: [0, 1, 2] });
  expect(await t.app.runtime.orm.em.fork().count(FileRow, { name: 'down.bin' })).toBe(0);

  proxy.restore();
  const done = (await complete()).completeUpload;
  expect(done.status).toBe('COMPLETED');
  const got = await hashDownload(`${t.url}/files/${done.file!.id}/content`, { authorization: `Bearer ${token}` });
  expect(got).toMatchObject({ status: 200, contentHash: hash });
}, 120_000);
