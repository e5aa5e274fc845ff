/**
 * Every query of the Grafana dashboard (deploy/grafana/stratus-dashboard.json: panel targets and
 * variable queries) and every alert of the chart's PrometheusRule names a metric Stratus exports.
 * The queries are parsed with the parser of Prometheus's own UI (@prometheus-io/lezer-promql; a
 * parse error fails), the dashboard's also by promtool (as recording rules, so Prometheus's own
 * parser and type checks see them). What Stratus exports is read from the `# TYPE` lines of real
 * /metrics pages: the all-in-one app on the real stack (MariaDB with a read replica configured,
 * Redis, Ceph RGW) after a sign-up, and the operator leading against the fake API server with a
 * Ready backend — the two registries every role serves (the process and build metrics the
 * dashboard plots per role must be on both). A histogram counts by its _bucket, _sum and _count
 * series.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOperatorHealthServer, type OperatorHealthServer } from '../../operator/health.server.ts';
import { startKubeFixture, waitFor, type KubeFixture } from '../fakes/kube-fixture.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { testEnv } from '../support/env.ts';
import { one, render, ROOT, setUpHelm, tearDownHelm, type Obj } from './manifests.ts';
import { dashboardQueries, exportedMetrics, isExported, metricsOf, queryProblems, ruleQueries } from './promql.ts';
import { promtool, setUpPromtool } from './promtool.ts';

const DASHBOARD = path.join(ROOT, 'deploy/grafana/stratus-dashboard.json');

let app: TestApp | undefined;
let kube: KubeFixture | undefined;
let operatorServer: OperatorHealthServer | undefined;
let dir: string | undefined;
let exported = new Map<string, string>();
let appExported = new Map<string, string>();
let operatorExported = new Map<string, string>();

async function scrape(url: string): Promise<Map<string, string>> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return exportedMetrics(await res.text());
}

beforeAll(async () => {
  await setUpHelm();
  await setUpPromtool();
  // A replica in DATABASE_REPLICA_URLS registers the replica gauges (this one is not replicating,
  // so it is reported out of rotation; the names are what matter here).
  app = await startTestApp({ env: { DATABASE_REPLICA_URLS: testEnv.databaseUrl } });
  await app.signUp();
  kube = await startKubeFixture();
  dir = await mkdtemp(path.join(tmpdir(), 'stratus-metric-names-'));
  kube.createBackend('local', { type: 'local', path: path.join(dir, 'objects'), default: true });
  const operator = kube.startOperator('operator-metrics');
  await waitFor(() => operator.isLeader && kube?.routing()?.default === 'local', 'the operator leads and published its Ready backend');
  operatorServer = await startOperatorHealthServer({ operator, port: 0, host: '127.0.0.1', logger: kube.logger });
  appExported = await scrape(`${app.url}/metrics`);
  operatorExported = await scrape(`${operatorServer.url}/metrics`);
  exported = new Map([...appExported, ...operatorExported]);
}, 120_000);

afterAll(async () => {
  await operatorServer?.close();
  await kube?.close();
  await app?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  tearDownHelm();
});

describe('metric names of the dashboard and the alerts', () => {
  it('scraped both registries', () => {
    // The scrape itself worked: a metric of each registry is there.
    expect(exported.get('stratus_http_request_duration_seconds')).toBe('histogram');
    expect(exported.get('stratus_operator_leader')).toBe('gauge');
  });

  it('every query of the Grafana dashboard parses and names a metric Stratus exports', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Obj;
    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThan(40);
    expect(queryProblems(queries, exported)).toEqual([]);
  });

  it('the process and build metrics the dashboard plots for every role come from both registries', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Obj;
    const shared = dashboardQueries(dashboard)
      .flatMap((q) => metricsOf(q.expr).metrics)
      .filter((name) => /^(process_|nodejs_|stratus_build_info$)/.test(name));
    expect(shared).toContain('process_cpu_seconds_total');
    expect(shared).toContain('stratus_build_info');
    for (const name of shared) {
      expect(isExported(name, appExported), `${name} on the app's registry`).toBe(true);
      expect(isExported(name, operatorExported), `${name} on the operator's registry`).toBe(true);
    }
  });

  it('every alert of the PrometheusRule parses and names a metric Stratus exports', async () => {
    const rule = one(await render(['--set', 'metrics.prometheusRule.enabled=true']), 'PrometheusRule', 'stratus');
    const queries = ruleQueries(rule);
    expect(queries.length).toBe(8);
    expect(queryProblems(queries, exported)).toEqual([]);
  });

  it('promtool (Prometheus\'s own parser) accepts every dashboard query', async () => {
    const queries = dashboardQueries(JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Obj);
    const rules = queries.map((q, i) => ({ record: `stratus_dashboard:query_${i}`, expr: q.expr }));
    const check = await promtool(['check', 'rules', 'dashboard.yaml'], { 'dashboard.yaml': { groups: [{ name: 'dashboard', rules }] } });
    expect(check.ok, check.output).toBe(true);
    expect(check.output).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('finds what the check is for: a misspelt metric, a bare histogram name and a broken query', () => {
    const problems = queryProblems(
      [
        { where: 'a', expr: 'sum(rate(stratus_upload_chunk_total[5m]))' },
        { where: 'b', expr: 'stratus_http_request_duration_seconds' },
        { where: 'c', expr: 'sum(rate(stratus_http_request_duration_seconds_count[5m])' },
        { where: 'd', expr: 'histogram_quantile(0.9, rate(stratus_http_request_duration_seconds_bucket[5m]))' },
      ],
      exported,
    );
    expect(problems).toEqual([
      'a: stratus_upload_chunk_total is not exported',
      'b: stratus_http_request_duration_seconds is not exported',
      expect.stringMatching(/^c: parse error/),
    ]);
  });
});
