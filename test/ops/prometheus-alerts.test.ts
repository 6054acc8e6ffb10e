/**
 * The alert rules in a real Prometheus (Debian's prometheus), scraping a live pool-bridge
 * served by a real gearmand, its Lambda endpoint a stand-in on loopback reached through the
 * real AWS SDK. Faults are injected and the alerts read back through the HTTP API
 * (/api/v1/alerts), as an operator's Alertmanager would see them:
 *
 * 1. healthy and idle (after a few jobs that pass): no alert fires, watched for longer than
 *    the longest `for:` of the rules (pending ones on the way are reported);
 * 2. the Lambda endpoint down: every job answers FAIL, PoolBridgeFailRatioHigh{action}
 *    goes pending, then firing; the endpoint back, jobs pass and the alert clears;
 * 3. a backlog: the bridge comes back registered under another function name (a wrong
 *    `function-name`), jobs queue on libra_pool_mgm while every slot is free,
 *    PoolBridgeBacklogStuck goes pending, then firing; the bridge right again, the jobs run
 *    (PASS) and the alert clears.
 *
 * Time scale: the shipped rules wait minutes (`for: 5m`, `rate(...[10m])`), which promtool's
 * unit tests (ops/prometheus/alerts.test.yml) check as they are. Here Prometheus loads a copy
 * whose every duration, `for:` and range alike, is divided by TIME_SCALE (one minute becomes
 * half a second) and nothing else changes, and it scrapes and evaluates every half second: the
 * same expressions and thresholds, on a clock 120 times faster, so the whole test takes
 * seconds. The bridge runs in this process (startBridge, the CLI's own code) so that phase 3
 * can restart it on the same health port without a gap in the scrapes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { GearmanClient } from '../../bridge/gearman';
import type { BridgeHandle } from '../../bridge/index';
import { LambdaInvoker } from '../../bridge/lambda-invoker';
import { GEARMAN_FUNCTION } from '../../contract';
import type { Prometheus, PrometheusAlert } from '../../scripts/fleet/prometheus';
import { findPrometheus, startPrometheus } from '../../scripts/fleet/prometheus';
import type { Gearmand } from '../../scripts/harness';
import { freePort, sleep, startGearmand, until } from '../../scripts/harness';
import type { FakeLambda } from '../../scripts/lambda/fake-lambda';
import { startFakeLambda } from '../../scripts/lambda/fake-lambda';
import { startTestBridge } from '../bridge/helpers/bridge';
import type { AlertRule } from '../helpers/promql';
import { ALERTS_FILE, alertRules, dashboardExprs, withGrafanaVariables } from '../helpers/promql';

const TIME_SCALE = 120;
const INTERVAL = '500ms';
/** How often the waits below ask Prometheus (or the bridge). */
const POLL_MS = 100;
const started = performance.now();

/** "5m", "1h30m", "90s" in milliseconds. */
function durationMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  for (const m of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(m[1]) * (units[m[2] ?? ''] ?? NaN);
  assert.ok(total > 0 && text.replace(/(\d+)(ms|s|m|h|d)/g, '') === '', `a Prometheus duration: ${text}`);
  return total;
}

const scaled = (text: string): string => `${Math.round(durationMs(text) / TIME_SCALE)}ms`;

/** alerts.yml with every `for:` and every range selector divided by TIME_SCALE. */
function scaledRules(): string {
  const doc = YAML.parse(fs.readFileSync(ALERTS_FILE, 'utf8')) as {
    groups: { rules: { for?: string; expr: string }[] }[];
  };
  for (const rule of doc.groups.flatMap((g) => g.rules)) {
    if (rule.for) rule.for = scaled(rule.for);
    rule.expr = rule.expr.replace(/\[(\w+)\]/g, (_, d: string) => `[${scaled(d)}]`);
  }
  return YAML.stringify(doc);
}

const LONGEST_FOR_MS = Math.max(...alertRules().map((r) => (r.for ? durationMs(r.for) : 0))) / TIME_SCALE;

let dir: string;
let gearmand: Gearmand;
let lambda: FakeLambda;
let lambdaPort: number;
let healthPort: number;
let bridge: BridgeHandle;
let prometheus: Prometheus;
let client: GearmanClient;

/** The bridge as pool-bridge runs it, on a fixed health port (a restart keeps the target). */
function runBridge(functionName: string): Promise<BridgeHandle> {
  const lambdaEndpoint = `http://127.0.0.1:${lambdaPort}`;
  const concurrency = 8;
  const invokeTimeoutMs = 10_000;
  const invoker = new LambdaInvoker({
    endpoint: lambdaEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    invokeTimeoutMs,
    maxSockets: concurrency,
    throttle: { maxRetries: 0 },
  });
  return startTestBridge([gearmand.address], invoker, {
    functionName,
    clientId: 'pool-bridge-alerts-test',
    concurrency,
    health: { host: '127.0.0.1', port: healthPort },
    lambdaEndpoint,
    invokeTimeoutMs,
    reconnectMaxDelayMs: 200,
    queuePollIntervalMs: 250,
  });
}

async function restartBridge(functionName: string): Promise<void> {
  await bridge.stop();
  bridge = await runBridge(functionName);
  await until(() => bridge.state().status === 'ok', `the bridge registered as ${functionName}`, 10_000, POLL_MS);
}

const since = (t0: number): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/** Waits until the alert named (with these labels) is in `state`; returns the time it took. */
async function alertIn(
  name: string,
  labels: Record<string, string>,
  state: 'pending' | 'firing',
  timeoutMs: number,
): Promise<PrometheusAlert> {
  let found: PrometheusAlert | undefined;
  await until(
    async () => {
      found = (await prometheus.alerts()).find(
        (a) =>
          a.labels.alertname === name &&
          a.state === state &&
          Object.entries(labels).every(([k, v]) => a.labels[k] === v),
      );
      return found !== undefined;
    },
    `${name} ${JSON.stringify(labels)} ${state}`,
    timeoutMs,
    POLL_MS,
  );
  return found as PrometheusAlert;
}

const submit = (payload: object, unique: string) =>
  client.submit(GEARMAN_FUNCTION, unique, JSON.stringify(payload), { timeoutMs: 20_000 });

before(async () => {
  const binary = findPrometheus();
  assert.ok(binary, "Debian's prometheus is installed (bash scripts/setup.sh)");
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alerts-e2e-'));
  const rulesFile = path.join(dir, 'alerts.scaled.yml');
  fs.writeFileSync(rulesFile, scaledRules());
  [gearmand, lambda, healthPort] = await Promise.all([startGearmand(), startFakeLambda(), freePort('127.0.0.1')]);
  lambdaPort = Number(new URL(lambda.url).port);
  bridge = await runBridge(GEARMAN_FUNCTION);
  await until(() => bridge.state().status === 'ok', 'the bridge registered', 10_000, POLL_MS);
  prometheus = await startPrometheus({
    binary,
    targets: [`127.0.0.1:${healthPort}`],
    ruleFiles: [rulesFile],
    scrapeInterval: INTERVAL,
    evaluationInterval: INTERVAL,
    logFile: path.join(dir, 'prometheus.log'),
  });
  client = await GearmanClient.connect(gearmand.address);
});

after(async () => {
  client?.close();
  await prometheus?.stop();
  await bridge?.stop();
  await lambda?.close();
  await gearmand?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the scaled copy keeps every rule and scales only durations', () => {
  const original = alertRules();
  const copy: AlertRule[] = (YAML.parse(scaledRules()) as { groups: { rules: AlertRule[] }[] }).groups.flatMap(
    (g) => g.rules,
  );
  assert.equal(copy.length, original.length);
  for (const [i, rule] of original.entries()) {
    const scaledRule: AlertRule | undefined = copy[i];
    assert.equal(scaledRule?.alert, rule.alert);
    const strip = (expr: string) => expr.replace(/\[\w+\]/g, '[]');
    assert.equal(strip(scaledRule?.expr ?? ''), strip(rule.expr), `${rule.alert}: only the ranges change`);
    if (rule.for) assert.equal(durationMs(scaledRule?.for ?? '') * TIME_SCALE, durationMs(rule.for));
  }
  assert.equal(scaled('5m'), '2500ms');
});

test('a healthy idle bridge: no alert fires', { timeout: 60_000 }, async (t) => {
  for (const [i, action] of ['BUILD_IP', 'DELETE_IP', 'BUILD_DEVICE'].entries()) {
    const result = await submit({ action, ip: '203.0.113.9' }, `healthy-${i}`);
    assert.equal((result.json as { response?: string }).response, 'PASS');
  }
  // Prometheus applies its scrape targets on a 5-second tick after it starts, a delay the time
  // scale does not shrink: until then `up` is absent and PoolBridgeMetricsAbsent (10m, here 5 s)
  // may go pending or fire. So the watch starts once the rules have been evaluated on a scrape
  // of the bridge that carried the queue metrics.
  let scrapedAt = 0;
  await until(
    async () => {
      const target = (await prometheus.targets()).find((x) => x.health === 'up');
      const queue = await prometheus.query('pool_bridge_gearman_admin_up == 1');
      scrapedAt = target && queue.length > 0 ? Date.parse(target.lastScrape) : 0;
      return scrapedAt > 0;
    },
    'a scrape of the bridge with its queue metrics',
    20_000,
    POLL_MS,
  );
  await until(
    async () => (await prometheus.ruleGroups()).every((g) => Date.parse(g.lastEvaluation) > scrapedAt),
    'an evaluation of the rules after that scrape',
    10_000,
    POLL_MS,
  );
  // For longer than any rule's `for:` (a rule that holds on a healthy bridge would fire by
  // then), sampled every 100 ms.
  const watchMs = LONGEST_FOR_MS + 4 * durationMs(INTERVAL);
  const firing = new Set<string>();
  const pending = new Set<string>();
  const end = Date.now() + watchMs;
  while (Date.now() < end) {
    for (const a of await prometheus.alerts()) (a.state === 'firing' ? firing : pending).add(a.labels.alertname ?? '');
    await sleep(POLL_MS);
  }
  t.diagnostic(
    `idle for ${(watchMs / 1000).toFixed(1)} s after the first scrape (${since(started)} into the file); pending on the way: ${[...pending].join(', ') || 'none'}`,
  );
  assert.deepEqual([...firing], [], 'no alert fires on a healthy idle bridge');
});

test(
  'the Lambda endpoint down: FAIL ratio alert pending, firing, and clear once it is back',
  { timeout: 60_000 },
  async (t) => {
    const labels = { alertname: 'PoolBridgeFailRatioHigh', action: 'BUILD_IP', job: 'pool-bridge' };
    await lambda.close();
    const fault = performance.now();
    const failed = await Promise.all([0, 1, 2, 3].map((i) => submit({ action: 'BUILD_IP' }, `down-${i}`)));
    for (const result of failed) {
      const json = result.json as { response?: string; error?: string };
      assert.equal(json.response, 'FAIL');
      assert.match(String(json.error), /invoking pool-manager-dev-buildIp failed/);
    }
    const pending = await alertIn(labels.alertname, labels, 'pending', 15_000);
    const pendingAfter = since(fault);
    const firing = await alertIn(labels.alertname, labels, 'firing', 15_000);
    const firingAfter = since(fault);
    assert.equal(firing.labels.severity, 'warning');
    assert.equal(firing.annotations.summary, `BUILD_IP jobs fail: 100% FAIL on 127.0.0.1:${healthPort}`);
    assert.ok(pending.activeAt === firing.activeAt, 'the same alert went from pending to firing');

    lambda = await startFakeLambda(undefined, { port: lambdaPort });
    const back = performance.now();
    for (const i of [0, 1, 2]) {
      const result = await submit({ action: 'BUILD_IP' }, `back-${i}`);
      assert.equal((result.json as { response?: string }).response, 'PASS');
    }
    await until(
      async () => !(await prometheus.alerts()).some((a) => a.labels.alertname === labels.alertname),
      'PoolBridgeFailRatioHigh to clear',
      20_000,
      POLL_MS,
    );
    t.diagnostic(
      `PoolBridgeFailRatioHigh: pending ${pendingAfter} and firing ${firingAfter} after the endpoint went down; clear ${since(back)} after it came back`,
    );
  },
);

test(
  'a backlog while every slot is free: stuck-backlog alert pending, firing, and clear once the jobs run',
  { timeout: 60_000 },
  async (t) => {
    const labels = { alertname: 'PoolBridgeBacklogStuck', server: gearmand.address, job: 'pool-bridge' };
    await restartBridge('libra_pool_mgm_misnamed');
    const fault = performance.now();
    const stuck = [0, 1, 2, 3, 4].map((i) => submit({ action: 'BUILD_IP' }, `stuck-${i}`));
    const pending = await alertIn(labels.alertname, labels, 'pending', 15_000);
    const pendingAfter = since(fault);
    const firing = await alertIn(labels.alertname, labels, 'firing', 15_000);
    const firingAfter = since(fault);
    assert.equal(firing.labels.severity, 'critical');
    assert.equal(firing.value, '5e+00', 'five jobs wait');
    assert.equal(pending.activeAt, firing.activeAt);
    // Nothing else: the bridge is up and connected, the jobs merely wait.
    const others = (await prometheus.alerts()).filter(
      (a) => a.labels.alertname !== labels.alertname && a.state === 'firing',
    );
    assert.deepEqual(
      others.map((a) => a.labels.alertname),
      [],
    );

    await restartBridge(GEARMAN_FUNCTION);
    const fixed = performance.now();
    for (const result of await Promise.all(stuck))
      assert.equal((result.json as { response?: string }).response, 'PASS');
    await until(async () => (await prometheus.alerts()).length === 0, 'every alert to clear', 20_000, POLL_MS);
    t.diagnostic(
      `PoolBridgeBacklogStuck: pending ${pendingAfter} and firing ${firingAfter} after the jobs were queued; every alert clear ${since(fixed)} after the bridge was fixed`,
    );
  },
);

test('every query of the Grafana dashboard runs on this Prometheus', async () => {
  for (const { where, expr } of dashboardExprs()) {
    await assert.doesNotReject(prometheus.query(withGrafanaVariables(expr)), `${where}: ${expr}`);
  }
});

test('wall time', (t) => {
  t.diagnostic(`prometheus-alerts.test.ts took ${since(started)}`);
});
