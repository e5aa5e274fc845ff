/**
 * The operator's Prometheus metrics (prom-client, its own registry): reconcile counts by result and
 * their durations, the work queue's depth, whether this replica leads and whether its watch runs.
 * Gauges are read from the operator when scraped, so they can never go stale.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface OperatorState {
  readonly isLeader: boolean;
  queueDepth(): number;
  watchRunning(): boolean;
}

export function createOperatorMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'stratus_operator_' });
  return {
    registry,
    reconciles: new Counter({
      name: 'stratus_operator_reconciles_total',
      help: 'Reconciles run by this replica, by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: 'stratus_operator_reconcile_duration_seconds',
      help: 'Duration of one reconcile (a backend or the routing step)',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
      registers: [registry],
    }),
    /** Wires the gauges to an operator's live state (once, when the operator exists). */
    observe(state: OperatorState): void {
      new Gauge({ name: 'stratus_operator_leader', help: '1 while this replica holds the Lease', registers: [registry], collect() { this.set(state.isLeader ? 1 : 0); } });
      new Gauge({ name: 'stratus_operator_queue_depth', help: 'Keys waiting or being reconciled now (delayed retries not counted)', registers: [registry], collect() { this.set(state.queueDepth()); } });
      new Gauge({ name: 'stratus_operator_watch_running', help: '1 while the StorageBackend list+watch is synced and healthy (leader only)', registers: [registry], collect() { this.set(state.watchRunning() ? 1 : 0); } });
    },
  };
}

export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;
