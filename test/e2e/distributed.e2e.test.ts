/**
 * The distributed mode on one machine: every role in its own process (accounts, files, uploads
 * transfer and two gateways), wired by Kubernetes DNS names that a fake DNS server answers with loopback
 * addresses of their own (127.0.0.2–5, one port for all, as Services have in a cluster). The
 * upload flow is driven through both gateways. As the chart runs them: Services named after the
 * release (`rel-<role>`, SERVICE_HOST_*), internal calls carrying INTERNAL_TOKEN, /metrics on a
 * port of its own (METRICS_PORT) for the services and gateway A.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SESSION_FIELDS, StratusApi, type SessionView } from '../../cli/lib/api.ts';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { uploadFile } from '../../cli/lib/upload.ts';
import { sendFiles } from '../../cli/lib/upload-batch.ts';
import { startFakeDns, type FakeDns } from '../fakes/dns-server.ts';
import { cephBackend } from '../support/app.ts';
import { createMysqlDatabase, tempDir, type TestDatabase } from '../support/db.ts';
import { redisEnv } from '../support/env.ts';
import { hashDownload, makeFile } from '../support/files.ts';
import { errorCode, gql } from '../support/graphql.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';
import { freePort } from '../support/free-port.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';

const MiB = 1024 * 1024;
const NAMESPACE = 'stratus-test';
const ADDRESSES = { accounts: '127.0.0.2', files: '127.0.0.3', uploads: '127.0.0.4', transfer: '127.0.0.5' } as const;
const INTERNAL_TOKEN = 'internal-token-of-the-test-release-0123456789';
let metricsPort = 0;
let gatewayMetricsPort = 0;

let dns: FakeDns;
let db: TestDatabase;
let inbox: Inbox;
const processes: ServerProcess[] = [];
let gatewayA: ServerProcess;
let gatewayB: ServerProcess;
let token: string;

beforeAll(async () => {
  dns = await startFakeDns(Object.fromEntries(Object.entries(ADDRESSES).map(([name, ip]) => [`rel-${name}.${NAMESPACE}.svc.cluster.local`, ip])));
  db = await createMysqlDatabase('dist');
  inbox = await startInbox();
  const routing = path.join(tempDir('stratus-dist-'), 'storage.json');
  writeFileSync(routing, JSON.stringify({ default: 'ceph', backends: [cephBackend()] }));
  const port = await freePort('127.0.0.2');
  metricsPort = await freePort('127.0.0.2');
  gatewayMetricsPort = await freePort('127.0.0.1');
  const common = {
    DATABASE_URL: db.url!, ...redisEnv(9), STORAGE_CONFIG: routing, JWT_SECRET: TEST_JWT_SECRET, SMTP_URL: inbox.url,
    SERVICE_DISCOVERY: 'k8s', K8S_NAMESPACE: NAMESPACE, SERVICE_PORT: String(port), SERVICE_DNS_SERVERS: dns.server,
    SERVICE_HOST_ACCOUNTS: 'rel-accounts', SERVICE_HOST_FILES: 'rel-files', SERVICE_HOST_UPLOADS: 'rel-uploads', SERVICE_HOST_TRANSFER: 'rel-transfer',
    INTERNAL_TOKEN,
  };
  // Services first (one at a time: the first one applies the migrations), then two gateways.
  for (const [role, host] of Object.entries(ADDRESSES)) {
    processes.push(await startServerProcess({ ...common, ROLE: role, HOST: host, PORT: String(port), METRICS_PORT: String(metricsPort), DATA_DIR: tempDir() }));
  }
  gatewayA = await startServerProcess({ ...common, ROLE: 'api', METRICS_PORT: String(gatewayMetricsPort), DATA_DIR: tempDir() });
  gatewayB = await startServerProcess({ ...common, ROLE: 'api', DATA_DIR: tempDir() });
  processes.push(gatewayA, gatewayB);
  const email = `dist-${process.pid}-${Date.now()}@example.com`;
  await gql(gatewayA.url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
  const code = await inbox.codeFor(email);
  const reg = await gql<{ register: { accessToken: string } }>(gatewayB.url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', {
    i: { username: 'dist', email, password: 'a-good-password-1', code },
  });
  token = reg.data!.register.accessToken;
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await inbox?.close();
  await dns?.close();
  await db?.drop();
});

describe('distributed roles', () => {
  it('a service process answers only tRPC, health and metrics', async () => {
    const port = Number(processes[0]!.url.split(':').at(-1));
    const base = `http://${ADDRESSES.accounts}:${port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/graphql`)).status).toBe(404);
    // METRICS_PORT: /metrics there, not on the port the Service (and an Ingress) routes.
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    expect((await fetch(`http://${ADDRESSES.accounts}:${metricsPort}/metrics`)).status).toBe(200);
    expect((await fetch(`${gatewayA.url}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${gatewayMetricsPort}/metrics`)).status).toBe(200);
    expect((await fetch(`${gatewayB.url}/metrics`)).status).toBe(200);
  });

  it('refuses an internal call without INTERNAL_TOKEN, as from a pod that is not a caller', async () => {
    const port = Number(processes[0]!.url.split(':').at(-1));
    const call = (headers: Record<string, string>) => fetch(`http://${ADDRESSES.files}:${port}/trpc/quota`, { headers: { authorization: `Bearer ${token}`, 'x-stratus-client-ip': '203.0.113.7', ...headers } });
    const refused = await call({});
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { data: { appCode: 'FORBIDDEN', details: { reason: 'internal_caller_refused' } } } });
    expect((await call({ 'x-stratus-internal-token': 'x'.repeat(45) })).status).toBe(403);
    expect((await call({ 'x-stratus-internal-token': INTERNAL_TOKEN })).status).not.toBe(403);
  });

  it('uploads through both gateways: session on A, chunks on A and B, progress seen on B, download from A', async () => {
    const file = await makeFile('dist.bin', 40 * MiB);
    const hash = await fileContentHash(file, 40 * MiB);
    const onA = new StratusApi(gatewayA.url, token);
    const onB = new StratusApi(gatewayB.url, token);
    const s = (await onA.gql<{ createUpload: SessionView }>(`mutation($i: CreateUploadInput!) { createUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: { name: 'dist.bin', size: 40 * MiB, contentHash: hash } })).createUpload;
    const events: string[] = [];
    const client = createClient({ url: `${gatewayB.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    const done = new Promise<void>((resolve, reject) =>
      client.subscribe(
        { query: 'subscription($id: ID!) { uploadProgress(sessionId: $id) { status uploadedChunkCount } }', variables: { id: s.id } },
        { next: (v) => events.push((v.data as { uploadProgress: { status: string } }).uploadProgress.status), error: reject, complete: resolve },
      ),
    );
    await expect.poll(() => events.length).toBeGreaterThan(0);
    // Half the chunks through A (a first run stopped early), the rest and completion through B.
    const controller = new AbortController();
    let sent = 0;
    await uploadFile(onA, file, {
      noInstant: true,
      parallel: 1,
      signal: controller.signal,
      onProgress: () => {
        if (++sent > 2) controller.abort();
      },
    }).catch(() => undefined);
    const result = await uploadFile(onB, file, { noInstant: true, parallel: 4 });
    expect(result.resumed).toBe(true);
    expect(result.chunksSent).toBeLessThan(5);
    expect(result.session.status).toBe('COMPLETED');
    await done;
    await client.dispose();
    expect(events.at(-1)).toBe('COMPLETED');
    const got = await hashDownload(`${gatewayA.url}/files/${result.session.file!.id}/content`, { authorization: `Bearer ${token}` });
    expect(got).toMatchObject({ status: 200, contentHash: hash });
  }, 90_000);

  it('reaches the transfer service for admin queries (the first person is the admin)', async () => {
    const res = await gql<{ storageBackends: { name: string; isDefault: boolean; objectCount: number }[] }>(gatewayA.url, '{ storageBackends { name isDefault objectCount } }', {}, token);
    expect(res.errors).toBeUndefined();
    expect(res.data?.storageBackends).toEqual([{ name: 'ceph', isDefault: true, objectCount: expect.any(Number) }]);
  });

  it('keeps error codes across the service hop', async () => {
    expect(errorCode(await gql(gatewayA.url, 'mutation { createFolder(name: "..") { id } }', {}, token))).toBe('BAD_INPUT');
    expect(errorCode(await gql(gatewayB.url, '{ file(id: "00000000-0000-0000-0000-000000000000") { id } }', {}, token))).toBe('NOT_FOUND');
  });

  it('runs queries and mutations over graphql-ws with the connection token forwarded to the services', async () => {
    const client = createClient({ url: `${gatewayB.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    const run = (query: string) =>
      new Promise<{ data?: unknown; errors?: unknown }>((resolve, reject) => {
        let last: { data?: unknown; errors?: unknown } = {};
        client.subscribe({ query }, { next: (v) => (last = v), error: (e) => (Array.isArray(e) ? resolve({ errors: e }) : reject(new Error('socket failed'))), complete: () => resolve(last) });
      });
    expect(await run('{ me { username } }')).toMatchObject({ data: { me: { username: 'dist' } } });
    const created = await run('mutation { createFolder(name: "over ws") { name } }');
    expect(created).toMatchObject({ data: { createFolder: { name: 'over ws' } } });
    await client.dispose();
  });

  it('personal access tokens across processes: checked by the accounts service, their scope and kind known to every service, a revoke refused on the other gateway', async () => {
    const create = (scopes: string[]) =>
      gql<{ createAccessToken: { token: string; accessToken: { id: string } } }>(gatewayA.url, 'mutation($s: [AccessScope!]!) { createAccessToken(input: { name: "dist", scopes: $s }) { token accessToken { id } } }', { s: scopes }, token);
    const write = (await create(['WRITE'])).data!.createAccessToken;
    const read = (await create(['READ'])).data!.createAccessToken;
    // The files service (another process) runs as the token's owner.
    expect((await gql(gatewayB.url, 'mutation { createFolder(name: "by-token") { id } }', {}, write.token)).errors).toBeUndefined();
    expect(errorCode(await gql(gatewayB.url, 'mutation { createFolder(name: "by-read-token") { id } }', {}, read.token))).toBe('FORBIDDEN');
    // The accounts service knows from the forwarded JWT that the caller is a token, not a session.
    expect(errorCode(await gql(gatewayB.url, '{ accessTokens { id } }', {}, write.token))).toBe('FORBIDDEN');
    expect((await gql(gatewayA.url, 'mutation($id: ID!) { revokeAccessToken(id: $id) }', { id: write.accessToken.id }, token)).data).toEqual({ revokeAccessToken: true });
    const refused = await gql(gatewayB.url, '{ me { id } }', {}, write.token);
    expect([refused.status, errorCode(refused)]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('the activity log across processes: the accounts and files services record the client address and browser the gateway saw', async () => {
    const res = await gql<{ activity: { edges: { node: { action: string; ip: string | null; userAgent: string | null } }[] } }>(gatewayB.url, '{ activity(first: 200) { edges { node { action ip userAgent } } } }', {}, token);
    const events = res.data!.activity.edges.map((e) => e.node);
    // Registered through gateway B (accounts service), tokens made through gateway A: both forwarded.
    expect(events.filter((e) => e.action === 'SIGNED_IN')).toEqual([{ action: 'SIGNED_IN', ip: '127.0.0.0', userAgent: 'node' }]);
    expect(events.filter((e) => e.action === 'TOKEN_CREATED')).toHaveLength(2);
    expect(events.every((e) => e.ip === '127.0.0.0' && e.userAgent === 'node')).toBe(true);
  });

  // After the activity test, which expects every event's browser to be fetch's 'node': the CLI's
  // byte requests (node:http) send no User-Agent.
  it('many small files through a gateway: uploadFiles reaches the files service over HTTP (its batch procedures), each file once with its content hash', async () => {
    const files = await Promise.all(Array.from({ length: 12 }, (_, i) => makeFile(`dist-small-${i}.bin`, 1000 + i * 997)));
    const onA = new StratusApi(gatewayA.url, token);
    const folder = (await onA.gql<{ createFolder: { id: string } }>('mutation { createFolder(parentId: null, name: "dist-small") { id } }')).createFolder.id;
    const outcomes = await sendFiles(onA, files.map((f, i) => ({ path: f, name: path.basename(f), size: 1000 + i * 997 })), { parentId: folder });
    expect(outcomes.map((o) => (o.error ? o.error.message : o.way))).toEqual(files.map(() => 'batch'));
    for (const [i, o] of outcomes.entries()) expect(o.file?.contentHash).toBe(await fileContentHash(files[i] as string, 1000 + i * 997));
    // Sent again: every name is taken now, refused file by file, nothing stored twice.
    const again = await sendFiles(onA, files.map((f, i) => ({ path: f, name: path.basename(f), size: 1000 + i * 997 })), { parentId: folder });
    expect(again.map((o) => (o.error as { details?: { reason?: string } } | undefined)?.details?.reason)).toEqual(files.map(() => 'name_taken'));
    const listed = await onA.gql<{ folder: { children: { totalCount: number } } }>('query($id: ID) { folder(id: $id) { children { totalCount } } }', { id: folder });
    expect(listed.folder.children.totalCount).toBe(12);
  }, 60_000);

  it('found every service by its DNS name (checked last, after every flow ran)', () => {
    // The release-prefixed Service names of SERVICE_HOST_*, never the bare role names.
    for (const name of ['accounts', 'files', 'uploads', 'transfer']) expect(dns.queries).toContain(`rel-${name}.${NAMESPACE}.svc.cluster.local`);
    expect(dns.queries.filter((q) => q.startsWith('accounts.') || q.startsWith('files.'))).toEqual([]);
  });
});
