/**
 * Bad input through the whole chain: thousands of generated payloads (helpers/fuzz.ts:
 * random bytes, truncated JSON, deep nesting, huge strings, wrong types in each field,
 * unicode, numbers for strings, 1 MB messages) submitted to real gearmand, taken by the
 * pool-bridge command, the ones with a real action run by the real bundled functions.
 * Zero crashes, every payload answered with a FAIL result object, nothing reaches the
 * cloud, and the bridge's memory comes back to its baseline.
 *
 * 10,000 payloads (FUZZ_COUNT to change it). SOAK=1 (npm run test:soak) sends the same
 * 10,000 a second time, to show that memory does not grow from one round to the next.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { JobResult } from '../../bridge/gearman';
import { GearmanClient } from '../../bridge/gearman';
import type { Chain } from './helpers/chain';
import { FN, report, startChain, useLoopbackGuard } from './helpers/chain';
import type { FuzzCase } from './helpers/fuzz';
import { fuzzCases } from './helpers/fuzz';
import { GC_HOOK } from './helpers/procs';
import { accepts, sleep, until } from '../../scripts/harness';

const SOAK = process.env.SOAK === '1';
const COUNT = Number(process.env.FUZZ_COUNT ?? 10_000);
const WINDOW = 256;

let chain: Chain;
const guard = useLoopbackGuard({ expectSome: false, teardown: () => chain.stop() });
before(async () => {
  chain = await startChain({
    guard,
    label: 'fuzz',
    bridgeArgs: ['--log-level', 'ERROR'],
    // Test instrumentation only: SIGUSR2 makes the bridge run a full GC before a measurement.
    bridgeNodeArgs: ['--expose-gc', '--import', GC_HOOK],
    env: { POWERTOOLS_LOG_LEVEL: 'ERROR' },
  });
});

interface Outcome {
  answered: number;
  failObjects: number;
  byKind: Record<string, number>;
  problems: string[];
  ms: number;
}

/** Submits every case with up to WINDOW outstanding over four connections and checks each answer. */
async function submitAll(cases: FuzzCase[], tag: string): Promise<Outcome> {
  const clients = await Promise.all(Array.from({ length: 4 }, () => GearmanClient.connect(chain.gd.address)));
  const problems: string[] = [];
  const byKind: Record<string, number> = {};
  let answered = 0;
  let failObjects = 0;
  let next = 0;
  const t0 = performance.now();
  const check = (c: FuzzCase, r: JobResult, i: number): void => {
    answered += 1;
    byKind[c.kind] = (byKind[c.kind] ?? 0) + 1;
    const where = `#${i} (${c.kind}, ${c.payload.length} bytes: ${c.payload.subarray(0, 60).toString('utf8')})`;
    if (r.packet !== 'WORK_COMPLETE') return void problems.push(`${where}: ${r.packet}`);
    const result = r.json;
    if (typeof result !== 'object' || result === null || Array.isArray(result))
      return void problems.push(`${where}: not a JSON object`);
    const obj = result as Record<string, unknown>;
    if (obj.response !== 'FAIL') return void problems.push(`${where}: response ${String(obj.response)}`);
    if (typeof obj.error !== 'string' || obj.error.length < 10 || obj.error.includes('\n'))
      return void problems.push(`${where}: error ${JSON.stringify(obj.error)}`);
    failObjects += 1;
    // The message comes back with every field as sent.
    if (c.message && c.payload.length < 64 * 1024) {
      for (const key of Object.keys(c.message)) {
        if (key === 'response' || key === 'error' || key === '__proto__') continue;
        if (JSON.stringify(obj[key]) !== JSON.stringify(c.message[key]))
          problems.push(`${where}: field ${key} not echoed`);
      }
    }
  };
  const lane = async (client: GearmanClient): Promise<void> => {
    for (;;) {
      const i = next++;
      const c = cases[i];
      if (!c) return;
      const r = await client.submit(FN, `${tag}-${i}`, c.payload);
      check(c, r, i);
    }
  };
  const lanes = Array.from({ length: WINDOW }, (_, k) => lane(clients[k % clients.length] as GearmanClient));
  const all = Promise.all(lanes);
  all.catch(() => undefined); // lanes reject when the clients are closed after a stall
  const stuck = new Promise<'stuck'>((resolve) => {
    let seen = -1;
    let lastProgress = performance.now();
    const timer = setInterval(() => {
      if (answered !== seen) {
        seen = answered;
        lastProgress = performance.now();
      }
      // Unanswered jobs: nothing answered for 20 s while some are still out.
      if (performance.now() - lastProgress > 20_000) {
        clearInterval(timer);
        resolve('stuck');
      }
    }, 500);
    void all.finally(() => clearInterval(timer));
  });
  const ended = await Promise.race([all.then(() => 'done' as const), stuck]);
  const ms = Math.round(performance.now() - t0);
  for (const c of clients) c.close();
  if (ended === 'stuck') problems.push(`only ${answered} of ${cases.length} answered: the rest got no answer at all`);
  return { answered, failObjects, byKind, problems, ms };
}

/** The bridge's resident memory (KiB) and V8 heap in use (bytes), idle, after a full GC. */
async function memory(): Promise<{ rssKb: number; heapUsed: number }> {
  const bridge = chain.bridge;
  assert.ok(bridge);
  await until(async () => (await bridge.health()).body.inFlight === 0, 'the bridge to be idle', 20_000);
  await sleep(500);
  bridge.signal('SIGUSR2');
  await sleep(1000);
  const text = await bridge.metrics();
  const heap = /^pool_bridge_nodejs_heap_size_used_bytes (\d+)/m.exec(text);
  return { rssKb: Math.round(bridge.memory().rss / 1024), heapUsed: Number(heap?.[1] ?? NaN) };
}

test(
  `${COUNT} generated bad payloads: every one answered with a FAIL object, zero crashes, memory back to baseline`,
  { timeout: SOAK ? 900_000 : 240_000 },
  async () => {
    const { sim, lambda, gd } = chain;
    const bridge = chain.bridge;
    assert.ok(bridge);

    // Warm up (JIT, buffers, sockets, and the heap and allocator grown to serving size) on
    // other payloads, then take the baseline. The built bridge starts lean (its young
    // generation at its smallest) and grows to serving size on its first burst, which a
    // few hundred payloads do not reach: the baseline is a bridge that has served.
    const warm = await submitAll(fuzzCases(2000, 7), 'warm');
    assert.deepEqual(warm.problems, []);
    const baseline = await memory();

    const cases = fuzzCases(COUNT);
    const first = await submitAll(cases, 'fuzz');
    assert.deepEqual(first.problems.slice(0, 20), [], `${first.problems.length} problems`);
    assert.equal(first.answered, COUNT);
    assert.equal(first.failObjects, COUNT);
    const afterFirst = await memory();

    let afterSecond: { rssKb: number; heapUsed: number } | undefined;
    if (SOAK) {
      const second = await submitAll(cases, 'fuzz2');
      assert.deepEqual(second.problems.slice(0, 20), [], `${second.problems.length} problems in the second round`);
      afterSecond = await memory();
    }

    // Zero crashes: every process is up, and nothing logged an unexpected failure.
    assert.ok(bridge.alive(), 'the bridge is running');
    assert.ok(lambda.proc.alive(), 'the local Lambda is running');
    assert.ok(await accepts(gd.host, gd.port), 'gearmand is running');
    assert.equal((await bridge.health()).status, 200);
    const errors = bridge.logs().filter((l) => l.level === 'ERROR' || l.level === 'CRITICAL');
    assert.deepEqual(errors.slice(0, 5), [], 'no error or critical line from the bridge');
    // Nothing reached the cloud: no payload was a valid message.
    assert.deepEqual(sim.requestCounts(), {}, 'no request reached the cloud');
    assert.deepEqual([sim.counts().servers, sim.counts().floatingIps], [0, 0]);
    const invocations = (await lambda.invocations()).filter((i) => i.unique?.startsWith('fuzz-'));
    assert.deepEqual(
      invocations.filter((i) => i.response !== 'FAIL'),
      [],
      'every payload that reached a function failed there',
    );

    const mb = (kb: number): number => Math.round(kb / 102.4) / 10;
    report(`fuzz: ${COUNT} bad payloads`, {
      payloads: COUNT,
      answeredWithFail: first.failObjects,
      reachedAFunction: invocations.length,
      byKind: first.byKind,
      ms: first.ms,
      perSecond: Math.round((COUNT / first.ms) * 1000),
      rssBaselineMb: mb(baseline.rssKb),
      rssAfterMb: mb(afterFirst.rssKb),
      heapBaselineMb: Math.round(baseline.heapUsed / 1e5) / 10,
      heapAfterMb: Math.round(afterFirst.heapUsed / 1e5) / 10,
      ...(afterSecond
        ? {
            rssAfterSecondRoundMb: mb(afterSecond.rssKb),
            heapAfterSecondRoundMb: Math.round(afterSecond.heapUsed / 1e5) / 10,
          }
        : {}),
    });
    // Memory back to baseline: after a full GC the heap in use is within 8 MB of it (the
    // bridge holds nothing of a finished job), and the resident size within 64 MB (V8 keeps
    // some of the pages it grew into, for a while).
    assert.ok(
      afterFirst.heapUsed - baseline.heapUsed < 8 * 1024 * 1024,
      `heap ${baseline.heapUsed} -> ${afterFirst.heapUsed}`,
    );
    assert.ok(afterFirst.rssKb - baseline.rssKb < 64 * 1024, `RSS ${baseline.rssKb} -> ${afterFirst.rssKb} KiB`);
    if (afterSecond) {
      // No growth from one round to the next: what a leak would show.
      assert.ok(
        afterSecond.heapUsed - afterFirst.heapUsed < 4 * 1024 * 1024,
        `heap ${afterFirst.heapUsed} -> ${afterSecond.heapUsed}`,
      );
      assert.ok(
        afterSecond.rssKb - afterFirst.rssKb < 32 * 1024,
        `RSS ${afterFirst.rssKb} -> ${afterSecond.rssKb} KiB`,
      );
    }
  },
);
