/**
 * A one-node stand-in cluster for the image tests: the fake API server (behind TLS, as pods see
 * it in-cluster), the chart rendered with `helm template` for this machine's services, a pod IP
 * per Deployment (127.0.24.x: each role on its own address, on the port the chart declares) and
 * the Kubernetes DNS names of the rendered Services pointing at their pods (/etc/hosts through
 * --add-host), and the kubelet stand-in that runs the pods. `kubectl` is played over HTTP against
 * the API server: apply = POST, `patch --type merge` = PATCH with application/merge-patch+json,
 * delete = DELETE, as kubectl sends them.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startKubeApiServer, type FakeKubeApiServer, type KubeObject } from '../fakes/kube-api-server.ts';
import { GROUP, KIND, PLURAL, VERSION } from '../../operator/types.ts';
import { Kubelet, type Pod } from './kubelet.ts';
import { startKubeTlsFront, type KubeTlsFront } from './kube-tls.ts';
import { get, isObj, render, type K8sObject } from './manifests.ts';

export const NS = 'stratus';
export const API_HOST = '127.0.24.1';
const podIP = (i: number) => `127.0.24.${10 + i}`;

export interface StandInCluster {
  kube: FakeKubeApiServer;
  objects: K8sObject[];
  deployments: K8sObject[];
  kubelet: Kubelet;
  /** Another kubelet on the same stand-in node (its own probes and problems). */
  newKubelet(): Kubelet;
  /** Service name → pod IP. */
  services: Record<string, string>;
  startPods(): Promise<Pod[]>;
  kubectl(method: 'POST' | 'PATCH' | 'DELETE' | 'GET', urlPath: string, body?: unknown): Promise<{ status: number; body: KubeObject }>;
  close(): Promise<void>;
}

const labelsMatch = (selector: unknown, labels: unknown) => isObj(selector) && isObj(labels) && Object.entries(selector).every(([k, v]) => labels[k] === v);

export async function startCluster(options: { workDir: string; values: Record<string, unknown> }): Promise<StandInCluster> {
  const kube = await startKubeApiServer({ customResources: [{ group: GROUP, version: VERSION, plural: PLURAL, kind: KIND }], bookmarkIntervalMs: 1000 });
  const front: KubeTlsFront = await startKubeTlsFront({ host: API_HOST, upstream: kube.url, dir: path.join(options.workDir, 'kube-api'), namespace: NS, token: randomBytes(24).toString('hex') });
  const valuesFile = path.join(options.workDir, 'values.json');
  writeFileSync(valuesFile, JSON.stringify(options.values));
  const objects = await render(['-f', valuesFile]);
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const ipOf = new Map(deployments.map((d, i) => [d.metadata.name, podIP(i)]));

  // Each Service's DNS names resolve to the pod its selector picks (one pod per Deployment here).
  const services: Record<string, string> = {};
  const hosts: Record<string, string> = {};
  for (const svc of objects.filter((o) => o.kind === 'Service')) {
    const target = deployments.find((d) => labelsMatch(get(svc, 'spec', 'selector'), get(d, 'spec', 'template', 'metadata', 'labels')));
    if (!target) throw new Error(`Service ${svc.metadata.name} selects no Deployment`);
    const port = get(svc, 'spec', 'ports', 0, 'port');
    const containerPort = get(target, 'spec', 'template', 'spec', 'containers', 0, 'ports', 0, 'containerPort');
    // Without kube-proxy the Service address is the pod's: that only holds when the ports agree.
    if (port !== containerPort) throw new Error(`Service ${svc.metadata.name} port ${String(port)} ≠ container port ${String(containerPort)}: the stand-in has no kube-proxy`);
    const ip = ipOf.get(target.metadata.name) as string;
    services[svc.metadata.name] = ip;
    const name = svc.metadata.name;
    for (const h of [name, `${name}.${NS}`, `${name}.${NS}.svc`, `${name}.${NS}.svc.cluster.local`]) hosts[h] = ip;
  }
  const kubeletOptions = {
    namespace: NS,
    objects,
    kube,
    workDir: path.join(options.workDir, 'pods'),
    // The kubelet gives every container the API server's address (even with enableServiceLinks: false).
    kubeletEnv: { KUBERNETES_SERVICE_HOST: front.host, KUBERNETES_SERVICE_PORT: String(front.port), KUBERNETES_SERVICE_PORT_HTTPS: String(front.port) },
    hosts,
    serviceAccountDir: front.serviceAccountDir,
  };
  const kubelet = new Kubelet(kubeletOptions);

  return {
    kube,
    objects,
    deployments,
    kubelet,
    newKubelet: () => new Kubelet(kubeletOptions),
    services,
    async startPods() {
      // All at once, as a Deployment rollout does; the pods that mount the routing ConfigMap wait
      // for it (ContainerCreating) inside kubelet.start.
      return Promise.all(
        deployments.map((d) => {
          const role = String(get(d, 'metadata', 'labels', 'app.kubernetes.io/component'));
          return kubelet.start(d, role, `${d.metadata.name}-${randomBytes(3).toString('hex')}`, ipOf.get(d.metadata.name) as string);
        }),
      );
    },
    async kubectl(method, urlPath, body) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
      const res = await fetch(`${kube.url}${urlPath}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as KubeObject };
    },
    async close() {
      await kubelet.stop();
      await front.close();
      await kube.close();
    },
  };
}
