/**
 * The PromQL of the Grafana dashboard and of the chart's alerts, read with the parser of
 * Prometheus's own UI (@prometheus-io/lezer-promql): every query and the metric each of its vector
 * selectors names; and the metric names a /metrics page exports (its `# TYPE` lines), so a test
 * can check that every query names something Stratus exports.
 */
import { parser } from '@prometheus-io/lezer-promql';
import { arr, get, isObj, str, type K8sObject, type Obj } from './manifests.ts';

export interface Query {
  /** Where the query is: the panel and target, the variable, or the alert. */
  where: string;
  expr: string;
}

/**
 * Grafana's built-in interval variables replaced by a duration, so the query parses as PromQL.
 * The dashboard's own variables ($namespace, $job) only ever stand inside quoted label values,
 * where they are plain text; one anywhere else stays and fails the parse, as it should.
 */
export function fromGrafana(expr: string): string {
  return expr.replace(/\$\{?__(rate_interval|interval|range)\}?/g, '5m');
}

/**
 * The metric names of the vector selectors in `expr`, the selectors' text, and the parse errors
 * (empty when it parses).
 */
export function metricsOf(expr: string): { metrics: string[]; selectors: string[]; errors: string[] } {
  const metrics = new Set<string>();
  const selectors: string[] = [];
  const errors: string[] = [];
  if (expr.trim() === '') return { metrics: [], selectors, errors: ['empty query'] };
  parser.parse(expr).iterate({
    enter: (ref) => {
      if (ref.type.isError) errors.push(`parse error at ${ref.from}: …${expr.slice(Math.max(0, ref.from - 25), ref.from)}⟨here⟩${expr.slice(ref.from, ref.from + 25)}…`);
      if (ref.name !== 'VectorSelector') return;
      const identifier = ref.node.getChild('Identifier');
      const text = expr.slice(ref.from, ref.to);
      selectors.push(text);
      // {__name__="x"} names a metric too; a selector by labels only (or a __name__ regex) names none.
      const name = identifier ? expr.slice(identifier.from, identifier.to) : /__name__\s*=\s*"([^"]+)"/.exec(text)?.[1];
      if (name) metrics.add(name);
      else errors.push(`a selector that names no metric: ${text}`);
    },
  });
  return { metrics: [...metrics], selectors, errors };
}

/** Metric name → type (counter, gauge, histogram, summary, untyped) from a Prometheus text page. */
export function exportedMetrics(text: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (match?.[1] && match[2]) types.set(match[1], match[2]);
  }
  return types;
}

/**
 * Whether a selector's metric name is a series the exporter writes: a counter or gauge by its
 * name, a histogram by name_bucket, name_sum and name_count (never the bare name, which has no
 * series), a summary by name, name_sum and name_count.
 */
export function isExported(name: string, exported: Map<string, string>): boolean {
  const type = exported.get(name);
  if (type !== undefined) return type !== 'histogram';
  const match = /^(.+)_(bucket|sum|count)$/.exec(name);
  if (!match?.[1]) return false;
  const base = exported.get(match[1]);
  return base === 'histogram' || (base === 'summary' && match[2] !== 'bucket');
}

/**
 * Every query of a Grafana dashboard: each panel target's expr (rows' nested panels too) and each
 * query variable's selector (`label_values(selector, label)`, `query_result(expr)`). A variable
 * query of another form is reported as a query that does not parse.
 */
export function dashboardQueries(dashboard: Obj): Query[] {
  const queries: Query[] = [];
  const panels = (list: unknown): Obj[] => arr(list).flatMap((p) => [p, ...panels(p.panels)]);
  for (const panel of panels(dashboard.panels)) {
    for (const target of arr(panel.targets)) {
      queries.push({ where: `panel "${str(panel.title) ?? panel.id}" target ${str(target.refId)}`, expr: fromGrafana(str(target.expr) ?? '') });
    }
  }
  for (const variable of arr(get(dashboard, 'templating', 'list'))) {
    if (variable.type !== 'query') continue;
    const text = str(isObj(variable.query) ? variable.query.query : variable.query) ?? '';
    const inner = /^\s*label_values\(\s*(.+?)\s*,\s*[a-zA-Z_]\w*\s*\)\s*$/.exec(text)?.[1] ?? /^\s*query_result\((.+)\)\s*$/.exec(text)?.[1];
    queries.push({ where: `variable $${str(variable.name)}`, expr: fromGrafana(inner ?? `unsupported variable query ⟨${text}⟩`) });
  }
  return queries;
}

/** Every alert (and recording rule) expression of a rendered PrometheusRule. */
export function ruleQueries(rule: K8sObject): Query[] {
  return arr(get(rule, 'spec', 'groups')).flatMap((group) =>
    arr(group.rules).map((r) => ({ where: `rule group ${str(group.name)} ${str(r.alert) ?? str(r.record)}`, expr: String(r.expr) })),
  );
}

/** The problems of a list of queries against the exported metrics: parse errors and unknown names. */
export function queryProblems(queries: Query[], exported: Map<string, string>): string[] {
  const problems: string[] = [];
  for (const { where, expr } of queries) {
    const { metrics, errors } = metricsOf(expr);
    for (const error of errors) problems.push(`${where}: ${error}`);
    if (metrics.length === 0 && errors.length === 0) problems.push(`${where}: names no metric (${expr})`);
    for (const name of metrics) if (!isExported(name, exported)) problems.push(`${where}: ${name} is not exported`);
  }
  return problems;
}
