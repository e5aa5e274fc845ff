/**
 * The operator against the fake API server with real probes: a local backend on a temp dir, Ceph
 * RGW (the real one from scripts/services.sh), Aliyun OSS (the signature-checking fake), and
 * backends whose probe cannot pass.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { condition, NAMESPACE, startKubeFixture, waitFor, type KubeFixture } from '../test/fakes/kube-fixture.ts';
import { startOssServer, type FakeOss } from '../test/fakes/oss-server.ts';
import { testEnv } from '../test/support/env.ts';
import { FINALIZER } from './types.ts';

const s3 = testEnv.s3;
const cephSpec = (secret: string) => ({
  type: 'ceph' as const,
  endpoint: s3.endpoint,
  region: s3.region,
  bucket: s3.bucket,
  credentialsSecretRef: { name: secret },
});

let kube: KubeFixture | undefined;
let oss: FakeOss | undefined;
let dir: string | undefined;

afterEach(async () => {
  await kube?.close();
  await oss?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  kube = oss = dir = undefined;
});

describe('StorageBackend reconcile', () => {
  it('probes local and Ceph backends, publishes only the Ready ones, and reports failing probes', async () => {
    kube = await startKubeFixture();
    dir = await mkdtemp(path.join(tmpdir(), 'stratus-operator-'));
    kube.createSecret('ceph-creds', { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
    kube.createSecret('ceph-wrong', { accessKeyId: s3.accessKeyId, secretAccessKey: 'not-the-secret-key' });
    kube.createBackend('local', { type: 'local', path: dir, default: true });
    kube.createBackend('ceph', cephSpec('ceph-creds'));
    kube.createBackend('ceph-wrong-key', cephSpec('ceph-wrong'));
    kube.createBackend('unreachable', { ...cephSpec('ceph-creds'), endpoint: 'http://127.0.0.1:1' });
    kube.createBackend('no-secret', cephSpec('missing-secret'));
    kube.startOperator();

    const routing = await waitFor(() => {
      const r = kube?.routing();
      return r && r.backends.length === 2 ? r : null;
    }, 'the routing file with local and ceph');
    expect(routing.default).toBe('local');
    expect(routing.backends.map((b) => [b.name, b.type, b.state])).toEqual([
      ['ceph', 'ceph', 'active'],
      ['local', 'local', 'active'],
    ]);
    const ceph = routing.backends.find((b) => b.name === 'ceph');
    expect(ceph?.type === 'ceph' && ceph.credentials.secretAccessKey).toBe(s3.secretAccessKey);

    const failed = await waitFor(() => {
      const all = ['ceph-wrong-key', 'unreachable', 'no-secret'].map((n) => kube?.backend(n));
      return all.every((b) => b?.status?.phase === 'Failed') ? all : null;
    }, 'three failed backends');
    const [wrongKey, unreachable, noSecret] = failed;
    expect(condition(wrongKey ?? null, 'Ready')).toMatchObject({ status: 'False', reason: 'ProbeFailed' });
    expect(condition(wrongKey ?? null, 'Probed')?.message).toMatch(/write of the probe object failed/);
    expect(condition(unreachable ?? null, 'Ready')).toMatchObject({ status: 'False', reason: 'ProbeFailed' });
    expect(condition(noSecret ?? null, 'Ready')).toMatchObject({ status: 'False', reason: 'SecretNotFound' });
    // No credential ever lands in a status message.
    expect(JSON.stringify(failed)).not.toContain('not-the-secret-key');

    const local = await waitFor(() => {
      const b = kube?.backend('local');
      return condition(b ?? null, 'Default')?.status === 'True' ? b : null;
    }, 'local to be the default');
    expect(local.status).toMatchObject({ phase: 'Ready', observedGeneration: 1 });
    expect(condition(local, 'Ready')).toMatchObject({ status: 'True', observedGeneration: 1 });
    expect(condition(local, 'Probed')).toMatchObject({ status: 'True', reason: 'ProbeSucceeded' });
    expect(local.metadata.finalizers).toContain(FINALIZER);
    await waitFor(() => condition(kube?.backend('ceph') ?? null, 'Default')?.reason === 'NotDefault', 'ceph told it is not the default');

    const events = kube.events();
    expect(events.filter((e) => e.reason === 'ProbeFailed').map((e) => e.involvedObject.name).sort()).toEqual(['ceph-wrong-key', 'no-secret', 'unreachable']);
    expect(events.find((e) => e.reason === 'DefaultSwitched')?.involvedObject.name).toBe('local');

    // Creating the Secret is enough: a failing backend is re-probed soon, without a spec change.
    kube.createSecret('missing-secret', { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
    await waitFor(() => kube?.routing()?.backends.some((b) => b.name === 'no-secret'), 'no-secret published once its Secret exists');
    await waitFor(() => condition(kube?.backend('no-secret') ?? null, 'Ready')?.status === 'True', 'no-secret Ready');
    expect(kube.events().some((e) => e.reason === 'ProbeSucceeded' && e.involvedObject.name === 'no-secret')).toBe(true);

    // A spec change is a new generation: probed again, and the status says which generation it describes.
    kube.patchSpec('no-secret', { state: 'readonly' });
    await waitFor(() => kube?.backend('no-secret')?.status?.observedGeneration === 2, 'observedGeneration 2');
    expect(condition(kube.backend('no-secret'), 'Ready')?.observedGeneration).toBe(2);
    await waitFor(() => kube?.routing()?.backends.find((b) => b.name === 'no-secret')?.state === 'readonly', 'no-secret readonly');
  });

  it('retries 409 conflicts on the routing ConfigMap and on status writes', async () => {
    kube = await startKubeFixture();
    dir = await mkdtemp(path.join(tmpdir(), 'stratus-operator-'));
    kube.createBackend('local', { type: 'local', path: dir, default: true });
    kube.server.failNextWrite({ pathIncludes: '/configmaps', method: 'POST' });
    kube.server.failNextWrite({ pathIncludes: '/storagebackends/local/status' });
    kube.server.failNextWrite({ pathIncludes: '/storagebackends/local/status' });
    kube.startOperator();
    await waitFor(() => kube?.routing()?.default === 'local', 'the routing file');
    await waitFor(() => kube?.backend('local')?.status?.phase === 'Ready', 'local Ready');
    const conflicts = kube.server.requests.filter((r) => r.status === 409);
    expect(conflicts.map((r) => r.method)).toEqual(expect.arrayContaining(['POST', 'PUT']));
    expect(conflicts.length).toBeGreaterThanOrEqual(3);

    // A replace of the ConfigMap that loses a race (409) is re-read and retried as well.
    kube.createBackend('local-2', { type: 'local', path: path.join(dir, 'two') });
    kube.server.failNextWrite({ pathIncludes: `/namespaces/${NAMESPACE}/configmaps/stratus-storage`, method: 'PUT' });
    await waitFor(() => kube?.routing()?.backends.length === 2, 'local-2 published after a conflict');
    expect(kube.server.requests.some((r) => r.method === 'PUT' && r.path.includes('/configmaps/') && r.status === 409)).toBe(true);
  });

  it('switches the default from Ceph to OSS: oldest claimant wins until the old one lets go', async () => {
    kube = await startKubeFixture();
    oss = await startOssServer({ accessKeyId: 'LTAI5tOperatorTest', secret: 'oss-operator-secret-0123', bucket: 'stratus-oss' });
    kube.createSecret('ceph-creds', { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey });
    kube.createSecret('oss-creds', { OSS_ID: 'LTAI5tOperatorTest', OSS_SECRET: 'oss-operator-secret-0123' });
    kube.createBackend('ceph', { ...cephSpec('ceph-creds'), default: true });
    // Creation timestamps have 1 s resolution: make "oldest" unambiguous.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    kube.createBackend('oss', {
      type: 'oss',
      endpoint: oss.endpoint,
      region: 'cn-hangzhou',
      bucket: 'stratus-oss',
      credentialsSecretRef: { name: 'oss-creds', keys: { accessKeyId: 'OSS_ID', accessKeySecret: 'OSS_SECRET' } },
    });
    kube.startOperator();
    await waitFor(() => kube?.routing()?.backends.length === 2 && kube.routing()?.default === 'ceph', 'ceph as the default');
    expect(oss.log.some((r) => r.method === 'PUT' && r.url.includes('stratus-probe/') && r.status === 200)).toBe(true);

    // Both say default: true: the older (ceph) stays, oss is told why.
    kube.patchSpec('oss', { default: true });
    await waitFor(() => condition(kube?.backend('oss') ?? null, 'Default')?.reason === 'OlderDefaultWins', 'oss told ceph is older');
    expect(kube.routing()?.default).toBe('ceph');
    expect(condition(kube.backend('oss'), 'Default')?.message).toContain('"ceph"');

    kube.patchSpec('ceph', { default: false });
    const routing = await waitFor(() => (kube?.routing()?.default === 'oss' ? kube.routing() : null), 'oss as the default');
    expect(routing.backends.map((b) => `${b.name}:${b.state}`)).toEqual(['ceph:active', 'oss:active']);
    await waitFor(() => condition(kube?.backend('oss') ?? null, 'Default')?.status === 'True', 'oss Default=True');
    await waitFor(() => condition(kube?.backend('ceph') ?? null, 'Default')?.reason === 'NotDefault', 'ceph Default=False');
    const switched = kube.events().filter((e) => e.reason === 'DefaultSwitched');
    expect(switched.at(-1)).toMatchObject({ involvedObject: { name: 'oss' }, message: 'Default backend switched from "ceph" to "oss".' });
  });
});
