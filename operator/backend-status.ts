/**
 * A backend's status computed from what the reconciler knows (pure functions), and the finalizer
 * patch. `observedGeneration` is the generation the probe ran against, not the one just read: if
 * the spec changed meanwhile, the status must not claim it describes the new spec.
 */
import type { BackendConfig } from '../internal/storage/routing/routing-config.ts';
import { setConditions, type ConditionInput } from './conditions.ts';
import type { JsonPatchOp } from './kube-client.ts';
import type { ProbeResult } from './probe.ts';
import type { Phase, StorageBackend, StorageBackendStatus } from './types.ts';

export interface ProbeRecord {
  generation: number;
  /** Secret resourceVersion the credentials came from ('' without a Secret, 'absent' when missing). */
  secretVersion: string;
  at: number;
  result: ProbeResult;
  config?: BackendConfig;
}

export interface DeletionState {
  phase: Extract<Phase, 'Draining' | 'Terminating'>;
  reason: string;
  message: string;
  objectCount: number;
}

export function statusOf(
  backend: StorageBackend,
  probe: ProbeRecord,
  decision: ConditionInput | undefined,
  deletion: DeletionState | null,
  now = new Date(),
): StorageBackendStatus {
  const result = probe.result;
  const probed: ConditionInput = result.ok
    ? { type: 'Probed', status: 'True', reason: 'ProbeSucceeded', message: 'Wrote, read back and deleted a probe object.' }
    : { type: 'Probed', status: 'False', reason: result.reason, message: result.message };
  let ready: ConditionInput;
  if (deletion) ready = { type: 'Ready', status: 'False', reason: deletion.reason, message: deletion.message };
  else if (result.ok) ready = { type: 'Ready', status: 'True', reason: 'Available', message: `Stratus can store objects here (state ${backend.spec.state ?? 'active'}).` };
  else ready = { type: 'Ready', status: 'False', reason: result.reason, message: result.message };
  const defaulted = decision ?? { type: 'Default', status: 'Unknown', reason: 'Pending', message: 'The default backend is not decided yet.' };
  const phase: Phase = deletion ? deletion.phase : result.ok ? 'Ready' : 'Failed';
  return {
    phase,
    conditions: setConditions(backend.status?.conditions, [ready, probed, defaulted], probe.generation, now),
    observedGeneration: probe.generation,
    ...(deletion ? { objectCount: deletion.objectCount } : {}),
  };
}

/** Replaces the finalizer list, guarded by a `test` of the list (or of its absence, via the resourceVersion). */
export function finalizerPatch(backend: StorageBackend, change: (finalizers: string[]) => string[]): JsonPatchOp[] {
  const current = backend.metadata.finalizers;
  const next = change(current ?? []);
  if (current === undefined) {
    return [
      { op: 'test', path: '/metadata/resourceVersion', value: backend.metadata.resourceVersion },
      { op: 'add', path: '/metadata/finalizers', value: next },
    ];
  }
  return [
    { op: 'test', path: '/metadata/finalizers', value: current },
    { op: 'replace', path: '/metadata/finalizers', value: next },
  ];
}
