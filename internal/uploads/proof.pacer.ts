/**
 * Keeps proveOwnership from telling by its timing whether content is stored (issue 17, item 9).
 * For stored content the proof is checked by reading the challenge's ranges from the backend;
 * for unknown content there is nothing to read, so it answered measurably faster (11 vs 15 ms
 * median) — a content-existence oracle the identical answer was meant to close. Every refused
 * proof now lasts at least as long as checking one against stored content recently took: the
 * 90th percentile of the last 32 evaluations plus a quarter, between a floor and a ceiling. (Not
 * the slowest: one stalled read would slow every refused proof for a while; the few evaluations
 * beyond the target are spread out and cost an attacker proofs, of which a person has 30 a minute.)
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class ProofPacer {
  private readonly recent: number[] = [];

  constructor(
    private readonly floorMs = 50,
    private readonly ceilingMs = 2_000,
    private readonly keep = 32,
  ) {}

  /** Records how long evaluating a proof against stored content took (ms). */
  record(ms: number): void {
    this.recent.push(ms);
    if (this.recent.length > this.keep) this.recent.shift();
  }

  /** The least time a refused proof takes, from the start of its evaluation. */
  target(): number {
    const sorted = [...this.recent].sort((a, b) => a - b);
    const p90 = sorted[Math.floor(0.9 * (sorted.length - 1))] ?? 0;
    return Math.min(this.ceilingMs, Math.max(this.floorMs, Math.ceil(p90 * 1.25)));
  }

  /** Waits until `target()` ms have passed since `startedAt` (a performance.now() value). */
  async pad(startedAt: number): Promise<void> {
    const wait = this.target() - (performance.now() - startedAt);
    if (wait > 0) await sleep(wait);
  }
}
