/**
 * Issue 23 metrics in the distributed mode: each role in its own process (accounts, files, uploads
 * and a gateway, by Kubernetes DNS names a fake DNS server answers), as the chart runs them. The
 * gateway times its service calls with transport "http"; a service calling another (uploads →
 * files) does too; the database gauges are served by the role that owns the table only (uploads:
 * stratus_upload_sessions, files: stratus_quota_near_full_users), so a cluster reports each once
 * per replica of that role; every process shows stratus_build_info and unprefixed process metrics.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StratusApi } from '../../cli/lib/api.ts';
import { uploadFile } from '../../cli/lib/upload.ts';
import { startFakeDns, type FakeDns } from '../fakes/dns-server.ts';
import { cephBackend } from '../support/app.ts';
import { createMysqlDatabase, tempDir, type TestDatabase } from '../support/db.ts';
import { redisEnv } from '../support/env.ts';
import { makeFile } from '../support/files.ts';
import { gql } from '../support/graphql.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';
import { freePort } from '../support/free-port.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';

const NAMESPACE = 'stratus-metrics';
const ADDRESSES = { accounts: '127.0.0.2', files: '127.0.0.3', uploads: '127.0.0.4' } as const;
const COMMIT = 'feedbeef42';

let dns: FakeDns;
let db: TestDatabase;
let inbox: Inbox;
let servicePort = 0;
const processes: ServerProcess[] = [];
let gateway: ServerProcess;

const metricsOf = async (base: string) => (await fetch(`${base}/metrics`)).text();
const serviceBase = (role: keyof typeof ADDRESSES) => `http://${ADDRESSES[role]}:${servicePort}`;

beforeAll(async () => {
  dns = await startFakeDns(Object.fromEntries(Object.entries(ADDRESSES).map(([name, ip]) => [`${name}.${NAMESPACE}.svc.cluster.local`, ip])));
  db = await createMysqlDatabase('metrics_roles');
  inbox = await startInbox();
  const routing = path.join(tempDir('stratus-metrics-roles-'), 'storage.json');
  writeFileSync(routing, JSON.stringify({ default: 'ceph', backends: [cephBackend()] }));
  servicePort = await freePort('127.0.0.2');
  const common = {
    DATABASE_URL: db.url!, ...redisEnv(10), STORAGE_CONFIG: routing, JWT_SECRET: TEST_JWT_SECRET, SMTP_URL: inbox.url,
    SERVICE_DISCOVERY: 'k8s', K8S_NAMESPACE: NAMESPACE, SERVICE_PORT: String(servicePort), SERVICE_DNS_SERVERS: dns.server, STRATUS_COMMIT: COMMIT,
  };
  // One at a time: the first one applies the migrations.
  for (const [role, host] of Object.entries(ADDRESSES)) processes.push(await startServerProcess({ ...common, ROLE: role, HOST: host, PORT: String(servicePort), DATA_DIR: tempDir() }));
  gateway = await startServerProcess({ ...common, ROLE: 'api', DATA_DIR: tempDir() });
  processes.push(gateway);
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await inbox?.close();
  await dns?.close();
  await db?.drop();
});

describe('metrics of the roles', () => {
  it('times service calls over HTTP and serves each database gauge from the role that owns its table', async () => {
    const email = `roles-${process.pid}-${Date.now()}@example.com`;
    await gql(gateway.url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
    const code = await inbox.codeFor(email);
    const reg = await gql<{ register: { accessToken: string } }>(gateway.url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', {
      i: { username: `roles${Date.now() % 100000}`, email, password: 'a-good-password-1', code },
    });
    const api = new StratusApi(gateway.url, reg.data!.register.accessToken);
    await uploadFile(api, await makeFile('roles.bin', 9 * 1024 * 1024), { noInstant: true, parallel: 2 });

    const atGateway = await metricsOf(gateway.url);
    expect(atGateway).toMatch(/^stratus_trpc_client_duration_seconds_count\{procedure="uploads\.beginChunk",transport="http",outcome="ok"\} [1-9]/m);
    expect(atGateway).toMatch(/^stratus_trpc_client_duration_seconds_count\{procedure="accounts\.register",transport="http",outcome="ok"\} 1$/m);
    expect(atGateway).toMatch(/^stratus_upload_chunks_total\{backend="ceph",outcome="ok"\} 2$/m);
    expect(atGateway).not.toContain('stratus_upload_sessions{');
    expect(atGateway).not.toMatch(/^stratus_quota_near_full_users /m);

    const atUploads = await metricsOf(serviceBase('uploads'));
    expect(atUploads).toMatch(/^stratus_upload_sessions\{status="COMPLETED"\} 1$/m);
    expect(atUploads).toMatch(/^stratus_upload_completions_total\{outcome="ok"\} 1$/m);
    // The uploads service asks the files service over HTTP too (commitUpload's calls).
    expect(atUploads).toMatch(/^stratus_trpc_client_duration_seconds_count\{procedure="files\.[\w.]+",transport="http",outcome="ok"\} [1-9]/m);
    expect(atUploads).toMatch(/^stratus_object_store_request_duration_seconds_count\{backend="ceph",operation="completeMultipart",outcome="ok"\} 1$/m);
    expect(atUploads).not.toMatch(/^stratus_quota_near_full_users /m);

    const atFiles = await metricsOf(serviceBase('files'));
    expect(atFiles).toMatch(/^stratus_quota_near_full_users 0$/m);
    expect(atFiles).not.toContain('stratus_upload_sessions{');

    for (const text of [atGateway, atUploads, atFiles, await metricsOf(serviceBase('accounts'))]) {
      expect(text).toMatch(new RegExp(`^stratus_build_info\\{version="[^"]+",commit="${COMMIT}"\\} 1$`, 'm'));
      expect(text).toMatch(/^process_cpu_seconds_total /m);
    }
  });
});
