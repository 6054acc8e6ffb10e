/**
 * The job server side goes wrong under the bridge (the pool-bridge command) and a real
 * gearmand: a relay in front of gearmand cuts the bridge's connection while jobs run
 * (gearmand re-queues them, the bridge reconnects); gearmand stops answering (SIGSTOP); a
 * job's payload is larger than any packet the bridge will buffer. The bridge must take the
 * re-queued jobs at once, bound what it keeps running for nobody, notice a job server that
 * no longer answers, answer a job it cannot read with a FAIL, and say so on /healthz and
 * /metrics.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { JobResult } from '../../bridge/gearman';
import { GearmanClient } from '../../bridge/gearman';
import type { Result } from '../../contract';
import type { Envelope } from '../../contract/envelope';
import type { FakeLambda, LambdaReply, LambdaRequest } from '../../scripts/lambda/fake-lambda';
import { startFakeLambda } from '../../scripts/lambda/fake-lambda';
import type { Gearmand } from '../../scripts/harness';
import { sleep, startGearmand, until, within } from '../../scripts/harness';
import { FN, report, useLoopbackGuard } from './helpers/chain';
import type { BridgeProc } from './helpers/procs';
import { startBridgeProcess } from './helpers/procs';
import type { Relay } from '../helpers/relay';
import { startRelay } from '../helpers/relay';
import { metricValue } from '../helpers/promql';

let gd: Gearmand;
let lambda: FakeLambda;

const guard = useLoopbackGuard({
  teardown: async () => {
    await lambda.close();
    await gd.stop();
  },
});
before(async () => {
  gd = await startGearmand();
  lambda = await startFakeLambda();
});

/** A gate the fake function waits at: open() lets every waiting run answer. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

const uniqueOf = (req: LambdaRequest): string => (JSON.parse(req.body.toString('utf8')) as Envelope).unique ?? '';

/** The function's answer: the message, PASS, and which run of the job this was. */
function answer(req: LambdaRequest, run: number): LambdaReply {
  const { message } = JSON.parse(req.body.toString('utf8')) as Envelope;
  return { kind: 'result', body: JSON.stringify({ ...message, response: 'PASS', run }) };
}

/** When the bridge logged its n-th "registered with job server" line (epoch ms), if it has. */
function registeredAt(bridge: BridgeProc, n: number): number | undefined {
  const lines = bridge.logs().filter((l) => l.message === 'registered with job server');
  const line = lines[n - 1];
  return line ? Date.parse(String(line.timestamp)) : undefined;
}

async function startBehind(proxy: Relay, clientId: string, args: string[]): Promise<BridgeProc> {
  return startBridgeProcess({
    servers: [proxy.address],
    lambdaUrl: lambda.url,
    clientId,
    args,
    guardFile: guard.file(clientId),
  });
}

describe('the connection to gearmand drops with 64 jobs in flight', { timeout: 60_000 }, () => {
  test('the re-queued jobs start within 1 s of re-registration, every client gets one answer, the orphans are shown', async () => {
    const proxy = await startRelay(gd);
    const bridge = await startBehind(proxy, 'blip-64', ['--concurrency', '64']);
    const clients = await Promise.all(Array.from({ length: 8 }, () => GearmanClient.connect(gd.address)));
    const firstRuns = gate();
    const runs = new Map<string, number>();
    lambda.handler = async (req) => {
      const unique = uniqueOf(req);
      const run = (runs.get(unique) ?? 0) + 1;
      runs.set(unique, run);
      if (run === 1) await firstRuns.wait;
      return answer(req, run);
    };
    try {
      const start = lambda.requests.length;
      const submitted: Promise<JobResult>[] = Array.from({ length: 64 }, (_, i) =>
        (clients[i % clients.length] as GearmanClient).submit(
          FN,
          `blip-${i}`,
          JSON.stringify({ action: 'BUILD_IP', i }),
        ),
      );
      await until(() => lambda.requests.length - start >= 64, '64 invokes in flight');
      assert.equal((await bridge.health()).body.inFlight, 64);

      proxy.cut();
      await until(() => registeredAt(bridge, 2) !== undefined, 'the bridge to register again', 10_000);
      const reRegistered = registeredAt(bridge, 2) as number;
      const results = await within(Promise.all(submitted), 10_000, 'the 64 re-queued jobs to be answered');

      const reruns = lambda.requests.slice(start + 64);
      assert.equal(reruns.length, 64, 'each job ran a second time');
      const lateness = reruns.map((r) => r.receivedAt - reRegistered);
      const latest = Math.max(...lateness);
      assert.ok(latest <= 1000, `the last re-queued job started ${latest} ms after the bridge registered again`);
      for (const r of results) {
        assert.equal(r.packet, 'WORK_COMPLETE');
        assert.equal((r.json as Result).response, 'PASS');
        assert.equal((r.json as Result).run, 2, 'answered by the rerun: the first run has no connection to answer on');
      }

      // The first runs are still open in Lambda: counted apart, holding no slot.
      const health = await bridge.health();
      assert.equal(health.status, 200);
      assert.equal(health.body.status, 'ok');
      assert.equal(health.body.orphaned, 64);
      assert.equal(health.body.inFlight, 0);
      const during = await bridge.metrics();
      assert.equal(metricValue(during, 'pool_bridge_jobs_orphaned'), 64);
      assert.equal(metricValue(during, 'pool_bridge_jobs_in_flight'), 0);

      // The first runs end: their answers are dropped (no client gets a second answer).
      firstRuns.open();
      await until(
        async () => metricValue(await bridge.metrics(), 'pool_bridge_jobs_orphaned') === 0,
        'the orphaned invokes to end',
      );
      const text = await bridge.metrics();
      assert.equal(metricValue(text, 'pool_bridge_jobs_total', { action: 'BUILD_IP', outcome: 'lost' }), 64);
      assert.equal(metricValue(text, 'pool_bridge_jobs_total', { action: 'BUILD_IP', outcome: 'pass' }), 64);
      report('gearmand connection dropped with 64 jobs in flight', {
        injected: 'the relay between bridge and gearmand cut with 64 invokes open (concurrency 64)',
        jobs: 64,
        pass: results.length,
        rerunStartedMsAfterReRegistration: { min: Math.min(...lateness), max: latest },
        orphaned: 64,
        lost: 64,
      });
    } finally {
      firstRuns.open();
      for (const c of clients) c.close();
      await bridge.stop();
      await proxy.close();
    }
  });

  test('orphans past the bound (concurrency): no job is taken and /healthz says why, until they end', async () => {
    const proxy = await startRelay(gd);
    const bridge = await startBehind(proxy, 'blip-bound', ['--concurrency', '4']);
    const client = await GearmanClient.connect(gd.address);
    const held = gate();
    const runs = new Map<string, number>();
    lambda.handler = async (req) => {
      const unique = uniqueOf(req);
      const run = (runs.get(unique) ?? 0) + 1;
      runs.set(unique, run);
      if (run <= 2) await held.wait;
      return answer(req, run);
    };
    try {
      const start = lambda.requests.length;
      const submitted = Array.from({ length: 4 }, (_, i) =>
        client.submit(FN, `bound-${i}`, JSON.stringify({ action: 'DELETE_IP', ip: '127.0.0.9', i })),
      );
      // A failed assertion below closes the client: these then reject, and must not be unhandled.
      for (const s of submitted) s.catch(() => undefined);
      await until(() => lambda.requests.length - start >= 4, 'four invokes');
      proxy.cut();
      // Four orphans: at the bound, so the re-queued jobs are still taken.
      await until(() => lambda.requests.length - start >= 8, 'the re-queued jobs to run again');
      proxy.cut();
      // Eight orphans: over the bound of four.
      await until(async () => (await bridge.health()).body.status === 'blocked', '/healthz to say blocked');
      const health = await bridge.health();
      assert.equal(health.status, 503);
      assert.match(String(health.body.reason), /8 orphaned invokes .* over the bound of 4: taking no job/);
      assert.ok(
        health.body.servers.every((s) => s.state === 'connected'),
        'connected, and still not taking jobs',
      );
      await sleep(500);
      assert.equal(lambda.requests.length - start, 8, 'no third run while over the bound');

      held.open();
      const results = await within(Promise.all(submitted), 10_000, 'the jobs to be answered once the orphans ended');
      assert.deepEqual(
        results.map((r) => (r.json as Result).run),
        [3, 3, 3, 3],
      );
      assert.equal((await bridge.health()).status, 200);
    } finally {
      held.open();
      client.close();
      await bridge.stop();
      await proxy.close();
    }
  });
});

describe('gearmand stops answering (SIGSTOP) and comes back (SIGCONT)', { timeout: 60_000 }, () => {
  test('the bridge notices within the probe bound, /healthz says so, and after SIGCONT it registers and serves', async () => {
    const wedged = await startGearmand();
    const pid = wedged.pid as number;
    let stopped = false;
    let bridge: BridgeProc | undefined;
    let client: GearmanClient | undefined;
    lambda.handler = (req) => answer(req, 1);
    try {
      bridge = await startBridgeProcess({
        servers: [wedged.address],
        lambdaUrl: lambda.url,
        clientId: 'probe',
        args: ['--probe-interval', '0.5', '--probe-timeout', '0.5'],
        guardFile: guard.file('probe'),
      });
      const proc = bridge;
      assert.equal((await proc.health()).status, 200);

      process.kill(pid, 'SIGSTOP');
      stopped = true;
      const t0 = Date.now();
      await until(async () => (await proc.health()).status === 503, '/healthz to say 503', 10_000);
      const noticedMs = Date.now() - t0;
      // Silent for the interval, then the probe's timeout: 1 s, plus the poll and a loaded machine.
      assert.ok(noticedMs <= 3000, `noticed after ${noticedMs} ms (bound: 0.5 s + 0.5 s)`);
      const down = await proc.health();
      assert.equal(down.body.status, 'down');
      assert.notEqual(down.body.servers[0]?.state, 'connected');
      assert.match(
        String(down.body.servers[0]?.lastError),
        /no answer to a probe \(ECHO_REQ\) within 0\.5 s|not registered/,
      );
      assert.match(await proc.metrics(), /pool_bridge_probe_failures_total\{server="[^"]+"\} [1-9]/);
      assert.ok(
        proc.logs().some((l) => l.message === 'job server did not answer a probe; recycling the connection'),
        'a WARN line says so',
      );

      process.kill(pid, 'SIGCONT');
      stopped = false;
      const t1 = Date.now();
      await until(async () => (await proc.health()).status === 200, 'the bridge to register again', 20_000);
      const backMs = Date.now() - t1;
      client = await GearmanClient.connect(wedged.address);
      const r = await within(
        client.submit(FN, 'after-sigcont', JSON.stringify({ action: 'BUILD_IP' })),
        10_000,
        'a job after SIGCONT',
      );
      assert.equal((r.json as Result).response, 'PASS');
      report('gearmand SIGSTOPped, then SIGCONTed', {
        injected: 'SIGSTOP to gearmand (--probe-interval 0.5 --probe-timeout 0.5)',
        noticedMs,
        registeredAgainMsAfterSigcont: backMs,
        jobAfterwards: 'PASS',
      });
    } finally {
      if (stopped) process.kill(pid, 'SIGCONT');
      client?.close();
      await bridge?.stop();
      await wedged.stop();
    }
  });
});

describe('a job larger than any packet the bridge buffers (70 MiB through gearmand)', { timeout: 60_000 }, () => {
  test('answered FAIL saying by how much it is over, without buffering it; the connection stays up and serves', async () => {
    lambda.handler = (req) => answer(req, 1);
    const bridge = await startBridgeProcess({
      servers: [gd.address],
      lambdaUrl: lambda.url,
      clientId: 'oversize',
      guardFile: guard.file('oversize'),
    });
    const client = await GearmanClient.connect(gd.address);
    try {
      const size = 70 * 1024 * 1024;
      const start = lambda.requests.length;
      const t0 = Date.now();
      const r = await within(
        client.submit(FN, 'oversize', Buffer.alloc(size, 0x61)),
        20_000,
        'an answer to the 70 MiB job',
      );
      const ms = Date.now() - t0;
      assert.equal(r.packet, 'WORK_COMPLETE');
      const result = r.json as Result;
      assert.equal(result.response, 'FAIL');
      assert.equal(
        result.error,
        `payload is ${size} bytes, ${size - 262144} over the 262144-byte limit (max-payload-bytes); send one JSON object`,
      );
      assert.equal(lambda.requests.length, start, 'nothing invoked');
      const text = await bridge.metrics();
      assert.match(text, /pool_bridge_reconnects_total\{server="[^"]+"\} 0/, 'the connection was never dropped');
      const next = await client.submit(FN, 'after-oversize', JSON.stringify({ action: 'BUILD_IP' }));
      assert.equal((next.json as Result).response, 'PASS');
      report('a 70 MiB job payload', {
        injected: 'SUBMIT_JOB with 70 MiB of data (over the 64 MiB framing limit the parser had before)',
        answer: 'FAIL',
        ms,
        error: result.error,
      });
    } finally {
      client.close();
      await bridge.stop();
    }
  });
});
