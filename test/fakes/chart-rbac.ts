/**
 * The operator's RBAC exactly as the Helm chart renders it (charts/stratus, `helm template`), for
 * the fake API server to enforce: the Role/ClusterRole and binding objects, and the user the
 * operator's pod runs as (the ServiceAccount its Deployment names). Rendered once per process.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { serviceAccountUser } from './kube-rbac.ts';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ChartRbac {
  /** Role, ClusterRole, RoleBinding, ClusterRoleBinding objects of the release. */
  objects: Record<string, unknown>[];
  /** `system:serviceaccount:<ns>:<operator's serviceAccountName>` */
  operatorUser: string;
}

interface Rendered {
  kind?: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { template?: { spec?: { serviceAccountName?: string } } };
}

const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);
const cache = new Map<string, Promise<ChartRbac>>();

export function chartRbac(namespace: string, extraArgs: string[] = []): Promise<ChartRbac> {
  const key = JSON.stringify([namespace, extraArgs]);
  let found = cache.get(key);
  if (!found) {
    found = render(namespace, extraArgs);
    cache.set(key, found);
  }
  return found;
}

async function render(namespace: string, extraArgs: string[]): Promise<ChartRbac> {
  const { stdout: helmPath } = await run('bash', [path.join(ROOT, 'scripts/lib/helm.sh')], { cwd: ROOT });
  const helm = helmPath.trim().split('\n').pop() ?? '';
  const { stdout } = await run(helm, ['template', 'stratus', path.join(ROOT, 'charts/stratus'), '--namespace', namespace, ...extraArgs], {
    cwd: ROOT,
    maxBuffer: 32 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: path.join(ROOT, '.helm') },
  });
  const docs = yaml.loadAll(stdout).filter((d): d is Rendered => typeof d === 'object' && d !== null);
  const operator = docs.find((d) => d.kind === 'Deployment' && d.metadata?.labels?.['app.kubernetes.io/component'] === 'operator');
  const serviceAccount = operator?.spec?.template?.spec?.serviceAccountName;
  if (!serviceAccount) throw new Error('the chart renders no operator Deployment with a serviceAccountName');
  return {
    objects: docs.filter((d) => RBAC_KINDS.has(d.kind ?? '')) as Record<string, unknown>[],
    operatorUser: serviceAccountUser(namespace, serviceAccount),
  };
}
