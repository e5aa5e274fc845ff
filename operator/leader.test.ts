/**
 * Leader election over a Lease: of two operator replicas only the holder reconciles; when it
 * stops (cleanly, or as if it crashed and never released the Lease) the other takes over within
 * the lease duration and carries on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startKubeFixture, waitFor, type KubeFixture } from '../test/fakes/kube-fixture.ts';

let kube: KubeFixture | undefined;
let dir: string | undefined;

afterEach(async () => {
  await kube?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  kube = dir = undefined;
});

const LEASE_SECONDS = 2;

function lease(k: KubeFixture) {
  return k.server.store.get(k.server.resource('coordination.k8s.io', 'leases'), 'stratus', 'stratus-operator').spec as {
    holderIdentity?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

describe.each([
  { stop: 'cleanly (releasing the Lease)', release: true },
  { stop: 'as if it crashed (Lease left to expire)', release: false },
])('leader election, the leader stopping $stop', ({ release }) => {
  it('lets only the leader reconcile, and the other replica takes over', async () => {
    kube = await startKubeFixture();
    dir = await mkdtemp(path.join(tmpdir(), 'stratus-operator-'));
    kube.createBackend('a', { type: 'local', path: path.join(dir, 'a'), default: true });
    const one = kube.startOperator('operator-one');
    const two = kube.startOperator('operator-two');
    await waitFor(() => one.isLeader || two.isLeader, 'a leader');
    const [leader, follower] = one.isLeader ? [one, two] : [two, one];
    await waitFor(() => kube?.routing()?.default === 'a', 'a published');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(follower.isLeader).toBe(false);
    expect(follower.reconciles).toBe(0);
    expect(leader.reconciles).toBeGreaterThan(0);
    const held = lease(kube);
    expect(held.holderIdentity).toBe(leader === one ? 'operator-one' : 'operator-two');
    expect(held.renewTime).toMatch(/\.\d{6}Z$/);

    await leader.stop({ release });
    const stoppedAt = Date.now();
    await waitFor(() => follower.isLeader, 'the follower to lead', 10_000);
    const takeover = Date.now() - stoppedAt;
    // Within the lease duration (plus one retry period to notice).
    expect(takeover).toBeLessThan(LEASE_SECONDS * 1000 + 500);
    if (release) expect(takeover).toBeLessThan(1000);
    expect(lease(kube).holderIdentity).toBe(leader === one ? 'operator-two' : 'operator-one');
    expect(lease(kube).leaseTransitions).toBe(1);

    const before = leader.reconciles;
    kube.createBackend('b', { type: 'local', path: path.join(dir, 'b') });
    await waitFor(() => kube?.routing()?.backends.some((b) => b.name === 'b'), 'b published by the new leader');
    expect(follower.reconciles).toBeGreaterThan(0);
    expect(leader.reconciles).toBe(before);
  });
});
