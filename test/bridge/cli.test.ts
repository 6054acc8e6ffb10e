/**
 * The pool-bridge command as it ships, dist/pool-bridge.mjs (npm run build), as a child process: --help,
 * --version, exit status 2 for bad configuration, and the signal life cycle against real
 * gearmand and a local Lambda-compatible endpoint.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FakeLambda } from '../../scripts/lambda/fake-lambda';
import { echoPass, startFakeLambda } from '../../scripts/lambda/fake-lambda';
import type { JobResult } from '../../bridge/gearman';
import { GearmanClient } from '../../bridge/gearman';
import type { Child, Gearmand } from '../../scripts/harness';
import { spawnChild, startGearmand, until, within } from '../../scripts/harness';
import { GEARMAN_FUNCTION } from '../../contract';
import { BRIDGE_BIN, ROOT } from '../../scripts/fleet';

const FN = GEARMAN_FUNCTION;

/** The child's environment: nothing of ours or of AWS leaks in. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('POOL_BRIDGE_') || k.startsWith('AWS_') || k.startsWith('POWERTOOLS_')) continue;
    env[k] = v;
  }
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', NODE_NO_WARNINGS: '1', ...extra };
}

/** The command as a child process; every line of its output kept. */
function runBridge(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  return spawnChild({
    name: 'pool-bridge',
    command: process.execPath,
    args: [BRIDGE_BIN, ...args],
    cwd: ROOT,
    env: cleanEnv(env),
    keepOutput: 'all',
  });
}

describe('pool-bridge: options', { timeout: 60_000 }, () => {
  test('--help lists every option the command takes, and exits 0', async () => {
    const c = runBridge(['--help']);
    const { code } = await c.exited;
    assert.equal(code, 0, c.output('stderr'));
    for (const option of [
      '--gearman host:port[,host:port...]',
      '--function-name',
      '--lambda-endpoint',
      '--lambda-region',
      '--function-prefix',
      '--concurrency',
      '--invoke-timeout',
      '--drain-timeout',
      '--health-listen',
      '--gearman-ssl-ca',
      '--gearman-ssl-cert',
      '--gearman-ssl-key',
      '--[no-]keepalive',
      '--keepalive-idle',
      '--reconnect-max-delay',
      '--client-id',
      '--config',
      '--log-level',
      '--help',
      '--version',
      'POOL_BRIDGE_',
      'YAML',
    ]) {
      assert.ok(c.output('stdout').includes(option), `--help mentions ${option}`);
    }
  });

  test('--version prints the package version', async () => {
    const c = runBridge(['--version']);
    assert.equal((await c.exited).code, 0);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(c.output('stdout').trim(), pkg.version);
  });

  test('--device-name: the name BUILD_DEVICE gives the device of a unique id (the runbook example)', async () => {
    const named = runBridge(['--device-name', 'job-ops-1'], { POOL_BRIDGE_DEVICE_BASENAME: 'libra_stg_haproxy' });
    assert.equal((await named.exited).code, 0, named.output('stderr'));
    assert.equal(named.output('stdout').trim(), 'libra-stg-haproxy-0cdc0c9a-df1a-5d03-a28f-1f08aa094faa');
    const bare = runBridge(['--device-name', 'job-ops-1']);
    assert.equal((await bare.exited).code, 0);
    assert.equal(bare.output('stdout').trim(), '0cdc0c9a-df1a-5d03-a28f-1f08aa094faa');
    assert.match(bare.output('stderr'), /device-basename is not set/);
  });

  test('invalid configuration exits 2 with an error naming the setting', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-cli-'));
    try {
      const file = path.join(dir, 'bad.yaml');
      fs.writeFileSync(file, 'reconnect-max-delay: forever\n');
      const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
        [['--concurrency', '0'], {}, /invalid concurrency \(--concurrency on the command line\)/],
        [[], { POOL_BRIDGE_GEARMAN: 'nohost:' }, /invalid gearman \(POOL_BRIDGE_GEARMAN in the environment\)/],
        [['--config', file], {}, /invalid reconnect-max-delay \("reconnect-max-delay" in .*bad\.yaml\)/],
        [['--bogus'], {}, /Unknown option '--bogus'/],
        [['--health-listen', 'off'], { HOME: dir }, /invalid lambda-region: no region configured/],
      ];
      const runs = cases.map(([args, env]) => runBridge(args, env));
      for (const [i, c] of runs.entries()) {
        const { code } = await c.exited;
        assert.equal(code, 2, c.output('stderr'));
        assert.match(c.output('stderr'), cases[i]?.[2] ?? /never/);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pool-bridge: life cycle', { timeout: 60_000 }, () => {
  let gd: Gearmand;
  let lambda: FakeLambda;
  before(async () => {
    gd = await startGearmand();
    lambda = await startFakeLambda();
  });
  after(async () => {
    await lambda.close();
    await gd.stop();
  });

  const start = (extra: string[] = []): Child =>
    runBridge([
      '--gearman',
      gd.address,
      '--lambda-endpoint',
      lambda.url,
      '--health-listen',
      '127.0.0.1:0',
      '--client-id',
      'cli-test',
      '--reconnect-max-delay',
      '0.5',
      '--invoke-timeout',
      '30',
      ...extra,
    ]);

  const healthUrl = async (c: Child): Promise<string> => {
    await until(() => c.logs().some((l) => l.message === 'health endpoint listening'), 'the health endpoint', 15_000);
    return String(c.logs().find((l) => l.message === 'health endpoint listening')?.url);
  };

  test('SIGTERM with jobs in flight: they finish and are answered, nothing new is taken, exit 0', async () => {
    lambda.handler = (req) => ({ ...(echoPass(req) as { kind: 'result'; body: string }), delayMs: 1500 });
    const before = lambda.requests.length;
    const c = start(['--drain-timeout', '20']);
    const url = await healthUrl(c);
    await until(async () => (await fetch(`${url}/healthz`)).status === 200, 'registration', 15_000);

    const client = await GearmanClient.connect(gd.address);
    const jobs = ['sig-1', 'sig-2', 'sig-3'].map((u) =>
      client.submit(FN, u, JSON.stringify({ action: 'BUILD_IP', u })),
    );
    await until(() => lambda.requests.length - before === 3, 'three invokes in flight', 10_000);

    c.signal('SIGTERM');
    await until(
      () => c.logs().some((l) => String(l.message).startsWith('signal received')),
      'the signal to be seen',
      5000,
    );
    const late = client.submit(FN, 'sig-late', '{"action":"BUILD_IP"}').catch((e: Error) => e);

    const results: JobResult[] = await within(Promise.all(jobs), 10_000, 'in-flight jobs answered');
    for (const [i, r] of results.entries()) {
      assert.equal(r.packet, 'WORK_COMPLETE');
      assert.deepEqual(r.json, { action: 'BUILD_IP', u: `sig-${i + 1}`, response: 'PASS' });
    }
    const { code } = await within(c.exited, 10_000, 'exit after the drain');
    assert.equal(code, 0, c.output('stderr'));
    assert.equal(lambda.requests.length - before, 3, 'the late job was never invoked');
    assert.ok(!lambda.requests.some((r) => r.body.includes('sig-late')));

    // One line per job at INFO, carrying its unique id and handle.
    const jobLines = c.logs().filter((l) => 'handle' in l);
    assert.equal(jobLines.length, 3, `job log lines: ${JSON.stringify(jobLines)}`);
    for (const l of jobLines) {
      assert.match(String(l.unique), /^sig-/, JSON.stringify(l));
      assert.match(String(l.handle), /^H:/);
    }
    const answered = c
      .logs()
      .filter((l) => l.message === 'job answered')
      .map((l) => l.unique)
      .sort();
    assert.deepEqual(answered, ['sig-1', 'sig-2', 'sig-3']);

    // The job the bridge did not take is still queued for another worker.
    const other = start();
    try {
      lambda.handler = echoPass;
      const r = await within(late, 15_000, 'the late job served by a second bridge');
      assert.ok(!(r instanceof Error), String(r));
      assert.equal((r.json as { response?: string }).response, 'PASS');
    } finally {
      other.signal('SIGTERM');
      assert.equal((await within(other.exited, 10_000, 'second bridge exit')).code, 0);
      client.close();
    }
  });

  test('a second signal exits at once with a non-zero status', async () => {
    lambda.handler = () => ({ kind: 'hang' });
    const c = start();
    const url = await healthUrl(c);
    await until(async () => (await fetch(`${url}/healthz`)).status === 200, 'registration', 15_000);
    const client = await GearmanClient.connect(gd.address);
    const job = client.submit(FN, 'stuck', '{"action":"BUILD_DEVICE"}').catch((e: Error) => e);
    const before = lambda.requests.length;
    await until(
      () => lambda.requests.length > before || lambda.requests.some((r) => r.body.includes('stuck')),
      'the invoke',
      10_000,
    );
    c.signal('SIGINT');
    await until(() => c.logs().some((l) => String(l.message).startsWith('signal received')), 'the first signal', 5000);
    const t0 = Date.now();
    c.signal('SIGINT');
    const { code } = await within(c.exited, 5000, 'exit on the second signal');
    assert.equal(code, 130);
    assert.ok(Date.now() - t0 < 2000);
    client.close();
    await job;
  });

  test('/metrics and /healthz of the running command', async () => {
    lambda.handler = echoPass;
    const c = start();
    try {
      const url = await healthUrl(c);
      await until(async () => (await fetch(`${url}/healthz`)).status === 200, 'registration', 15_000);
      const client = await GearmanClient.connect(gd.address);
      const r = await client.submit(FN, 'metrics-1', '{"action":"DELETE_IP","ip":"1.2.3.4"}');
      client.close();
      assert.equal((r.json as { response?: string }).response, 'PASS');
      const health = (await (await fetch(`${url}/healthz`)).json()) as { servers: { server: string; state: string }[] };
      assert.deepEqual(
        health.servers.map((s) => [s.server, s.state]),
        [[gd.address, 'connected']],
      );
      const text = await (await fetch(`${url}/metrics`)).text();
      assert.match(text, /pool_bridge_jobs_total\{action="DELETE_IP",outcome="pass"\} 1/);
      assert.match(text, /pool_bridge_invoke_duration_seconds_count\{action="DELETE_IP"\} 1/);
      assert.match(text, /pool_bridge_process_resident_memory_bytes \d+/);
    } finally {
      c.signal('SIGTERM');
      assert.equal((await within(c.exited, 10_000, 'exit')).code, 0);
    }
  });
});
