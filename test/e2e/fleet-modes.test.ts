/**
 * What the fleet runs, from the environment: the simulator and serverless offline by
 * default; the user's cloud when OS_CLOUD / OS_AUTH_URL is set; the deployed functions in
 * AWS Lambda with FLEET_LAMBDA=aws. The "real cloud" here is a second simulator started by
 * the test, which the fleet knows only through the OS_* variables, as it would a real one;
 * "AWS" is a stand-in Lambda API on loopback named by POOL_BRIDGE_LAMBDA_ENDPOINT.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { FleetConfigError, functionsEnv, planFleet, startFleet } from '../../scripts/fleet';
import { startCloudSim } from '../../scripts/cloud-sim';
import { startFakeLambda } from '../../scripts/lambda/fake-lambda';
import { cleanEnv, gearman } from './helpers';
import { StartError, pidAlive, startService } from '../../scripts/harness';

/** The test process's environment without any cloud, fleet or AWS setting. */
describe('planFleet and the functions environment', () => {
  test('by default: the simulator and serverless offline', () => {
    assert.deepEqual(planFleet({}), { cloud: { kind: 'simulator' }, lambda: 'offline', errors: [] });
    assert.deepEqual(planFleet({ FLEET_LAMBDA: 'offline', OS_AUTH_URL: '' }), {
      cloud: { kind: 'simulator' },
      lambda: 'offline',
      errors: [],
    });
  });

  test('OS_CLOUD or OS_AUTH_URL: that cloud, and POOL_IMAGE / POOL_FLAVOR are required', () => {
    const plan = planFleet({ OS_AUTH_URL: 'https://keystone.example.com/v3' });
    assert.deepEqual(plan.cloud, {
      kind: 'external',
      via: 'OS_AUTH_URL',
      describe: 'OS_AUTH_URL=https://keystone.example.com/v3',
    });
    assert.deepEqual(plan.errors, [
      'POOL_IMAGE and POOL_FLAVOR must be set to use a real cloud (OS_AUTH_URL=https://keystone.example.com/v3): the image and flavor to boot devices from (ID or name)',
    ]);
    const cloud = planFleet({ OS_CLOUD: 'prod', POOL_IMAGE: 'img', POOL_FLAVOR: 'm1' });
    assert.deepEqual(cloud, {
      cloud: { kind: 'external', via: 'OS_CLOUD', describe: 'OS_CLOUD=prod' },
      lambda: 'offline',
      errors: [],
    });
  });

  test('FLEET_LAMBDA=aws: no serverless offline, no simulator; anything else is an error', () => {
    assert.deepEqual(planFleet({ FLEET_LAMBDA: 'AWS' }), { cloud: { kind: 'deployed' }, lambda: 'aws', errors: [] });
    assert.match(
      planFleet({ FLEET_LAMBDA: 'lambda' }).errors[0] ?? '',
      /^FLEET_LAMBDA=lambda: expected "offline" .* or "aws"/,
    );
  });

  test("for the simulator: its OS_* replace the user's, POOL_* defaults unless set, placeholder AWS keys", () => {
    const env = functionsEnv(
      { OS_CACERT: '/home/me/ca.pem', OS_REGION_NAME: 'Elsewhere', POOL_FLAVOR: 'm1.tiny', PATH: '/bin' },
      { OS_AUTH_URL: 'http://127.0.0.1:1/identity/v3', OS_REGION_NAME: 'RegionOne' },
    );
    assert.equal(env.OS_CACERT, undefined);
    assert.equal(env.OS_REGION_NAME, 'RegionOne');
    assert.equal(env.OS_AUTH_URL, 'http://127.0.0.1:1/identity/v3');
    assert.equal(env.POOL_IMAGE, 'haproxy-lb');
    assert.equal(env.POOL_FLAVOR, 'm1.tiny');
    assert.equal(env.POOL_NODE_BASENAME, 'libra-stg-haproxy');
    assert.equal(env.POOL_AZ_LABEL, '3');
    assert.equal(env.AWS_ACCESS_KEY_ID, 'local');
    assert.equal(env.SLS_TELEMETRY_DISABLED, '1');
    assert.equal(env.PATH, '/bin');
  });

  test("for a real cloud: the user's environment as it is", () => {
    const user = {
      OS_CLOUD: 'prod',
      POOL_IMAGE: 'img',
      POOL_FLAVOR: 'm1',
      AWS_ACCESS_KEY_ID: 'AKIA',
      AWS_SECRET_ACCESS_KEY: 's',
    };
    assert.deepEqual(functionsEnv(user, undefined), {
      ...user,
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
    });
  });

  test('a configuration error starts nothing', async () => {
    await assert.rejects(startFleet({ env: { OS_AUTH_URL: 'https://keystone.example.com/v3' } }), (error: Error) => {
      assert.ok(error instanceof FleetConfigError);
      assert.match(error.message, /POOL_IMAGE and POOL_FLAVOR must be set/);
      return true;
    });
  });
});

test('OS_AUTH_URL set: no simulator of its own; the functions use that cloud', { timeout: 120_000 }, async () => {
  const other = await startCloudSim({ bootDelayMs: 300, password: 'not-the-default', region: 'RegionTwo' });
  try {
    const fleet = await startFleet({
      env: cleanEnv({
        ...other.env,
        POOL_IMAGE: 'haproxy-lb',
        POOL_FLAVOR: 'm1.small',
        POOL_NODE_BASENAME: 'real_cloud',
        POOL_POLL_INITIAL_MS: '100',
      }),
    });
    try {
      assert.equal(fleet.cloud, undefined);
      assert.deepEqual(fleet.plan.cloud, {
        kind: 'external',
        via: 'OS_AUTH_URL',
        describe: `OS_AUTH_URL=${other.authUrl}`,
      });
      assert.match(fleet.banner, new RegExp(`\\n {2}cloud +OS_AUTH_URL=${other.authUrl.replace(/[.]/g, '\\.')}\\n`));
      assert.doesNotMatch(fleet.banner, /cloud simulator/);
      const r = await gearman(fleet, '{"action":"BUILD_DEVICE"}', { unique: randomUUID() });
      assert.equal(r.json?.response, 'PASS', r.stdout);
      assert.match(String(r.json?.name), /^real-cloud-/);
      assert.equal(r.json?.az, '');
      assert.deepEqual(
        other.servers().map((s) => s.name),
        [r.json?.name],
      );
      const d = await gearman(fleet, JSON.stringify({ action: 'DELETE_DEVICE', name: r.json?.name }));
      assert.equal(d.json?.response, 'PASS', d.stdout);
      assert.equal(other.counts().servers, 0);
    } finally {
      await fleet.stop();
    }
  } finally {
    await other.close();
  }
});

test(
  'FLEET_LAMBDA=aws: gearmand and the bridge only, invoking the deployed function names',
  { timeout: 60_000 },
  async () => {
    const aws = await startFakeLambda((req) => ({
      kind: 'result',
      body: JSON.stringify({
        ...(JSON.parse(req.body.toString('utf8')) as { message: object }).message,
        id: 'fip-1',
        ip: '203.0.113.9',
        response: 'PASS',
      }),
    }));
    try {
      const fleet = await startFleet({
        env: cleanEnv({
          FLEET_LAMBDA: 'aws',
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'example',
          POOL_BRIDGE_LAMBDA_ENDPOINT: aws.url,
          POOL_BRIDGE_FUNCTION_PREFIX: 'pool-manager-prod-',
          // A machine without Prometheus: the fleet says how to get it and runs the rest.
          PROMETHEUS: path.join(os.tmpdir(), 'no-such-dir', 'prometheus'),
        }),
      });
      try {
        assert.equal(fleet.cloud, undefined);
        assert.equal(fleet.functions, undefined);
        assert.deepEqual(
          fleet.processes().map((p) => p.name),
          ['gearmand', 'bridge'],
        );
        assert.match(
          fleet.banner,
          /\n {2}functions +AWS Lambda pool-manager-prod-\* in eu-west-1 \(FLEET_LAMBDA=aws\)\n/,
        );
        assert.match(fleet.banner, /\n {2}cloud +as configured on the deployed functions\n/);
        assert.equal(fleet.prometheus, 'not installed');
        assert.match(
          fleet.banner,
          /\n {2}prometheus +not installed: sudo apt-get install prometheus \(alert rules: ops\/prometheus\/alerts\.yml\)\n/,
        );
        const r = await gearman(fleet, '{"action":"BUILD_IP"}');
        assert.deepEqual(r.json, { action: 'BUILD_IP', id: 'fip-1', ip: '203.0.113.9', response: 'PASS' });
        assert.deepEqual(
          aws.requests.map((q) => q.functionName),
          ['pool-manager-prod-buildIp'],
        );
        const pids = fleet.processes().map((p) => p.pid);
        await fleet.stop();
        for (const pid of pids) assert.equal(pidAlive(pid), false, `pid ${pid} is gone`);
      } finally {
        await fleet.stop();
      }
    } finally {
      await aws.close();
    }
  },
);

describe('a service that does not come up', () => {
  test('it exits: StartError names it, says how it ended, and shows the end of its log', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-svc-'));
    try {
      await assert.rejects(
        startService({
          name: 'functions (serverless offline)',
          command: process.execPath,
          args: [
            '-e',
            'console.log("bundling..."); console.error("Error: something is wrong with serverless.yml"); process.exit(3)',
          ],
          group: true,
          logFile: path.join(dir, 'functions.log'),
          ready: { line: /listening on/ },
          readyTimeoutMs: 10_000,
        }),
        (error: Error) => {
          assert.ok(error instanceof StartError);
          assert.match(
            error.message,
            /^functions \(serverless offline\) failed to start: it exited \(exit code 3\) before it was ready\n/,
          );
          assert.match(error.message, /bundling\.\.\.\nError: something is wrong with serverless\.yml$/);
          return true;
        },
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('it hangs: stopped after the timeout, with everything it started in its process group', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-svc-'));
    const pidFile = path.join(dir, 'grandchild.pid');
    try {
      const script = `const c = require('child_process').spawn('sleep', ['60'], { stdio: 'ignore' }); require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(c.pid)); process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);`;
      const started = Date.now();
      await assert.rejects(
        startService({
          name: 'bridge',
          command: process.execPath,
          args: ['-e', script],
          group: true,
          logFile: path.join(dir, 'bridge.log'),
          ready: { line: /never/ },
          readyTimeoutMs: 1000,
          graceMs: 500,
        }),
        /^StartError: bridge failed to start: not ready within 1 s/,
      );
      assert.ok(Date.now() - started < 5000);
      const grandchild = Number(fs.readFileSync(pidFile, 'utf8'));
      assert.equal(pidAlive(grandchild), false, 'the process it started is gone too (it ignored SIGTERM: SIGKILL)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
