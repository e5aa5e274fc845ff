/**
 * Exactly one default backend, decided from every StorageBackend at once (a pure function, so the
 * rules are tested without a cluster):
 * 1. Backends with `default: true` that are Ready, active and not being deleted are claimants;
 *    the oldest (creationTimestamp, then name) wins. Younger claimants are told which one won, so a
 *    half-done switch (`default: true` set on the new backend but not removed from the old) is
 *    visible instead of silently ignored.
 * 2. No eligible claimant: the previous default stays if it is still eligible — a probe failure of
 *    the newly flagged backend must not leave uploads with nowhere to go.
 * 3. Otherwise there is no default; nothing can be published and every backend says so.
 */
import type { BackendState } from '../internal/storage/routing/routing-config.ts';
import type { ConditionInput } from './conditions.ts';

export interface Candidate {
  name: string;
  createdAt: number;
  claimsDefault: boolean;
  ready: boolean;
  deleting: boolean;
  state: BackendState;
}

export interface Election {
  winner: string | null;
  /** The `Default` condition of every candidate, by name. */
  conditions: Map<string, ConditionInput>;
}

const eligible = (c: Candidate): boolean => c.ready && !c.deleting && c.state === 'active';

export function electDefault(candidates: Candidate[], previous: string | null): Election {
  const claimants = candidates
    .filter((c) => c.claimsDefault && !c.deleting)
    .sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
  const winnerByClaim = claimants.find(eligible);
  const kept = winnerByClaim ? undefined : candidates.find((c) => c.name === previous && eligible(c));
  const winner = winnerByClaim?.name ?? kept?.name ?? null;

  const conditions = new Map<string, ConditionInput>();
  for (const c of candidates) {
    conditions.set(c.name, conditionOf(c, winner, winnerByClaim !== undefined));
  }
  return { winner, conditions };
}

function conditionOf(c: Candidate, winner: string | null, byClaim: boolean): ConditionInput {
  const base = { type: 'Default' as const };
  if (c.name === winner) {
    return byClaim
      ? { ...base, status: 'True', reason: 'Elected', message: 'This backend takes new uploads.' }
      : {
          ...base,
          status: 'True',
          reason: 'KeptPrevious',
          message: 'No Ready backend has default: true; the previous default keeps taking new uploads.',
        };
  }
  if (c.claimsDefault && !eligible(c)) {
    const why = c.deleting ? 'it is being deleted' : !c.ready ? 'it is not Ready' : `its state is ${c.state}`;
    return { ...base, status: 'False', reason: 'NotEligible', message: `default: true is set but ${why}.` };
  }
  if (c.claimsDefault && byClaim) {
    return {
      ...base,
      status: 'False',
      reason: 'OlderDefaultWins',
      message: `Several backends have default: true; the oldest, "${String(winner)}", is the default.`,
    };
  }
  if (winner === null) {
    return { ...base, status: 'False', reason: 'NoDefault', message: 'No Ready backend is the default; the routing file is not published.' };
  }
  return { ...base, status: 'False', reason: 'NotDefault', message: `"${winner}" is the default.` };
}
