/**
 * ops/grafana/pool-manager.json as Grafana's import reads it: one dashboard whose data source
 * is the `datasource` variable (type prometheus), so it imports into any Grafana with any
 * Prometheus; panels on the 24-column grid without overlaps; and a panel for each figure the
 * operator needs. That each panel's query runs is checked against a real Prometheus in
 * prometheus-alerts.test.ts; that its metrics exist, in metric-names.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { DASHBOARD_FILE, dashboard, dashboardExprs, metricNames } from '../helpers/promql';

const board = dashboard();
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

test('the data source is a variable of type prometheus, used by every panel and query', () => {
  const variable = board.templating.list.find((v) => v.name === 'datasource');
  assert.deepEqual({ type: variable?.type, query: variable?.query }, { type: 'datasource', query: 'prometheus' });
  for (const panel of board.panels.filter((p) => p.type !== 'row')) {
    assert.deepEqual(panel.datasource, DATASOURCE, `panel "${panel.title}"`);
    assert.ok((panel.targets ?? []).length > 0, `panel "${panel.title}" has a query`);
    for (const target of panel.targets ?? []) assert.deepEqual(target.datasource, DATASOURCE, panel.title);
  }
  for (const v of board.templating.list.filter((v) => v.type === 'query')) assert.deepEqual(v.datasource, DATASOURCE);
  // No data source of one particular Grafana is left in the file (an export's "uid": "abc123").
  const uids = [...fs.readFileSync(DASHBOARD_FILE, 'utf8').matchAll(/"uid": "([^"]*)"/g)].map((m) => m[1]);
  assert.deepEqual(new Set(uids), new Set([board.uid, '${datasource}']));
  assert.equal((board as unknown as { id?: unknown }).id, undefined, 'no database id: Grafana assigns one on import');
});

test('panels sit on the 24-column grid, none overlapping, ids unique', () => {
  const ids = board.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  const taken = new Set<string>();
  for (const panel of board.panels) {
    const { x, y, w, h } = panel.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24, `panel "${panel.title}" fits the grid`);
    for (let row = y; row < y + h; row += 1) {
      for (let col = x; col < x + w; col += 1) {
        const cell = `${col},${row}`;
        assert.ok(!taken.has(cell), `panel "${panel.title}" overlaps another at ${cell}`);
        taken.add(cell);
      }
    }
  }
});

test('a panel for each figure: jobs by action and outcome, invoke latency, slots in use, backlog, reconnects, throttles', () => {
  const panels = board.panels.filter((p) => p.type !== 'row');
  const reading = (name: string, also: RegExp = /./) =>
    panels.filter((p) => (p.targets ?? []).some((t) => metricNames(t.expr).includes(name) && also.test(t.expr)));
  const expect = (what: string, found: unknown[]) => assert.ok(found.length > 0, `no panel shows ${what}`);
  expect('jobs by action and outcome', reading('pool_bridge_jobs_total', /by \(action, outcome\)/));
  expect(
    'invoke latency',
    reading('pool_bridge_invoke_duration_seconds_bucket', /histogram_quantile\(0\.99, sum by \(action, le\)/),
  );
  expect(
    'slots in use against the slots',
    reading('pool_bridge_jobs_in_flight').filter((p) => reading('pool_bridge_concurrency').includes(p)),
  );
  expect('the libra_pool_mgm backlog', reading('pool_bridge_gearman_jobs_queued', /function="libra_pool_mgm"/));
  expect('reconnects', reading('pool_bridge_reconnects_total'));
  expect('throttles', reading('pool_bridge_invoke_throttle_retries_total'));
  for (const panel of panels) assert.ok(panel.description, `panel "${panel.title}" says what it shows`);
});

test('every query selects the bridges of the instance variable', () => {
  for (const { where, expr } of dashboardExprs(board)) {
    if (where.startsWith('variable') || expr.startsWith('ALERTS')) continue;
    for (const selector of expr.matchAll(/pool_bridge_\w+\{([^}]*)\}|up\{([^}]*)\}/g)) {
      assert.match(selector[0], /job="pool-bridge", instance=~"\$instance"/, `${where}: ${selector[0]}`);
    }
    assert.doesNotMatch(expr, /pool_bridge_\w+(?![\w{])/, `${where}: a metric without the selector: ${expr}`);
  }
});
