/**
 * The `stratus.io/blobs` finalizer: deleting a StorageBackend that still holds blobs leaves it in
 * place (Terminating, or Draining with `migrate: true`, when the move is enqueued and the routing
 * file marks it draining), until the blob inventory says zero.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { condition, startKubeFixture, waitFor, type KubeFixture } from '../test/fakes/kube-fixture.ts';
import { FINALIZER } from './types.ts';

let kube: KubeFixture | undefined;
let dir: string | undefined;

afterEach(async () => {
  await kube?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  kube = dir = undefined;
});

async function twoBackends(): Promise<KubeFixture> {
  const k = await startKubeFixture();
  dir = await mkdtemp(path.join(tmpdir(), 'stratus-operator-'));
  k.createBackend('primary', { type: 'local', path: path.join(dir, 'primary'), default: true });
  k.createBackend('old', { type: 'local', path: path.join(dir, 'old'), migrate: true });
  k.startOperator();
  await waitFor(() => k.routing()?.backends.length === 2, 'both published');
  await waitFor(() => k.backend('old')?.metadata.finalizers?.includes(FINALIZER), 'the finalizer on old');
  return k;
}

describe('deletion with blobs remaining', () => {
  it('with migrate: true publishes the backend as draining, enqueues the move, and lets go at zero', async () => {
    kube = await twoBackends();
    kube.inventory.set('old', 3);
    kube.deleteBackend('old');

    await waitFor(() => kube?.routing()?.backends.find((b) => b.name === 'old')?.state === 'draining', 'old draining');
    expect(kube.routing()?.default).toBe('primary');
    await waitFor(() => kube?.inventory.migrations.length, 'the migration enqueued');
    expect(kube.inventory.migrations).toEqual([{ backend: 'old', to: 'primary' }]);
    // The migration is enqueued before the status that says so is written; until then the status
    // may still be the earlier Draining/WaitingForDefault (written before the routing said draining).
    const draining = await waitFor(() => {
      const b = kube?.backend('old');
      return b?.status?.phase === 'Draining' && condition(b, 'Ready')?.reason === 'Draining' ? b : null;
    }, 'old Draining');
    expect(draining.status?.objectCount).toBe(3);
    expect(condition(draining, 'Ready')).toMatchObject({ status: 'False', reason: 'Draining' });
    expect(draining.metadata.deletionTimestamp).toBeTruthy();

    // Blobs move away; the object stays until the last one is gone.
    kube.inventory.set('old', 1);
    await waitFor(() => kube?.backend('old')?.status?.objectCount === 1, 'objectCount 1');
    expect(kube.backend('old')).not.toBeNull();
    kube.inventory.set('old', 0);
    await waitFor(() => kube?.backend('old') === null, 'old deleted once empty');
    await waitFor(() => kube?.routing()?.backends.length === 1, 'old gone from the routing file');
    expect(kube.routing()?.backends.map((b) => b.name)).toEqual(['primary']);
    expect(kube.inventory.migrations).toHaveLength(1);
  });

  it('without migrate holds the deletion, keeps the backend readable (readonly) and warns', async () => {
    kube = await twoBackends();
    kube.patchSpec('old', { migrate: false });
    kube.inventory.set('old', 2);
    kube.deleteBackend('old');
    await waitFor(() => kube?.backend('old')?.status?.phase === 'Terminating', 'old Terminating');
    await waitFor(() => kube?.routing()?.backends.find((b) => b.name === 'old')?.state === 'readonly', 'old readonly');
    expect(condition(kube.backend('old'), 'Ready')).toMatchObject({ status: 'False', reason: 'BlobsRemaining' });
    expect(kube.events().some((e) => e.reason === 'DeletionBlocked' && e.involvedObject.name === 'old')).toBe(true);
    expect(kube.inventory.migrations).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(kube.backend('old')).not.toBeNull();
    kube.inventory.set('old', 0);
    await waitFor(() => kube?.backend('old') === null, 'old deleted once empty');
  });

  it('deletes a backend without blobs at once', async () => {
    kube = await twoBackends();
    kube.deleteBackend('old');
    await waitFor(() => kube?.backend('old') === null, 'old deleted');
    await waitFor(() => kube?.routing()?.backends.length === 1, 'old unpublished');
  });
});
