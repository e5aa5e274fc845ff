/** Prometheus metrics of the transfer worker, on the process registry (served at /metrics). */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { JobQueue } from '../platform/mq/queue.ts';

export function createTransferMetrics(registry: Registry, queue: JobQueue) {
  return {
    depth: new Gauge({
      name: 'stratus_transfer_queue_depth',
      help: 'Transfer jobs waiting: ready for a worker, waiting out a retry delay, or dead-lettered',
      labelNames: ['state'],
      registers: [registry],
      // Read at scrape time; a broker that cannot answer leaves the last values.
      async collect() {
        const depth = await queue.depth().catch(() => undefined);
        if (!depth) return;
        this.set({ state: 'ready' }, depth.ready);
        this.set({ state: 'retrying' }, depth.retrying);
        this.set({ state: 'dead' }, depth.dead);
      },
    }),
    bytes: new Counter({
      name: 'stratus_transfer_bytes_total',
      help: 'Bytes copied between backends (rate() of it is the throughput)',
      labelNames: ['from', 'to'],
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'stratus_transfer_jobs_total',
      help: 'Transfer runs by outcome: moved, copied, skipped (nothing to do), retry, failed (dead-lettered)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    failures: new Counter({
      name: 'stratus_transfer_failures_total',
      help: 'Transfer runs that threw, by backend pair',
      labelNames: ['from', 'to'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'stratus_transfer_duration_seconds',
      help: 'Duration of successful transfer runs',
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 1800],
      registers: [registry],
    }),
  };
}

export type TransferMetrics = ReturnType<typeof createTransferMetrics>;
