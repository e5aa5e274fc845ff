/**
 * The chart's monitoring objects, offline: the ServiceMonitor (with a headless Service per role
 * exposing only the metrics port), the PrometheusRule and the Grafana dashboard ConfigMap render
 * only when asked; the Prometheus Operator objects validate against the CRDs' schemas
 * (fixtures/prometheus-operator-crds.yaml) and the rest against the Kubernetes schemas; the
 * ServiceMonitor selects exactly the metrics Services, and each reaches one role's `metrics`
 * container port (METRICS_PORT); the alerts carry the values' thresholds; promtool accepts the
 * rules and its unit tests show three alerts firing when they should and only then; NOTES
 * say what is scraped and alerted on.
 * (That every query names a metric Stratus exports: metric-names.test.ts.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiProblems } from './crd-schema.ts';
import {
  arr, byKind, CHART, containerOf, get, helmFails, NAMESPACE, obj, one, render, renderNotes, roleOf, ROOT, schemaProblems, setUpHelm, str,
  tearDownHelm, type K8sObject, type Obj,
} from './manifests.ts';
import { dashboardQueries, metricsOf, ruleQueries } from './promql.ts';
import { promtool, setUpPromtool } from './promtool.ts';
import { ruleUnitTests } from './rule-unit-tests.ts';

const CRD_FIXTURE = path.join(ROOT, 'test/deploy/fixtures/prometheus-operator-crds.yaml');
const DASHBOARD = path.join(ROOT, 'deploy/grafana/stratus-dashboard.json');
const CHART_DASHBOARD = path.join(CHART, 'dashboards/stratus.json');
const PRODUCTION_VALUES = path.join(CHART, 'values-production.yaml');
const ROLES = ['api', 'accounts', 'files', 'uploads', 'transfer', 'operator'];
const ALERTS = [
  'StratusHTTPErrorRate', 'StratusGraphQLInternalErrors', 'StratusUploadFailureRate', 'StratusUploadCompletionFailures',
  'StratusDatabaseReplicaOutOfRotation', 'StratusTransferDeadLetters', 'StratusStorageBackendProbeFailing', 'StratusOperatorNoLeader',
];
const ALL_ON = ['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.prometheusRule.enabled=true', '--set', 'metrics.grafanaDashboard.enabled=true'];

/** Kind → openAPIV3Schema of the Prometheus Operator's CRDs (the parts the chart uses). */
const crdSchemas = new Map(
  (yaml.loadAll(readFileSync(CRD_FIXTURE, 'utf8')) as Obj[]).map((doc) => [String(doc.kind), obj(doc.openAPIV3Schema, `${String(doc.kind)} schema`)]),
);

/** Prometheus Operator objects against their CRD schema, everything else against the Kubernetes schemas. */
function problems(objects: K8sObject[]): string[] {
  return objects.flatMap((o) => {
    if (o.apiVersion !== 'monitoring.coreos.com/v1') return schemaProblems([o]);
    const schema = crdSchemas.get(o.kind);
    if (!schema) return [`${o.kind} ${o.metadata.name}: no CRD schema in the fixture`];
    return openApiProblems(schema, o).map((p) => `${o.kind} ${o.metadata.name}: ${p}`);
  });
}

const alertsOf = (rules: { groups: unknown }) => arr(rules.groups).flatMap((g) => arr(g.rules));
const matches = (selector: unknown, labels: unknown) => Object.entries(obj(selector, 'selector')).every(([k, v]) => get(labels, k) === v);
const monitoring = (objects: K8sObject[]) =>
  objects.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com/') || o.metadata.name.endsWith('-metrics') || o.metadata.name.endsWith('-dashboard'));

beforeAll(async () => {
  await setUpHelm();
  await setUpPromtool();
}, 120_000);
afterAll(tearDownHelm);

describe('chart monitoring objects', () => {
  it('renders none of them unless asked (default and production values)', async () => {
    expect(monitoring(await render())).toEqual([]);
    expect(monitoring(await render(['--values', PRODUCTION_VALUES]))).toEqual([]);
  });

  it('scrapes the metrics port of every role, the operator included, through headless metrics Services', async () => {
    const objects = await render([...ALL_ON, '--set', 'metrics.serviceMonitor.labels.release=kube-prometheus-stack', '--set', 'metrics.serviceMonitor.interval=15s', '--set', 'metrics.port=9191']);
    expect(problems(objects)).toEqual([]);
    const monitor = one(objects, 'ServiceMonitor', 'stratus');
    expect(get(monitor, 'metadata', 'labels', 'release')).toBe('kube-prometheus-stack');
    expect(get(monitor, 'spec', 'namespaceSelector')).toEqual({ matchNames: [NAMESPACE] });
    const selector = get(monitor, 'spec', 'selector', 'matchLabels');
    const selected = byKind(objects, 'Service').filter((s) => matches(selector, s.metadata.labels));
    expect(selected.map((s) => s.metadata.name).sort()).toEqual(ROLES.map((r) => `stratus-${r}-metrics`).sort());
    const [endpoint, ...more] = arr(get(monitor, 'spec', 'endpoints'));
    expect(more).toEqual([]);
    expect(endpoint).toMatchObject({ port: 'metrics', path: '/metrics', scheme: 'http', interval: '15s' });
    // job = the Service label named by jobLabel (the release's full name); role = the component.
    const jobLabel = String(get(monitor, 'spec', 'jobLabel'));
    expect(arr(get(endpoint, 'relabelings'))).toContainEqual({ action: 'replace', sourceLabels: ['__meta_kubernetes_service_label_app_kubernetes_io_component'], targetLabel: 'role' });
    const metricsPort = String(get(one(objects, 'ConfigMap', 'stratus-config'), 'data', 'METRICS_PORT'));
    expect(metricsPort).toBe('9191');
    for (const service of selected) {
      expect(get(service, 'metadata', 'labels', jobLabel), `${service.metadata.name} job`).toBe('stratus');
      expect(get(service, 'spec', 'clusterIP')).toBe('None');
      // Only the metrics port: nothing routes requests through these Services.
      expect(get(service, 'spec', 'ports')).toEqual([{ name: 'metrics', port: 9191, targetPort: 'metrics', protocol: 'TCP', appProtocol: 'http' }]);
      const pods = byKind(objects, 'Deployment').filter((d) => matches(get(service, 'spec', 'selector'), get(d, 'spec', 'template', 'metadata', 'labels')));
      expect(pods.map(roleOf), `${service.metadata.name} selects one role`).toEqual([roleOf(service)]);
      const port = arr(containerOf(pods[0] as K8sObject).ports).find((p) => p.name === 'metrics');
      expect(String(port?.containerPort), `${service.metadata.name} container port`).toBe(metricsPort);
    }
    // The routed Services still carry the http port only, and the NetworkPolicies open metrics.
    for (const service of byKind(objects, 'Service').filter((s) => !selected.includes(s))) {
      expect(arr(get(service, 'spec', 'ports')).map((p) => p.name), service.metadata.name).toEqual(['http']);
    }
    for (const policy of byKind(objects, 'NetworkPolicy')) {
      expect(arr(get(policy, 'spec', 'ingress')).flatMap((r) => arr(r.ports)).map((p) => p.port), policy.metadata.name).toContain('metrics');
    }
    const withoutOperator = await render([...ALL_ON, '--set', 'operator.enabled=false']);
    expect(byKind(withoutOperator, 'Service').map((s) => s.metadata.name)).not.toContain('stratus-operator-metrics');
  });

  it('renders the alerts, valid against the CRD schema, with the thresholds, windows and labels of the values', async () => {
    const objects = await render(ALL_ON);
    expect(problems(objects)).toEqual([]);
    const rule = one(objects, 'PrometheusRule', 'stratus');
    const alerts = arr(get(rule, 'spec', 'groups')).flatMap((g) => arr(g.rules));
    expect(alerts.map((a) => a.alert).sort()).toEqual([...ALERTS].sort());
    for (const alert of alerts) {
      const name = String(alert.alert);
      expect(['critical', 'warning'], name).toContain(get(alert, 'labels', 'severity'));
      expect(str(get(alert, 'annotations', 'summary')), name).toBeTruthy();
      expect(str(get(alert, 'annotations', 'description')), name).toBeTruthy();
      // Every selector picks this release's series (the ServiceMonitor's job) in its namespace.
      const { selectors, errors } = metricsOf(String(alert.expr));
      expect(errors, name).toEqual([]);
      for (const s of selectors) expect(s, name).toMatch(/\{job="stratus", namespace="stratus"[,}]/);
    }
    const exprOf = (list: Obj[], name: string) => String(list.find((a) => a.alert === name)?.expr);
    expect(exprOf(alerts, 'StratusHTTPErrorRate')).toMatch(/\[5m\]\)\)\s+> 0\.05$/);

    const tuned = await render([
      ...ALL_ON,
      '--set-json', 'metrics.prometheusRule.thresholds.httpErrorRatio=0.1',
      '--set-json', 'metrics.prometheusRule.thresholds.uploadFailureRatio=0.25',
      '--set', 'metrics.prometheusRule.rateWindow=10m,metrics.prometheusRule.for.errorRate=15m',
      '--set', 'metrics.prometheusRule.labels.release=kube-prometheus-stack,metrics.prometheusRule.alertLabels.team=storage',
      '--set', 'operator.enabled=false',
    ]);
    const tunedRule = one(tuned, 'PrometheusRule', 'stratus');
    expect(get(tunedRule, 'metadata', 'labels', 'release')).toBe('kube-prometheus-stack');
    const tunedAlerts = arr(get(tunedRule, 'spec', 'groups')).flatMap((g) => arr(g.rules));
    expect(exprOf(tunedAlerts, 'StratusHTTPErrorRate')).toMatch(/\[10m\]\)\)\s+> 0\.1$/);
    expect(exprOf(tunedAlerts, 'StratusUploadFailureRate')).toMatch(/> 0\.25$/);
    expect(tunedAlerts.find((a) => a.alert === 'StratusHTTPErrorRate')?.for).toBe('15m');
    for (const alert of tunedAlerts) expect(get(alert, 'labels', 'team')).toBe('storage');
    // Without an operator there is no leader to miss.
    expect(tunedAlerts.map((a) => a.alert)).not.toContain('StratusOperatorNoLeader');
    expect(ruleQueries(tunedRule).length).toBe(ALERTS.length - 1);
  });

  it('passes promtool check rules, and promtool test rules shows the alerts firing when they should', async () => {
    const rule = one(await render(ALL_ON), 'PrometheusRule', 'stratus');
    const rules = { groups: get(rule, 'spec', 'groups') };
    const check = await promtool(['check', 'rules', 'rules.yaml'], { 'rules.yaml': rules });
    expect(check.output).toMatch(/SUCCESS: 8 rules found/);
    expect(check.ok, check.output).toBe(true);
    const unit = await promtool(['test', 'rules', 'tests.yaml'], { 'rules.yaml': rules, 'tests.yaml': ruleUnitTests('rules.yaml', alertsOf(rules)) });
    expect(unit.ok, unit.output).toBe(true);
    expect(unit.output).toMatch(/SUCCESS/);
    // The unit tests can fail: a rule file whose dead-letter alert never fires does.
    const broken = structuredClone(rules) as { groups: { rules: Obj[] }[] };
    for (const g of broken.groups) for (const r of g.rules) if (r.alert === 'StratusTransferDeadLetters') r.expr = String(r.expr).replace('> 0', '> 100');
    const failing = await promtool(['test', 'rules', 'tests.yaml'], { 'rules.yaml': broken, 'tests.yaml': ruleUnitTests('rules.yaml', alertsOf(rules)) });
    expect(failing.ok).toBe(false);
    expect(failing.output).toContain('StratusTransferDeadLetters');
  });

  it('ships the Grafana dashboard as a ConfigMap for the Grafana sidecar, the same JSON as deploy/grafana', async () => {
    const source = readFileSync(DASHBOARD, 'utf8');
    expect(readFileSync(CHART_DASHBOARD, 'utf8')).toBe(source);
    const objects = await render([...ALL_ON, '--set', 'metrics.grafanaDashboard.annotations.grafana_folder=Storage']);
    const configMap = one(objects, 'ConfigMap', 'stratus-dashboard');
    expect(schemaProblems([configMap])).toEqual([]);
    expect(get(configMap, 'metadata', 'labels', 'grafana_dashboard')).toBe('1');
    expect(get(configMap, 'metadata', 'annotations', 'grafana_folder')).toBe('Storage');
    expect(JSON.parse(String(get(configMap, 'data', 'stratus.json')))).toEqual(JSON.parse(source));

    // The dashboard itself: unique panel ids, every query on the chosen data source and selecting
    // the chosen namespace and job (the ServiceMonitor's job label) in each of its selectors.
    const dashboard = JSON.parse(source) as Obj;
    const panels = arr(dashboard.panels);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    expect(arr(get(dashboard, 'templating', 'list')).map((v) => v.name)).toEqual(['datasource', 'namespace', 'job']);
    const queries = dashboardQueries(dashboard);
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect(get(panel, 'datasource', 'uid'), String(panel.title)).toBe('${datasource}');
      expect(arr(panel.targets).length, String(panel.title)).toBeGreaterThan(0);
    }
    for (const { where, expr } of queries.filter((q) => q.where.startsWith('panel'))) {
      const { selectors, errors } = metricsOf(expr);
      expect(errors, where).toEqual([]);
      for (const selector of selectors) expect(selector, where).toMatch(/\{namespace="\$namespace", job="\$job"[,}]/);
    }
  });

  it('says in NOTES what is scraped and alerted on, and warns of alerts without the ServiceMonitor', async () => {
    expect(await renderNotes([])).not.toContain('Monitoring');
    const both = await renderNotes(['--set', 'metrics.serviceMonitor.enabled=true', '--set', 'metrics.prometheusRule.enabled=true']);
    expect(both).toContain('ServiceMonitor stratus scrapes every role\'s metrics port as job=stratus');
    expect(both).toContain('PrometheusRule stratus alerts on job=stratus in namespace stratus');
    expect(both).not.toContain('metrics.serviceMonitor.enabled is false');
    expect(await renderNotes(['--set', 'metrics.prometheusRule.enabled=true'])).toContain('WARNING: metrics.serviceMonitor.enabled is false');
  });

  it('refuses monitoring values that break values.schema.json', async () => {
    const cases: [string[], RegExp][] = [
      [['--set', 'metrics.serviceMonitor.interval=30 seconds'], /metrics\.serviceMonitor\.interval/],
      [['--set-json', 'metrics.prometheusRule.thresholds.httpErrorRatio=1.5'], /metrics\.prometheusRule\.thresholds\.httpErrorRatio/],
      [['--set', 'metrics.prometheusRule.for.operatorNoLeader=soon'], /metrics\.prometheusRule\.for\.operatorNoLeader/],
      [['--set', 'metrics.serviceMonitor.enable=true'], /enable/],
    ];
    for (const [args, message] of cases) {
      const stderr = await helmFails(['template', 'stratus', CHART, ...args]);
      expect(stderr, args.join(' ')).toMatch(/values don't meet the specifications of the schema/);
      expect(stderr, args.join(' ')).toMatch(message);
    }
  });
});
