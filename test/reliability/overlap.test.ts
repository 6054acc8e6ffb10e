/**
 * Overlapping runs and partial failures through the whole chain (a real gearmand, the
 * pool-bridge command, the bundled functions behind the local Lambda, the simulator):
 * - the reproduction: a BUILD_IP whose bridge dies while POST /floatingips waits is
 *   re-queued, both runs allocate, and one address is left, the one the client gets;
 * - unique ids are bytes: `6a ff` and `6a fe` are two jobs, two devices;
 * - an ASSIGN_IP overtaken by another is not carried out late (conditional writes);
 * - a cloud answering just under the request timeout: a failed build still deletes its
 *   server before Lambda's timeout, and answers itself.
 * Each scenario ends with the cloud holding exactly what the PASS results report.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { uniqueBytes } from '../../contract';
import { deviceName, deviceUuid } from '../../functions/core/naming';
import type { Chain } from './helpers/chain';
import { inventory, report, startChain, useLoopbackGuard } from './helpers/chain';
import type { BridgeProc } from './helpers/procs';
import { until, within } from '../../scripts/harness';

const guard = useLoopbackGuard();

describe('bridge SIGKILLed while Neutron is still answering a BUILD_IP', { timeout: 90_000 }, () => {
  let chain: Chain;
  before(async () => {
    chain = await startChain({ guard, label: 'ip-kill', noBridge: true });
  });
  after(async () => {
    await chain.stop();
  });

  test('the re-queued run allocates too: one address is left, the one the client got', async () => {
    const { sim, lambda } = chain;
    const unique = 'ip-kill-1';
    const bridges: BridgeProc[] = [];
    try {
      bridges.push(await chain.startBridge('ip-kill-1'));
      // The first run's allocation takes 1.5 s: its bridge dies meanwhile.
      sim.faults.add({
        service: 'network',
        method: 'POST',
        path: '/floatingips$',
        effect: { delayMs: 1500 },
        times: 1,
      });
      const t0 = performance.now();
      const answer = chain.job({ action: 'BUILD_IP' }, unique);
      await until(
        () => sim.requests().some((r) => r.method === 'POST' && r.path.endsWith('/floatingips')),
        'the first allocation request',
        15_000,
      );
      bridges.push(await chain.startBridge('ip-kill-2'));
      bridges[0]?.signal('SIGKILL');
      assert.equal((await bridges[0]?.exited)?.signal, 'SIGKILL');
      const result = await within(answer, 30_000, 'the client result');
      assert.equal(result.response, 'PASS', JSON.stringify(result));

      await until(
        async () => (await lambda.invocations()).filter((i) => i.unique === unique && i.endedAt !== null).length === 2,
        'both runs of the function to end',
        30_000,
      );
      const runs = (await lambda.invocations()).filter((i) => i.unique === unique);
      assert.equal(
        sim.requests().filter((r) => r.method === 'POST' && r.path.endsWith('/floatingips')).length,
        2,
        'both runs allocated',
      );
      assert.deepEqual(
        sim.floatingIps().map((f) => f.address),
        [result.ip],
        'exactly one address, the one reported',
      );
      assert.deepEqual(inventory(sim, [result]), { strayServers: [], strayIps: [], missing: [] });
      report('SIGKILL bridge mid-BUILD_IP (allocation in flight)', {
        results: 1,
        pass: 1,
        functionRuns: runs.length,
        allocations: 2,
        floatingIpsAfter: sim.floatingIps().length,
        totalMs: Math.round(performance.now() - t0),
      });
      await chain.cleanUp([result]);
    } finally {
      for (const b of bridges) await b.stop(2000);
      sim.faults.clear();
      sim.reset();
    }
  });
});

describe('through gearmand and the bridge', { timeout: 90_000 }, () => {
  let chain: Chain;
  before(async () => {
    chain = await startChain({ guard, label: 'overlap' });
  });
  after(async () => {
    await chain.stop();
  });

  test('unique ids 6a ff and 6a fe are two jobs: two devices with different names', async () => {
    const { sim, lambda } = chain;
    const ff = Uint8Array.of(0x6a, 0xff);
    const fe = Uint8Array.of(0x6a, 0xfe);
    const [a, b] = await Promise.all([
      chain.job({ action: 'BUILD_DEVICE' }, ff),
      chain.job({ action: 'BUILD_DEVICE' }, fe),
    ]);
    assert.deepEqual([a.response, b.response], ['PASS', 'PASS'], JSON.stringify([a, b]));
    assert.notEqual(a.name, b.name);
    assert.equal(a.name, deviceName('libra-stg-haproxy', deviceUuid(ff)));
    assert.equal(b.name, deviceName('libra-stg-haproxy', deviceUuid(fe)));
    assert.equal(sim.counts().servers, 2);
    const invoked = (await lambda.invocations()).map((i) => i.unique);
    assert.ok(invoked.includes('base64:av8=') && invoked.includes('base64:av4='), JSON.stringify(invoked));
    // A rerun with the same bytes finds its device; a text id is the text's bytes, as before.
    assert.equal((await chain.job({ action: 'BUILD_DEVICE' }, ff)).name, a.name);
    const text = await chain.job({ action: 'BUILD_DEVICE' }, 'job-ops-1');
    assert.equal(text.name, deviceName('libra-stg-haproxy', deviceUuid(uniqueBytes('job-ops-1'))));
    assert.equal(sim.counts().servers, 3);
    assert.deepEqual(inventory(sim, [a, b, text]), { strayServers: [], strayIps: [], missing: [] });
    report('unique ids that are not UTF-8', { jobs: 4, devices: sim.counts().servers, distinctNames: 3 });
    await chain.cleanUp([a, b, text]);
  });

  test('an ASSIGN_IP overtaken by another is not carried out late: the address stays where the PASS put it', async () => {
    const { sim } = chain;
    const [a, b, fip] = await Promise.all([
      chain.job({ action: 'BUILD_DEVICE' }, 'assign-dev-a'),
      chain.job({ action: 'BUILD_DEVICE' }, 'assign-dev-b'),
      chain.job({ action: 'BUILD_IP' }, 'assign-ip'),
    ]);
    assert.deepEqual([a.response, b.response, fip.response], ['PASS', 'PASS', 'PASS']);
    const ip = String(fip.ip);
    const puts = () => sim.requests().filter((r) => r.method === 'PUT' && r.path.includes('/floatingips/'));
    // The first job's write is slow (a congested Neutron); meanwhile the client moves the address to b.
    sim.faults.add({ service: 'network', method: 'PUT', path: '/floatingips/', effect: { delayMs: 1500 }, times: 1 });
    const slow = chain.job({ action: 'ASSIGN_IP', ip, name: a.name }, 'assign-1');
    await until(() => puts().length === 1, "the first job's write", 15_000);
    const fast = await chain.job({ action: 'ASSIGN_IP', ip, name: b.name }, 'assign-2');
    assert.equal(fast.response, 'PASS', JSON.stringify(fast));
    const late = await slow;
    assert.equal(late.response, 'FAIL', JSON.stringify(late));
    assert.match(String(late.error), /by another job while this one was assigning it/);
    const holder = sim.servers().find((s) => s.id === sim.floatingIps()[0]?.serverId);
    assert.equal(holder?.name, b.name);
    report('ASSIGN_IP overtaken by another', {
      pass: 1,
      fail: 1,
      writes: puts().length,
      refused412: puts().filter((r) => r.status === 412).length,
      addressOn: 'the device the PASS named',
    });
    await chain.cleanUp([a, b, fip]);
  });
});

describe('a cloud that answers just under the request timeout', { timeout: 90_000 }, () => {
  let chain: Chain;
  before(async () => {
    chain = await startChain({
      guard,
      label: 'slow-cloud',
      env: {
        OS_REQUEST_TIMEOUT_MS: '1000',
        OS_REQUEST_RETRIES: '0',
        POOL_BUILD_DEADLINE_SECONDS: '3600',
        POOL_POLL_INITIAL_MS: '200',
        POOL_POLL_MAX_MS: '500',
      },
      // Lambda's timeout alone bounds the build: the handler keeps the cleanup reserve from it.
      timeouts: { buildDevice: 10 },
    });
  });
  after(async () => {
    await chain.stop();
  });

  test('a build that never becomes ACTIVE is deleted before Lambda stops the function, which answers itself', async () => {
    const { sim, lambda } = chain;
    sim.faults.serverOutcome({ outcome: 'stuck-build' });
    sim.faults.add({ effect: { delayMs: 900 } });
    const t0 = performance.now();
    const result = await chain.job({ action: 'BUILD_DEVICE' }, 'slow-cloud-1');
    const ms = Math.round(performance.now() - t0);
    const serversAtAnswer = sim.servers().length;
    assert.equal(result.response, 'FAIL', JSON.stringify(result));
    assert.doesNotMatch(String(result.error), /Task timed out/, 'the function answered, not Lambda timing it out');
    assert.match(String(result.error), /not ACTIVE after \d+ s, the build deadline .*; the server was deleted$/);
    assert.equal(serversAtAnswer, 0, 'no server when the client is told');
    const run = (await lambda.invocations()).find((i) => i.unique === 'slow-cloud-1');
    assert.equal(run?.response, 'FAIL');
    report('cloud answering just under the request timeout', {
      injected: '+900 ms on every request (timeout 1 s), servers never leave BUILD, Lambda timeout 10 s',
      answerMs: ms,
      serversLeft: serversAtAnswer,
    });
    await chain.cleanUp([result]);
  });
});
