/**
 * The artifacts a Helm user runs, run here (issue 24): the repository's Dockerfile built with
 * podman, then every Deployment `helm template` renders run from that image as its pod would
 * (pod-run.ts: command, env/envFrom from the rendered ConfigMap and Secret, uid 10001, read-only
 * root file system, no capabilities, emptyDir and ConfigMap volumes, limits), each on its own
 * address with the chart's Service names resolving to it, the operator talking to the fake API
 * server in-cluster (service account token, TLS). A kubelet stand-in runs the declared startup,
 * readiness and liveness probes and the test fails on any that does not pass. Then the full
 * path through the containers: sign up, chunked upload, download, share, and a default-backend
 * switch done the way `kubectl patch` does it, published by the operator and swapped into the
 * pods' mounted routing file by the kubelet; the old backend is deleted and drained (its blobs
 * moved by the transfer worker) with nothing lost.
 *
 * Base images: no registry is reachable here, so scripts/lib/podman.sh builds stand-ins for
 * node:<major>-bookworm(-slim) from Debian's mirror carrying THIS machine's Node (Node 20 here),
 * passed through the Dockerfile's NODE_BUILD_IMAGE/NODE_RUNTIME_IMAGE; the Dockerfile's own
 * defaults are the official Node 22 images.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StratusApi } from '../../cli/lib/api.ts';
import { uploadFile } from '../../cli/lib/upload.ts';
import { GROUP, PLURAL, ROUTING_CONFIGMAP, ROUTING_KEY, VERSION } from '../../operator/types.ts';
import { createMysqlDatabase, tempDir, type TestDatabase } from '../support/db.ts';
import { testEnv } from '../support/env.ts';
import { hashDownload, makeFile } from '../support/files.ts';
import { gql } from '../support/graphql.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';
import { NS, startCluster, type StandInCluster } from './cluster.ts';
import type { Pod } from './kubelet.ts';
import { setUpHelm, tearDownHelm, type K8sObject } from './manifests.ts';
import { buildImage, ensureBases, IMAGE_REPO, IMAGE_TAG, podman, runOnce } from './podman.ts';

const MiB = 1024 * 1024;
const SB = `/apis/${GROUP}/${VERSION}/namespaces/${NS}/${PLURAL}`;

let workDir: string;
let db: TestDatabase;
let inbox: Inbox;
let cluster: StandInCluster;
let pods: Pod[];
let api: Pod;
let built: { seconds: number };
let token: string;

const s3 = testEnv.s3;
const backend = (name: string, bucket: string, isDefault: boolean) => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'StorageBackend',
  metadata: { name, namespace: NS },
  spec: { type: 'ceph', endpoint: s3.endpoint, region: s3.region, bucket, credentialsSecretRef: { name: 'rgw-credentials' }, default: isDefault, migrate: true, state: 'active' },
});
const blobsByBackend = async (): Promise<Record<string, number>> => {
  const conn = await createConnection(db.url as string);
  try {
    const [rows] = await conn.query('SELECT backend, COUNT(*) AS n FROM blobs GROUP BY backend');
    return Object.fromEntries((rows as { backend: string; n: number }[]).map((r) => [r.backend, Number(r.n)]));
  } finally {
    await conn.end();
  }
};
const routing = () => {
  const cm = cluster.kube.store.list(cluster.kube.resource('', 'configmaps'), NS).find((o) => o.metadata.name === ROUTING_CONFIGMAP);
  const text = (cm?.data as Record<string, string> | undefined)?.[ROUTING_KEY];
  return text ? (JSON.parse(text) as { default: string; backends: { name: string; state: string }[] }) : null;
};

const REDIS_URL = `${testEnv.redisUrl}/6`;

beforeAll(async () => {
  await setUpHelm();
  const bases = await ensureBases();
  built = await buildImage(`${IMAGE_REPO}:${IMAGE_TAG}`, bases);
  workDir = tempDir('stratus-pods-');
  db = await createMysqlDatabase('pods');
  // A Redis database of its own, emptied first: the pods run with the chart's default per-client
  // limits, and other suites' sign-ups from the same address must not have spent them.
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  redis.disconnect();
  inbox = await startInbox();
  cluster = await startCluster({
    workDir,
    values: {
      image: { repository: IMAGE_REPO, tag: IMAGE_TAG, pullPolicy: 'Never' },
      secrets: { databaseUrl: db.url, redisUrl: REDIS_URL, amqpUrl: testEnv.amqpUrl, smtpUrl: inbox.url, jwtSecret: randomBytes(32).toString('hex') },
      // Its own RabbitMQ names, so the shared broker's other tests never see these jobs.
      config: { extraEnv: { TRANSFER_AMQP_PREFIX: `stratus.pods.${randomBytes(4).toString('hex')}`, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
      operator: { extraEnv: [{ name: 'OPERATOR_DELETION_POLL_SECONDS', value: '2' }] },
    },
  });
  // `kubectl apply -f` of a Secret and a StorageBackend, as README step 5 does.
  await cluster.kubectl('POST', `/api/v1/namespaces/${NS}/secrets`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rgw-credentials', namespace: NS }, stringData: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  expect((await cluster.kubectl('POST', SB, backend('ceph', s3.bucket, true))).status).toBe(201);
  pods = await cluster.startPods();
  api = pods.find((p) => p.role === 'api') as Pod;
  await cluster.kubelet.waitReady(pods, 240_000);
}, 30 * 60_000);

afterAll(async () => {
  await cluster?.close();
  await inbox?.close();
  await db?.drop();
  tearDownHelm();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}, 120_000);

describe('the image', () => {
  it(`builds from the Dockerfile on the stand-in bases (this machine's Node ${process.version}; the Dockerfile defaults to Node 22)`, async () => {
    console.info(`podman build: ${built.seconds} s`);
    const image = `${IMAGE_REPO}:${IMAGE_TAG}`;
    expect(await runOnce(image, ['--entrypoint', '["node","-p","process.version"]'], [])).toBe(`${process.version}\n`);
    expect((await runOnce(image, ['--entrypoint', '["id","-u"]'], [])).trim()).toBe('10001');
    const user = JSON.parse(await podman(['image', 'inspect', '--format', '{{json .Config.User}}', image])) as string;
    expect(user).toBe('10001:10001');
  });
});

describe('every Deployment of the chart, run as its pod', () => {
  it('runs one pod per rendered Deployment, every role on its own address', () => {
    expect(pods.map((p) => p.role).sort()).toEqual(['accounts', 'api', 'files', 'operator', 'transfer', 'uploads']);
    expect(new Set(pods.map((p) => p.ip)).size).toBe(pods.length);
    for (const [svc, ip] of Object.entries(cluster.services)) expect(pods.find((p) => p.ip === ip), svc).toBeDefined();
  });

  it('runs as uid 10001 with a read-only root file system and no capabilities; only the emptyDirs are writable', async () => {
    for (const pod of pods) {
      const exec = (script: string) => podman(['exec', pod.name, 'node', '-e', script]);
      expect((await podman(['exec', pod.name, 'id', '-u'])).trim(), pod.name).toBe('10001');
      expect(await exec("console.log(require('fs').readFileSync('/proc/self/status','utf8').match(/CapEff:\\s*(\\w+)/)[1])"), pod.name).toBe('0000000000000000\n');
      expect(await exec("try{require('fs').writeFileSync('/app/x','')}catch(e){console.log(e.code)}"), pod.name).toBe('EROFS\n');
      expect(await exec("for(const d of ['/data','/tmp']){require('fs').writeFileSync(d+'/w','');} console.log('ok')"), pod.name).toBe('ok\n');
    }
  });

  it('passes the startup and readiness probes as declared (the kubelet stand-in ran them)', () => {
    expect(cluster.kubelet.problems).toEqual([]);
    for (const pod of pods) {
      expect(pod.probes.some((r) => r.kind === 'startup' && r.ok), `${pod.name} startup`).toBe(true);
      expect(pod.ready, `${pod.name} ready`).toBe(true);
    }
  });
});

describe('the kubelet stand-in', () => {
  it('fails a pod whose process answers no probe (as the operator did before it served /healthz)', async () => {
    const operator = cluster.deployments.find((d) => d.metadata.name.endsWith('-operator')) as K8sObject;
    const silent = structuredClone(operator);
    const container = (silent.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[0]!;
    container.command = ['sleep', '600'];
    container.startupProbe = { ...(container.startupProbe as object), periodSeconds: 1, failureThreshold: 3 };
    const kubelet = cluster.newKubelet();
    try {
      const pod = await kubelet.start(silent, 'operator', `stratus-silent-${randomBytes(3).toString('hex')}`, '127.0.24.99');
      await expect(kubelet.waitReady([pod], 30_000)).rejects.toThrow(/startup probe failed 3 times/);
      expect(pod.probes.filter((r) => r.kind === 'startup').map((r) => r.ok)).toEqual([false, false, false]);
    } finally {
      await kubelet.stop();
    }
  }, 60_000);
});

describe('the full path through the containers', () => {
  let first: { id: string; hash: string };
  let shareToken: string;

  it('signs up, uploads in chunks, downloads and shares', async () => {
    const email = `pods-${Date.now()}@example.com`;
    expect((await gql(api.url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email })).errors).toBeUndefined();
    const code = await inbox.codeFor(email, 30_000);
    const reg = await gql<{ register: { accessToken: string } }>(api.url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', { i: { username: 'pods', email, password: 'a-good-password-1', code } });
    expect(reg.errors).toBeUndefined();
    token = reg.data!.register.accessToken;
    const file = await makeFile('pods-first.bin', 12 * MiB);
    const result = await uploadFile(new StratusApi(api.url, token), file, { noInstant: true, parallel: 2, chunkSize: 4 * MiB });
    expect(result.chunksSent, 'chunks (of the size the server allows)').toBeGreaterThan(1);
    expect(result.session.status).toBe('COMPLETED');
    const id = result.session.file!.id;
    const got = await hashDownload(`${api.url}/files/${id}/content`, { authorization: `Bearer ${token}` });
    expect(got).toMatchObject({ status: 200, bytes: 12 * MiB });
    first = { id, hash: got.contentHash };
    const share = await gql<{ createShare: { token: string } }>(api.url, 'mutation($i: CreateShareInput!) { createShare(input: $i) { token } }', { i: { fileId: id } }, token);
    expect(share.errors).toBeUndefined();
    shareToken = share.data!.createShare.token;
    expect(await hashDownload(`${api.url}/s/${shareToken}`, {})).toMatchObject({ status: 200, contentHash: first.hash });
    expect(await blobsByBackend()).toEqual({ ceph: 1 });
  }, 120_000);

  it('switches the default backend with kubectl patch; the operator publishes it; new uploads go there; the old one drains with nothing lost', async () => {
    expect((await cluster.kubectl('POST', SB, backend('ceph2', s3.bucket2, false))).status).toBe(201);
    await expect.poll(() => routing()?.backends.map((b) => b.name).sort(), { timeout: 60_000, interval: 250 }).toEqual(['ceph', 'ceph2']);
    // kubectl -n stratus patch storagebackend ceph2 --type merge -p '{"spec":{"default":true}}', then ceph false.
    expect((await cluster.kubectl('PATCH', `${SB}/ceph2`, { spec: { default: true } })).status).toBe(200);
    expect((await cluster.kubectl('PATCH', `${SB}/ceph`, { spec: { default: false } })).status).toBe(200);
    await expect.poll(() => routing()?.default, { timeout: 60_000, interval: 250 }).toBe('ceph2');
    // The pods see the swapped file (kubelet sync, then the services' watcher): a new upload lands on ceph2.
    const apiClient = new StratusApi(api.url, token);
    await expect
      .poll(
        async () => {
          const file = await makeFile(`pods-${randomBytes(4).toString('hex')}.bin`, 1 * MiB);
          await uploadFile(apiClient, file, { noInstant: true });
          return (await blobsByBackend()).ceph2 ?? 0;
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBeGreaterThan(0);
    // kubectl delete storagebackend ceph: migrate: true, so its blobs move to ceph2 before it goes.
    expect((await cluster.kubectl('DELETE', `${SB}/ceph`)).status).toBe(200);
    await expect.poll(async () => (await cluster.kubectl('GET', `${SB}/ceph`)).status, { timeout: 180_000, interval: 1000 }).toBe(404);
    const counts = await blobsByBackend();
    expect(counts.ceph ?? 0).toBe(0);
    expect(routing()?.backends.map((b) => b.name)).toEqual(['ceph2']);
    expect(await hashDownload(`${api.url}/files/${first.id}/content`, { authorization: `Bearer ${token}` })).toMatchObject({ status: 200, contentHash: first.hash });
    expect(await hashDownload(`${api.url}/s/${shareToken}`, {})).toMatchObject({ status: 200, contentHash: first.hash });
    const session = await apiClient.gql<{ file: { id: string } }>('query($id: ID!) { file(id: $id) { id } }', { id: first.id });
    expect(session.file.id).toBe(first.id);
  }, 360_000);

  it('kept every pod live and ready throughout (liveness and readiness as declared, no probe left failing)', () => {
    expect(cluster.kubelet.problems).toEqual([]);
    for (const pod of pods) {
      expect(pod.probes.some((r) => r.kind === 'liveness'), `${pod.name} liveness ran`).toBe(true);
      expect(pod.ready, `${pod.name} ready`).toBe(true);
    }
  });
});
