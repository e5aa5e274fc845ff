/**
 * Leader election over a coordination.k8s.io/v1 Lease (client-node has none built in), after
 * client-go's algorithm:
 * - create the Lease if absent (409 AlreadyExists: someone else was faster);
 * - otherwise take it over only when it has no holder or it has not been renewed for
 *   leaseDurationSeconds. "Not renewed" is measured on OUR clock, from when we last saw the record
 *   change, never by comparing the holder's renewTime with our clock (clocks skew);
 * - every replace carries the resourceVersion read, so of two candidates one wins and one gets 409;
 * - the leader renews every retry period and steps down when it has not managed to for
 *   renewDeadline (shorter than the lease, so it stops before anyone else may start), or when it
 *   sees another holder;
 * - on a clean stop the leader releases the Lease so a successor need not wait it out.
 * Times are MicroTime: the API server refuses a renewTime without 6 fractional digits.
 */
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../internal/platform/logger.ts';
import { isConflict, type KubeClient } from './kube-client.ts';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  /** Default 2/3 of the lease duration. */
  renewDeadlineMs?: number;
  /** How often to try to acquire or renew; default 1/5 of the lease duration. */
  retryPeriodMs?: number;
  logger: Logger;
  onStartedLeading: () => Promise<void> | void;
  onStoppedLeading: () => Promise<void> | void;
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private lastRenew = 0;
  private observedRecord = '';
  private observedAt = 0;
  private wake: (() => void) | null = null;

  constructor(private readonly o: LeaderElectionOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops campaigning; a leader steps down and (unless `release` is false) frees the Lease. */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (this.leading) {
      await this.stepDown();
      if (options.release !== false) await this.release();
    }
  }

  private async run(): Promise<void> {
    const durationMs = this.o.leaseDurationSeconds * 1000;
    const renewDeadline = this.o.renewDeadlineMs ?? (durationMs * 2) / 3;
    while (!this.stopped) {
      let held: boolean | 'lost';
      try {
        held = await this.tryAcquireOrRenew();
      } catch (error) {
        this.o.logger.warn({ err: error }, 'lease request failed');
        held = false;
      }
      if (this.stopped) break;
      if (held === true) {
        this.lastRenew = Date.now();
        if (!this.leading) {
          this.leading = true;
          this.o.logger.info({ identity: this.o.identity, lease: this.o.name }, 'became leader');
          await this.o.onStartedLeading();
        }
      } else if (this.leading && (held === 'lost' || Date.now() - this.lastRenew > renewDeadline)) {
        this.o.logger.warn({ identity: this.o.identity }, 'lost the lease: stepping down');
        await this.stepDown();
      }
      await this.sleep(this.o.retryPeriodMs ?? durationMs / 5);
    }
  }

  /** true: we hold it now; false: we do not (or could not tell); 'lost': someone else holds it. */
  private async tryAcquireOrRenew(): Promise<boolean | 'lost'> {
    const { client, namespace, name, identity } = this.o;
    const now = new V1MicroTime(Date.now());
    const lease = await client.readLease(namespace, name);
    if (!lease) {
      return conflictAsFalse(() => client.createLease(namespace, {
        metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: this.o.leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
      }));
    }
    if (this.heldByAnother(lease)) return 'lost';
    return conflictAsFalse(() => client.replaceLease(namespace, this.claimed(lease, now)));
  }

  /** Another holder whose record (holder, renewTime) changed within the lease duration, by OUR clock. */
  private heldByAnother(lease: V1Lease): boolean {
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const record = `${holder}|${String(spec.renewTime)}`;
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = Date.now();
    }
    const durationMs = (spec.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000;
    return holder !== '' && holder !== this.o.identity && Date.now() < this.observedAt + durationMs;
  }

  /** The lease renewed by us (ours already) or taken over (one more transition). */
  private claimed(lease: V1Lease, now: V1MicroTime): V1Lease {
    const spec = lease.spec ?? {};
    const ours = spec.holderIdentity === this.o.identity;
    return {
      ...lease,
      spec: {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: this.o.leaseDurationSeconds,
        acquireTime: ours && spec.acquireTime ? spec.acquireTime : now,
        renewTime: now,
        leaseTransitions: ours ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
  }

  private async stepDown(): Promise<void> {
    this.leading = false;
    try {
      await this.o.onStoppedLeading();
    } catch (error) {
      this.o.logger.error({ err: error }, 'stopping the leader work failed');
    }
  }

  private async release(): Promise<void> {
    try {
      const lease = await this.o.client.readLease(this.o.namespace, this.o.name);
      if (!lease || lease.spec?.holderIdentity !== this.o.identity) return;
      const now = new V1MicroTime(Date.now());
      await this.o.client.replaceLease(this.o.namespace, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now },
      });
    } catch (error) {
      this.o.logger.warn({ err: error }, 'could not release the lease');
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** true once the write went through; false when another writer got there first (409). */
async function conflictAsFalse(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConflict(error)) return false;
    throw error;
  }
}
