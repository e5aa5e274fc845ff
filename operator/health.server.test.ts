/**
 * The operator's HTTP endpoints, which the chart's startup, liveness and readiness probes ask on
 * port `http` (values.yaml probes): /healthz (alive), /readyz (API server reachable and, for the
 * leader, its StorageBackend watch running) and /metrics (reconciles, durations, queue depth,
 * leader state). Before this the operator served no HTTP at all and the kubelet would have
 * restarted it every two minutes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startKubeFixture, waitFor, type KubeFixture } from '../test/fakes/kube-fixture.ts';
import { startOperatorHealthServer, type OperatorHealthServer } from './health.server.ts';
import { loadOperatorConfig } from './config.ts';

let kube: KubeFixture | undefined;
let servers: OperatorHealthServer[] = [];
let dir: string | undefined;

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  await kube?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  kube = dir = undefined;
});

async function get(base: string, pathname: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}${pathname}`);
  return { status: res.status, text: await res.text() };
}

/** One sample of a Prometheus text exposition: `name{labels} value`. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}}` : `${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('operator health server', () => {
  it('reads its port from PORT, as the chart sets it for the probes of port http', () => {
    expect(loadOperatorConfig({ PORT: '8080' }).http).toEqual({ host: '0.0.0.0', port: 8080, metricsPort: undefined });
    expect(loadOperatorConfig({ PORT: '9000', HOST: '127.0.0.1', METRICS_PORT: '9090' }).http).toEqual({ host: '127.0.0.1', port: 9000, metricsPort: 9090 });
    expect(() => loadOperatorConfig({ PORT: 'eighty' })).toThrow(/PORT/);
  });

  it('answers /healthz, /readyz for leader and follower, and /metrics with reconciles and leader state', async () => {
    kube = await startKubeFixture();
    dir = await mkdtemp(path.join(tmpdir(), 'stratus-operator-health-'));
    kube.createBackend('a', { type: 'local', path: path.join(dir, 'a'), default: true });
    const one = kube.startOperator('operator-one');
    await waitFor(() => one.isLeader, 'operator-one leads');
    const two = kube.startOperator('operator-two');
    const leaderServer = await startOperatorHealthServer({ operator: one, port: 0, host: '127.0.0.1', logger: kube.logger });
    const followerServer = await startOperatorHealthServer({ operator: two, port: 0, host: '127.0.0.1', logger: kube.logger });
    servers.push(leaderServer, followerServer);

    expect(await get(leaderServer.url, '/healthz')).toMatchObject({ status: 200 });
    await waitFor(async () => (await get(leaderServer.url, '/readyz')).status === 200, 'leader ready');
    const leaderReady = JSON.parse((await get(leaderServer.url, '/readyz')).text) as { checks: Record<string, string> };
    expect(leaderReady.checks).toEqual({ apiServer: 'ok', leader: 'yes', watch: 'ok' });
    const followerReady = await get(followerServer.url, '/readyz');
    expect(followerReady.status).toBe(200);
    expect(JSON.parse(followerReady.text)).toMatchObject({ checks: { apiServer: 'ok', leader: 'no' } });

    await waitFor(() => kube?.routing()?.default === 'a', 'a published');
    const metrics = await get(leaderServer.url, '/metrics');
    expect(metrics.status).toBe(200);
    expect(sample(metrics.text, 'stratus_operator_leader')).toBe(1);
    expect(sample(metrics.text, 'stratus_operator_reconciles_total', 'result="success"')).toBeGreaterThan(0);
    expect(sample(metrics.text, 'stratus_operator_reconcile_duration_seconds_count')).toBeGreaterThan(0);
    expect(sample(metrics.text, 'stratus_operator_queue_depth')).toBeGreaterThanOrEqual(0);
    expect(sample(metrics.text, 'stratus_operator_watch_running')).toBe(1);
    const followerMetrics = (await get(followerServer.url, '/metrics')).text;
    expect(sample(followerMetrics, 'stratus_operator_leader')).toBe(0);
    expect(sample(followerMetrics, 'stratus_operator_reconciles_total', 'result="success"') ?? 0).toBe(0);
    expect((await get(leaderServer.url, '/nothing')).status).toBe(404);
  });

  it('is not ready while the API server is unreachable, and alive all the same', async () => {
    kube = await startKubeFixture();
    const one = kube.startOperator('operator-one');
    await waitFor(() => one.isLeader, 'operator-one leads');
    const server = await startOperatorHealthServer({ operator: one, port: 0, host: '127.0.0.1', logger: kube.logger });
    servers.push(server);
    await waitFor(async () => (await get(server.url, '/readyz')).status === 200, 'ready');
    await kube.server.close();
    const down = await get(server.url, '/readyz');
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text)).toMatchObject({ status: 'unavailable', checks: { apiServer: expect.stringMatching(/^failed/) } });
    expect((await get(server.url, '/healthz')).status).toBe(200);
  });

  it('serves /metrics on its own port when one is given, and not on the probe port', async () => {
    kube = await startKubeFixture();
    const one = kube.startOperator('operator-one');
    const server = await startOperatorHealthServer({ operator: one, port: 0, host: '127.0.0.1', metricsPort: 0, logger: kube.logger });
    servers.push(server);
    expect(server.metricsUrl).toBeDefined();
    expect((await get(server.url, '/metrics')).status).toBe(404);
    expect((await get(server.metricsUrl ?? '', '/metrics')).status).toBe(200);
    expect((await get(server.metricsUrl ?? '', '/healthz')).status).toBe(404);
  });
});
