/**
 * The operator's registry beyond reconciles: stratus_build_info, the default process metrics
 * without a prefix (as stock dashboards query them), and stratus_operator_backend_ready{backend}
 * from the leader's probes (a backend that answers 1, one that cannot 0; nothing on a follower),
 * against the in-process fake API server with real probes of local backends.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { STRATUS_VERSION } from '../internal/platform/build-info.ts';
import { startKubeFixture, waitFor, type KubeFixture } from '../test/fakes/kube-fixture.ts';
import { loadOperatorConfig } from './config.ts';
import { createOperatorMetrics } from './metrics.ts';

let kube: KubeFixture | undefined;
let dir: string | undefined;

afterEach(async () => {
  await kube?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  kube = dir = undefined;
});

function value(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('operator metrics', () => {
  it('shows the build (commit from STRATUS_COMMIT) and the process metrics without a prefix', async () => {
    const commit = loadOperatorConfig({ STRATUS_COMMIT: '0123abc' }).commit;
    expect(loadOperatorConfig({}).commit).toBe('unknown');
    expect(() => loadOperatorConfig({ STRATUS_COMMIT: 'a b' })).toThrow(/STRATUS_COMMIT/);
    const text = await createOperatorMetrics({ commit }).registry.metrics();
    expect(value(text, 'stratus_build_info', `version="${STRATUS_VERSION}",commit="0123abc"`)).toBe(1);
    expect(value(text, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(value(text, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).not.toMatch(/^stratus_operator_(process|nodejs)_/m);
  });

  it("reports each backend's last probe on the leader, and nothing once it stops leading", async () => {
    kube = await startKubeFixture();
    dir = await mkdtemp(path.join(tmpdir(), 'stratus-operator-metrics-'));
    // A regular file where the backend's folder should be: its probe cannot write.
    await writeFile(path.join(dir, 'blocked'), 'not a folder');
    kube.createBackend('good', { type: 'local', path: path.join(dir, 'good'), default: true });
    kube.createBackend('bad', { type: 'local', path: path.join(dir, 'blocked', 'inside') });
    const metrics = createOperatorMetrics();
    const operator = kube.startOperator('operator-metrics', { metrics });
    const ready = async (backend: string) => value(await metrics.registry.metrics(), 'stratus_operator_backend_ready', `backend="${backend}"`);
    await waitFor(async () => (await ready('good')) === 1 && (await ready('bad')) === 0, 'both backends probed');
    await operator.stop();
    const after = await metrics.registry.metrics();
    expect(after).not.toContain('stratus_operator_backend_ready{');
  });
});
