/**
 * What the monitoring files ask Prometheus for: the PromQL expressions of the alert rules
 * (ops/prometheus/alerts.yml) and of the Grafana dashboard (ops/grafana/pool-manager.json),
 * the metric names those expressions read, the metric names a /metrics text declares, and
 * the value of one of its samples.
 *
 * Metric names are found by a small lexer rather than a PromQL parser: no npm package parses
 * PromQL, and the subset used here (selectors, functions, aggregations, binary operators) is
 * easy to read: strings, label matchers, ranges and grouping label lists are removed, then
 * every identifier that is not a function call or a keyword is a metric name.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

const ROOT = path.join(import.meta.dirname, '..', '..');
export const ALERTS_FILE = path.join(ROOT, 'ops', 'prometheus', 'alerts.yml');
export const DASHBOARD_FILE = path.join(ROOT, 'ops', 'grafana', 'pool-manager.json');

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(file = ALERTS_FILE): AlertRule[] {
  const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return doc.groups.flatMap((group) => group.rules);
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { expr: string; refId: string; datasource?: { type: string; uid: string } }[];
}

export interface Dashboard {
  title: string;
  uid: string;
  panels: DashboardPanel[];
  templating: {
    list: { name: string; type: string; query: unknown; datasource?: { type: string; uid: string } }[];
  };
}

export function dashboard(file = DASHBOARD_FILE): Dashboard {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Dashboard;
}

/** Every PromQL expression of the dashboard: panel targets, and the variables' label_values() selectors. */
export function dashboardExprs(board = dashboard()): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const panel of board.panels) {
    for (const target of panel.targets ?? []) out.push({ where: `panel "${panel.title}"`, expr: target.expr });
  }
  for (const variable of board.templating.list) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : (variable.query as { query: string }).query;
    const selector = /^label_values\((.*),\s*[a-zA-Z_]\w*\)$/.exec(query)?.[1];
    out.push({ where: `variable "${variable.name}"`, expr: selector ?? query });
  }
  return out;
}

/** Grafana's own variables in an expression, replaced by values Prometheus accepts. */
export function withGrafanaVariables(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '1m').replaceAll('$instance', '.*');
}

const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** The metric names an expression reads. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const after = stripped.slice((m.index ?? 0) + word.length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(word.toLowerCase())) continue;
    // Part of a number (1e+00, 0x1F) or a duration (5m): preceded by a digit or a dot.
    const before = stripped[(m.index ?? 0) - 1] ?? ' ';
    if (/[0-9.]/.test(before)) continue;
    names.add(word);
  }
  return [...names].sort();
}

/** Series Prometheus makes itself, never in a target's /metrics. */
export const PROMETHEUS_SERIES = new Set(['up', 'ALERTS', 'ALERTS_FOR_STATE']);

/**
 * The sample names a /metrics text declares: every `# TYPE name kind`, a histogram's
 * _bucket, _sum and _count, a summary's _sum and _count.
 */
export function declaredNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [name, kind] = [m[1] ?? '', m[2] ?? ''];
    names.add(name);
    if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (kind === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  return names;
}

/**
 * The value of one sample in a /metrics text: the series `name` whose labels are exactly
 * `labels` (in any order), or undefined when it is not there.
 */
export function metricValue(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  for (const line of exposition.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',').filter(Boolean).sort();
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[3]);
  }
  return undefined;
}
