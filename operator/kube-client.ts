/**
 * The operator's only I/O with the Kubernetes API: a thin, typed layer over @kubernetes/client-node
 * 1.4 so the reconciler never handles untyped custom objects, base64, or ApiException directly.
 * Optimistic concurrency is kept: every replace carries the resourceVersion that was read, and a 409
 * surfaces as `isConflict` for the caller to re-read and retry.
 */
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1ConfigMap,
  type V1Lease,
} from '@kubernetes/client-node';
import { GROUP, KIND, PLURAL, VERSION, type StorageBackend, type StorageBackendStatus } from './types.ts';

export function isApiError(error: unknown, code?: number): error is ApiException<unknown> {
  return error instanceof ApiException && (code === undefined || error.code === code);
}
export const isNotFound = (error: unknown): boolean => isApiError(error, 404);
export const isConflict = (error: unknown): boolean => isApiError(error, 409);

export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'test';
  path: string;
  value?: unknown;
}

export interface EventInput {
  backend: StorageBackend;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export class KubeClient {
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly ref = { group: GROUP, version: VERSION, plural: PLURAL };

  constructor(
    readonly config: KubeConfig,
    private readonly component = 'stratus-operator',
  ) {
    this.custom = config.makeApiClient(CustomObjectsApi);
    this.core = config.makeApiClient(CoreV1Api);
    this.coordination = config.makeApiClient(CoordinationV1Api);
  }

  /** The collection path a watch on StorageBackends uses. */
  backendsPath(namespace: string): string {
    return `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`;
  }

  async listBackends(namespace: string): Promise<{ items: StorageBackend[]; resourceVersion: string }> {
    const list = (await this.custom.listNamespacedCustomObject({ ...this.ref, namespace })) as {
      items?: StorageBackend[];
      metadata?: { resourceVersion?: string };
    };
    return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  async getBackend(namespace: string, name: string): Promise<StorageBackend | null> {
    try {
      return (await this.custom.getNamespacedCustomObject({ ...this.ref, namespace, name })) as StorageBackend;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** PUT /status with the read resourceVersion: a concurrent writer makes this a 409. */
  async replaceBackendStatus(backend: StorageBackend, status: StorageBackendStatus): Promise<StorageBackend> {
    const body = { apiVersion: `${GROUP}/${VERSION}`, kind: KIND, metadata: backend.metadata, spec: backend.spec, status };
    return (await this.custom.replaceNamespacedCustomObjectStatus({
      ...this.ref,
      namespace: backend.metadata.namespace,
      name: backend.metadata.name,
      body,
    })) as StorageBackend;
  }

  /** JSON Patch (client-node's default content type); use a `test` op to make it conditional. */
  async patchBackend(namespace: string, name: string, ops: JsonPatchOp[]): Promise<StorageBackend> {
    return (await this.custom.patchNamespacedCustomObject(
      { ...this.ref, namespace, name, body: ops },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    )) as StorageBackend;
  }

  /** The Secret's data decoded to UTF-8 strings, or null when it does not exist. */
  async readSecret(namespace: string, name: string): Promise<{ data: Record<string, string>; resourceVersion: string } | null> {
    try {
      const secret = await this.core.readNamespacedSecret({ namespace, name });
      const data: Record<string, string> = {};
      for (const [key, value] of Object.entries(secret.data ?? {})) data[key] = Buffer.from(value, 'base64').toString('utf8');
      return { data, resourceVersion: secret.metadata?.resourceVersion ?? '' };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async readConfigMap(namespace: string, name: string): Promise<V1ConfigMap | null> {
    try {
      return await this.core.readNamespacedConfigMap({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  createConfigMap(namespace: string, body: V1ConfigMap): Promise<V1ConfigMap> {
    return this.core.createNamespacedConfigMap({ namespace, body });
  }

  replaceConfigMap(namespace: string, body: V1ConfigMap): Promise<V1ConfigMap> {
    return this.core.replaceNamespacedConfigMap({ namespace, name: body.metadata?.name ?? '', body });
  }

  async readLease(namespace: string, name: string): Promise<V1Lease | null> {
    try {
      return await this.coordination.readNamespacedLease({ namespace, name });
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  createLease(namespace: string, body: V1Lease): Promise<V1Lease> {
    return this.coordination.createNamespacedLease({ namespace, body });
  }

  replaceLease(namespace: string, body: V1Lease): Promise<V1Lease> {
    return this.coordination.replaceNamespacedLease({ namespace, name: body.metadata?.name ?? '', body });
  }

  /** A core/v1 Event on the backend (what `kubectl describe storagebackend` shows). */
  async createEvent(input: EventInput): Promise<void> {
    const { metadata } = input.backend;
    const now = new Date();
    await this.core.createNamespacedEvent({
      namespace: metadata.namespace,
      body: {
        metadata: { name: `${metadata.name}.${now.getTime().toString(16)}${Math.random().toString(16).slice(2, 6)}`, namespace: metadata.namespace },
        involvedObject: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: KIND,
          name: metadata.name,
          namespace: metadata.namespace,
          ...(metadata.uid ? { uid: metadata.uid } : {}),
          ...(metadata.resourceVersion ? { resourceVersion: metadata.resourceVersion } : {}),
        },
        type: input.type,
        reason: input.reason,
        message: input.message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.component },
        reportingComponent: this.component,
      },
    });
  }
}
