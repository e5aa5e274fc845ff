/**
 * The chart fixes of issue 24 item 5, checked on the rendered manifests (helm template):
 * - two releases in one namespace: no object name in common, and each release's processes find
 *   its own Services (SERVICE_HOST_* = the release's Service names, the Ingress to its own api);
 * - a NetworkPolicy for every role (opt-out): only the gateway takes traffic from outside, each
 *   service only from the roles that call it (the table below, from the code's service clients);
 * - internal calls authenticated: INTERNAL_TOKEN from the Secret in every role that calls or serves;
 * - /metrics on a port of its own (METRICS_PORT) that no Service, Ingress or HTTPRoute routes;
 * - an optional Gateway API HTTPRoute; CEL rules forbidding changes of `type` and `bucket`;
 * - a `helm test` hook that asks the gateway's /readyz.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../internal/platform/config.ts';
import { loadOperatorConfig } from '../../operator/config.ts';
import { serviceUrl, type ServiceName } from '../../internal/platform/rpc/client.ts';
import {
  arr, byKind, CHART, CHART_CRD, containerOf, envOf, get, helm, helmFails, NAMESPACE, obj, one, parseDocuments, roleOf, ROOT,
  schemaProblems, setUpHelm, str, tearDownHelm, type K8sObject, type Obj,
} from './manifests.ts';

/** Who calls whom over tRPC (api/clients.ts, api/roles.ts): the only allowed sources of each service. */
const CALLERS: Record<ServiceName, string[]> = {
  accounts: ['api'],
  files: ['api', 'accounts', 'uploads'],
  uploads: ['api'],
  transfer: ['api'],
};
const ROLES = ['api', 'accounts', 'files', 'uploads', 'transfer', 'operator'];

async function renderRelease(release: string, args: string[] = []): Promise<K8sObject[]> {
  const { stdout } = await helm(['template', release, CHART, '--namespace', NAMESPACE, ...args]);
  return parseDocuments(stdout, `helm template ${release}`);
}

const configOf = (objects: K8sObject[]) => obj(byKind(objects, 'ConfigMap')[0]?.data, 'ConfigMap data') as Record<string, string>;
const podLabels = (d: K8sObject) => obj(get(d, 'spec', 'template', 'metadata', 'labels'), 'pod labels');
const matches = (selector: unknown, labels: Obj) => Object.entries(obj(get(selector, 'matchLabels'), 'matchLabels')).every(([k, v]) => labels[k] === v);

beforeAll(setUpHelm, 120_000);
afterAll(tearDownHelm);

describe('chart: releases, network policies, internal auth, metrics port, HTTPRoute, CRD rules, helm test', () => {
  it('renders two releases in one namespace with no name in common, each finding its own Services', async () => {
    const [blue, green] = await Promise.all([renderRelease('blue'), renderRelease('green')]);
    const names = (objects: K8sObject[]) => new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
    const shared = [...names(blue)].filter((n) => names(green).has(n));
    expect(shared).toEqual([]);
    for (const [release, objects] of [['blue', blue], ['green', green]] as const) {
      const config = configOf(objects);
      const secret = obj(byKind(objects, 'Secret')[0]?.stringData, 'Secret');
      const env = { ...config, ...secret, K8S_NAMESPACE: NAMESPACE, ROLE: 'api' } as Record<string, string>;
      const discovery = loadConfig(env).discovery;
      expect(discovery.mode).toBe('k8s');
      for (const name of Object.keys(CALLERS) as ServiceName[]) {
        const host = new URL(serviceUrl(name, { ...discovery, mode: 'k8s' })).hostname;
        const [serviceName, namespace] = host.split('.');
        expect(serviceName, `${release} ${name}`).toBe(`${release}-stratus-${name}`);
        expect(namespace).toBe(NAMESPACE);
        const service = one(objects, 'Service', serviceName ?? '');
        const target = byKind(objects, 'Deployment').find((d) => roleOf(d) === name);
        expect(target && matches({ matchLabels: get(service, 'spec', 'selector') }, podLabels(target))).toBe(true);
      }
      const ingress = one(objects, 'Ingress', `${release}-stratus`);
      expect(get(ingress, 'spec', 'rules', 0, 'http', 'paths', 0, 'backend', 'service', 'name')).toBe(`${release}-stratus-api`);
    }
  });

  it('renders a NetworkPolicy for every role: the gateway open, each service only to its callers, metrics only to metricsFrom', async () => {
    const objects = await renderRelease('stratus');
    expect(schemaProblems(objects.filter((o) => o.kind === 'NetworkPolicy'))).toEqual([]);
    const deployments = byKind(objects, 'Deployment');
    const policies = byKind(objects, 'NetworkPolicy');
    expect(policies.map(roleOf).sort()).toEqual([...ROLES].sort());
    const metricsPort = Number(configOf(objects).METRICS_PORT);
    for (const policy of policies) {
      const role = roleOf(policy) ?? '';
      const selected = deployments.filter((d) => matches(get(policy, 'spec', 'podSelector'), podLabels(d)));
      expect(selected.map(roleOf), `${role} policy selects its own pods only`).toEqual([role]);
      expect(get(policy, 'spec', 'policyTypes')).toEqual(['Ingress']);
      const rules = arr(get(policy, 'spec', 'ingress'));
      const httpRules = rules.filter((r) => arr(r.ports).some((p) => p.port === 'http'));
      const metricsRules = rules.filter((r) => arr(r.ports).some((p) => p.port === 'metrics'));
      expect(rules.length, `${role}: only http and metrics rules`).toBe(httpRules.length + metricsRules.length);
      expect(metricsRules.length, `${role} metrics rule`).toBe(1);
      expect(arr(metricsRules[0]?.from)).toEqual([{ namespaceSelector: {} }]);
      if (role === 'api') {
        // The edge: any source (the ingress controller or Gateway, wherever it runs).
        expect(httpRules).toEqual([{ ports: [{ port: 'http', protocol: 'TCP' }] }]);
      } else if (role === 'operator') {
        expect(httpRules, 'the operator takes no traffic but kubelet probes').toEqual([]);
      } else {
        expect(httpRules).toHaveLength(1);
        const from = arr(httpRules[0]?.from);
        expect(from.length).toBeGreaterThan(0);
        for (const peer of from) {
          expect(peer.namespaceSelector, `${role}: same namespace only`).toBeUndefined();
          expect(peer.ipBlock).toBeUndefined();
        }
        const allowed = deployments.filter((d) => from.some((peer) => matches(peer.podSelector, podLabels(d)))).map(roleOf).sort();
        expect(allowed, `${role} reachable from`).toEqual([...CALLERS[role as ServiceName]].sort());
      }
    }
    // The metrics port is a container port, and nothing routes to it.
    for (const d of deployments) {
      const port = arr(containerOf(d).ports).find((p) => p.name === 'metrics');
      expect(port?.containerPort, `${roleOf(d)} metrics port`).toBe(metricsPort);
    }
    for (const service of byKind(objects, 'Service')) {
      expect(arr(get(service, 'spec', 'ports')).map((p) => p.name)).toEqual(['http']);
    }
    expect(arr(get(one(objects, 'Ingress', 'stratus'), 'spec', 'rules', 0, 'http', 'paths')).map((p) => get(p, 'backend', 'service', 'port'))).toEqual([{ name: 'http' }]);

    const off = await renderRelease('stratus', ['--set', 'networkPolicy.enabled=false']);
    expect(byKind(off, 'NetworkPolicy')).toEqual([]);
  });

  it('gives every role but the operator INTERNAL_TOKEN from the Secret, and the processes accept the rendered environment', async () => {
    const objects = await renderRelease('stratus');
    const secret = obj(one(objects, 'Secret', 'stratus-secrets').stringData, 'Secret') as Record<string, string>;
    expect(secret.INTERNAL_TOKEN?.length).toBeGreaterThanOrEqual(32);
    expect(secret.INTERNAL_TOKEN).not.toBe(secret.JWT_SECRET);
    for (const d of byKind(objects, 'Deployment')) {
      const ref = get(envOf(containerOf(d)).find((e) => e.name === 'INTERNAL_TOKEN'), 'valueFrom', 'secretKeyRef');
      if (roleOf(d) === 'operator') expect(ref).toBeUndefined();
      else expect(ref, `${roleOf(d)} INTERNAL_TOKEN`).toEqual({ name: 'stratus-secrets', key: 'INTERNAL_TOKEN' });
    }
    const env = { ...configOf(objects), ...secret, K8S_NAMESPACE: NAMESPACE, ROLE: 'files' };
    expect(loadConfig(env).discovery.internalToken).toBe(secret.INTERNAL_TOKEN);
    expect(loadConfig(env).metricsPort).toBe(9090);
    const given = await renderRelease('stratus', ['--set', `secrets.internalToken=${'t'.repeat(40)}`]);
    expect(get(one(given, 'Secret', 'stratus-secrets'), 'stringData', 'INTERNAL_TOKEN')).toBe('t'.repeat(40));
  });

  it('lets the operator serve its probes on the port they ask and /metrics on the metrics port', async () => {
    const objects = await renderRelease('stratus');
    const operator = byKind(objects, 'Deployment').find((d) => roleOf(d) === 'operator') as K8sObject;
    const c = containerOf(operator);
    const env: Record<string, string> = { ...configOf(objects), K8S_NAMESPACE: NAMESPACE };
    for (const e of envOf(c)) if (typeof e.value === 'string') env[String(e.name)] = e.value;
    const http = loadOperatorConfig(env).http;
    const portNamed = (name: string) => arr(c.ports).find((p) => p.name === name)?.containerPort;
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
      expect(portNamed(String(get(c, probe, 'httpGet', 'port'))), probe).toBe(http.port);
    }
    expect(get(c, 'readinessProbe', 'httpGet', 'path')).toBe('/readyz');
    expect(portNamed('metrics')).toBe(http.metricsPort);
  });

  it('renders an optional Gateway API HTTPRoute to the api Service, beside or instead of the Ingress', async () => {
    expect(byKind(await renderRelease('stratus'), 'HTTPRoute')).toEqual([]);
    const objects = await renderRelease('stratus', [
      '--set', 'httpRoute.enabled=true', '--set', 'ingress.enabled=false',
      '--set', 'httpRoute.parentRefs[0].name=edge', '--set', 'httpRoute.parentRefs[0].namespace=gateways',
      '--set', 'httpRoute.hostnames[0]=drive.example.com',
    ]);
    expect(byKind(objects, 'Ingress')).toEqual([]);
    const route = one(objects, 'HTTPRoute', 'stratus');
    expect(route.apiVersion).toBe('gateway.networking.k8s.io/v1');
    expect(get(route, 'spec', 'parentRefs')).toEqual([{ name: 'edge', namespace: 'gateways' }]);
    expect(get(route, 'spec', 'hostnames')).toEqual(['drive.example.com']);
    const rules = arr(get(route, 'spec', 'rules'));
    expect(rules).toHaveLength(1);
    expect(get(rules[0], 'matches')).toEqual([{ path: { type: 'PathPrefix', value: '/' } }]);
    expect(get(rules[0], 'backendRefs')).toEqual([{ name: 'stratus-api', port: 8080 }]);
    expect(str(get(rules[0], 'timeouts', 'request'))).toBe('0s');
    const refused = await helmFails(['template', 'stratus', CHART, '--set', 'httpRoute.enabled=true']);
    expect(refused).toMatch(/httpRoute\.parentRefs/);
  });

  it('forbids changing type and bucket of a StorageBackend (CEL transition rules), in the chart and k8s/ copies alike', () => {
    for (const file of [CHART_CRD, path.join(ROOT, 'k8s/crds/storagebackends.stratus.io.yaml'), path.join(ROOT, 'k8s/base/crds/storagebackends.stratus.io.yaml')]) {
      const [crd] = parseDocuments(readFileSync(file, 'utf8'), file);
      const spec = obj(get(crd, 'spec', 'versions', 0, 'schema', 'openAPIV3Schema', 'properties', 'spec'), 'spec schema');
      for (const field of ['type', 'bucket']) {
        const rules = arr(get(spec, 'properties', field, 'x-kubernetes-validations'));
        expect(rules.map((r) => r.rule), `${file} ${field}`).toContain('self == oldSelf');
        expect(String(rules.find((r) => r.rule === 'self == oldSelf')?.message)).toMatch(/immutable/);
      }
      // Adding or removing a bucket is a change too (a rule on an absent field never runs).
      expect(arr(spec['x-kubernetes-validations']).map((r) => r.rule)).toContain('has(self.bucket) == has(oldSelf.bucket)');
    }
  });

  it('ships a helm test hook that asks the gateway through its Service', async () => {
    const objects = await renderRelease('blue');
    const pod = one(objects, 'Pod', 'blue-stratus-test');
    expect(schemaProblems([pod])).toEqual([]);
    expect(get(pod, 'metadata', 'annotations', 'helm.sh/hook')).toBe('test');
    expect(get(pod, 'spec', 'restartPolicy')).toBe('Never');
    expect(get(pod, 'spec', 'automountServiceAccountToken')).toBe(false);
    const c = obj(get(pod, 'spec', 'containers', 0), 'test container');
    expect(c.image).toBe(containerOf(byKind(objects, 'Deployment')[0] as K8sObject).image);
    expect(JSON.stringify(c.command)).toContain('http://blue-stratus-api:8080/readyz');
    expect(get(c, 'securityContext', 'readOnlyRootFilesystem')).toBe(true);
    // The api NetworkPolicy lets it in (the api takes any source).
    expect(arr(get(one(objects, 'NetworkPolicy', 'blue-stratus-api'), 'spec', 'ingress'))[0]?.from).toBeUndefined();
  });

  it('passes helm lint --strict with the new values, and the schema refuses bad ones', async () => {
    for (const args of [
      [],
      ['--set', 'networkPolicy.enabled=false'],
      ['--set', 'httpRoute.enabled=true', '--set', 'httpRoute.parentRefs[0].name=edge'],
      ['--set', 'metrics.port=9100'],
    ]) {
      const { stdout } = await helm(['lint', '--strict', CHART, ...args]);
      expect(stdout, args.join(' ')).toContain('0 chart(s) failed');
    }
    const cases: [string[], RegExp][] = [
      [['--set', 'networkPolicy.enabled=yes'], /networkPolicy\.enabled/],
      [['--set', 'networkPolicy.extra=1'], /networkPolicy/],
      [['--set', 'metrics.port=0'], /metrics\.port/],
      [['--set', 'secrets.internalToken=short'], /secrets\.internalToken/],
      [['--set', 'httpRoute.hostnames[0]=Not A Host'], /httpRoute\.hostnames/],
    ];
    for (const [args, message] of cases) {
      const stderr = await helmFails(['template', 'stratus', CHART, ...args]);
      expect(stderr, args.join(' ')).toMatch(/values don't meet the specifications of the schema/);
      expect(stderr, args.join(' ')).toMatch(message);
    }
  });
});
