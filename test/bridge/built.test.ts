/**
 * What ships is what is tested: dist/pool-bridge.mjs (npm run build; npm test builds it
 * first), copied alone into an empty directory with no node_modules anywhere above it, runs
 * and serves real jobs through a real gearmand with the AWS SDK it carries; TLS to the job
 * server; the slot limit under load with pipelined grabs; --dry-run; Node 22 when one is
 * given (POOL_TEST_NODE22=<path to node 22>: this test downloads nothing).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GearmanClient } from '../../bridge/gearman';
import type { Result } from '../../contract';
import { GEARMAN_FUNCTION } from '../../contract';
import type { Envelope } from '../../contract/envelope';
import type { FakeLambda } from '../../scripts/lambda/fake-lambda';
import { echoPass, startFakeLambda } from '../../scripts/lambda/fake-lambda';
import type { Child, ChildOptions, Gearmand } from '../../scripts/harness';
import {
  answers,
  freePort,
  run,
  sleep,
  spawnChild,
  startGearmand,
  startService,
  until,
  within,
} from '../../scripts/harness';
import type { MutualTlsRelay } from '../helpers/relay';
import { startMutualTlsRelay } from '../helpers/relay';
import { BRIDGE_BIN, ROOT } from '../../scripts/fleet';

const FN = GEARMAN_FUNCTION;
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let gd: Gearmand;
let lambda: FakeLambda;
/** The empty directory the built file is copied into, alone. */
let alone = '';

/** The environment of a VM with Node.js and nothing else: no NODE_PATH, no npm settings, no AWS keys. */
function vmEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: alone, NODE_NO_WARNINGS: '1' };
}

function bridgeOptions(file: string, args: string[], node = process.execPath): ChildOptions & { name: string } {
  return {
    name: 'pool-bridge (built)',
    command: node,
    args: [file, ...args],
    cwd: path.dirname(file),
    env: vmEnv(),
    keepOutput: 'all',
  };
}

function bridge(file: string, args: string[]): Child {
  return spawnChild(bridgeOptions(file, args));
}

/** Started and registered (health 200), or stopped with a StartError showing the end of its output. */
async function startServing(file: string, args: string[], node?: string): Promise<{ child: Child; health: string }> {
  const port = await freePort();
  const health = `http://127.0.0.1:${port}/healthz`;
  const child = await startService({
    ...bridgeOptions(
      file,
      [
        '--gearman',
        gd.address,
        '--lambda-endpoint',
        lambda.url,
        '--health-listen',
        `127.0.0.1:${port}`,
        '--client-id',
        'built',
        ...args,
      ],
      node,
    ),
    ready: { http: { url: health, ok: (status) => status === 200 } },
    readyTimeoutMs: 20_000,
  });
  return { child, health };
}

before(async () => {
  assert.ok(fs.existsSync(BRIDGE_BIN), `${BRIDGE_BIN} is missing: npm run build (npm test runs it first)`);
  alone = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-bridge-alone-'));
  for (let dir = alone; ; dir = path.dirname(dir)) {
    assert.ok(!fs.existsSync(path.join(dir, 'node_modules')), `no node_modules in ${dir}`);
    if (path.dirname(dir) === dir) break;
  }
  fs.copyFileSync(BRIDGE_BIN, path.join(alone, 'pool-bridge.mjs'));
  assert.deepEqual(fs.readdirSync(alone), ['pool-bridge.mjs'], 'the file alone: no source map, no package.json');
  gd = await startGearmand();
  lambda = await startFakeLambda();
});
after(async () => {
  await lambda.close();
  await gd.stop();
  fs.rmSync(alone, { recursive: true, force: true });
});

describe('the built file, alone in an empty directory', { timeout: 60_000 }, () => {
  test('--version and --help work with no package.json and no node_modules near it', async () => {
    const file = path.join(alone, 'pool-bridge.mjs');
    const version = await run(process.execPath, [file, '--version'], { cwd: alone, env: vmEnv(), timeoutMs: 10_000 });
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout.trim(), VERSION);
    const help = await run(process.execPath, [file, '--help'], { cwd: alone, env: vmEnv(), timeoutMs: 10_000 });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /--gearman host:port/);
    assert.match(help.stdout, /--\[no-\]dry-run/);
  });

  test('serves every action through real gearmand, invoking Lambda with the SDK it carries', async () => {
    const file = path.join(alone, 'pool-bridge.mjs');
    lambda.handler = echoPass;
    const { child } = await startServing(file, ['--device-basename', 'libra-alone']);
    const client = await GearmanClient.connect(gd.address);
    try {
      const start = lambda.requests.length;
      const actions = ['BUILD_DEVICE', 'DELETE_DEVICE', 'BUILD_IP', 'ASSIGN_IP', 'REMOVE_IP', 'DELETE_IP'];
      const results = await Promise.all(
        actions.map((action, i) => client.submit(FN, `alone-${i}`, JSON.stringify({ action, n: i }))),
      );
      results.forEach((r, i) => assert.deepEqual(r.json, { action: actions[i], n: i, response: 'PASS' }));
      const sent = lambda.requests.slice(start);
      assert.equal(sent.length, 6);
      for (const req of sent) {
        assert.match(String(req.headers.authorization), /^AWS4-HMAC-SHA256 /, 'signed by the bundled SDK');
        assert.match((JSON.parse(req.body.toString()) as Envelope).unique ?? '', /^alone-\d$/);
      }
      child.signal('SIGTERM');
      assert.equal((await within(child.exited, 15_000, 'exit after SIGTERM')).code, 0, child.output());
    } finally {
      client.close();
      await child.stop(5000);
    }
  });

  test('--dry-run: the same parsing and routing, a FAIL "dry run", nothing invoked', async () => {
    const file = path.join(alone, 'pool-bridge.mjs');
    const { child } = await startServing(file, ['--dry-run']);
    const client = await GearmanClient.connect(gd.address);
    try {
      const start = lambda.requests.length;
      const r = await client.submit(FN, 'dry-1', JSON.stringify({ action: 'build_ip', keep: 'me' }));
      const result = r.json as Result;
      assert.equal(result.response, 'FAIL');
      assert.equal(result.keep, 'me');
      assert.match(String(result.error), /^dry run: no function invoked \(.*invokes pool-manager-dev-buildIp\)$/);
      const bad = await client.submit(FN, 'dry-2', '[1]');
      assert.match(String((bad.json as Result).error), /not an object/);
      assert.equal(lambda.requests.length, start, 'nothing invoked');
    } finally {
      client.close();
      child.signal('SIGTERM');
      await child.stop(5000);
    }
  });
});

describe('the built file under load', { timeout: 90_000 }, () => {
  test('pipelined grabs with concurrency 4: never more than 4 invokes open, 400 jobs each answered once', async () => {
    let open = 0;
    let mostOpen = 0;
    lambda.handler = async (req) => {
      open += 1;
      mostOpen = Math.max(mostOpen, open);
      await sleep(Math.floor(Math.random() * 4));
      open -= 1;
      return echoPass(req);
    };
    const { child, health } = await startServing(BRIDGE_BIN, ['--concurrency', '4']);
    const clients = await Promise.all(Array.from({ length: 8 }, () => GearmanClient.connect(gd.address)));
    try {
      const results = await Promise.all(
        Array.from({ length: 400 }, (_, i) =>
          (clients[i % clients.length] as GearmanClient).submit(
            FN,
            `load-${i}`,
            JSON.stringify({ action: 'BUILD_IP', i }),
          ),
        ),
      );
      results.forEach((r, i) => assert.deepEqual(r.json, { action: 'BUILD_IP', i, response: 'PASS' }));
      assert.ok(mostOpen <= 4, `${mostOpen} invokes were open at once`);
      assert.ok(mostOpen >= 2, `jobs ran side by side (${mostOpen})`);
      const body = (await (await fetch(health)).json()) as { inFlight: number };
      assert.equal(body.inFlight, 0);
    } finally {
      for (const c of clients) c.close();
      child.signal('SIGTERM');
      await child.stop(5000);
    }
  });
});

describe('the built file over TLS to the job server', { timeout: 60_000 }, () => {
  let proxy: MutualTlsRelay | undefined;
  let skip: string | undefined;
  before(async () => {
    const started = await startMutualTlsRelay(gd);
    if ('skip' in started) skip = started.skip;
    else proxy = started;
  });
  after(async () => {
    await proxy?.close();
  });

  test('verified server, client certificate: registers and serves; a wrong CA is refused', async (t) => {
    if (skip || !proxy) {
      t.skip(skip);
      return;
    }
    const { certs } = proxy;
    lambda.handler = echoPass;
    const port = await freePort();
    const child = bridge(BRIDGE_BIN, [
      '--gearman',
      proxy.address,
      '--gearman-ssl-ca',
      certs.file('ca.pem'),
      '--gearman-ssl-cert',
      certs.file('client.pem'),
      '--gearman-ssl-key',
      certs.file('client.key'),
      '--lambda-endpoint',
      lambda.url,
      '--health-listen',
      `127.0.0.1:${port}`,
    ]);
    const wrongPort = await freePort();
    const wrong = bridge(BRIDGE_BIN, [
      '--gearman',
      proxy.address,
      '--gearman-ssl-ca',
      certs.file('client.pem'),
      '--lambda-endpoint',
      lambda.url,
      '--health-listen',
      `127.0.0.1:${wrongPort}`,
      '--reconnect-max-delay',
      '0.3',
    ]);
    const client = await GearmanClient.connect(gd.address);
    try {
      const healthz = `http://127.0.0.1:${port}/healthz`;
      await until(() => answers(healthz, (status) => status === 200), 'TLS registration');
      const body = (await (await fetch(healthz)).json()) as { servers: { tls: boolean }[] };
      assert.equal(body.servers[0]?.tls, true);
      const r = await client.submit(FN, 'over-tls-built', '{"action":"BUILD_IP"}');
      assert.deepEqual(r.json, { action: 'BUILD_IP', response: 'PASS' });

      const wrongHealth = `http://127.0.0.1:${wrongPort}/healthz`;
      await until(async () => {
        if (!(await answers(wrongHealth))) return false;
        const w = (await (await fetch(wrongHealth)).json()) as { servers: { reconnects: number }[] };
        return (w.servers[0]?.reconnects ?? 0) >= 2;
      }, 'two refused attempts');
      const w = await fetch(wrongHealth);
      assert.equal(w.status, 503);
      const servers = ((await w.json()) as { servers: { lastError?: string }[] }).servers;
      assert.match(String(servers[0]?.lastError), /certificate|self.signed|verify|issuer/i);
    } finally {
      client.close();
      child.signal('SIGTERM');
      wrong.signal('SIGTERM');
      await Promise.all([child.stop(5000), wrong.stop(5000)]);
    }
  });
});

describe('the built file on Node 22', { timeout: 60_000 }, () => {
  const node22 = process.env.POOL_TEST_NODE22;
  test('--version, and a job served (POOL_TEST_NODE22 names a node 22 binary)', async (t) => {
    if (!node22) {
      t.skip('POOL_TEST_NODE22 is not set: no Node 22 to run it with');
      return;
    }
    const v = await run(node22, ['--version'], { timeoutMs: 10_000 });
    assert.match(v.stdout, /^v22\./, `POOL_TEST_NODE22 is ${v.stdout.trim()}, not Node 22`);
    const file = path.join(alone, 'pool-bridge.mjs');
    const version = await run(node22, [file, '--version'], { cwd: alone, env: vmEnv(), timeoutMs: 10_000 });
    assert.equal(version.stdout.trim(), VERSION, version.stderr);
    lambda.handler = echoPass;
    const { child } = await startServing(file, [], node22);
    const client = await GearmanClient.connect(gd.address);
    try {
      const r = await client.submit(FN, 'node22', '{"action":"DELETE_IP","ip":"127.0.0.9"}');
      assert.deepEqual(r.json, { action: 'DELETE_IP', ip: '127.0.0.9', response: 'PASS' });
    } finally {
      client.close();
      child.signal('SIGTERM');
      await child.stop(5000);
    }
  });
});
