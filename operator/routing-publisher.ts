/**
 * Publishes the routing file into ConfigMap `stratus-storage` (key `storage.json`), which the
 * services hot-reload. The file is validated with the services' own parser before it is written —
 * a file the services would refuse must never reach them. Writes are create-or-replace carrying
 * the read resourceVersion; a 409 (someone else wrote, or created it first) re-reads and retries.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from '../internal/platform/logger.ts';
import { parseRoutingConfig, type BackendConfig, type RoutingConfig } from '../internal/storage/routing/routing-config.ts';
import { isConflict, type KubeClient } from './kube-client.ts';
import { ROUTING_CONFIGMAP, ROUTING_KEY } from './types.ts';

const MAX_ATTEMPTS = 5;

/**
 * Drops entries whose `stagingFor` names a backend that is not published (the services would
 * refuse the whole file), repeating until nothing changes, then validates. Throws AppError
 * BAD_INPUT when the result is still invalid.
 */
export function buildRouting(defaultName: string, backends: BackendConfig[]): RoutingConfig {
  let kept = [...backends].sort((a, b) => a.name.localeCompare(b.name));
  for (;;) {
    const names = new Set(kept.map((b) => b.name));
    const next = kept.filter((b) => b.stagingFor === undefined || (b.stagingFor !== b.name && names.has(b.stagingFor)));
    if (next.length === kept.length) break;
    kept = next;
  }
  return parseRoutingConfig({ default: defaultName, backends: kept });
}

export class RoutingPublisher {
  constructor(
    private readonly client: KubeClient,
    private readonly namespace: string,
    private readonly logger: Logger,
  ) {}

  /** The routing file currently published, or null (absent or unreadable). */
  async current(): Promise<RoutingConfig | null> {
    const cm = await this.client.readConfigMap(this.namespace, ROUTING_CONFIGMAP);
    const text = cm?.data?.[ROUTING_KEY];
    if (!text) return null;
    try {
      return parseRoutingConfig(JSON.parse(text));
    } catch (error) {
      this.logger.warn({ err: error }, 'the published routing file is invalid; it will be replaced');
      return null;
    }
  }

  /** Writes the file unless it is already there; returns whether it changed. */
  async publish(routing: RoutingConfig): Promise<boolean> {
    const text = `${JSON.stringify(routing, null, 2)}\n`;
    for (let attempt = 1; ; attempt++) {
      const cm = await this.client.readConfigMap(this.namespace, ROUTING_CONFIGMAP);
      if (cm?.data?.[ROUTING_KEY] === text) return false;
      try {
        if (!cm) {
          await this.client.createConfigMap(this.namespace, {
            metadata: { name: ROUTING_CONFIGMAP, namespace: this.namespace, labels: { 'app.kubernetes.io/managed-by': 'stratus-operator' } },
            data: { [ROUTING_KEY]: text },
          });
        } else {
          const body: V1ConfigMap = { ...cm, data: { ...cm.data, [ROUTING_KEY]: text } };
          await this.client.replaceConfigMap(this.namespace, body);
        }
        this.logger.info({ default: routing.default, backends: routing.backends.map((b) => `${b.name}:${b.state}`) }, 'routing file published');
        return true;
      } catch (error) {
        if (!isConflict(error) || attempt >= MAX_ATTEMPTS) throw error;
        this.logger.debug({ attempt }, 'routing ConfigMap changed meanwhile (409): re-reading');
      }
    }
  }
}
