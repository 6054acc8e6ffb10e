/**
 * The handlers as Lambda runs them: the esbuild bundle serverless ships, loaded in a fresh
 * Node process, warm across the events of one process; and one `serverless invoke local`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { wrap } from '../../contract';
import type { CloudSim } from '../../scripts/cloud-sim';
import { functionEnv, startCloud } from '../helpers/cloud';
import type { Bundle } from '../../scripts/lambda/bundle';
import { bundleHandlers } from '../../scripts/lambda/bundle';
import { invokeBundled } from '../../scripts/lambda/warm-function';

let sim: CloudSim;
let bundle: Bundle;
let env: Record<string, string>;

before(async () => {
  [sim, bundle] = await Promise.all([startCloud(), bundleHandlers()]);
  env = functionEnv(sim, { POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_METRICS_NAMESPACE: 'LibraPoolManager' });
});
after(async () => {
  await sim.close();
  bundle.remove();
});

test('each bundled function passes its action, and the lifecycle leaves the cloud empty', async () => {
  const [build] = (
    await invokeBundled(bundle, 'buildDevice', [wrap({ action: 'BUILD_DEVICE' }, 'bundle-life', 'H:test:1')], env)
  ).results;
  assert.equal(build?.response, 'PASS', JSON.stringify(build));
  const [fip] = (await invokeBundled(bundle, 'buildIp', [{ action: 'BUILD_IP' }], env)).results;
  assert.equal(fip?.response, 'PASS', JSON.stringify(fip));
  const name = String(build?.name);
  const ip = String(fip?.ip);
  const steps = [
    ['assignIp', { action: 'ASSIGN_IP', ip, name }],
    ['removeIp', { action: 'REMOVE_IP', ip, name }],
    ['deleteIp', { action: 'DELETE_IP', ip }],
    ['deleteDevice', { action: 'DELETE_DEVICE', name }],
  ] as const;
  for (const [fn, message] of steps) {
    const { results } = await invokeBundled(bundle, fn, [message], env);
    assert.deepEqual(results, [{ ...message, response: 'PASS' }]);
  }
  assert.deepEqual([sim.counts().servers, sim.counts().floatingIps], [0, 0]);
});

test('a warm function authenticates once for many invocations', async () => {
  const before = sim.requestCounts()['identity:POST /v3/auth/tokens'] ?? 0;
  const events = Array.from({ length: 20 }, (_, i) => wrap({ action: 'build_ip' }, `warm-${i}`));
  const { results } = await invokeBundled(bundle, 'buildIp', events, env);
  assert.equal(results.length, 20);
  assert.ok(results.every((result) => result.response === 'PASS' && result.action === 'build_ip'));
  assert.equal((sim.requestCounts()['identity:POST /v3/auth/tokens'] ?? 0) - before, 1);
  for (const result of results) {
    await invokeBundled(bundle, 'deleteIp', [{ action: 'DELETE_IP', ip: result.ip }], env);
  }
});

test('bad events and bad settings get a FAIL that says why, never a throw', async () => {
  const events = [
    ['not', 'an', 'object'],
    'BUILD_IP',
    null,
    { action: 'DELETE_IP' },
    { action: 'DELETE_IP', ip: 'localhost' },
    { action: 'BUILD_DEVICE' },
    { noAction: true },
  ];
  const { results } = await invokeBundled(bundle, 'deleteIp', events, env);
  assert.deepEqual(
    results.map((result) => [result.response, result.error]),
    [
      ['FAIL', 'the job payload is not a JSON object'],
      ['FAIL', 'the job payload is not a JSON object'],
      ['FAIL', 'the job payload is not a JSON object'],
      ['FAIL', "invalid DELETE_IP message: 'ip' is missing: give the floating IPv4 address"],
      ['FAIL', "invalid DELETE_IP message: 'ip' is not an IPv4 address"],
      ['FAIL', "this function serves DELETE_IP, the message has 'BUILD_DEVICE'"],
      ['FAIL', 'this function serves DELETE_IP, the message has no action'],
    ],
  );
  assert.deepEqual(results[6], {
    noAction: true,
    response: 'FAIL',
    error: 'this function serves DELETE_IP, the message has no action',
  });

  const { POOL_IMAGE: _image, ...withoutImage } = env;
  const [missing] = (await invokeBundled(bundle, 'buildDevice', [{ action: 'BUILD_DEVICE' }], withoutImage)).results;
  assert.equal(missing?.response, 'FAIL');
  assert.match(String(missing?.error), /^POOL_IMAGE is not set/);
  const [noCloud] = (
    await invokeBundled(bundle, 'buildIp', [{ action: 'BUILD_IP' }], { POOL_IMAGE: 'x', POOL_FLAVOR: 'y' })
  ).results;
  assert.match(String(noCloud?.error), /^OS_AUTH_URL is not set/);
});

test('logs are JSON with the unique id as correlation id; metrics are EMF; no secret anywhere', async () => {
  const run = await invokeBundled(
    bundle,
    'buildDevice',
    [wrap({ action: 'BUILD_DEVICE' }, 'corr-1', 'H:test:7'), { action: 'BUILD_DEVICE' }],
    { ...env, OS_PASSWORD: 'wrong-password-s3cret' },
  );
  assert.ok(run.results.every((result) => result.response === 'FAIL'));
  assert.match(String(run.results[0]?.error), /401|[Aa]uthenticat/);
  const jobLines = run.logs.filter((line) => line.unique === 'corr-1');
  assert.ok(jobLines.length > 0);
  assert.ok(
    jobLines.every(
      (line) => line.correlation_id === 'corr-1' && line.handle === 'H:test:7' && line.service === 'pool-manager',
    ),
  );
  const metric = run.metrics[0] as {
    _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] };
    action: string;
  };
  assert.equal(metric.action, 'BUILD_DEVICE');
  assert.equal(metric._aws.CloudWatchMetrics[0]?.Namespace, 'LibraPoolManager');
  assert.deepEqual(metric._aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name).sort(), [
    'Duration',
    'Failures',
    'Jobs',
  ]);
  assert.ok(!run.output.includes('wrong-password-s3cret'), 'the password leaked');

  const ok = await invokeBundled(bundle, 'buildIp', [wrap({ action: 'BUILD_IP' }, 'corr-2')], env);
  assert.equal(ok.results[0]?.response, 'PASS');
  assert.ok(!ok.output.includes(String(env.OS_PASSWORD)), 'the password leaked');
  for (const token of sim.issuedTokens()) assert.ok(!ok.output.includes(token), 'a token leaked');
});

test('serverless invoke local runs a bundled function and prints its result', { timeout: 120_000 }, async () => {
  const root = join(import.meta.dirname, '..', '..');
  const { stdout } = await promisify(execFile)(
    join(root, 'node_modules', '.bin', 'serverless'),
    ['invoke', 'local', '-f', 'buildIp', '--data', '{"action":"BUILD_IP","keep":"me"}'],
    {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        ...env,
        POWERTOOLS_LOG_LEVEL: 'WARN',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
      },
      maxBuffer: 10 * 1024 * 1024,
    },
  );
  const result = JSON.parse(stdout.slice(stdout.lastIndexOf('\n{\n') + 1)) as Record<string, unknown>;
  assert.equal(result.response, 'PASS', stdout);
  assert.equal(result.keep, 'me');
  assert.match(String(result.ip), /^127\.0\.100\.\d+$/);
});
