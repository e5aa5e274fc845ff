/**
 * The operator process's moving parts: campaign for the Lease; while leading, list+watch
 * StorageBackends into the keyed work queue that runs the Reconciler. Losing the lease stops the
 * watch and the queue (waiting for reconciles in flight) and drops the term's caches, so two
 * replicas never reconcile at once and a new term starts from what the API server says.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../internal/platform/logger.ts';
import type { BlobInventory } from './blob-inventory.ts';
import { KubeClient } from './kube-client.ts';
import { LeaderElector } from './leader-election.ts';
import { ListWatch } from './list-watch.ts';
import { createOperatorMetrics, type OperatorMetrics } from './metrics.ts';
import { Reconciler, ROUTING_WORK } from './reconciler.ts';
import type { StorageBackend } from './types.ts';
import { WorkQueue } from './work-queue.ts';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  identity: string;
  leaseName: string;
  inventory: BlobInventory;
  logger: Logger;
  leaseDurationSeconds?: number;
  retryPeriodMs?: number;
  probeIntervalMs?: number;
  failedProbeIntervalMs?: number;
  probeTimeoutMs?: number;
  deletionPollMs?: number;
  /** First retry delay of a failed reconcile (doubles up to a minute). */
  retryBaseMs?: number;
  /** Default: a registry of its own (served by health.server.ts). */
  metrics?: OperatorMetrics;
}

interface Term {
  queue: WorkQueue;
  watch: ListWatch<StorageBackend>;
}

export class Operator {
  private readonly client: KubeClient;
  private readonly elector: LeaderElector;
  private term: Term | null = null;
  /** Reconciles run by this instance (tests check that a follower runs none). */
  reconciles = 0;
  readonly metrics: OperatorMetrics;

  constructor(private readonly o: OperatorOptions) {
    this.client = new KubeClient(o.kubeConfig);
    this.metrics = o.metrics ?? createOperatorMetrics();
    this.metrics.observe(this);
    this.elector = new LeaderElector({
      client: this.client,
      namespace: o.namespace,
      name: o.leaseName,
      identity: o.identity,
      leaseDurationSeconds: o.leaseDurationSeconds ?? 15,
      ...(o.retryPeriodMs !== undefined ? { retryPeriodMs: o.retryPeriodMs } : {}),
      logger: o.logger,
      onStartedLeading: () => this.lead(),
      onStoppedLeading: () => this.follow(),
    });
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  start(): void {
    this.elector.start();
  }

  queueDepth(): number {
    return this.term?.queue.depth() ?? 0;
  }

  /** The leader's StorageBackend list+watch is synced and streaming (false on a follower). */
  watchRunning(): boolean {
    return this.term?.watch.healthy ?? false;
  }

  /** One cheap authenticated read (the election's own Lease): throws when the API server does not answer it. */
  async checkApiServer(): Promise<void> {
    await this.client.readLease(this.o.namespace, this.o.leaseName);
  }

  /** `release: false` imitates a crash: the Lease stays held until it expires. */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    await this.elector.stop(options);
    await this.follow();
  }

  private lead(): void {
    const o = this.o;
    const queue: WorkQueue = new WorkQueue(
      async (key) => {
        this.reconciles += 1;
        const stopTimer = this.metrics.reconcileDuration.startTimer();
        try {
          const result = await reconciler.reconcile(key);
          this.metrics.reconciles.inc({ result: 'success' });
          return result;
        } catch (error) {
          this.metrics.reconciles.inc({ result: 'error' });
          throw error;
        } finally {
          stopTimer();
        }
      },
      { baseRetryMs: o.retryBaseMs ?? 500, logger: o.logger },
    );
    const reconciler = new Reconciler({
      client: this.client,
      namespace: o.namespace,
      inventory: o.inventory,
      logger: o.logger,
      enqueue: (key, delayMs) => queue.enqueue(key, delayMs),
      probeIntervalMs: o.probeIntervalMs ?? 60_000,
      failedProbeIntervalMs: o.failedProbeIntervalMs ?? 10_000,
      probeTimeoutMs: o.probeTimeoutMs ?? 15_000,
      deletionPollMs: o.deletionPollMs ?? 15_000,
      onProbe: (backend, ok) => this.metrics.backendReady.set({ backend }, ok ? 1 : 0),
      onForget: (backend) => this.metrics.backendReady.remove({ backend }),
    });
    const watch = new ListWatch<StorageBackend>({
      config: o.kubeConfig,
      path: this.client.backendsPath(o.namespace),
      list: () => this.client.listBackends(o.namespace),
      handlers: {
        upsert: (b) => queue.enqueue(b.metadata.name),
        remove: (b) => queue.enqueue(b.metadata.name),
      },
      logger: o.logger,
    });
    this.term = { queue, watch };
    void watch.start();
    // Also when no backend exists yet: the routing step reads the published file to learn the
    // previous default.
    queue.enqueue(ROUTING_WORK);
  }

  private async follow(): Promise<void> {
    const term = this.term;
    this.term = null;
    // Probes are the leader's: a follower reports none rather than a stale term's.
    this.metrics.backendReady.reset();
    if (!term) return;
    await term.watch.stop();
    await term.queue.stop();
  }
}
