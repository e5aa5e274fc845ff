/**
 * Status conditions, Kubernetes style: one entry per type, `lastTransitionTime` moves only when
 * the status flips (so `kubectl get` shows how long a backend has been failing, not when it was
 * last looked at), and every condition records the generation it was computed from.
 */
import type { Condition, ConditionStatus, ConditionType, StorageBackendStatus } from './types.ts';

const ORDER: ConditionType[] = ['Ready', 'Probed', 'Default'];

export interface ConditionInput {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
}

export function setConditions(previous: Condition[] | undefined, inputs: ConditionInput[], generation: number, now: Date): Condition[] {
  const byType = new Map((previous ?? []).map((c) => [c.type, c]));
  for (const input of inputs) {
    const old = byType.get(input.type);
    byType.set(input.type, {
      ...input,
      lastTransitionTime: old && old.status === input.status ? old.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, 'Z'),
      observedGeneration: generation,
    });
  }
  return ORDER.flatMap((type) => {
    const c = byType.get(type);
    return c ? [c] : [];
  });
}

export function findCondition(status: StorageBackendStatus | undefined, type: ConditionType): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** Key order independent comparison, so an unchanged status is never written (no event storm). */
export function sameStatus(a: StorageBackendStatus | undefined, b: StorageBackendStatus): boolean {
  return canonical(a ?? {}) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([x], [y]) => x.localeCompare(y)))
      : v,
  );
}
