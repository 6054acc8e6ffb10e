/**
 * Every metric an alert rule (ops/prometheus/alerts.yml) or a dashboard panel
 * (ops/grafana/pool-manager.json) reads is one a live bridge exports: a real gearmand, the
 * bridge with its queue poller, one job through it, then its /metrics text. A histogram is
 * read through its _bucket, _sum and _count series; `up` and `ALERTS` are Prometheus' own.
 * A renamed metric, or a typo in a rule, fails here instead of leaving an alert that can
 * never fire.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GearmanClient } from '../../bridge/gearman';
import type { BridgeHandle } from '../../bridge/index';
import { GEARMAN_FUNCTION } from '../../contract';
import type { Gearmand } from '../../scripts/harness';
import { startGearmand, until } from '../../scripts/harness';
import { allConnected, startTestBridge } from '../bridge/helpers/bridge';
import { FakeInvoker } from '../bridge/helpers/fake-invoker';
import { PROMETHEUS_SERIES, alertRules, dashboardExprs, declaredNames, metricNames } from '../helpers/promql';

let gd: Gearmand;
let bridge: BridgeHandle;
let exposition = '';

before(async () => {
  gd = await startGearmand();
  bridge = await startTestBridge([gd.address], new FakeInvoker(), { queuePollIntervalMs: 100 });
  await until(() => allConnected(bridge), 'registration');
  const client = await GearmanClient.connect(gd.address);
  try {
    const result = await client.submit(GEARMAN_FUNCTION, 'names-1', '{"action":"BUILD_IP"}', { timeoutMs: 10_000 });
    assert.equal((result.json as { response: string }).response, 'PASS');
  } finally {
    client.close();
  }
  const metricsUrl = `${bridge.health?.url}/metrics`;
  await until(async () => {
    exposition = await (await fetch(metricsUrl)).text();
    return /^pool_bridge_gearman_workers_available\{[^}]*function="libra_pool_mgm"\} 1$/m.test(exposition);
  }, 'the queue poller to report the bridge as a worker');
});

after(async () => {
  await bridge?.stop();
  await gd?.stop();
});

test('the name reader finds the metrics of an expression, and nothing else', () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.99, sum by (job, le) (rate(a_seconds_bucket{x="y", z=~"$i"}[5m]))) > on (job) group_left () (0.9 * b_total offset 1m) and up{job="j"} == 1e+00',
    ),
    ['a_seconds_bucket', 'b_total', 'up'],
  );
  assert.deepEqual(metricNames('max without (server) (c) unless absent(d{f="1"})'), ['c', 'd']);
});

test('every metric of the alert rules and of the dashboard is in the bridge /metrics', () => {
  const declared = declaredNames(exposition);
  const used = new Map<string, string>();
  for (const rule of alertRules()) for (const name of metricNames(rule.expr)) used.set(name, `alert ${rule.alert}`);
  for (const { where, expr } of dashboardExprs()) for (const name of metricNames(expr)) used.set(name, where);
  assert.ok(used.size >= 12, `the rules and panels read ${used.size} metrics`);
  const missing = [...used].filter(([name]) => !declared.has(name) && !PROMETHEUS_SERIES.has(name));
  assert.deepEqual(missing, [], 'metrics no bridge exports');
  // The queue figures the backlog alert reads are there with live values, not only declared.
  for (const name of [
    'pool_bridge_gearman_jobs_queued',
    'pool_bridge_gearman_jobs_running',
    'pool_bridge_gearman_workers_available',
    'pool_bridge_gearman_admin_up',
    'pool_bridge_jobs_in_flight',
    'pool_bridge_concurrency',
  ]) {
    assert.ok(used.has(name), `${name} is read by a rule or a panel`);
    assert.match(exposition, new RegExp(`^${name}(\\{[^}]*\\})? \\d`, 'm'), `${name} has a sample`);
  }
});
