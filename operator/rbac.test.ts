/**
 * RBAC proven, not assumed: the fake API server enforces the Role and RoleBinding the chart
 * renders (charts/stratus/templates/operator-rbac.yaml) for the operator's ServiceAccount, so
 * every operator test runs with exactly the rights a Helm install gives it (kube-fixture.ts), and a
 * call the chart does not allow is a 403 that fails the test. Here: the authorizer's rules, a whole
 * operator life under the chart's RBAC, and a rule taken out being caught.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { chartRbac } from '../test/fakes/chart-rbac.ts';
import { startKubeFixture, waitFor, type KubeFixture } from '../test/fakes/kube-fixture.ts';
import { authorize, type PolicyRule } from '../test/fakes/kube-rbac.ts';

let kube: KubeFixture | undefined;
let dir: string | undefined;
afterEach(async () => {
  await kube?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  kube = dir = undefined;
});

const attributes = (verb: string, apiGroup: string, resource: string, name?: string, subresource?: string) => ({ verb, apiGroup, namespace: 'stratus', resource, name, subresource });

describe('operator RBAC from the chart, enforced by the fake API server', () => {
  it('renders rules for the operator ServiceAccount that the authorizer reads as RBAC does', async () => {
    const chart = await chartRbac('stratus');
    expect(chart.operatorUser).toBe('system:serviceaccount:stratus:stratus-operator');
    const rbac = { tokens: {}, objects: chart.objects };
    const can = (a: ReturnType<typeof attributes>) => authorize(rbac, chart.operatorUser, a);
    expect(can(attributes('watch', 'stratus.io', 'storagebackends'))).toBe(true);
    expect(can(attributes('update', 'stratus.io', 'storagebackends', 'a', 'status'))).toBe(true);
    expect(can(attributes('create', 'stratus.io', 'storagebackends'))).toBe(false);
    expect(can(attributes('delete', 'stratus.io', 'storagebackends', 'a'))).toBe(false);
    // update/patch of ConfigMaps is limited by resourceNames to the routing file.
    expect(can(attributes('update', '', 'configmaps', 'stratus-storage'))).toBe(true);
    expect(can(attributes('update', '', 'configmaps', 'stratus-config'))).toBe(false);
    expect(can(attributes('create', 'coordination.k8s.io', 'leases'))).toBe(true);
    expect(can(attributes('delete', 'coordination.k8s.io', 'leases', 'stratus-operator'))).toBe(false);
    // Another namespace: the Role binds in its own only.
    expect(authorize(rbac, chart.operatorUser, { ...attributes('get', '', 'secrets', 'x'), namespace: 'kube-system' })).toBe(false);
    // Another ServiceAccount (the other roles') has nothing.
    expect(can(attributes('get', '', 'secrets', 'x'))).toBe(true);
    expect(authorize(rbac, 'system:serviceaccount:stratus:stratus', attributes('get', '', 'secrets', 'x'))).toBe(false);
    const rule: PolicyRule = { apiGroups: [''], resources: ['configmaps'], verbs: ['get'], resourceNames: ['only'] };
    const one = { tokens: {}, objects: [{ kind: 'Role', metadata: { name: 'r', namespace: 'stratus' }, rules: [rule] }, { kind: 'RoleBinding', metadata: { name: 'b', namespace: 'stratus' }, roleRef: { kind: 'Role', name: 'r' }, subjects: [{ kind: 'User', name: 'u' }] }] };
    expect(authorize(one, 'u', attributes('get', '', 'configmaps', 'only'))).toBe(true);
    expect(authorize(one, 'u', attributes('list', '', 'configmaps'))).toBe(false);
  });

  it('runs the operator through a backend life (publish, default, status, events, finalizer, delete) without one refused call', async () => {
    kube = await startKubeFixture();
    dir = await mkdtemp(path.join(tmpdir(), 'stratus-rbac-'));
    kube.createBackend('a', { type: 'local', path: path.join(dir, 'a'), default: true });
    kube.startOperator('operator-0');
    await waitFor(() => kube?.routing()?.default === 'a', 'a published');
    kube.createBackend('b', { type: 'local', path: path.join(dir, 'b') });
    await waitFor(() => kube?.routing()?.backends.some((b) => b.name === 'b'), 'b published');
    kube.deleteBackend('b');
    await waitFor(() => kube?.backend('b') === null, 'b deleted once its finalizer is released');
    const verbs = new Set(kube.server.requests.map((r) => r.method));
    expect([...verbs].sort()).toEqual(expect.arrayContaining(['GET', 'POST', 'PUT']));
    expect(kube.server.requests.filter((r) => r.status === 401 || r.status === 403)).toEqual([]);
    expect(kube.server.denied).toEqual([]);
  });

  it('refuses a request without the ServiceAccount token (401)', async () => {
    kube = await startKubeFixture();
    const stranger = new KubeConfig();
    stranger.loadFromOptions({
      clusters: [{ name: 'fake', server: kube.server.url, skipTLSVerify: true }],
      users: [{ name: 'stranger', token: 'not-a-known-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'stranger' }],
      currentContext: 'fake',
    });
    const error = await stranger.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: 'stratus' }).then(() => undefined, (e: { code?: number }) => e.code);
    expect(error).toBe(401);
  });

  it('catches a rule the chart lacks: without leases/create the operator is refused and the test fails', async () => {
    const chart = await chartRbac('stratus');
    // The chart's Role minus `create` on leases, as if someone trimmed the template.
    const objects = structuredClone(chart.objects).map((o) => {
      if (o.kind !== 'Role') return o;
      const rules = (o.rules as PolicyRule[]).map((r) => (r.resources?.includes('leases') ? { ...r, verbs: r.verbs.filter((v) => v !== 'create') } : r));
      return { ...o, rules };
    });
    kube = await startKubeFixture({ rbac: { tokens: { 'fake-token': chart.operatorUser }, objects } });
    const operator = kube.startOperator('operator-0');
    await waitFor(() => kube?.server.denied.length, 'a refused call');
    expect(kube.server.denied[0]).toMatchObject({ verb: 'create', apiGroup: 'coordination.k8s.io', resource: 'leases' });
    expect(kube.server.requests.some((r) => r.status === 403)).toBe(true);
    expect(operator.isLeader).toBe(false);
    const closing = kube.close();
    kube = undefined;
    await expect(closing).rejects.toThrow(/does not allow: create coordination\.k8s\.io\/leases/);
  });
});
