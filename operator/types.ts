/**
 * The StorageBackend custom resource as the operator sees it (the CRD is
 * `k8s/crds/storagebackends.stratus.io.yaml`; the two must agree field for field).
 */
import type { BackendState } from '../internal/storage/routing/routing-config.ts';

export const GROUP = 'stratus.io';
export const VERSION = 'v1alpha1';
export const PLURAL = 'storagebackends';
export const KIND = 'StorageBackend';
/** Held on every backend until no blob references it, so deleting the object cannot strand data. */
export const FINALIZER = 'stratus.io/blobs';
export const ROUTING_CONFIGMAP = 'stratus-storage';
export const ROUTING_KEY = 'storage.json';

export const BACKEND_TYPES = ['ceph', 'oss', 'cos', 'local'] as const;
export type BackendType = (typeof BACKEND_TYPES)[number];

export interface StorageBackendSpec {
  type: BackendType;
  endpoint?: string;
  region?: string;
  bucket?: string;
  /** `local` only: the directory objects live in. */
  path?: string;
  credentialsSecretRef?: {
    name: string;
    /** Credential field → Secret key, when the Secret's keys are not the field names. */
    keys?: Record<string, string>;
  };
  default?: boolean;
  migrate?: boolean;
  state?: BackendState;
  stagingFor?: string;
  /** How downloads of this backend's bytes are served (routing `downloads`). */
  downloads?: 'proxy' | 'redirect';
  /** ceph only: the URL clients reach the RGW at, for presigned URLs. */
  publicEndpoint?: string;
}

export type ConditionType = 'Ready' | 'Probed' | 'Default';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
}

export type Phase = 'Pending' | 'Ready' | 'Failed' | 'Draining' | 'Terminating';

export interface StorageBackendStatus {
  phase?: Phase;
  conditions?: Condition[];
  observedGeneration?: number;
  /** Blobs still recorded on this backend (reported while a deletion waits for them). */
  objectCount?: number;
}

export interface StorageBackend {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string | Date;
    deletionTimestamp?: string | Date;
    finalizers?: string[];
  };
  spec: StorageBackendSpec;
  status?: StorageBackendStatus;
}

export const keyOf = (namespace: string, name: string): string => `${namespace}/${name}`;
