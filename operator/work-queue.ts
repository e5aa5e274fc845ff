/**
 * A keyed work queue: at most one reconcile per key runs at a time (two reconciles of the same
 * object would race on its status and finalizers), different keys run concurrently, and a key
 * enqueued while it runs is run once more afterwards — however many events arrived meanwhile,
 * since a reconcile reads the latest state anyway. Failures retry with exponential backoff;
 * a handler may ask to be run again later (periodic re-probe, polling a deletion).
 */
import type { Logger } from '../internal/platform/logger.ts';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export type ReconcileHandler = (key: string) => Promise<ReconcileResult | void>;

export interface WorkQueueOptions {
  baseRetryMs?: number;
  maxRetryMs?: number;
  logger?: Logger;
}

interface KeyState {
  running: Promise<void> | null;
  dirty: boolean;
  timer: NodeJS.Timeout | null;
  timerAt: number;
  failures: number;
}

export class WorkQueue {
  private readonly keys = new Map<string, KeyState>();
  private stopped = false;
  private readonly baseRetryMs: number;
  private readonly maxRetryMs: number;

  constructor(
    private readonly handler: ReconcileHandler,
    private readonly options: WorkQueueOptions = {},
  ) {
    this.baseRetryMs = options.baseRetryMs ?? 500;
    this.maxRetryMs = options.maxRetryMs ?? 60_000;
  }

  /** Runs the key now (or right after its current run), or after `delayMs`. */
  enqueue(key: string, delayMs = 0): void {
    if (this.stopped) return;
    const state = this.stateOf(key);
    if (delayMs > 0) {
      const at = Date.now() + delayMs;
      // Keep the earliest pending wake-up: a later one would delay a retry that is already due.
      if (state.timer && state.timerAt <= at) return;
      if (state.timer) clearTimeout(state.timer);
      state.timerAt = at;
      state.timer = setTimeout(() => {
        state.timer = null;
        this.enqueue(key);
      }, delayMs);
      return;
    }
    if (state.running) {
      state.dirty = true;
      return;
    }
    state.running = this.run(key, state);
  }

  /** Keys being reconciled now or due to run (a delayed retry or requeue is not counted). */
  depth(): number {
    let n = 0;
    for (const state of this.keys.values()) if (state.running) n += 1;
    return n;
  }

  /** Stops taking work and waits for the reconciles in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    const running: Promise<void>[] = [];
    for (const state of this.keys.values()) {
      if (state.timer) clearTimeout(state.timer);
      state.timer = null;
      if (state.running) running.push(state.running);
    }
    await Promise.all(running);
  }

  private async run(key: string, state: KeyState): Promise<void> {
    let again = true;
    while (again && !this.stopped) {
      state.dirty = false;
      try {
        const result = await this.handler(key);
        state.failures = 0;
        if (result?.requeueAfterMs !== undefined) this.enqueue(key, result.requeueAfterMs);
      } catch (error) {
        state.failures += 1;
        const delay = Math.min(this.maxRetryMs, this.baseRetryMs * 2 ** (state.failures - 1));
        this.options.logger?.warn({ err: error, key, failures: state.failures, retryInMs: delay }, 'reconcile failed');
        this.enqueue(key, delay);
      }
      again = state.dirty;
    }
    state.running = null;
  }

  private stateOf(key: string): KeyState {
    let state = this.keys.get(key);
    if (!state) {
      state = { running: null, dirty: false, timer: null, timerAt: 0, failures: 0 };
      this.keys.set(key, state);
    }
    return state;
  }
}
