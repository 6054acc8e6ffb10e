/**
 * The bridge in-process against real gearmand (fake invokers behind the Invoker
 * interface): round trips, concurrency, several servers, restarts, malformed payloads,
 * draining, TLS, /healthz and /metrics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { BridgeHandle } from '../../bridge/index';
import type { InvokeOutcome } from '../../bridge/invoker';
import { allConnected, startTestBridge } from './helpers/bridge';
import { FakeInvoker, json, passThrough, slow } from './helpers/fake-invoker';
import { GearmanClient, gearmanStatus, gearmanWorkers, submitJob } from '../../bridge/gearman';
import { gearmanCli } from '../helpers/gearman-cli';
import type { MutualTlsRelay } from '../helpers/relay';
import { startMutualTlsRelay } from '../helpers/relay';
import type { Gearmand } from '../../scripts/harness';
import { sleep, startGearmand, until } from '../../scripts/harness';
import { GEARMAN_FUNCTION } from '../../contract';

const FN = GEARMAN_FUNCTION;

describe('round trip through real gearmand', { timeout: 30_000 }, () => {
  let gd: Gearmand;
  let bridge: BridgeHandle;
  const invoker = new FakeInvoker();
  before(async () => {
    gd = await startGearmand();
    bridge = await startTestBridge([gd.address], invoker);
    await until(() => allConnected(bridge), 'registration');
  });
  after(async () => {
    await bridge.stop();
    await gd.stop();
  });

  test('registered with its client id (SET_CLIENT_ID) for the function (CAN_DO)', async () => {
    const workers = await gearmanWorkers(gd);
    assert.ok(
      workers.some((w) => w.clientId === 'pool-bridge-test' && w.functions.join(' ') === FN),
      `gearmand workers: ${JSON.stringify(workers)}`,
    );
    const status = await gearmanStatus(gd);
    assert.equal(status.find((f) => f.function === FN)?.availableWorkers, 1, JSON.stringify(status));
  });

  test('gearman CLI job: unique id and handle reach the function, its result comes back verbatim', async () => {
    const verbatim = '{"action":"build_ip",  "response":"PASS", "id":"12345","ip":"15.185.234.125"}';
    invoker.handler = () => ({ status: 'returned', payload: Buffer.from(verbatim) });
    const before = invoker.calls.length;
    const r = await gearmanCli(gd, FN, '{"action":"build_ip"}', { unique: 'uuid-cli-1' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.replace(/\n$/, ''), verbatim);
    const call = invoker.calls[before];
    assert.ok(call);
    assert.equal(call.functionName, 'pool-manager-dev-buildIp');
    assert.equal(call.envelope.envelope, 'libra-pool-manager/v1');
    assert.equal(call.envelope.unique, 'uuid-cli-1');
    assert.match(call.envelope.handle ?? '', /^H:/);
    assert.deepEqual(call.envelope.message, { action: 'build_ip' });
  });

  test('Node client: every action is routed to its function', async () => {
    invoker.handler = passThrough;
    const c = await GearmanClient.connect(gd.address);
    try {
      const actions = ['BUILD_DEVICE', 'DELETE_DEVICE', 'BUILD_IP', 'ASSIGN_IP', 'REMOVE_IP', 'DELETE_IP'];
      const results = await Promise.all(
        actions.map((action, i) => c.submit(FN, `route-${i}`, JSON.stringify({ action }))),
      );
      for (const [i, r] of results.entries()) {
        assert.equal(r.packet, 'WORK_COMPLETE');
        assert.deepEqual(r.json, { action: actions[i], response: 'PASS' });
      }
      const names = invoker.calls
        .filter((c) => c.envelope.unique?.startsWith('route-'))
        .map((c) => c.functionName)
        .sort();
      assert.deepEqual(names, [
        'pool-manager-dev-assignIp',
        'pool-manager-dev-buildDevice',
        'pool-manager-dev-buildIp',
        'pool-manager-dev-deleteDevice',
        'pool-manager-dev-deleteIp',
        'pool-manager-dev-removeIp',
      ]);
    } finally {
      c.close();
    }
  });

  test('malformed payloads each get a FAIL object with WORK_COMPLETE, and the bridge carries on', async () => {
    invoker.handler = passThrough;
    const before = invoker.calls.length;
    const payloads: [string, Buffer][] = [
      ['bad JSON', Buffer.from('{"action": BUILD_IP')],
      ['array', Buffer.from('[{"action":"BUILD_IP"}]')],
      ['number', Buffer.from('42')],
      ['string', Buffer.from('"BUILD_IP"')],
      ['null', Buffer.from('null')],
      ['empty', Buffer.alloc(0)],
      ['binary', Buffer.from([0xff, 0x00, 0xfe, 0x00, 0x80, 0x7b])],
      [
        'huge',
        Buffer.concat([
          Buffer.from('{"action":"BUILD_IP","pad":"'),
          Buffer.alloc(1024 * 1024, 0x61),
          Buffer.from('"}'),
        ]),
      ],
      ['unknown action', Buffer.from('{"action":"EXPLODE"}')],
      ['no action', Buffer.from('{"name":"x"}')],
    ];
    const c = await GearmanClient.connect(gd.address);
    try {
      const results = await Promise.all(payloads.map(([name, p]) => c.submit(FN, `bad-${name}`, p)));
      for (const [i, r] of results.entries()) {
        const name = payloads[i]?.[0];
        assert.equal(r.packet, 'WORK_COMPLETE', name);
        const obj = r.json as Record<string, unknown>;
        assert.equal(obj.response, 'FAIL', name);
        assert.equal(typeof obj.error, 'string', name);
        assert.ok(String(obj.error).length > 10, name);
      }
      assert.deepEqual((results[8]?.json as Record<string, unknown>).action, 'EXPLODE', 'the message is echoed');
      assert.equal(invoker.calls.length, before, 'nothing was invoked');
      // Still serving.
      const ok = await c.submit(FN, 'after-bad', '{"action":"DELETE_IP","ip":"1.2.3.4"}');
      assert.deepEqual(ok.json, { action: 'DELETE_IP', ip: '1.2.3.4', response: 'PASS' });
    } finally {
      c.close();
    }
  });

  test('invoke failures become FAIL results: FunctionError, throw, non-object, bad shapes', async () => {
    const outcomes: [string, () => InvokeOutcome | Promise<InvokeOutcome>, RegExp][] = [
      [
        'function error',
        () => ({
          status: 'returned',
          payload: Buffer.from('{"errorType":"Error","errorMessage":"nova down"}'),
          functionError: 'Unhandled',
        }),
        /failed \(Unhandled\): Error: nova down/,
      ],
      [
        'throw',
        () => {
          throw new Error('socket hang up');
        },
        /invoking pool-manager-dev-buildIp failed: Error: socket hang up/,
      ],
      ['reject', () => Promise.reject(new Error('ECONNRESET')), /ECONNRESET/],
      ['array result', () => json([1, 2]), /returned JSON array/],
      ['garbage outcome', () => ({}) as InvokeOutcome, /bridge could not read|invoking/],
      ['throttled', () => ({ status: 'failed', reason: 'throttled', message: 'throttled 9 time(s)' }), /was not run/],
    ];
    for (const [name, handler, pattern] of outcomes) {
      invoker.handler = handler;
      const r = await submitJob({
        server: gd.address,
        functionName: FN,
        unique: `fail-${name}`,
        payload: '{"action":"BUILD_IP","keep":"me"}',
      });
      assert.equal(r.packet, 'WORK_COMPLETE', name);
      const obj = r.json as Record<string, unknown>;
      assert.equal(obj.response, 'FAIL', name);
      assert.equal(obj.keep, 'me', `${name}: message echoed`);
      assert.match(String(obj.error), pattern, name);
    }
  });

  test('/healthz reports each server, /metrics counts jobs by action and outcome', async () => {
    assert.ok(bridge.health);
    const h = await fetch(`${bridge.health.url}/healthz`);
    assert.equal(h.status, 200);
    const body = (await h.json()) as {
      status: string;
      servers: { server: string; state: string }[];
      concurrency: number;
    };
    assert.equal(body.status, 'ok');
    assert.deepEqual(
      body.servers.map((s) => [s.server, s.state]),
      [[gd.address, 'connected']],
    );
    assert.equal(body.concurrency, 64);
    const m = await fetch(`${bridge.health.url}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type') ?? '', /text\/plain/);
    const text = await m.text();
    assert.match(text, /pool_bridge_jobs_total\{action="BUILD_IP",outcome="pass"\} \d+/);
    assert.match(text, /pool_bridge_jobs_total\{action="invalid",outcome="fail"\} \d+/);
    assert.match(text, /pool_bridge_jobs_in_flight 0/);
    assert.match(text, /pool_bridge_invoke_duration_seconds_bucket\{le="900",action="BUILD_IP"\} \d+/);
    assert.match(text, new RegExp(`pool_bridge_reconnects_total\\{server="${gd.address}"\\} 0`));
    assert.match(text, new RegExp(`pool_bridge_server_connected\\{server="${gd.address}"\\} 1`));
    assert.equal((await fetch(`${bridge.health.url}/nope`)).status, 404);
  });
});

describe('concurrency', { timeout: 30_000 }, () => {
  let gd: Gearmand;
  before(async () => {
    gd = await startGearmand();
  });
  after(async () => {
    await gd.stop();
  });

  test('50 jobs that each take 1 s finish in about the time of one', async () => {
    const invoker = new FakeInvoker(slow(1000));
    const bridge = await startTestBridge([gd.address], invoker);
    try {
      await until(() => allConnected(bridge), 'registration');
      const c = await GearmanClient.connect(gd.address);
      const t0 = performance.now();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => c.submit(FN, `slow-${i}`, JSON.stringify({ action: 'BUILD_IP', i }))),
      );
      const took = performance.now() - t0;
      c.close();
      assert.ok(results.every((r) => (r.json as { response?: string }).response === 'PASS'));
      assert.equal(invoker.maxActive, 50);
      assert.ok(took < 5000, `50 × 1 s jobs took ${Math.round(took)} ms`);
      console.log(`# 50 concurrent 1 s jobs: ${Math.round(took)} ms`);
    } finally {
      await bridge.stop();
    }
  });

  test('never more jobs than slots; a long BUILD_DEVICE does not hold up BUILD_IP', async () => {
    const invoker = new FakeInvoker(async (call, signal) => {
      await sleep(call.functionName.endsWith('buildDevice') ? 3000 : 200, signal);
      return passThrough(call, signal);
    });
    const bridge = await startTestBridge([gd.address], invoker, { concurrency: 3 });
    try {
      await until(() => allConnected(bridge), 'registration');
      const c = await GearmanClient.connect(gd.address);
      const device = c.submit(FN, 'long-device', '{"action":"BUILD_DEVICE"}');
      await until(() => invoker.active === 1, 'the device build to start');
      const t0 = performance.now();
      const ips = await Promise.all(
        Array.from({ length: 8 }, (_, i) => c.submit(FN, `ip-${i}`, '{"action":"BUILD_IP"}')),
      );
      const ipTime = performance.now() - t0;
      assert.ok(ips.every((r) => (r.json as { response?: string }).response === 'PASS'));
      assert.ok(ipTime < 2500, `8 BUILD_IP on 2 free slots took ${Math.round(ipTime)} ms while BUILD_DEVICE ran`);
      assert.equal(invoker.maxActive, 3, 'never more than 3 at once');
      assert.equal((await device).packet, 'WORK_COMPLETE');
      c.close();
    } finally {
      await bridge.stop();
    }
  });
});

describe('several job servers', { timeout: 30_000 }, () => {
  test('jobs on both servers are served; one going away does not stop the other', async () => {
    const a = await startGearmand();
    const b = await startGearmand();
    const invoker = new FakeInvoker();
    const bridge = await startTestBridge([a.address, b.address], invoker, { concurrency: 8 });
    try {
      await until(() => allConnected(bridge), 'registration on both');
      const [ra, rb] = await Promise.all([
        submitJob({
          server: a.address,
          functionName: FN,
          unique: 'on-a',
          payload: '{"action":"BUILD_IP","server":"a"}',
        }),
        submitJob({
          server: b.address,
          functionName: FN,
          unique: 'on-b',
          payload: '{"action":"BUILD_IP","server":"b"}',
        }),
      ]);
      assert.deepEqual(ra.json, { action: 'BUILD_IP', server: 'a', response: 'PASS' });
      assert.deepEqual(rb.json, { action: 'BUILD_IP', server: 'b', response: 'PASS' });

      await a.kill();
      await until(() => bridge.state().servers[0]?.state !== 'connected', 'server a to be seen down');
      const h = await fetch(`${bridge.health?.url}/healthz`);
      assert.equal(h.status, 200, 'one server connected is healthy');
      const rb2 = await submitJob({
        server: b.address,
        functionName: FN,
        unique: 'on-b-2',
        payload: '{"action":"BUILD_IP"}',
      });
      assert.equal((rb2.json as { response?: string }).response, 'PASS');

      await b.kill();
      await until(() => bridge.state().servers.every((s) => s.state !== 'connected'), 'both down');
      const down = await fetch(`${bridge.health?.url}/healthz`);
      assert.equal(down.status, 503);
      assert.equal(((await down.json()) as { status: string }).status, 'down');
    } finally {
      await bridge.stop();
      await a.stop();
      await b.stop();
    }
  });
});

describe('job server restarts', { timeout: 30_000 }, () => {
  test('gearmand killed mid-run: the running job is answered nowhere, the bridge re-registers and serves again', async () => {
    const gd = await startGearmand();
    const invoker = new FakeInvoker(async (call, signal) => {
      if (call.envelope.unique === 'mid-run') await sleep(800, signal);
      return passThrough(call, signal);
    });
    const bridge = await startTestBridge([gd.address], invoker, { reconnectMaxDelayMs: 300 });
    try {
      await until(() => allConnected(bridge), 'registration');
      const c = await GearmanClient.connect(gd.address);
      const lost = c.submit(FN, 'mid-run', '{"action":"BUILD_DEVICE"}').catch((e: Error) => e);
      await until(() => invoker.active === 1, 'the job to be running');
      await gd.kill();
      assert.ok((await lost) instanceof Error, 'the client saw its server die');
      await gd.start();
      const restarted = performance.now();
      const r = await submitJob({
        server: gd.address,
        functionName: FN,
        unique: 'after-restart',
        payload: '{"action":"BUILD_IP"}',
      });
      const served = performance.now() - restarted;
      assert.equal((r.json as { response?: string }).response, 'PASS');
      assert.ok(served < 3000, `first job after restart served in ${Math.round(served)} ms`);
      console.log(
        `# gearmand killed mid-job and restarted: first job served ${Math.round(served)} ms after it came back`,
      );
      // The job that was running finishes; its answer has nowhere to go and must not crash
      // anything: /metrics counts it as lost, and the bridge still serves.
      const metrics = (): Promise<string> => fetch(`${bridge.health?.url}/metrics`).then((res) => res.text());
      await until(
        async () => /pool_bridge_jobs_total\{action="BUILD_DEVICE",outcome="lost"\} 1/.test(await metrics()),
        'the orphaned job to finish and be counted as lost',
      );
      assert.match(await metrics(), new RegExp(`pool_bridge_reconnects_total\\{server="${gd.address}"\\} [1-9]`));
      assert.doesNotMatch(await metrics(), /action="BUILD_DEVICE",outcome="pass"\} [1-9]/, 'not counted as answered');
      const after = await submitJob({
        server: gd.address,
        functionName: FN,
        unique: 'after-lost',
        payload: '{"action":"BUILD_IP"}',
      });
      assert.equal((after.json as { response?: string }).response, 'PASS');
    } finally {
      await bridge.stop();
      await gd.stop();
    }
  });

  test('time to first job after a restart, with the bridge idle', async () => {
    const gd = await startGearmand();
    const invoker = new FakeInvoker();
    const bridge = await startTestBridge([gd.address], invoker, { reconnectMaxDelayMs: 500 });
    try {
      await until(() => allConnected(bridge), 'registration');
      await gd.restart();
      const t0 = performance.now();
      const r = await submitJob({
        server: gd.address,
        functionName: FN,
        unique: 'idle-restart',
        payload: '{"action":"BUILD_IP"}',
      });
      const took = performance.now() - t0;
      assert.equal((r.json as { response?: string }).response, 'PASS');
      console.log(`# idle bridge: first job served ${Math.round(took)} ms after gearmand restarted`);
      assert.ok(took < 3000, `took ${Math.round(took)} ms`);
    } finally {
      await bridge.stop();
      await gd.stop();
    }
  });

  test('a bridge started before its job server connects when the server comes up', async () => {
    const gd = await startGearmand();
    await gd.kill();
    const bridge = await startTestBridge([gd.address], new FakeInvoker(), { reconnectMaxDelayMs: 300 });
    try {
      await sleep(400);
      assert.equal(bridge.state().status, 'down');
      await gd.start();
      await until(() => allConnected(bridge), 'registration after the server came up', 5000);
      const r = await submitJob({
        server: gd.address,
        functionName: FN,
        unique: 'late',
        payload: '{"action":"BUILD_IP"}',
      });
      assert.equal((r.json as { response?: string }).response, 'PASS');
    } finally {
      await bridge.stop();
      await gd.stop();
    }
  });
});

describe('draining', { timeout: 30_000 }, () => {
  test('drain(): jobs in flight finish and are answered, nothing new is taken, the held job goes to another worker', async () => {
    const gd = await startGearmand();
    const invoker = new FakeInvoker(slow(700));
    const bridge = await startTestBridge([gd.address], invoker, { concurrency: 4 });
    let other: BridgeHandle | undefined;
    try {
      await until(() => allConnected(bridge), 'registration');
      const c = await GearmanClient.connect(gd.address);
      const running = Array.from({ length: 3 }, (_, i) => c.submit(FN, `drain-${i}`, '{"action":"BUILD_IP"}'));
      await until(() => invoker.active === 3, 'three jobs running');
      const drained = bridge.drain(5000);
      const late = c.submit(FN, 'drain-late', '{"action":"BUILD_IP"}');
      const results = await Promise.all(running);
      assert.ok(results.every((r) => (r.json as { response?: string }).response === 'PASS'));
      const d = await drained;
      assert.deepEqual(d, { unfinished: 0, timedOut: false });
      assert.equal(invoker.calls.filter((x) => x.envelope.unique === 'drain-late').length, 0, 'late job not taken');
      // Another worker takes the job this bridge refused.
      const otherInvoker = new FakeInvoker();
      other = await startTestBridge([gd.address], otherInvoker);
      const r = await late;
      assert.equal((r.json as { response?: string }).response, 'PASS');
      assert.equal(otherInvoker.calls[0]?.envelope.unique, 'drain-late');
      c.close();
    } finally {
      await other?.stop();
      await bridge.stop();
      await gd.stop();
    }
  });

  test('drain timeout: unfinished jobs are abandoned and counted', async () => {
    const gd = await startGearmand();
    const invoker = new FakeInvoker(slow(5000));
    const bridge = await startTestBridge([gd.address], invoker);
    try {
      await until(() => allConnected(bridge), 'registration');
      const c = await GearmanClient.connect(gd.address);
      void c.submit(FN, 'too-slow', '{"action":"BUILD_DEVICE"}').catch(() => undefined);
      await until(() => invoker.active === 1, 'the job to run');
      const t0 = Date.now();
      const d = await bridge.drain(300);
      assert.deepEqual(d, { unfinished: 1, timedOut: true });
      assert.ok(Date.now() - t0 < 2000);
      c.close();
    } finally {
      await bridge.stop();
      await gd.stop();
    }
  });
});

describe('invoke timeout in the worker', { timeout: 30_000 }, () => {
  test('an invoker that never answers is cut off at the invoke timeout with a FAIL', async () => {
    const gd = await startGearmand();
    const invoker = new FakeInvoker(() => new Promise<InvokeOutcome>(() => undefined));
    const bridge = await startTestBridge([gd.address], invoker, { invokeTimeoutMs: 300 });
    try {
      await until(() => allConnected(bridge), 'registration');
      const r = await submitJob({
        server: gd.address,
        functionName: FN,
        unique: 'hang',
        payload: '{"action":"BUILD_IP"}',
      });
      const obj = r.json as Record<string, unknown>;
      assert.equal(obj.response, 'FAIL');
      assert.match(String(obj.error), /timed out: no answer within the 0.3 s invoke timeout/);
    } finally {
      await bridge.stop();
      await gd.stop();
    }
  });
});

describe('TLS to the job server', { timeout: 30_000 }, () => {
  // Debian's gearmand 1.1.20 takes --ssl but does not negotiate TLS, so a TLS terminator
  // (test/helpers/relay.ts, what stunnel does in production) fronts it.
  let gd: Gearmand;
  let proxy: MutualTlsRelay | undefined;
  let skip: string | undefined;
  const file = (name: string): string => proxy?.certs.file(name) ?? name;

  before(async () => {
    gd = await startGearmand();
    const started = await startMutualTlsRelay(gd);
    if ('skip' in started) skip = started.skip;
    else proxy = started;
  });
  after(async () => {
    await proxy?.close();
    await gd.stop();
  });

  test('the bridge registers over TLS (CA, client certificate and key) and serves a job', async (t) => {
    if (skip || !proxy) {
      t.skip(skip);
      return;
    }
    const invoker = new FakeInvoker();
    const bridge = await startTestBridge([proxy.address], invoker, {
      tls: { caFile: file('ca.pem'), certFile: file('client.pem'), keyFile: file('client.key') },
    });
    try {
      await until(() => allConnected(bridge), 'TLS registration', 5000);
      assert.equal(bridge.state().servers[0]?.tls, true);
      const r = await submitJob({
        server: gd.address,
        functionName: FN,
        unique: 'over-tls',
        payload: '{"action":"BUILD_IP"}',
      });
      assert.deepEqual(r.json, { action: 'BUILD_IP', response: 'PASS' });
      assert.equal(invoker.calls[0]?.envelope.unique, 'over-tls');
    } finally {
      await bridge.stop();
    }
  });

  test('a server certificate the CA did not sign is refused, and retried', async (t) => {
    if (skip || !proxy) {
      t.skip(skip);
      return;
    }
    const bridge = await startTestBridge([proxy.address], new FakeInvoker(), {
      tls: { caFile: file('client.pem'), certFile: file('client.pem'), keyFile: file('client.key') },
      reconnectMaxDelayMs: 200,
    });
    try {
      await until(() => (bridge.state().servers[0]?.reconnects ?? 0) >= 2, 'two failed attempts', 5000);
      const s = bridge.state().servers[0];
      assert.notEqual(s?.state, 'connected');
      assert.match(s?.lastError ?? '', /certificate|self.signed|verify|issuer/i);
    } finally {
      await bridge.stop();
    }
  });

  test('without a client certificate the server refuses the connection', async (t) => {
    if (skip || !proxy) {
      t.skip(skip);
      return;
    }
    const bridge = await startTestBridge([proxy.address], new FakeInvoker(), {
      tls: { caFile: file('ca.pem') },
      reconnectMaxDelayMs: 200,
    });
    try {
      await until(() => (bridge.state().servers[0]?.reconnects ?? 0) >= 1, 'a failed attempt', 5000);
      assert.notEqual(bridge.state().servers[0]?.state, 'connected');
    } finally {
      await bridge.stop();
    }
  });
});
