/**
 * tus across real server processes sharing MariaDB, Redis and Ceph: an upload begun on one
 * replica resumes on another from the offset it reports (the tail object and its record are
 * shared, nothing lives in a process), and one 300 MiB PATCH streams through a gateway whose
 * resident memory stays bounded by the chunks it holds, not by the body.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cephBackend } from '../support/app.ts';
import { createMysqlDatabase, tempDir, type TestDatabase } from '../support/db.ts';
import { redisEnv } from '../support/env.ts';
import { hashDownload } from '../support/files.ts';
import { gql } from '../support/graphql.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';
import { TUS_PARTS_IN_FLIGHT } from '../../internal/uploads/tus/tus-patch.writer.ts';
import { DEFAULT_CHUNK_SIZE } from '../../internal/uploads/upload-plan.rules.ts';
import { OCTETS, TUS, contentHashOf, metadata, random, streamHash, streamOf, tusRequest } from './tus-protocol-harness.ts';

const MiB = 1024 * 1024;
let db: TestDatabase;
let inbox: Inbox;
let a: ServerProcess;
let b: ServerProcess;
let token: string;

const auth = () => ({ authorization: `Bearer ${token}`, ...TUS });

beforeAll(async () => {
  db = await createMysqlDatabase('tusprocs');
  inbox = await startInbox();
  const routing = path.join(tempDir('stratus-tusprocs-'), 'storage.json');
  writeFileSync(routing, JSON.stringify({ default: 'ceph', backends: [cephBackend()] }));
  const env = { DATABASE_URL: db.url ?? '', ...redisEnv(10), STORAGE_CONFIG: routing, JWT_SECRET: TEST_JWT_SECRET, SMTP_URL: inbox.url };
  [a, b] = await Promise.all([startServerProcess({ ...env, DATA_DIR: tempDir() }, 150_000), startServerProcess({ ...env, DATA_DIR: tempDir() }, 150_000)]);
  const email = `tusprocs-${process.pid}-${Date.now()}@example.com`;
  await gql(a.url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
  const code = await inbox.codeFor(email);
  const reg = await gql<{ register: { accessToken: string } }>(b.url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', {
    i: { username: `tusprocs${Date.now().toString(36)}`, email, password: 'a-good-password-1', code },
  });
  token = reg.data?.register.accessToken ?? '';
}, 240_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await inbox?.close();
  await db?.drop();
});

/** Resident memory of a process now (kB → bytes), from /proc. */
function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

async function create(url: string, size: number, name: string): Promise<string> {
  const res = await tusRequest(`${url}/tus/`, 'POST', { ...auth(), 'upload-length': String(size), 'upload-metadata': metadata({ filename: name }) });
  expect(res.status, res.text).toBe(201);
  return res.headers.get('location') ?? '';
}

describe('tus across replicas', () => {
  it('an upload begun on one process resumes on another from the offset it reports', async () => {
    const bytes = random(19 * MiB + 77);
    const location = await create(a.url, bytes.length, 'replicas.bin');
    const first = await tusRequest(`${a.url}${location}`, 'PATCH', { ...auth(), ...OCTETS, 'upload-offset': '0' }, bytes.subarray(0, 10 * MiB + 5));
    expect(first.status).toBe(204);
    const seen = await tusRequest(`${b.url}${location}`, 'HEAD', auth());
    expect(seen.headers.get('upload-offset')).toBe(String(10 * MiB + 5));
    const rest = await tusRequest(`${b.url}${location}`, 'PATCH', { ...auth(), ...OCTETS, 'upload-offset': String(10 * MiB + 5) }, bytes.subarray(10 * MiB + 5));
    expect([rest.status, rest.headers.get('upload-offset')]).toEqual([204, String(bytes.length)]);
    const listed = await gql<{ folder: { children: { edges: { node: { id: string; name: string; contentHash: string } }[] } } }>(a.url, '{ folder { children(first: 20) { edges { node { id name contentHash } } } } }', {}, token);
    const file = listed.data?.folder.children.edges.map((e) => e.node).find((n) => n.name === 'replicas.bin');
    expect(file?.contentHash).toBe(contentHashOf(bytes));
    const got = await hashDownload(`${a.url}/files/${file?.id}/content`, { authorization: `Bearer ${token}` });
    expect(got).toMatchObject({ status: 200, contentHash: contentHashOf(bytes), bytes: bytes.length });
  }, 90_000);

  it('one 300 MiB PATCH: the gateway\'s memory stays bounded by the chunks it holds', async () => {
    const size = 300 * MiB;
    const pid = a.child.pid ?? 0;
    // Warm the path (multipart upload, SDK clients) so the baseline includes it.
    const warm = await create(a.url, 20 * MiB, 'warm.bin');
    expect((await tusRequest(`${a.url}${warm}`, 'PATCH', { ...auth(), ...OCTETS, 'upload-offset': '0' }, streamOf(20 * MiB, 3))).status).toBe(204);
    const location = await create(a.url, size, 'big.bin');
    const before = rssOf(pid);
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
    try {
      const res = await tusRequest(`${a.url}${location}`, 'PATCH', { ...auth(), ...OCTETS, 'upload-offset': '0', 'content-length': String(size) }, streamOf(size, 7));
      expect([res.status, res.headers.get('upload-offset')]).toEqual([204, String(size)]);
    } finally {
      clearInterval(timer);
    }
    const listed = await gql<{ folder: { children: { edges: { node: { name: string; size: number; contentHash: string } }[] } } }>(a.url, '{ folder { children(first: 20) { edges { node { name size contentHash } } } } }', {}, token);
    expect(listed.data?.folder.children.edges.map((e) => e.node)).toContainEqual({ name: 'big.bin', size, contentHash: streamHash(size, 7) });
    // The writer holds the chunk being filled and TUS_PARTS_IN_FLIGHT travelling (8 MiB each); the
    // SDK may copy a part while signing it and garbage is collected lazily: twice that plus 32 MiB
    // (as for WebDAV's PUT) — about a quarter of the body, and it does not grow with it.
    const held = (TUS_PARTS_IN_FLIGHT + 1) * DEFAULT_CHUNK_SIZE;
    expect(peak - before).toBeLessThan(2 * held + 32 * MiB);
  }, 240_000);
});
