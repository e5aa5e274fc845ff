/**
 * The list+watch loop survives what real clusters do to long-lived watches: streams cut mid-run
 * (resumed from the last resourceVersion or bookmark) and a history compacted past the version it
 * holds (410 Gone: re-list, and learn about deletions that happened meanwhile).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../internal/platform/logger.ts';
import { startKubeFixture, waitFor, type KubeFixture } from '../test/fakes/kube-fixture.ts';
import { KubeClient } from './kube-client.ts';
import { ListWatch } from './list-watch.ts';
import type { StorageBackend } from './types.ts';

let kube: KubeFixture | undefined;
let dir: string | undefined;

afterEach(async () => {
  await kube?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  kube = dir = undefined;
});

const routingNames = (k: KubeFixture) => k.routing()?.backends.map((b) => b.name) ?? [];

describe('watch restarts', () => {
  it('keeps reconciling after every watch is dropped mid-run', async () => {
    kube = await startKubeFixture();
    dir = await mkdtemp(path.join(tmpdir(), 'stratus-operator-'));
    kube.createBackend('a', { type: 'local', path: path.join(dir, 'a'), default: true });
    kube.startOperator();
    await waitFor(() => kube?.routing()?.default === 'a', 'a published');
    await waitFor(() => kube?.server.watchCount() === 1, 'the watch open');

    kube.server.dropWatches();
    kube.createBackend('b', { type: 'local', path: path.join(dir, 'b') });
    await waitFor(() => routingNames(kube!).includes('b'), 'b published after the watch was dropped');

    kube.server.dropWatches();
    await waitFor(() => kube?.server.watchCount() === 1, 'the watch re-opened');
    kube.patchSpec('b', { state: 'readonly' });
    await waitFor(() => kube?.routing()?.backends.find((b) => b.name === 'b')?.state === 'readonly', 'b readonly');
    // Resumed from a resourceVersion: no watch after the first started from scratch.
    const watches = kube.server.requests.filter((r) => r.path.includes('watch=true'));
    expect(watches.length).toBeGreaterThanOrEqual(2);
    expect(watches.slice(1).every((r) => /resourceVersion=[1-9]/.test(r.path))).toBe(true);
  });

  it('re-lists after 410 Gone and reports what was deleted meanwhile', async () => {
    kube = await startKubeFixture({ bookmarkIntervalMs: 60_000 });
    const client = new KubeClient(kube.kubeConfig);
    const seen = new Map<string, string>();
    const removed: string[] = [];
    const watch = new ListWatch<StorageBackend>({
      config: kube.kubeConfig,
      path: client.backendsPath('stratus'),
      list: () => client.listBackends('stratus'),
      handlers: {
        upsert: (b) => seen.set(b.metadata.name, b.metadata.resourceVersion ?? ''),
        remove: (b) => removed.push(b.metadata.name),
      },
      logger: createLogger({ level: 'silent' }),
    });
    try {
      kube.createBackend('x', { type: 'local', path: '/tmp/x' });
      kube.createBackend('y', { type: 'local', path: '/tmp/y' });
      await watch.start();
      await waitFor(() => kube?.server.watchCount() === 1, 'the watch open');
      expect([...seen.keys()].sort()).toEqual(['x', 'y']);

      // While nobody watches: a change, a deletion, and a compaction of the history.
      kube.server.dropWatches();
      kube.patchSpec('x', { state: 'draining' });
      kube.deleteBackend('y');
      kube.server.expireHistory();
      const lists = () => kube!.server.requests.filter((r) => r.method === 'GET' && !r.path.includes('watch=true')).length;
      const listsBefore = lists();

      await waitFor(() => removed.includes('y'), 'y reported deleted after the re-list');
      expect(lists()).toBeGreaterThan(listsBefore);
      expect(seen.get('x')).toBe(kube.backend('x')?.metadata.resourceVersion);
      await waitFor(() => kube?.server.watchCount() === 1, 'watching again');
      kube.createBackend('z', { type: 'local', path: '/tmp/z' });
      await waitFor(() => seen.has('z'), 'z seen after the re-list');
    } finally {
      await watch.stop();
    }
  });

  it('asks for bookmarks and resumes from a bookmark version', async () => {
    kube = await startKubeFixture({ bookmarkIntervalMs: 50 });
    const client = new KubeClient(kube.kubeConfig);
    const watch = new ListWatch<StorageBackend>({
      config: kube.kubeConfig,
      path: client.backendsPath('stratus'),
      list: () => client.listBackends('stratus'),
      handlers: { upsert: () => undefined, remove: () => undefined },
      logger: createLogger({ level: 'silent' }),
    });
    try {
      await watch.start();
      await waitFor(() => kube?.server.watchCount() === 1, 'the watch open');
      // Unrelated writes move the cluster's resourceVersion; only a bookmark tells the watcher.
      kube.createSecret('unrelated', { a: 'b' });
      const version = kube.server.store.resourceVersion;
      await new Promise((resolve) => setTimeout(resolve, 200));
      kube.server.dropWatches();
      await waitFor(() => kube?.server.watchCount() === 1, 'watching again');
      const watches = kube.server.requests.filter((r) => r.path.includes('watch=true'));
      expect(watches[0]?.path).toContain('allowWatchBookmarks=true');
      expect(watches.at(-1)?.path).toContain(`resourceVersion=${version}`);
    } finally {
      await watch.stop();
    }
  });
});
