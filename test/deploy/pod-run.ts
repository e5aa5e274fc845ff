/**
 * A rendered Deployment's pod template → the `podman run` that runs its container the way the
 * kubelet would: the image and its command/args, `envFrom` then `env` (later wins, as in
 * Kubernetes) resolved from the rendered ConfigMaps and Secrets and the Downward API, the pod and
 * container securityContext (uid/gid, fsGroup, read-only root file system, capabilities,
 * no-new-privileges), the memory/CPU limits, the volumes the kubelet stand-in prepared, and the
 * probes with their named ports resolved. A field of the pod spec this stand-in does not know
 * makes it throw instead of silently running something else than the chart asks for.
 */
import { get, isObj, str, type K8sObject, type Obj } from './manifests.ts';

export interface HttpProbe {
  path: string;
  port: number;
  scheme: 'HTTP' | 'HTTPS';
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

export interface PodRun {
  /** `podman run` options (before the image). */
  options: string[];
  image: string;
  /** What follows the image: the container's args (command, when set, becomes --entrypoint). */
  args: string[];
  env: Record<string, string>;
  uid: number;
  probes: { startup?: HttpProbe; liveness?: HttpProbe; readiness?: HttpProbe };
  /** Names of the volumes of type configMap, by mount (the kubelet stand-in keeps them in sync). */
  configMapVolumes: { volume: string; configMap: string; optional: boolean }[];
  terminationGracePeriodSeconds: number;
}

export interface PodContext {
  namespace: string;
  podName: string;
  podIP: string;
  objects: K8sObject[];
  /** Host path of each declared volume, made by the kubelet stand-in. */
  volumePath(name: string, spec: Obj): string;
  /** The service account token directory, when the pod mounts one. */
  serviceAccountDir?: string;
  /** Environment the kubelet adds to every container (KUBERNETES_SERVICE_HOST/PORT). */
  kubeletEnv: Record<string, string>;
  /** /etc/hosts entries: the cluster DNS names and their addresses. */
  hosts: Record<string, string>;
}

const POD_KEYS = new Set(['serviceAccountName', 'automountServiceAccountToken', 'enableServiceLinks', 'terminationGracePeriodSeconds', 'imagePullSecrets', 'securityContext', 'containers', 'volumes', 'nodeSelector', 'tolerations', 'affinity', 'topologySpreadConstraints']);
const CONTAINER_KEYS = new Set(['name', 'image', 'imagePullPolicy', 'ports', 'envFrom', 'env', 'startupProbe', 'livenessProbe', 'readinessProbe', 'lifecycle', 'resources', 'securityContext', 'volumeMounts', 'command', 'args']);
const SECURITY_KEYS = new Set(['runAsUser', 'runAsGroup', 'runAsNonRoot', 'fsGroup', 'seccompProfile', 'supplementalGroups', 'allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'privileged', 'capabilities']);
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function unknownKeys(o: Obj, known: Set<string>, what: string): void {
  const extra = Object.keys(o).filter((k) => !known.has(k));
  if (extra.length > 0) throw new Error(`${what}: the kubelet stand-in does not implement ${extra.join(', ')}`);
}

function dataOf(objects: K8sObject[], kind: 'ConfigMap' | 'Secret', name: string): Record<string, string> | undefined {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(isObj(found.data) ? found.data : {})) out[k] = kind === 'Secret' ? Buffer.from(String(v), 'base64').toString('utf8') : String(v);
  for (const [k, v] of Object.entries(isObj(found.stringData) ? found.stringData : {})) out[k] = String(v);
  return out;
}

/** Kubernetes quantities → bytes (memory) or cores (cpu). */
export function quantity(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(value);
  if (!m) throw new Error(`bad quantity ${value}`);
  const factor: Record<string, number> = { m: 0.001, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(m[1]) * (m[2] ? (factor[m[2]] ?? 1) : 1);
}

function probeOf(probe: unknown, ports: Map<string, number>, what: string): HttpProbe | undefined {
  if (!isObj(probe)) return undefined;
  const http = probe.httpGet;
  if (!isObj(http)) throw new Error(`${what}: only httpGet probes are implemented`);
  const rawPort = http.port;
  const port = typeof rawPort === 'number' ? rawPort : ports.get(String(rawPort));
  if (port === undefined) throw new Error(`${what}: port ${String(rawPort)} is not a declared container port`);
  const num = (key: string, fallback: number) => (typeof probe[key] === 'number' ? (probe[key] as number) : fallback);
  return {
    path: str(http.path) ?? '/',
    port,
    scheme: http.scheme === 'HTTPS' ? 'HTTPS' : 'HTTP',
    // Kubernetes defaults (core/v1 Probe).
    initialDelaySeconds: num('initialDelaySeconds', 0),
    periodSeconds: num('periodSeconds', 10),
    timeoutSeconds: num('timeoutSeconds', 1),
    successThreshold: num('successThreshold', 1),
    failureThreshold: num('failureThreshold', 3),
  };
}

export function podRun(deployment: K8sObject, ctx: PodContext): PodRun {
  const pod = get(deployment, 'spec', 'template', 'spec');
  if (!isObj(pod)) throw new Error(`${deployment.metadata.name}: no pod template`);
  unknownKeys(pod, POD_KEYS, `${deployment.metadata.name} pod spec`);
  const containers = Array.isArray(pod.containers) ? pod.containers.filter(isObj) : [];
  if (containers.length !== 1) throw new Error(`${deployment.metadata.name}: the stand-in runs pods of one container`);
  const c = containers[0] as Obj;
  unknownKeys(c, CONTAINER_KEYS, `${deployment.metadata.name} container`);

  // Environment: envFrom first, then env (a key in env wins), as the kubelet builds it.
  const env: Record<string, string> = { ...ctx.kubeletEnv };
  for (const from of Array.isArray(c.envFrom) ? c.envFrom.filter(isObj) : []) {
    const ref = isObj(from.configMapRef) ? { kind: 'ConfigMap' as const, r: from.configMapRef } : isObj(from.secretRef) ? { kind: 'Secret' as const, r: from.secretRef } : undefined;
    if (!ref) throw new Error(`${deployment.metadata.name}: unknown envFrom ${JSON.stringify(from)}`);
    const data = dataOf(ctx.objects, ref.kind, String(ref.r.name));
    if (!data && ref.r.optional !== true) throw new Error(`${deployment.metadata.name}: CreateContainerConfigError: ${ref.kind} ${String(ref.r.name)} not found`);
    for (const [k, v] of Object.entries(data ?? {})) env[`${str(from.prefix) ?? ''}${k}`] = v;
  }
  const fields: Record<string, string> = { 'metadata.namespace': ctx.namespace, 'metadata.name': ctx.podName, 'status.podIP': ctx.podIP, 'spec.serviceAccountName': str(pod.serviceAccountName) ?? 'default' };
  for (const e of Array.isArray(c.env) ? c.env.filter(isObj) : []) {
    const name = String(e.name);
    if (typeof e.value === 'string') {
      if (e.value.includes('$(')) throw new Error(`${name}: $(VAR) expansion is not implemented`);
      env[name] = e.value;
      continue;
    }
    const from = isObj(e.valueFrom) ? e.valueFrom : {};
    if (isObj(from.fieldRef)) {
      const value = fields[String(from.fieldRef.fieldPath)];
      if (value === undefined) throw new Error(`${name}: fieldRef ${String(from.fieldRef.fieldPath)} is not implemented`);
      env[name] = value;
    } else if (isObj(from.secretKeyRef) || isObj(from.configMapKeyRef)) {
      const ref = (isObj(from.secretKeyRef) ? from.secretKeyRef : from.configMapKeyRef) as Obj;
      const data = dataOf(ctx.objects, isObj(from.secretKeyRef) ? 'Secret' : 'ConfigMap', String(ref.name));
      const value = data?.[String(ref.key)];
      if (value !== undefined) env[name] = value;
      else if (ref.optional !== true) throw new Error(`${deployment.metadata.name}: CreateContainerConfigError: ${String(ref.name)}/${String(ref.key)} for ${name} not found`);
    } else throw new Error(`${name}: unknown valueFrom ${JSON.stringify(from)}`);
  }

  // securityContext: the container's fields win over the pod's.
  const podSc = isObj(pod.securityContext) ? pod.securityContext : {};
  const sc = isObj(c.securityContext) ? c.securityContext : {};
  unknownKeys(podSc, SECURITY_KEYS, 'pod securityContext');
  unknownKeys(sc, SECURITY_KEYS, 'container securityContext');
  const pick = (key: string): unknown => sc[key] ?? podSc[key];
  const uid = typeof pick('runAsUser') === 'number' ? (pick('runAsUser') as number) : undefined;
  const gid = typeof pick('runAsGroup') === 'number' ? (pick('runAsGroup') as number) : undefined;
  if (pick('runAsNonRoot') === true && (uid === undefined || uid === 0)) throw new Error(`${deployment.metadata.name}: runAsNonRoot without a non-zero runAsUser (the kubelet refuses to start it)`);
  if (uid === undefined) throw new Error(`${deployment.metadata.name}: no runAsUser (the image's USER would be used)`);
  // The kubelet ignores the image's HEALTHCHECK (only the declared probes count).
  const options = ['--name', `${ctx.podName}`, '--hostname', ctx.podName, '--network', 'host', '--no-healthcheck', '--user', `${uid}:${gid ?? uid}`];
  if (typeof podSc.fsGroup === 'number') options.push('--group-add', String(podSc.fsGroup));
  for (const g of Array.isArray(podSc.supplementalGroups) ? podSc.supplementalGroups : []) options.push('--group-add', String(g));
  // The root file system read-only and nothing else writable: podman's default tmpfs on /tmp,
  // /run and /var/tmp would hide a missing emptyDir, so it is off.
  if (pick('readOnlyRootFilesystem') === true) options.push('--read-only', '--read-only-tmpfs=false');
  if (pick('allowPrivilegeEscalation') === false) options.push('--security-opt', 'no-new-privileges');
  if (pick('privileged') === true) options.push('--privileged');
  const caps = isObj(sc.capabilities) ? sc.capabilities : {};
  for (const cap of Array.isArray(caps.drop) ? caps.drop : []) options.push('--cap-drop', String(cap));
  for (const cap of Array.isArray(caps.add) ? caps.add : []) options.push('--cap-add', String(cap));
  const seccomp = get(pick('seccompProfile'), 'type');
  if (seccomp !== undefined && seccomp !== 'RuntimeDefault') throw new Error(`seccompProfile ${String(seccomp)} is not implemented`);

  const limits = get(c, 'resources', 'limits');
  if (isObj(limits) && typeof limits.memory === 'string') options.push('--memory', String(Math.round(quantity(limits.memory))));
  if (isObj(limits) && typeof limits.cpu === 'string') options.push('--cpus', String(quantity(limits.cpu)));

  for (const [host, ip] of Object.entries(ctx.hosts)) options.push('--add-host', `${host}:${ip}`);
  for (const [k, v] of Object.entries(env)) options.push('--env', `${k}=${v}`);

  // Volumes: every mount must name a declared volume; the kubelet stand-in made its directory.
  const volumes = new Map((Array.isArray(pod.volumes) ? pod.volumes.filter(isObj) : []).map((v) => [String(v.name), v]));
  const configMapVolumes: PodRun['configMapVolumes'] = [];
  for (const m of Array.isArray(c.volumeMounts) ? c.volumeMounts.filter(isObj) : []) {
    const volume = volumes.get(String(m.name));
    if (!volume) throw new Error(`${deployment.metadata.name}: mount of undeclared volume ${String(m.name)}`);
    if (m.subPath !== undefined) throw new Error('subPath mounts are not implemented');
    if (isObj(volume.configMap)) configMapVolumes.push({ volume: String(m.name), configMap: String(volume.configMap.name), optional: volume.configMap.optional === true });
    else if (!isObj(volume.emptyDir)) throw new Error(`${String(m.name)}: only emptyDir and configMap volumes are implemented`);
    options.push('--volume', `${ctx.volumePath(String(m.name), volume)}:${String(m.mountPath)}${m.readOnly === true || isObj(volume.configMap) ? ':ro' : ''}`);
  }
  if (pod.automountServiceAccountToken === true) {
    if (!ctx.serviceAccountDir) throw new Error('the pod mounts a service account token but none was made');
    options.push('--volume', `${ctx.serviceAccountDir}:${SA_DIR}:ro`);
  }

  const ports = new Map((Array.isArray(c.ports) ? c.ports.filter(isObj) : []).map((p) => [String(p.name), Number(p.containerPort)]));
  const args = Array.isArray(c.args) ? c.args.map(String) : [];
  if (Array.isArray(c.command)) options.push('--entrypoint', JSON.stringify(c.command.map(String)));
  return {
    options,
    image: String(c.image),
    args,
    env,
    uid,
    probes: {
      startup: probeOf(c.startupProbe, ports, 'startupProbe'),
      liveness: probeOf(c.livenessProbe, ports, 'livenessProbe'),
      readiness: probeOf(c.readinessProbe, ports, 'readinessProbe'),
    },
    configMapVolumes,
    terminationGracePeriodSeconds: typeof pod.terminationGracePeriodSeconds === 'number' ? pod.terminationGracePeriodSeconds : 30,
  };
}
