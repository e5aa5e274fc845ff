/**
 * A kubelet stand-in for the image tests: it runs a rendered Deployment's pod with podman
 * (pod-run.ts), on its own loopback address as its pod IP, with
 * - emptyDir volumes as fresh host directories (mode 2777, group fsGroup, as the kubelet makes them);
 * - configMap volumes projected the way the kubelet's atomic writer does it
 *   (kubernetes/pkg/volume/util/atomic_writer.go): the files live in a timestamped `..<ts>` directory,
 *   `..data` is a symlink to it and each key a symlink through `..data`; an update writes a new
 *   timestamped directory, points `..data_tmp` at it and renames that over `..data` (one atomic
 *   rename), then removes the old directory. A pod whose non-optional ConfigMap does not exist yet
 *   waits (ContainerCreating);
 * - the service account token directory when the pod mounts one;
 * - the startup, liveness and readiness probes run exactly as declared (core/v1 Probe semantics:
 *   startup first, until success or failureThreshold consecutive failures — then the kubelet
 *   would kill the container; liveness and readiness only after it; liveness failing
 *   failureThreshold times in a row would restart the container; readiness gates the Service).
 *   Every violation is recorded in `problems`, and the test fails on any.
 */
import { chmodSync, chownSync, mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FakeKubeApiServer } from '../fakes/kube-api-server.ts';
import { get, type K8sObject } from './manifests.ts';
import { podRun, type HttpProbe, type PodContext, type PodRun } from './pod-run.ts';
import { logs, podman, remove, runtimeOptions } from './podman.ts';

export interface ProbeRecord {
  kind: 'startup' | 'liveness' | 'readiness';
  ok: boolean;
  detail: string;
  at: number;
}

export interface Pod {
  name: string;
  ip: string;
  role: string;
  run: PodRun;
  probes: ProbeRecord[];
  started: boolean;
  ready: boolean;
  url: string;
}

export interface KubeletOptions {
  namespace: string;
  objects: K8sObject[];
  kube: FakeKubeApiServer;
  workDir: string;
  kubeletEnv: Record<string, string>;
  hosts: Record<string, string>;
  serviceAccountDir: string;
  /** How often ConfigMap volumes are synced (the real kubelet: about a minute). */
  syncMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Kubelet {
  readonly pods: Pod[] = [];
  readonly problems: string[] = [];
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly projections: { dir: string; configMap: string; content: string }[] = [];

  constructor(private readonly o: KubeletOptions) {
    const tick = setInterval(() => this.syncConfigMaps(), o.syncMs ?? 500);
    this.timers.add(tick);
  }

  private configMapData(name: string): Record<string, string> | undefined {
    try {
      const cm = this.o.kube.store.get(this.o.kube.resource('', 'configmaps'), this.o.namespace, name);
      return (cm.data ?? {}) as Record<string, string>;
    } catch {
      return undefined;
    }
  }

  /** Writes a projection (first time or update) with the atomic writer's symlink swap. */
  private project(dir: string, data: Record<string, string>, fsGroup: number | undefined): void {
    const stamp = `..${new Date().toISOString().replace(/[-:T.Z]/g, '_')}${Math.random().toString(36).slice(2, 8)}`;
    const tsDir = path.join(dir, stamp);
    mkdirSync(tsDir, { mode: 0o755 });
    for (const [key, value] of Object.entries(data)) {
      writeFileSync(path.join(tsDir, key), value, { mode: 0o644 });
      if (fsGroup !== undefined) chownSync(path.join(tsDir, key), 0, fsGroup);
    }
    let old: string | undefined;
    try {
      old = readlinkSync(path.join(dir, '..data'));
    } catch {
      old = undefined;
    }
    rmSync(path.join(dir, '..data_tmp'), { force: true });
    symlinkSync(stamp, path.join(dir, '..data_tmp'));
    renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
    for (const key of Object.keys(data)) {
      try {
        symlinkSync(path.join('..data', key), path.join(dir, key));
      } catch {
        // already linked through ..data
      }
    }
    if (old) rmSync(path.join(dir, old), { recursive: true, force: true });
  }

  private syncConfigMaps(): void {
    for (const p of this.projections) {
      const data = this.configMapData(p.configMap);
      if (!data) continue;
      const content = JSON.stringify(data);
      if (content !== p.content) {
        this.project(p.dir, data, undefined);
        p.content = content;
      }
    }
  }

  /** Creates the pod's volumes, waits for its ConfigMaps, starts the container and its probes. */
  async start(deployment: K8sObject, role: string, podName: string, podIP: string, waitForConfigMapMs = 180_000): Promise<Pod> {
    const podDir = path.join(this.o.workDir, podName);
    const group = get(deployment, 'spec', 'template', 'spec', 'securityContext', 'fsGroup');
    const fsGroup = typeof group === 'number' ? group : undefined;
    const ctx: PodContext = {
      namespace: this.o.namespace,
      podName,
      podIP,
      objects: this.o.objects,
      kubeletEnv: this.o.kubeletEnv,
      hosts: { ...this.o.hosts, [podName]: podIP },
      serviceAccountDir: this.o.serviceAccountDir,
      volumePath: (name) => path.join(podDir, 'volumes', name),
    };
    const run = podRun(deployment, ctx);
    // The pod network namespace stand-in: every pod shares the host's network, so each listens on
    // its own loopback address (its "pod IP") on the port the chart declares.
    run.options.push('--env', `HOST=${podIP}`);
    const cmVolumes = new Set(run.configMapVolumes.map((v) => v.volume));
    for (const arg of run.options.filter((_, i) => run.options[i - 1] === '--volume')) {
      const hostPath = arg.split(':')[0] as string;
      if (!hostPath.startsWith(path.join(podDir, 'volumes'))) continue;
      mkdirSync(hostPath, { recursive: true });
      if (!cmVolumes.has(path.basename(hostPath))) {
        chmodSync(hostPath, 0o2777);
        if (fsGroup !== undefined) chownSync(hostPath, 0, fsGroup);
      }
    }
    // ContainerCreating: a non-optional ConfigMap must exist before the container starts.
    const deadline = Date.now() + waitForConfigMapMs;
    for (const v of run.configMapVolumes) {
      let data = this.configMapData(v.configMap);
      while (!data && !v.optional && Date.now() < deadline && !this.stopped) {
        await sleep(250);
        data = this.configMapData(v.configMap);
      }
      if (!data) throw new Error(`${podName}: ConfigMap ${v.configMap} never appeared (the pod stays in ContainerCreating)`);
      const dir = path.join(podDir, 'volumes', v.volume);
      this.project(dir, data, fsGroup);
      this.projections.push({ dir, configMap: v.configMap, content: JSON.stringify(data) });
    }
    await remove(podName, 0);
    await podman(['run', '--detach', ...runtimeOptions(), ...run.options, run.image, ...run.args]);
    const port = run.probes.readiness?.port ?? run.probes.liveness?.port ?? 8080;
    const pod: Pod = { name: podName, ip: podIP, role, run, probes: [], started: false, ready: false, url: `http://${podIP}:${port}` };
    this.pods.push(pod);
    this.probeLoop(pod);
    return pod;
  }

  private async probeOnce(pod: Pod, probe: HttpProbe): Promise<{ ok: boolean; detail: string }> {
    const url = `${probe.scheme.toLowerCase()}://${pod.ip}:${probe.port}${probe.path}`;
    try {
      // The kubelet's HTTP probe: success is a status in [200, 400); it sends kube-probe's agent.
      const res = await fetch(url, { signal: AbortSignal.timeout(probe.timeoutSeconds * 1000), redirect: 'manual', headers: { 'user-agent': 'kube-probe/1.32', accept: '*/*' } });
      await res.arrayBuffer().catch(() => undefined);
      return { ok: res.status >= 200 && res.status < 400, detail: `${url} → ${res.status}` };
    } catch (error) {
      return { ok: false, detail: `${url} → ${(error as Error).message}` };
    }
  }

  private every(probe: HttpProbe, pod: Pod, kind: ProbeRecord['kind'], onResult: (ok: boolean, consecutive: { ok: number; fail: number }) => boolean): void {
    const counts = { ok: 0, fail: 0 };
    const tick = async () => {
      if (this.stopped) return;
      const r = await this.probeOnce(pod, probe);
      if (this.stopped) return;
      pod.probes.push({ kind, ok: r.ok, detail: r.detail, at: Date.now() });
      if (r.ok) {
        counts.ok += 1;
        counts.fail = 0;
      } else {
        counts.fail += 1;
        counts.ok = 0;
      }
      if (!onResult(r.ok, counts)) return;
      const t = setTimeout(() => void tick(), probe.periodSeconds * 1000);
      this.timers.add(t);
    };
    const t = setTimeout(() => void tick(), probe.initialDelaySeconds * 1000);
    this.timers.add(t);
  }

  private probeLoop(pod: Pod): void {
    const { startup, liveness, readiness } = pod.run.probes;
    const afterStartup = () => {
      pod.started = true;
      if (liveness) {
        this.every(liveness, pod, 'liveness', (_, n) => {
          if (n.fail >= liveness.failureThreshold) {
            this.problems.push(`${pod.name}: liveness failed ${n.fail} times in a row (the kubelet would restart it): ${pod.probes.at(-1)?.detail}`);
            return false;
          }
          return true;
        });
      }
      if (readiness) {
        this.every(readiness, pod, 'readiness', (ok, n) => {
          if (ok && n.ok >= readiness.successThreshold) pod.ready = true;
          if (!ok && n.fail >= readiness.failureThreshold && pod.ready) {
            pod.ready = false;
            this.problems.push(`${pod.name}: became unready (out of the Service): ${pod.probes.at(-1)?.detail}`);
          }
          return true;
        });
      } else pod.ready = true;
    };
    if (!startup) return afterStartup();
    this.every(startup, pod, 'startup', (ok, n) => {
      if (ok) {
        afterStartup();
        return false;
      }
      if (n.fail >= startup.failureThreshold) {
        this.problems.push(`${pod.name}: startup probe failed ${n.fail} times (the kubelet would kill it): ${pod.probes.at(-1)?.detail}`);
        return false;
      }
      return true;
    });
  }

  /** Resolves when every pod is Ready; throws with the probe history and logs otherwise. */
  async waitReady(pods: Pod[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (pods.every((p) => p.ready)) return;
      if (this.problems.length > 0) break;
      await sleep(250);
    }
    const lines: string[] = [...this.problems];
    for (const p of pods.filter((x) => !x.ready)) {
      lines.push(`${p.name} not ready; last probes: ${p.probes.slice(-3).map((r) => `${r.kind} ${r.detail}`).join('; ')}`);
      lines.push((await logs(p.name)).slice(-3000));
    }
    throw new Error(lines.join('\n'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    await Promise.all(this.pods.map((p) => remove(p.name, 5)));
  }
}
