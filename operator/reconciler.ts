/**
 * Reconciles StorageBackends. Two kinds of work items, each serialized by the WorkQueue:
 * - a backend's name: finalizer, Secret, live probe, status (and, while deleting, the blob wait);
 * - ROUTING_WORK: the cluster-wide part — elect the one default and publish the routing file.
 *   It runs after any probe result or spec changes and tells the backends whose `Default`
 *   condition or published state changed to reconcile again, so only a backend's own work item
 *   ever writes its status (no two writers racing on one object).
 * State kept here (probe results, decisions) is a cache of this leadership term: a new leader
 * re-probes everything before it publishes anything.
 */
import type { Logger } from '../internal/platform/logger.ts';
import type { BackendState } from '../internal/storage/routing/routing-config.ts';
import type { BlobInventory } from './blob-inventory.ts';
import { findCondition, sameStatus, type ConditionInput } from './conditions.ts';
import { electDefault, type Candidate } from './default-election.ts';
import { finalizerPatch, statusOf, type DeletionState, type ProbeRecord } from './backend-status.ts';
import { isConflict, isNotFound, type EventInput, type KubeClient } from './kube-client.ts';
import { backendConfigOf, probeBackend } from './probe.ts';
import { buildRouting, RoutingPublisher } from './routing-publisher.ts';
import { FINALIZER, type StorageBackend, type StorageBackendStatus } from './types.ts';
import type { ReconcileResult } from './work-queue.ts';

/** Not a valid object name ('#'), so it can never collide with a backend's key. */
export const ROUTING_WORK = '#routing';

export interface ReconcilerOptions {
  client: KubeClient;
  namespace: string;
  inventory: BlobInventory;
  logger: Logger;
  enqueue: (key: string, delayMs?: number) => void;
  /** A Ready backend is probed again this often (and at once when its spec or Secret changes). */
  probeIntervalMs: number;
  /** A failing backend is probed again sooner, so a fixed Secret or endpoint shows up quickly. */
  failedProbeIntervalMs: number;
  probeTimeoutMs: number;
  /** How often a deletion waiting for blobs asks the inventory again. */
  deletionPollMs: number;
  /** Each probe's outcome, and a backend gone (stratus_operator_backend_ready). */
  onProbe?: (backend: string, ok: boolean) => void;
  onForget?: (backend: string) => void;
}

const hasFinalizer = (b: StorageBackend): boolean => b.metadata.finalizers?.includes(FINALIZER) ?? false;

export class Reconciler {
  private readonly probes = new Map<string, ProbeRecord>();
  private readonly decisions = new Map<string, ConditionInput>();
  private readonly migrations = new Map<string, string>();
  private readonly warned = new Set<string>();
  private publishedStates = new Map<string, BackendState>();
  private currentDefault: string | null = null;
  private previousLoaded = false;
  private readonly publisher: RoutingPublisher;

  constructor(private readonly o: ReconcilerOptions) {
    this.publisher = new RoutingPublisher(o.client, o.namespace, o.logger);
  }

  async reconcile(key: string): Promise<ReconcileResult | void> {
    if (key === ROUTING_WORK) return this.reconcileRouting();
    const backend = await this.o.client.getBackend(this.o.namespace, key);
    if (!backend) {
      this.forget(key);
      this.o.enqueue(ROUTING_WORK);
      return;
    }
    if (backend.metadata.deletionTimestamp) return this.reconcileDeletion(backend);
    const current = hasFinalizer(backend) ? backend : await this.addFinalizer(backend);
    const probe = await this.probe(current);
    await this.writeStatus(current, (b) => statusOf(b, probe, this.decisions.get(key), null));
    return { requeueAfterMs: Math.max(1, probe.at + this.intervalOf(probe) - Date.now()) };
  }

  private async reconcileDeletion(backend: StorageBackend): Promise<ReconcileResult | void> {
    const name = backend.metadata.name;
    if (!hasFinalizer(backend)) return; // Another controller's finalizers: not ours to wait on.
    const probe = await this.probe(backend);
    const count = await this.o.inventory.countBlobs(name);
    if (count === 0) {
      await this.patchFinalizers(backend, (finalizers) => finalizers.filter((f) => f !== FINALIZER));
      this.forget(name);
      this.o.enqueue(ROUTING_WORK);
      this.o.logger.info({ backend: name }, 'no blob left: finalizer removed');
      return;
    }
    // The routing file must stop sending uploads here before anything moves.
    if (!this.publishedStates.has(name) || this.publishedStates.get(name) === 'active') this.o.enqueue(ROUTING_WORK);
    let deletion: DeletionState;
    if (backend.spec.migrate) {
      const target = this.currentDefault;
      if (target !== null && target !== name && this.publishedStates.get(name) === 'draining') {
        if (this.migrations.get(name) !== target) {
          await this.o.inventory.enqueueMigration(name, target);
          this.migrations.set(name, target);
          await this.event({ backend, type: 'Normal', reason: 'MigrationEnqueued', message: `Moving ${count} blobs to "${target}".` });
        }
        deletion = { phase: 'Draining', reason: 'Draining', message: `${count} blobs remain; they are being moved to "${target}".`, objectCount: count };
      } else {
        deletion = { phase: 'Draining', reason: 'WaitingForDefault', message: `${count} blobs remain; waiting for another default backend to move them to.`, objectCount: count };
      }
    } else {
      deletion = { phase: 'Terminating', reason: 'BlobsRemaining', message: `${count} blobs remain; set spec.migrate: true to move them elsewhere.`, objectCount: count };
      if (!this.warned.has(name)) {
        this.warned.add(name);
        await this.event({ backend, type: 'Warning', reason: 'DeletionBlocked', message: deletion.message });
      }
    }
    await this.writeStatus(backend, (b) => statusOf(b, probe, this.decisions.get(name), deletion));
    return { requeueAfterMs: this.o.deletionPollMs };
  }

  private async reconcileRouting(): Promise<ReconcileResult | void> {
    await this.loadPublished();
    const { items } = await this.o.client.listBackends(this.o.namespace);
    const ours = items.filter((b) => !b.metadata.deletionTimestamp || hasFinalizer(b));
    // Publish only once every backend has been probed at its current generation: a partial file
    // (say, right after a leader change) would hide backends that hold blobs.
    const pending = ours.filter((b) => this.probes.get(b.metadata.name)?.generation !== (b.metadata.generation ?? 0));
    if (pending.length > 0) {
      this.o.logger.debug({ pending: pending.map((b) => b.metadata.name) }, 'routing waits for probes');
      return;
    }
    const election = electDefault(ours.map((b) => this.candidateOf(b)), this.currentDefault);
    const states = election.winner !== null ? await this.publishRouting(ours, election.winner) : this.publishedStates;
    for (const b of ours) {
      const name = b.metadata.name;
      const decision = election.conditions.get(name);
      const changedDecision = decision && JSON.stringify(decision) !== JSON.stringify(this.decisions.get(name));
      if (decision) this.decisions.set(name, decision);
      const stale = decision && JSON.stringify(decision) !== JSON.stringify(pick(findCondition(b.status, 'Default')));
      if (changedDecision || stale || states.get(name) !== this.publishedStates.get(name)) this.o.enqueue(name);
    }
    this.publishedStates = states;
  }

  /** Once per leadership: the default and states of the routing file as published before. */
  private async loadPublished(): Promise<void> {
    if (this.previousLoaded) return;
    const published = await this.publisher.current();
    this.currentDefault = published?.default ?? null;
    this.publishedStates = new Map(published?.backends.map((b) => [b.name, b.state]) ?? []);
    this.previousLoaded = true;
  }

  private candidateOf(b: StorageBackend): Candidate {
    return {
      name: b.metadata.name,
      createdAt: Date.parse(String(b.metadata.creationTimestamp ?? '')) || 0,
      claimsDefault: b.spec.default === true,
      ready: this.probes.get(b.metadata.name)?.result.ok ?? false,
      deleting: Boolean(b.metadata.deletionTimestamp),
      state: b.spec.state ?? 'active',
    };
  }

  /** Publishes the routing file with `winner` as default; returns the published states. */
  private async publishRouting(ours: StorageBackend[], winner: string): Promise<Map<string, BackendState>> {
    const entries = ours.flatMap((b) => {
      const config = this.probes.get(b.metadata.name)?.config;
      if (!config || !this.probes.get(b.metadata.name)?.result.ok) return [];
      // A backend being deleted keeps serving reads: draining when its blobs are moving, else read-only.
      const state: BackendState = b.metadata.deletionTimestamp ? (b.spec.migrate ? 'draining' : 'readonly') : (b.spec.state ?? 'active');
      return [{ ...config, state, ...(b.spec.stagingFor ? { stagingFor: b.spec.stagingFor } : {}) }];
    });
    const routing = buildRouting(winner, entries);
    await this.publisher.publish(routing);
    const previous = this.currentDefault;
    this.currentDefault = winner;
    if (previous !== winner) {
      const backend = ours.find((b) => b.metadata.name === winner);
      const message = previous === null ? `"${winner}" is the default backend.` : `Default backend switched from "${previous}" to "${winner}".`;
      if (backend) await this.event({ backend, type: 'Normal', reason: 'DefaultSwitched', message });
    }
    return new Map(routing.backends.map((b) => [b.name, b.state]));
  }

  /** Cached per generation and Secret version; re-run when older than the probe interval. */
  private async probe(backend: StorageBackend): Promise<ProbeRecord> {
    const name = backend.metadata.name;
    const generation = backend.metadata.generation ?? 0;
    const ref = backend.spec.credentialsSecretRef;
    const secret = ref ? await this.o.client.readSecret(this.o.namespace, ref.name) : undefined;
    const secretVersion = secret === undefined ? '' : (secret?.resourceVersion ?? 'absent');
    const previous = this.probes.get(name);
    if (previous && this.stillValid(previous, generation, secretVersion)) return previous;
    const built = backendConfigOf(backend, secret === undefined ? undefined : (secret?.data ?? null));
    const result = built.ok ? await probeBackend(built.config, this.o.probeTimeoutMs) : { ok: false as const, reason: built.reason, message: built.message };
    const record: ProbeRecord = { generation, secretVersion, at: Date.now(), result, ...(built.ok ? { config: built.config } : {}) };
    this.probes.set(name, record);
    this.o.onProbe?.(name, result.ok);
    await this.probeChanged(backend, previous, record);
    return record;
  }

  /** Routing re-run when a probe's outcome or the generation changed; an event when the outcome did. */
  private async probeChanged(backend: StorageBackend, previous: ProbeRecord | undefined, record: ProbeRecord): Promise<void> {
    const before = previous?.result;
    const result = record.result;
    const changed = !before || before.ok !== result.ok || (!before.ok && !result.ok && before.reason !== result.reason);
    if (changed || previous?.generation !== record.generation) this.o.enqueue(ROUTING_WORK);
    if (changed && !result.ok) {
      await this.event({ backend, type: 'Warning', reason: 'ProbeFailed', message: `${result.reason}: ${result.message}` });
    } else if (changed && before && result.ok) {
      await this.event({ backend, type: 'Normal', reason: 'ProbeSucceeded', message: 'The backend answers probes again.' });
    }
  }

  private stillValid(previous: ProbeRecord, generation: number, secretVersion: string): boolean {
    const fresh = Date.now() - previous.at < this.intervalOf(previous);
    return fresh && previous.generation === generation && previous.secretVersion === secretVersion;
  }

  private intervalOf(probe: ProbeRecord): number {
    return probe.result.ok ? this.o.probeIntervalMs : Math.min(this.o.probeIntervalMs, this.o.failedProbeIntervalMs);
  }

  /** PUT /status; on 409 re-read and recompute (another writer won), a few times. */
  private async writeStatus(backend: StorageBackend, compute: (b: StorageBackend) => StorageBackendStatus): Promise<void> {
    let current = backend;
    for (let attempt = 1; ; attempt++) {
      const status = compute(current);
      if (sameStatus(current.status, status)) return;
      try {
        await this.o.client.replaceBackendStatus(current, status);
        return;
      } catch (error) {
        if (!isConflict(error) || attempt >= 5) throw error;
        const fresh = await this.o.client.getBackend(this.o.namespace, current.metadata.name);
        if (!fresh) return;
        current = fresh;
      }
    }
  }

  private async addFinalizer(backend: StorageBackend): Promise<StorageBackend> {
    return (await this.patchFinalizers(backend, (finalizers) => [...finalizers, FINALIZER])) ?? backend;
  }

  /** JSON Patch guarded by a `test` of the list read, so a concurrent change is never overwritten. */
  private async patchFinalizers(backend: StorageBackend, change: (finalizers: string[]) => string[]): Promise<StorageBackend | null> {
    let current: StorageBackend | null = backend;
    for (let attempt = 1; current; attempt++) {
      try {
        return await this.o.client.patchBackend(this.o.namespace, current.metadata.name, finalizerPatch(current, change));
      } catch (error) {
        if (isNotFound(error)) return null;
        if (attempt >= 5 || !(isConflict(error) || (error as { code?: number }).code === 422)) throw error;
        current = await this.o.client.getBackend(this.o.namespace, backend.metadata.name);
      }
    }
    return null;
  }

  private async event(input: EventInput): Promise<void> {
    try {
      await this.o.client.createEvent(input);
    } catch (error) {
      // An event is a courtesy to humans; losing one must not fail the reconcile.
      this.o.logger.warn({ err: error, reason: input.reason }, 'could not record an event');
    }
  }

  private forget(name: string): void {
    this.o.onForget?.(name);
    this.probes.delete(name);
    this.decisions.delete(name);
    this.migrations.delete(name);
    this.warned.delete(name);
  }
}

function pick(condition: ConditionInput | undefined): ConditionInput | undefined {
  return condition && { type: condition.type, status: condition.status, reason: condition.reason, message: condition.message };
}
