/**
 * The business figures the functions publish (functions/handlers/business-metrics.ts), read
 * from the EMF lines of the bundled handlers as CloudWatch would: builds PASS and FAIL,
 * seconds to ACTIVE, floating IP operations, all in the one namespace of the handlers, with
 * the dimensions the CloudWatch dashboard (ops/cloudwatch/monitoring.cjs) graphs.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SERVICE_NAME, wrap } from '../../contract';
import type { CloudSim } from '../../scripts/cloud-sim';
import { functionEnv, startCloud } from '../helpers/cloud';
import type { Bundle } from '../../scripts/lambda/bundle';
import { bundleHandlers } from '../../scripts/lambda/bundle';
import { invokeBundled } from '../../scripts/lambda/warm-function';

const NAMESPACE = 'LibraPoolManager';
const BOOT_DELAY_MS = 600;

let sim: CloudSim;
let bundle: Bundle;
let env: Record<string, string>;

before(async () => {
  [sim, bundle] = await Promise.all([startCloud({ bootDelayMs: BOOT_DELAY_MS }), bundleHandlers()]);
  env = functionEnv(sim);
});
after(async () => {
  await sim.close();
  bundle.remove();
});

interface Figure {
  name: string;
  unit: string;
  value: number;
  dimensions: Record<string, string>;
}

/** Every metric of the EMF lines: name, unit, value and the dimensions it was declared with. */
function figures(lines: Record<string, unknown>[]): Figure[] {
  const out: Figure[] = [];
  for (const line of lines) {
    const aws = line._aws as {
      CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
    };
    for (const directive of aws.CloudWatchMetrics) {
      assert.equal(directive.Namespace, NAMESPACE, 'one namespace for every figure');
      const names = directive.Dimensions.flat();
      const dimensions = Object.fromEntries(names.map((d) => [d, String(line[d])]));
      for (const metric of directive.Metrics) {
        out.push({ name: metric.Name, unit: metric.Unit, value: Number(line[metric.Name]), dimensions });
      }
    }
  }
  return out;
}

const business = (all: Figure[]) =>
  all.filter((f) => ['DeviceBuilds', 'SecondsToActive', 'FloatingIpOperations'].includes(f.name));

test('a build that reaches ACTIVE: DeviceBuilds PASS and its seconds to ACTIVE; a failed build: DeviceBuilds FAIL', async () => {
  const run = await invokeBundled(
    bundle,
    'buildDevice',
    [wrap({ action: 'BUILD_DEVICE' }, 'metrics-build-1'), { action: 'BUILD_DEVICE' }],
    { ...env, POOL_BUILD_DEADLINE_SECONDS: '60' },
  );
  assert.equal(run.results[0]?.response, 'PASS', JSON.stringify(run.results[0]));
  assert.equal(run.results[1]?.response, 'PASS');
  const failed = await invokeBundled(bundle, 'buildDevice', [{ action: 'BUILD_DEVICE' }], {
    ...env,
    POOL_FLAVOR: 'no-such-flavor',
  });
  assert.equal(failed.results[0]?.response, 'FAIL');

  const built = business(figures(run.metrics));
  const active = built.filter((f) => f.name === 'SecondsToActive');
  assert.equal(active.length, 2, 'one per build that went ACTIVE');
  for (const figure of active) {
    assert.equal(figure.unit, 'Seconds');
    assert.deepEqual(figure.dimensions, { service: SERVICE_NAME });
    // The simulator keeps a new server in BUILD for BOOT_DELAY_MS.
    assert.ok(figure.value >= BOOT_DELAY_MS / 1000 && figure.value < 30, `${figure.value} s to ACTIVE`);
  }
  assert.deepEqual(
    built.filter((f) => f.name === 'DeviceBuilds'),
    [1, 2].map(() => ({
      name: 'DeviceBuilds',
      unit: 'Count',
      value: 1,
      dimensions: { service: SERVICE_NAME, outcome: 'PASS' },
    })),
  );
  assert.deepEqual(business(figures(failed.metrics)), [
    { name: 'DeviceBuilds', unit: 'Count', value: 1, dimensions: { service: SERVICE_NAME, outcome: 'FAIL' } },
  ]);
  for (const result of run.results) {
    await invokeBundled(bundle, 'deleteDevice', [{ action: 'DELETE_DEVICE', name: result.name }], env);
  }
});

test('floating IP operations by operation and outcome; DELETE_DEVICE is none of them', async () => {
  const [built] = (await invokeBundled(bundle, 'buildIp', [{ action: 'BUILD_IP' }], env)).results;
  assert.equal(built?.response, 'PASS');
  const ip = String(built?.ip);
  const runs = [
    await invokeBundled(bundle, 'buildIp', [{ action: 'BUILD_IP' }], { ...env, POOL_FLOATING_IP_POOL: 'nowhere' }),
    await invokeBundled(bundle, 'assignIp', [{ action: 'ASSIGN_IP', ip, name: 'no-such-device' }], env),
    await invokeBundled(bundle, 'removeIp', [{ action: 'REMOVE_IP', ip, name: 'no-such-device' }], env),
    await invokeBundled(bundle, 'deleteIp', [{ action: 'DELETE_IP', ip }], env),
    await invokeBundled(bundle, 'deleteDevice', [{ action: 'DELETE_DEVICE', name: 'no-such-device' }], env),
  ];
  const seen = runs.map((r) => business(figures(r.metrics)).map((f) => [f.name, f.value, f.dimensions]));
  const expected = (operation: string, outcome: string) => [
    ['FloatingIpOperations', 1, { service: SERVICE_NAME, operation, outcome }],
  ];
  assert.deepEqual(seen, [
    expected('BUILD_IP', 'FAIL'),
    expected('ASSIGN_IP', 'FAIL'),
    expected('REMOVE_IP', 'PASS'),
    expected('DELETE_IP', 'PASS'),
    [],
  ]);
  // An unknown device fails ASSIGN_IP; REMOVE_IP of an address on no device has nothing to do: PASS.
  assert.deepEqual(
    runs.map((r) => r.results[0]?.response),
    ['FAIL', 'FAIL', 'PASS', 'PASS', 'PASS'],
  );
  // The per-action figures stay as they were, beside the business ones.
  const perAction = figures(runs[3]?.metrics ?? []).filter((f) => f.dimensions.action === 'DELETE_IP');
  assert.deepEqual(perAction.map((f) => f.name).sort(), ['Duration', 'Failures', 'Jobs']);
});
