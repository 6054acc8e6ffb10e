/**
 * The bridge and the job server dying under load, with the real functions behind them:
 * SIGKILL of a bridge mid-BUILD_DEVICE, gearmand killed and restarted with jobs running,
 * a job server down from the start, SIGTERM with 20 jobs in flight. Every scenario ends
 * with the cloud holding exactly what the PASS results report.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Result } from '../../contract/result';
import { GearmanClient, submitJob } from '../../bridge/gearman';
import { gearmanCli } from '../helpers/gearman-cli';
import type { Chain } from './helpers/chain';
import { FN, inventory, report, startChain, useLoopbackGuard } from './helpers/chain';
import type { BridgeProc } from './helpers/procs';
import { startBridgeProcess } from './helpers/procs';
import type { Gearmand } from '../../scripts/harness';
import { freePort, startGearmand, until, within } from '../../scripts/harness';

const guard = useLoopbackGuard();

describe('bridge SIGKILLed in the middle of a BUILD_DEVICE', { timeout: 90_000 }, () => {
  let chain: Chain;
  before(async () => {
    chain = await startChain({ guard, label: 'kill', sim: { bootDelayMs: 2500 }, noBridge: true });
  });
  after(async () => {
    await chain.stop();
  });

  const scenario = async (unique: string, killWhen: 'server-building' | 'create-in-flight'): Promise<void> => {
    const { sim, lambda, gd } = chain;
    const bridges: BridgeProc[] = [];
    try {
      const first = await chain.startBridge(`${unique}-1`);
      bridges.push(first);
      const t0 = performance.now();
      const client = gearmanCli(gd, FN, '{"action":"BUILD_DEVICE","keep":"me"}', { unique, timeoutMs: 60_000 });
      await until(
        async () => (await lambda.invocations()).some((i) => i.unique === unique),
        'the first invocation',
        15_000,
      );
      // The standby bridge: registered, idle, ready to take what gearmand re-queues.
      const second = await chain.startBridge(`${unique}-2`);
      bridges.push(second);
      if (killWhen === 'server-building') {
        await until(() => sim.servers().some((s) => s.status === 'BUILD'), 'the server to be building', 15_000);
      } else {
        await until(
          () => sim.requests().some((r) => r.method === 'POST' && r.path.endsWith('/servers')),
          'the create request',
          15_000,
        );
        assert.equal(sim.counts().servers, 0, 'the create has not completed yet');
      }
      first.signal('SIGKILL');
      const killedAt = performance.now();
      assert.equal((await first.exited).signal, 'SIGKILL');

      const cli = await within(client, 60_000, 'the client result');
      const total = performance.now() - t0;
      const killToResult = performance.now() - killedAt;
      assert.equal(cli.code, 0, cli.stderr);
      const lines = cli.stdout.trim().split('\n').filter(Boolean);
      assert.equal(lines.length, 1, `exactly one result: ${cli.stdout}`);
      const result = JSON.parse(lines[0] ?? '') as Result;
      assert.equal(result.response, 'PASS', JSON.stringify(result));
      assert.equal(result.keep, 'me');

      // Both runs of the function finish (the first one was not stopped by the bridge's death).
      await until(
        async () => (await lambda.invocations()).filter((i) => i.unique === unique && i.endedAt !== null).length === 2,
        'both runs of the function to end',
        30_000,
      );
      const runs = (await lambda.invocations()).filter((i) => i.unique === unique);
      assert.equal(runs.length, 2, 'the job ran twice: once per bridge');
      assert.equal(runs[0]?.callerGone, true, 'the first run lost its caller');
      assert.deepEqual(
        runs.map((r) => r.response),
        ['PASS', 'PASS'],
      );

      const servers = sim.servers();
      assert.deepEqual(
        servers.map((s) => [s.name, s.status]),
        [[result.name, 'ACTIVE']],
        'exactly one server, the one reported',
      );
      assert.deepEqual(inventory(sim, [result]), { strayServers: [], strayIps: [], missing: [] });
      // Its log line may reach us a moment after the client's result does.
      const answered = () => second.logs().filter((l) => l.message === 'job answered' && l.unique === unique);
      await until(() => answered().length > 0, 'the second bridge to log its answer', 5_000);
      assert.equal(answered().length, 1, 'the second bridge answered it');
      report(`SIGKILL bridge mid-BUILD_DEVICE (${killWhen})`, {
        results: 1,
        pass: 1,
        functionRuns: runs.length,
        serversAfter: servers.length,
        killToResultMs: Math.round(killToResult),
        totalMs: Math.round(total),
      });
      await chain.cleanUp([result]);
    } finally {
      for (const b of bridges) await b.stop(2000);
      sim.faults.clear();
      sim.reset();
    }
  };

  test('killed while the server is building: one PASS, one server (the rerun resumes it by name)', async () => {
    await scenario('kill-building', 'server-building');
  });

  test('killed while Nova is still answering the create: still one PASS and one server', async () => {
    // A slow POST /servers: the rerun starts before the first run's server exists.
    chain.sim.faults.add({
      service: 'compute',
      method: 'POST',
      path: '/servers$',
      effect: { delayMs: 1500 },
      times: 1,
    });
    await scenario('kill-creating', 'create-in-flight');
  });
});

describe('gearmand killed and restarted while jobs run', { timeout: 90_000 }, () => {
  let chain: Chain;
  before(async () => {
    chain = await startChain({ guard, label: 'gdrestart', sim: { bootDelayMs: 1500 } });
  });
  after(async () => {
    await chain.stop();
  });

  test('the bridge re-registers by itself, new jobs are served, resubmitted jobs leave one server each', async () => {
    const { sim, gd, lambda } = chain;
    const bridge = chain.bridge;
    assert.ok(bridge);
    const uniques = ['gd-a', 'gd-b', 'gd-c', 'gd-d'];
    const client = await GearmanClient.connect(gd.address);
    const running = uniques.map((u) =>
      client.submit(FN, u, '{"action":"BUILD_DEVICE"}').then(
        () => 'answered',
        (e: Error) => e.message,
      ),
    );
    await until(
      async () => (await lambda.invocations()).filter((i) => uniques.includes(i.unique ?? '')).length === 4,
      'four builds running',
      15_000,
    );

    await gd.kill();
    const lost = await Promise.all(running);
    assert.ok(
      lost.every((x) => x !== 'answered'),
      `the clients saw their server die: ${JSON.stringify(lost)}`,
    );
    await until(async () => (await bridge.health()).status === 503, 'the bridge to see gearmand gone', 5000);

    await gd.start();
    const restarted = performance.now();
    await until(
      async () => (await bridge.health()).body.servers[0]?.state === 'connected',
      'the bridge to re-register',
      10_000,
      5,
    );
    const registeredMs = performance.now() - restarted;
    const first = await chain.job({ action: 'BUILD_IP' }, 'gd-after-restart');
    const firstJobMs = performance.now() - restarted;
    assert.equal(first.response, 'PASS', JSON.stringify(first));

    // Clients resubmit what they lost, with the same unique ids: each rerun finds the
    // server its first run booted (which carried on in the function meanwhile).
    const rerun = await Promise.all(uniques.map((u) => chain.job({ action: 'BUILD_DEVICE' }, u)));
    assert.ok(
      rerun.every((r) => r.response === 'PASS'),
      JSON.stringify(rerun),
    );
    await until(
      async () =>
        (await lambda.invocations()).filter((i) => uniques.includes(i.unique ?? '') && i.endedAt !== null).length === 8,
      'the orphaned first runs to end',
      15_000,
    );
    assert.equal(sim.counts().servers, 4, 'one server per job, not per run');
    const all = [...rerun, first];
    assert.deepEqual(inventory(sim, all), { strayServers: [], strayIps: [], missing: [] });
    const metrics = await bridge.metrics();
    assert.match(metrics, /pool_bridge_jobs_total\{action="BUILD_DEVICE",outcome="lost"\} 4/);
    assert.ok(bridge.alive());
    report('gearmand SIGKILLed and restarted with 4 builds running', {
      restartToRegisteredMs: Math.round(registeredMs),
      restartToFirstJobServedMs: Math.round(firstJobMs),
      lostAnswers: 4,
      resubmittedPass: rerun.length,
      functionRuns: 8,
      serversAfter: sim.counts().servers,
    });
    await chain.cleanUp(all);
    client.close();
  });
});

describe('one of two job servers is down from the start', { timeout: 60_000 }, () => {
  let chain: Chain;
  before(async () => {
    chain = await startChain({ guard, label: 'onedown', noBridge: true });
  });
  after(async () => {
    await chain.stop();
  });

  test('the bridge serves from the other one, and picks the first up when it comes', async () => {
    const { gd, lambda } = chain;
    const downPort = await freePort();
    const down = `127.0.0.1:${downPort}`;
    const bridge = await startBridgeProcess({
      servers: [down, gd.address],
      lambdaUrl: lambda.url,
      clientId: 'onedown',
      waitConnected: 'any',
      guardFile: guard.file('onedown-bridge'),
    });
    let late: Gearmand | undefined;
    try {
      const t0 = performance.now();
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) => chain.job({ action: 'BUILD_IP' }, `onedown-${i}`)),
      );
      const ms = performance.now() - t0;
      assert.ok(
        results.every((r) => r.response === 'PASS'),
        JSON.stringify(results),
      );
      const health = await bridge.health();
      assert.equal(health.status, 200);
      const byServer = Object.fromEntries(health.body.servers.map((s) => [s.server, s]));
      assert.equal(byServer[gd.address]?.state, 'connected');
      assert.notEqual(byServer[down]?.state, 'connected');
      assert.ok((byServer[down]?.reconnects ?? 0) >= 1, 'it keeps trying the one that is down');
      assert.match(byServer[down]?.lastError ?? '', /ECONNREFUSED/);

      late = await startGearmand({ port: downPort });
      await until(
        async () => (await bridge.health()).body.servers.every((s) => s.state === 'connected'),
        'the late server to be registered',
        10_000,
      );
      const onLate = await submitJob({
        server: late.address,
        functionName: FN,
        unique: 'onedown-late',
        payload: '{"action":"BUILD_IP"}',
      });
      assert.equal((onLate.json as Result).response, 'PASS');
      report('one of two job servers down from the start', {
        jobs: 5,
        pass: 5,
        ms: Math.round(ms),
        downServerReconnects: byServer[down]?.reconnects,
        lateServerServed: true,
      });
      await chain.cleanUp([...results, onLate.json as Result]);
    } finally {
      await bridge.stop();
      await late?.stop();
    }
  });
});

describe('SIGTERM with 20 jobs in flight', { timeout: 90_000 }, () => {
  let chain: Chain;
  before(async () => {
    chain = await startChain({
      guard,
      label: 'sigterm',
      sim: { bootDelayMs: 2000 },
      bridgeArgs: ['--drain-timeout', '60'],
    });
  });
  after(async () => {
    await chain.stop();
  });

  test('all 20 answered, none taken after the signal, exit 0; a second bridge serves the rest', async () => {
    const { gd, lambda } = chain;
    const bridge = chain.bridge;
    assert.ok(bridge);
    const client = await GearmanClient.connect(gd.address);
    const uniques = Array.from({ length: 20 }, (_, i) => `term-${i}`);
    const jobs = uniques.map((u) => client.submit(FN, u, JSON.stringify({ action: 'BUILD_DEVICE', u })));
    await until(async () => (await bridge.health()).body.inFlight === 20, '20 jobs in flight', 15_000);
    await until(
      async () => (await lambda.invocations()).filter((i) => i.unique?.startsWith('term-')).length === 20,
      '20 invocations',
      15_000,
    );

    bridge.signal('SIGTERM');
    const signalled = performance.now();
    await until(
      () => bridge.logs().some((l) => String(l.message).startsWith('signal received')),
      'the signal to be seen',
      5000,
    );
    const lateUniques = Array.from({ length: 5 }, (_, i) => `term-late-${i}`);
    const late = lateUniques.map((u) => client.submit(FN, u, '{"action":"BUILD_IP"}'));

    const answered = await within(Promise.all(jobs), 30_000, 'the 20 jobs in flight to be answered');
    const drainMs = performance.now() - signalled;
    for (const [i, r] of answered.entries()) {
      assert.equal(r.packet, 'WORK_COMPLETE');
      assert.equal((r.json as Result).response, 'PASS', JSON.stringify(r.json));
      assert.equal((r.json as Result).u, uniques[i]);
    }
    const exit = await within(bridge.exited, 15_000, 'the bridge to exit');
    assert.deepEqual(exit, { code: 0, signal: null });
    const invoked = (await lambda.invocations()).map((i) => i.unique);
    assert.deepEqual(
      lateUniques.filter((u) => invoked.includes(u)),
      [],
      'nothing was taken after the signal',
    );
    const answeredLog = bridge.logs().filter((l) => l.message === 'job answered').length;
    assert.equal(answeredLog, 20);

    const second = await chain.startBridge('sigterm-2');
    const lateResults = await within(Promise.all(late), 20_000, 'the late jobs, served by the second bridge');
    assert.ok(lateResults.every((r) => (r.json as Result).response === 'PASS'));
    const results = [...answered, ...lateResults].map((r) => r.json as Result);
    assert.deepEqual(inventory(chain.sim, results), { strayServers: [], strayIps: [], missing: [] });
    report('SIGTERM with 20 jobs in flight', {
      inFlight: 20,
      answeredPass: 20,
      takenAfterSignal: 0,
      signalToLastAnswerMs: Math.round(drainMs),
      exitCode: exit.code,
      lateJobsServedBySecondBridge: lateResults.length,
    });
    await chain.cleanUp(results);
    await second.stop();
    client.close();
  });
});
