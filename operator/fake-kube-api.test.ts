/**
 * The fake API server keeps the semantics the operator relies on, checked through client-node
 * itself so a drift between the two shows here and not as a mysterious operator test failure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, V1MicroTime } from '@kubernetes/client-node';
import { startKubeFixture, type KubeFixture } from '../test/fakes/kube-fixture.ts';
import { KubeClient } from './kube-client.ts';
import { GROUP, PLURAL, VERSION, type StorageBackend } from './types.ts';

let kube: KubeFixture | undefined;
afterEach(async () => {
  await kube?.close();
  kube = undefined;
});

const ref = { group: GROUP, version: VERSION, plural: PLURAL, namespace: 'stratus' };

async function codeOf(promise: Promise<unknown>): Promise<number | undefined> {
  return promise.then(
    () => undefined,
    (e: { code?: number }) => e.code,
  );
}

describe('fake Kubernetes API server', () => {
  it('bumps generation on spec changes only and separates the status subresource', async () => {
    // Acting as a user who may create StorageBackends, which the operator's RBAC does not allow.
    kube = await startKubeFixture({ rbac: false });
    const api = kube.kubeConfig.makeApiClient(CustomObjectsApi);
    const created = (await api.createNamespacedCustomObject({
      ...ref,
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'StorageBackend', metadata: { name: 'a' }, spec: { type: 'local', path: '/x' }, status: { phase: 'Ready' } },
    })) as StorageBackend;
    expect(created.metadata.generation).toBe(1);
    expect(created.status).toBeUndefined();
    expect(await codeOf(api.createNamespacedCustomObject({ ...ref, body: created }))).toBe(409);

    const withStatus = (await api.replaceNamespacedCustomObjectStatus({ ...ref, name: 'a', body: { ...created, spec: { type: 'ceph' }, status: { phase: 'Ready' } } })) as StorageBackend;
    expect(withStatus.spec.type).toBe('local');
    expect(withStatus.status?.phase).toBe('Ready');
    expect(withStatus.metadata.generation).toBe(1);

    // Stale resourceVersion → 409; the main endpoint ignores status.
    expect(await codeOf(api.replaceNamespacedCustomObject({ ...ref, name: 'a', body: created }))).toBe(409);
    const replaced = (await api.replaceNamespacedCustomObject({ ...ref, name: 'a', body: { ...withStatus, spec: { type: 'local', path: '/y' }, status: {} } })) as StorageBackend;
    expect(replaced.metadata.generation).toBe(2);
    expect(replaced.status?.phase).toBe('Ready');

    const merged = (await api.patchNamespacedCustomObject(
      { ...ref, name: 'a', body: { metadata: { labels: { x: 'y' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as StorageBackend & { metadata: { labels?: Record<string, string> } };
    expect(merged.metadata.labels).toEqual({ x: 'y' });
    expect(merged.metadata.generation).toBe(2);
    expect(
      await codeOf(api.patchNamespacedCustomObject({ ...ref, name: 'a', body: { spec: {} } }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch))),
    ).toBe(415);
  });

  it('holds deletion while finalizers remain and deletes when the last one goes', async () => {
    kube = await startKubeFixture();
    const client = new KubeClient(kube.kubeConfig);
    kube.createBackend('a', { type: 'local', path: '/x' });
    await client.patchBackend('stratus', 'a', [{ op: 'add', path: '/metadata/finalizers', value: ['x/y'] }]);
    kube.deleteBackend('a');
    const held = await client.getBackend('stratus', 'a');
    expect(held?.metadata.deletionTimestamp).toBeTruthy();
    await client.patchBackend('stratus', 'a', [{ op: 'replace', path: '/metadata/finalizers', value: [] }]);
    expect(await client.getBackend('stratus', 'a')).toBeNull();
  });

  it('refuses Lease times that are not MicroTime', async () => {
    kube = await startKubeFixture();
    const client = new KubeClient(kube.kubeConfig);
    const spec = { holderIdentity: 'me', leaseDurationSeconds: 5 };
    expect(await codeOf(client.createLease('stratus', { metadata: { name: 'l' }, spec: { ...spec, renewTime: new Date() as V1MicroTime } }))).toBe(400);
    const lease = await client.createLease('stratus', { metadata: { name: 'l' }, spec: { ...spec, renewTime: new V1MicroTime() } });
    expect(String(lease.spec?.renewTime)).toMatch(/\.\d{6}Z$/);
  });
});
