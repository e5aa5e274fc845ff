/**
 * `promtool test rules` unit tests of three of the chart's alerts, on series named and labelled as
 * the ServiceMonitor scrapes them (job=stratus, namespace=stratus, role, pod): the operator
 * without a leader (a leader lost, and no operator series at all), transfer dead letters, and a
 * backend probe failing in the leader's view (a follower's stale view ignored). Each alert is
 * expected to stay quiet before its `for` has passed and to fire after, with its labels and its
 * annotations as Prometheus renders them.
 */
import { get, str, type Obj } from './manifests.ts';

const SEL = 'job="stratus", namespace="stratus"';
const RELEASE = { job: 'stratus', namespace: 'stratus' };

/** The annotations Prometheus renders for an alert with these labels and value ($labels.x, $value only). */
function annotations(alerts: Obj[], name: string, labels: Record<string, string>, value: number): Record<string, string> {
  const alert = alerts.find((a) => a.alert === name);
  if (!alert) throw new Error(`no alert ${name}`);
  const render = (text: string) =>
    text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, key: string) => labels[key] ?? '').replace(/\{\{ \$value \}\}/g, String(value));
  return Object.fromEntries(Object.entries(get(alert, 'annotations') as Record<string, unknown>).map(([k, v]) => [k, render(str(v) ?? '')]));
}

function firing(alerts: Obj[], name: string, labels: Record<string, string>, value: number) {
  const severity = str(get(alerts.find((a) => a.alert === name), 'labels', 'severity')) ?? '';
  return { exp_labels: { ...labels, severity }, exp_annotations: annotations(alerts, name, labels, value) };
}

export function ruleUnitTests(rulesFile: string, alerts: Obj[]): Obj {
  const noLeader = 'StratusOperatorNoLeader';
  const dead = 'StratusTransferDeadLetters';
  const probe = 'StratusStorageBackendProbeFailing';
  const op = (pod: string, extra = '') => `{${SEL}, role="operator", pod="${pod}"${extra}}`;
  const failingBackend = { ...RELEASE, role: 'operator', pod: 'op-a', backend: 'ceph' };
  return {
    rule_files: [rulesFile],
    evaluation_interval: '1m',
    tests: [
      {
        // op-a leads until 10m, then neither replica does: pending at 13m, firing from 15m.
        interval: '1m',
        input_series: [
          { series: `stratus_operator_leader${op('op-a')}`, values: '1x9 0x20' },
          { series: `stratus_operator_leader${op('op-b')}`, values: '0x30' },
        ],
        alert_rule_test: [
          { eval_time: '8m', alertname: noLeader, exp_alerts: [] },
          { eval_time: '13m', alertname: noLeader, exp_alerts: [] },
          { eval_time: '16m', alertname: noLeader, exp_alerts: [firing(alerts, noLeader, RELEASE, 0)] },
        ],
      },
      {
        // No operator series at all (not scraped, or no pod): absent() fires too.
        interval: '1m',
        input_series: [{ series: 'up{job="other", namespace="stratus"}', values: '1x20' }],
        alert_rule_test: [
          { eval_time: '3m', alertname: noLeader, exp_alerts: [] },
          { eval_time: '6m', alertname: noLeader, exp_alerts: [firing(alerts, noLeader, RELEASE, 1)] },
        ],
      },
      {
        // Two transfer pods report the same queue: 2 dead letters from 5m, one alert from 10m.
        interval: '1m',
        input_series: [
          { series: `stratus_transfer_queue_depth{${SEL}, role="transfer", pod="t-a", state="dead"}`, values: '0x4 2x15' },
          { series: `stratus_transfer_queue_depth{${SEL}, role="transfer", pod="t-b", state="dead"}`, values: '0x4 2x15' },
          { series: `stratus_transfer_queue_depth{${SEL}, role="transfer", pod="t-a", state="ready"}`, values: '7x20' },
        ],
        alert_rule_test: [
          { eval_time: '8m', alertname: dead, exp_alerts: [] },
          { eval_time: '11m', alertname: dead, exp_alerts: [firing(alerts, dead, RELEASE, 2)] },
        ],
      },
      {
        // The leader (op-a) sees ceph fail from 5m; the follower's stale 0 for oss does not count.
        interval: '1m',
        input_series: [
          { series: `stratus_operator_leader${op('op-a')}`, values: '1x20' },
          { series: `stratus_operator_leader${op('op-b')}`, values: '0x20' },
          { series: `stratus_operator_backend_ready${op('op-a', ', backend="ceph"')}`, values: '1x4 0x15' },
          { series: `stratus_operator_backend_ready${op('op-a', ', backend="oss"')}`, values: '1x20' },
          { series: `stratus_operator_backend_ready${op('op-b', ', backend="oss"')}`, values: '0x20' },
        ],
        alert_rule_test: [
          { eval_time: '8m', alertname: probe, exp_alerts: [] },
          { eval_time: '11m', alertname: probe, exp_alerts: [firing(alerts, probe, failingBackend, 0)] },
        ],
      },
    ],
  };
}
