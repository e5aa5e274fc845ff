/**
 * The operator's Prometheus metrics (prom-client, its own registry): reconcile counts by result and
 * their durations, the work queue's depth, whether this replica leads and whether its watch runs,
 * each backend's last probe (leader only), the build, and the default process metrics without a
 * prefix (`process_cpu_seconds_total`, `nodejs_eventloop_lag_seconds`, … as stock dashboards expect).
 * Gauges are read from the operator when scraped, so they can never go stale.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerBuildInfo } from '../internal/platform/build-info.ts';

export interface OperatorState {
  readonly isLeader: boolean;
  queueDepth(): number;
  watchRunning(): boolean;
}

export interface OperatorMetricsOptions {
  /** STRATUS_COMMIT, for stratus_build_info. */
  commit?: string;
}

export function createOperatorMetrics(options: OperatorMetricsOptions = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  registerBuildInfo(registry, options.commit ?? 'unknown');
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
    /** Set by the reconciler after each probe; cleared when this replica stops leading. */
    backendReady: new Gauge({
      name: 'stratus_operator_backend_ready',
      help: "1 when the backend's last probe passed, 0 when it failed (reported by the leader)",
      labelNames: ['backend'],
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
