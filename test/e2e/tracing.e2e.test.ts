/**
 * One trace across the distributed deployment (issue 23): every role in its own process as in
 * distributed.e2e.test.ts (fake DNS, INTERNAL_TOKEN, MariaDB, Redis, RabbitMQ, Ceph), each
 * exporting spans over OTLP/HTTP to a receiver in this test. A client sends one chunked upload
 * (createUpload, three chunk PUTs, completeUpload) with W3C `traceparent` headers of one trace; the
 * upload lands on a staging backend, so the uploads service queues a transfer job (RabbitMQ) that
 * the transfer process runs. The span tree is checked: gateway spans are children of the client's,
 * services' spans (other processes) children of the gateway's tRPC client spans, and the database,
 * Redis, object-store and publish → consume spans are all there and parented in the same trace.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_FIELDS, type SessionView } from '../../cli/lib/api.ts';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { startFakeDns, type FakeDns } from '../fakes/dns-server.ts';
import { cephBackend } from '../support/app.ts';
import { createMysqlDatabase, tempDir, type TestDatabase } from '../support/db.ts';
import { redisEnv, testEnv } from '../support/env.ts';
import { makeFile } from '../support/files.ts';
import { gql } from '../support/graphql.ts';
import { KIND, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';
import { freePort } from '../support/free-port.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';

const MiB = 1024 * 1024;
const NAMESPACE = 'stratus-trace';
const ADDRESSES = { accounts: '127.0.0.2', files: '127.0.0.3', uploads: '127.0.0.4', transfer: '127.0.0.5' } as const;
const TRACE_ID = randomBytes(16).toString('hex');
/** A new client span (of the one trace) per request, as a browser's instrumentation would send. */
const clientSpans: string[] = [];
function traceparent(): string {
  const spanId = randomBytes(8).toString('hex');
  clientSpans.push(spanId);
  return `00-${TRACE_ID}-${spanId}-01`;
}

let dns: FakeDns;
let db: TestDatabase;
let inbox: Inbox;
let receiver: OtlpReceiver;
const processes: Partial<Record<'api' | keyof typeof ADDRESSES, ServerProcess>> = {};
let gateway: ServerProcess;
let token: string;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  dns = await startFakeDns(Object.fromEntries(Object.entries(ADDRESSES).map(([name, ip]) => [`${name}.${NAMESPACE}.svc.cluster.local`, ip])));
  db = await createMysqlDatabase('trace');
  inbox = await startInbox();
  const routing = path.join(tempDir('stratus-trace-'), 'storage.json');
  // New uploads land on a staging backend; the transfer service moves them to `public`.
  writeFileSync(routing, JSON.stringify({
    default: 'staging',
    backends: [{ ...cephBackend('staging', testEnv.s3.bucket), stagingFor: 'public' }, cephBackend('public', testEnv.s3.bucket2)],
  }));
  const port = await freePort('127.0.0.2');
  const common = {
    DATABASE_URL: db.url!, ...redisEnv(10), STORAGE_CONFIG: routing, JWT_SECRET: TEST_JWT_SECRET, SMTP_URL: inbox.url,
    AMQP_URL: testEnv.amqpUrl, TRANSFER_AMQP_PREFIX: `test.trace.${randomBytes(4).toString('hex')}`, TRANSFER_SOURCE_GRACE_MS: '200',
    SERVICE_DISCOVERY: 'k8s', K8S_NAMESPACE: NAMESPACE, SERVICE_PORT: String(port), SERVICE_DNS_SERVERS: dns.server,
    INTERNAL_TOKEN: 'internal-token-of-the-trace-test-0123456789',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100',
  };
  // One at a time: the first one applies the migrations.
  for (const [role, host] of Object.entries(ADDRESSES) as [keyof typeof ADDRESSES, string][]) {
    processes[role] = await startServerProcess({ ...common, ROLE: role, HOST: host, PORT: String(port), DATA_DIR: tempDir() });
  }
  gateway = processes.api = await startServerProcess({ ...common, ROLE: 'api', DATA_DIR: tempDir() });
  const email = `trace-${process.pid}-${Date.now()}@example.com`;
  await gql(gateway.url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
  const code = await inbox.codeFor(email);
  const reg = await gql<{ register: { accessToken: string } }>(gateway.url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', {
    i: { username: 'tracer', email, password: 'a-good-password-1', code },
  });
  token = reg.data!.register.accessToken;
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(processes).map((p) => p.stop()));
  await inbox?.close();
  await dns?.close();
  await db?.drop();
  await receiver?.close();
});

async function graphql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, traceparent: traceparent() },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  expect(body.errors).toBeUndefined();
  return body.data!;
}

describe('one trace across the processes', () => {
  it('a chunked upload: client → gateway → services (HTTP tRPC) → MariaDB, Redis, Ceph, RabbitMQ → transfer worker', async () => {
    // What set-up and sign-up exported is not part of this trace.
    await new Promise((resolve) => setTimeout(resolve, 500));
    receiver.spans.length = 0;
    const size = 20 * MiB;
    const file = await makeFile('traced.bin', size);
    const hash = await fileContentHash(file, size);
    const session = (await graphql<{ createUpload: SessionView }>(`mutation($i: CreateUploadInput!) { createUpload(input: $i) { ${SESSION_FIELDS} } }`, {
      i: { name: 'traced.bin', size, contentHash: hash },
    })).createUpload;
    expect(session.chunkCount).toBeGreaterThan(1);
    const data = readFileSync(file);
    for (let index = 0; index < session.chunkCount; index++) {
      const res = await fetch(`${gateway.url}/upload/${session.id}/${index}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, traceparent: traceparent() },
        body: data.subarray(index * session.chunkSize, (index + 1) * session.chunkSize),
      });
      expect(res.status).toBe(200);
    }
    const done = await graphql<{ completeUpload: SessionView }>(`mutation($id: ID!) { completeUpload(sessionId: $id) { ${SESSION_FIELDS} } }`, { id: session.id });
    expect(done.completeUpload.status).toBe('COMPLETED');

    // The transfer worker moves the blob off staging; its spans arrive once it is done.
    const transferLog = () => processes.transfer!.logs.join('').split('\n').filter((l) => l.includes('"transfer finished"'));
    await expect.poll(transferLog, { timeout: 30_000 }).toHaveLength(1);
    const ours = () => receiver.spans.filter((s) => s.traceId === TRACE_ID);
    await expect.poll(() => ours().filter((s) => s.kind === KIND.CONSUMER).length, { timeout: 10_000 }).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the rest of the worker's batch

    const spans = ours();
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined);
    const describeSpan = (s: ReceivedSpan) => `${s.service} ${s.name}`;

    // Every span since the upload began is in the client's trace: no process started one of its own.
    expect(receiver.spans.filter((s) => s.traceId !== TRACE_ID).map(describeSpan)).toEqual([]);

    // Gateway: one SERVER span per request, the child of that request's client span.
    const entries = spans.filter((s) => s.service === 'stratus-api' && s.kind === KIND.SERVER);
    expect(entries.map((s) => s.name).sort()).toEqual([...Array(session.chunkCount).fill('PUT /upload/:id/:index'), 'POST /graphql', 'POST /graphql'].sort());
    expect(entries.map((s) => s.parentSpanId).sort()).toEqual([...clientSpans].sort());

    // Every tRPC call the gateway made: a CLIENT span under the gateway's, answered by a SERVER
    // span in the service's own process whose parent it is (the traceparent over HTTP).
    const calls = spans.filter((s) => s.service === 'stratus-api' && s.kind === KIND.CLIENT && s.attributes['rpc.system'] === 'trpc');
    expect(calls.length).toBeGreaterThanOrEqual(session.chunkCount + 2);
    for (const call of calls) {
      expect(parentOf(call)?.service, describeSpan(call)).toBe('stratus-api');
      const served = spans.filter((s) => s.parentSpanId === call.spanId && s.kind === KIND.SERVER);
      expect(served.map((s) => s.service), describeSpan(call)).toEqual([`stratus-${call.attributes['rpc.service']}`]);
    }
    const servedBy = new Set(spans.filter((s) => s.kind === KIND.SERVER && s.service !== 'stratus-api').map((s) => s.service));
    expect(servedBy).toContain('stratus-uploads');

    // The uploads service calls the files service (HTTP again) inside its procedure: same tree.
    const nested = spans.filter((s) => s.service === 'stratus-uploads' && s.kind === KIND.CLIENT && s.attributes['rpc.service'] === 'files');
    expect(nested.length).toBeGreaterThan(0);
    for (const call of nested) expect(spans.some((s) => s.service === 'stratus-files' && s.parentSpanId === call.spanId)).toBe(true);

    // MariaDB statements, Redis commands and object-store calls: present, each under a span of the trace.
    const dbSpans = spans.filter((s) => s.attributes['db.system.name'] === 'mariadb');
    const redisSpans = spans.filter((s) => s.attributes['db.system.name'] === 'redis');
    const storeSpans = spans.filter((s) => s.attributes['stratus.store.operation'] !== undefined);
    expect(dbSpans.some((s) => s.service === 'stratus-uploads')).toBe(true);
    expect(dbSpans.some((s) => s.service === 'stratus-files')).toBe(true);
    expect(redisSpans.length).toBeGreaterThan(0);
    expect(storeSpans.map((s) => s.name)).toEqual(expect.arrayContaining(['ceph uploadPart', 'ceph completeMultipart']));
    for (const s of [...dbSpans, ...redisSpans, ...storeSpans]) {
      expect(s.kind).toBe(KIND.CLIENT);
      const parent = parentOf(s);
      // A span of its own process; or, for the access-token check a service makes before its
      // procedure starts (the session-ended lookup in Redis), the caller's tRPC CLIENT span.
      if (parent?.service !== s.service) expect([s.name, parent?.kind, parent?.attributes['rpc.system']], describeSpan(s)).toEqual(['redis GET', KIND.CLIENT, 'trpc']);
    }
    // A chunk's bytes go to Ceph from the gateway's chunk PUT.
    const parts = storeSpans.filter((s) => s.name === 'ceph uploadPart');
    for (const part of parts) expect(entries.map((e) => e.spanId)).toContain(ancestorIn(part, parentOf, entries)?.spanId);

    // RabbitMQ: the uploads service publishes (PRODUCER), the transfer process consumes (CONSUMER)
    // as its child, and the move's own database and object-store spans hang below the consumer.
    const producer = spans.find((s) => s.kind === KIND.PRODUCER);
    const consumer = spans.find((s) => s.kind === KIND.CONSUMER);
    expect(producer).toMatchObject({ service: 'stratus-uploads', attributes: { 'messaging.system': 'rabbitmq' } });
    expect(consumer).toMatchObject({ service: 'stratus-transfer', parentSpanId: producer?.spanId });
    const underConsumer = spans.filter((s) => s.service === 'stratus-transfer' && ancestorIn(s, parentOf, [consumer!]));
    expect(underConsumer.some((s) => s.attributes['db.system.name'] === 'mariadb')).toBe(true);
    expect(underConsumer.filter((s) => s.attributes['stratus.store.backend'] === 'public').length).toBeGreaterThan(0);

    // Every span but the gateway's entries has its parent among the trace's spans.
    for (const s of spans) if (!entries.includes(s)) expect(parentOf(s), describeSpan(s)).toBeDefined();

    // The transfer service's log line carries the trace and the consumer's span.
    const line = JSON.parse(transferLog()[0]!) as { trace_id?: string; span_id?: string };
    expect(line.trace_id).toBe(TRACE_ID);
    expect(underConsumer.map((s) => s.spanId).concat(consumer!.spanId)).toContain(line.span_id);
  }, 120_000);
});

/** The first of `candidates` on the way from `span` up to the root, if any. */
function ancestorIn(span: ReceivedSpan, parentOf: (s: ReceivedSpan) => ReceivedSpan | undefined, candidates: ReceivedSpan[]): ReceivedSpan | undefined {
  for (let s: ReceivedSpan | undefined = span; s; s = parentOf(s)) if (candidates.includes(s)) return s;
  return undefined;
}
