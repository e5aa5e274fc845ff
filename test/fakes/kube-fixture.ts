/**
 * Test fixture for the operator: a fake API server serving StorageBackends, a KubeConfig pointing
 * at it (plain http needs skipTLSVerify with client-node 1.4), and "kubectl"-like helpers that act
 * as the user by writing straight into the fake's store (the same code path as HTTP: same
 * resourceVersions, watch events, generation and finalizer rules).
 * The operator's requests run under the RBAC the chart renders for its ServiceAccount
 * (chart-rbac.ts): a call the chart does not allow is a 403, and close() fails the test that made
 * it unless the test said it expects refusals.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger, type Logger } from '../../internal/platform/logger.ts';
import { parseRoutingConfig, type RoutingConfig } from '../../internal/storage/routing/routing-config.ts';
import { MemoryBlobInventory } from '../../operator/blob-inventory.ts';
import { Operator, type OperatorOptions } from '../../operator/operator.ts';
import { GROUP, KIND, PLURAL, ROUTING_CONFIGMAP, ROUTING_KEY, VERSION, type StorageBackend, type StorageBackendSpec } from '../../operator/types.ts';
import { chartRbac } from './chart-rbac.ts';
import { startKubeApiServer, type FakeKubeApiServer, type KubeObject } from './kube-api-server.ts';
import type { Rbac } from './kube-rbac.ts';
import { applyMergePatch } from './kube-patch.ts';

export const NAMESPACE = 'stratus';
const TOKEN = 'fake-token';

export interface KubeFixtureOptions {
  bookmarkIntervalMs?: number;
  /** 'chart' (default): the chart's rendered operator RBAC; an Rbac of the test's own; false: none. */
  rbac?: 'chart' | Rbac | false;
  /** The test provokes 403s on purpose: close() does not fail on them. */
  expectDenied?: boolean;
}

export interface KubeFixture {
  server: FakeKubeApiServer;
  kubeConfig: KubeConfig;
  inventory: MemoryBlobInventory;
  logger: Logger;
  startOperator(identity?: string, overrides?: Partial<OperatorOptions>): Operator;
  createSecret(name: string, data: Record<string, string>): void;
  updateSecret(name: string, data: Record<string, string>): void;
  createBackend(name: string, spec: StorageBackendSpec): StorageBackend;
  patchSpec(name: string, patch: Partial<StorageBackendSpec>): StorageBackend;
  deleteBackend(name: string): void;
  backend(name: string): StorageBackend | null;
  /** The published routing file, parsed with the services' own parser (null if not published). */
  routing(): RoutingConfig | null;
  events(): { reason: string; type: string; message: string; involvedObject: { name: string } }[];
  close(): Promise<void>;
}

export async function startKubeFixture(options: KubeFixtureOptions = {}): Promise<KubeFixture> {
  const rbacOption = options.rbac ?? 'chart';
  let rbac: Rbac | undefined;
  if (rbacOption === 'chart') {
    const chart = await chartRbac(NAMESPACE);
    rbac = { tokens: { [TOKEN]: chart.operatorUser }, objects: chart.objects };
  } else if (rbacOption) rbac = rbacOption;
  const server = await startKubeApiServer({
    customResources: [{ group: GROUP, version: VERSION, plural: PLURAL, kind: KIND }],
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 200,
    ...(rbac ? { rbac } : {}),
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'fake', server: server.url, skipTLSVerify: true }],
    users: [{ name: 'tester', token: TOKEN }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'tester', namespace: NAMESPACE }],
    currentContext: 'fake',
  });
  const inventory = new MemoryBlobInventory();
  const logger = createLogger({ level: process.env.OPERATOR_TEST_LOG ?? 'silent', name: 'operator-test' });
  const operators: Operator[] = [];
  const store = server.store;
  const backends = server.resource(GROUP, PLURAL);
  const secrets = server.resource('', 'secrets');
  const get = (name: string): StorageBackend | null => {
    try {
      return store.get(backends, NAMESPACE, name) as unknown as StorageBackend;
    } catch {
      return null;
    }
  };

  return {
    server,
    kubeConfig,
    inventory,
    logger,
    startOperator(identity = 'operator-0', overrides = {}) {
      const operator = new Operator({
        kubeConfig,
        namespace: NAMESPACE,
        identity,
        leaseName: 'stratus-operator',
        inventory,
        logger: logger.child({ identity }),
        leaseDurationSeconds: 2,
        retryPeriodMs: 100,
        probeIntervalMs: 60_000,
        failedProbeIntervalMs: 300,
        probeTimeoutMs: 8_000,
        deletionPollMs: 100,
        retryBaseMs: 50,
        ...overrides,
      });
      operators.push(operator);
      operator.start();
      return operator;
    },
    createSecret(name, data) {
      store.create(secrets, NAMESPACE, { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data });
    },
    updateSecret(name, data) {
      const current = store.get(secrets, NAMESPACE, name);
      store.update(secrets, NAMESPACE, name, { ...current, data: undefined, stringData: data } as KubeObject, false);
    },
    createBackend(name, spec) {
      const object = { apiVersion: `${GROUP}/${VERSION}`, kind: KIND, metadata: { name }, spec } as unknown as KubeObject;
      return store.create(backends, NAMESPACE, object) as unknown as StorageBackend;
    },
    patchSpec(name, patch) {
      const current = store.get(backends, NAMESPACE, name);
      const next = applyMergePatch(current, { spec: patch });
      return store.update(backends, NAMESPACE, name, next, false) as unknown as StorageBackend;
    },
    deleteBackend(name) {
      store.delete(backends, NAMESPACE, name);
    },
    backend: get,
    routing() {
      try {
        const cm = store.get(server.resource('', 'configmaps'), NAMESPACE, ROUTING_CONFIGMAP);
        const text = (cm.data as Record<string, string> | undefined)?.[ROUTING_KEY];
        return text ? parseRoutingConfig(JSON.parse(text)) : null;
      } catch {
        return null;
      }
    },
    events() {
      return store.list(server.resource('', 'events'), NAMESPACE) as unknown as ReturnType<KubeFixture['events']>;
    },
    async close() {
      await Promise.all(operators.map((o) => o.stop()));
      await server.close();
      if (server.denied.length > 0 && !options.expectDenied) {
        const calls = server.denied.map((d) => `${d.verb} ${d.apiGroup || 'core'}/${d.resource}${d.subresource ? `/${d.subresource}` : ''}${d.name ? ` ${d.name}` : ''}`);
        throw new Error(`the operator made calls its RBAC (charts/stratus/templates/operator-rbac.yaml) does not allow: ${[...new Set(calls)].join('; ')}`);
      }
    },
  };
}

/** Polls `probe` until it returns a truthy value (exceptions count as not yet). */
export async function waitFor<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 15_000, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function condition(backend: StorageBackend | null, type: string) {
  return backend?.status?.conditions?.find((c) => c.type === type);
}
