/**
 * A misbehaving cloud under the whole chain (gearmand, the pool-bridge command, the real
 * bundled functions, the simulator): 5xx at a steady rate, slow responses, responses
 * slower than the request timeout, connection resets, Keystone tokens expiring mid-build,
 * quota errors (403/413/409), servers that go to ERROR or never leave BUILD, floating-IP
 * associations that never show. Every job ends PASS or FAIL with a one-line reason, and
 * the cloud then holds exactly what the PASS results report; cleaning up leaves nothing.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { deviceName, deviceUuid } from '../../functions/core/naming';
import type { Result } from '../../contract';
import { uniqueBytes } from '../../contract';
import { runAction } from '../../functions/core/run';
import { clearTokenCache } from '../../functions/openstack';
import type { CloudSim } from '../../scripts/cloud-sim';
import { actionContext, startCloud } from '../helpers/cloud';
import type { Chain } from './helpers/chain';
import { inventory, report, startChain, useLoopbackGuard } from './helpers/chain';
import { until } from '../../scripts/harness';

/** Fast timings so that every fault plays out in seconds. */
const ENV = {
  OS_REQUEST_TIMEOUT_MS: '1000',
  OS_REQUEST_RETRIES: '3',
  POOL_BUILD_DEADLINE_SECONDS: '4',
  POOL_POLL_INITIAL_MS: '50',
  POOL_POLL_MAX_MS: '250',
  POOL_ASSIGN_CONFIRM_ATTEMPTS: '4',
  POOL_ASSIGN_CONFIRM_INTERVAL_MS: '50',
};
const BASENAME = 'libra-stg-haproxy';

let chain: Chain;
const guard = useLoopbackGuard({ teardown: () => chain.stop() });
before(async () => {
  chain = await startChain({ guard, label: 'cloud', sim: { bootDelayMs: 300 }, env: ENV });
});

interface Round {
  results: Result[];
  ms: number;
}

/**
 * The workload: `devices` BUILD_DEVICE and `ips` BUILD_IP at once, then ASSIGN_IP and
 * REMOVE_IP for each device that got an IP. Every answer must be a PASS, or a FAIL with a
 * one-line reason.
 */
async function round(tag: string, devices = 4, ips = 4, during?: () => Promise<void>): Promise<Round> {
  const t0 = performance.now();
  const builds = Promise.all([
    ...Array.from({ length: devices }, (_, i) => chain.job({ action: 'BUILD_DEVICE' }, `${tag}-dev-${i}`)),
    ...Array.from({ length: ips }, (_, i) => chain.job({ action: 'BUILD_IP' }, `${tag}-ip-${i}`)),
  ]);
  await during?.();
  const built = await builds;
  const devs = built.slice(0, devices).filter((r) => r.response === 'PASS');
  const fips = built.slice(devices).filter((r) => r.response === 'PASS');
  const pairs = devs.slice(0, fips.length).map((d, i) => ({ name: String(d.name), ip: String(fips[i]?.ip) }));
  const moves = await Promise.all(
    pairs.map(async ({ name, ip }, i) => {
      const assign = await chain.job({ action: 'ASSIGN_IP', ip, name }, `${tag}-assign-${i}`);
      const remove = await chain.job({ action: 'REMOVE_IP', ip, name }, `${tag}-remove-${i}`);
      return [assign, remove];
    }),
  );
  const results = [...built, ...moves.flat()];
  for (const r of results) {
    assert.ok(r.response === 'PASS' || r.response === 'FAIL', `PASS or FAIL: ${JSON.stringify(r)}`);
    if (r.response === 'FAIL') {
      assert.equal(typeof r.error, 'string', JSON.stringify(r));
      assert.ok(r.error.length > 10 && !r.error.includes('\n'), `a one-line reason: ${JSON.stringify(r)}`);
    }
  }
  return { results, ms: Math.round(performance.now() - t0) };
}

/** What the cloud holds is exactly what PASS results report; cleaning up (faults off) leaves nothing. */
async function settle(
  scenario: string,
  injected: string,
  r: Round,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const { sim } = chain;
  const inv = inventory(sim, r.results);
  const count = (action: string, response: string): number =>
    r.results.filter((x) => String(x.action).toUpperCase() === action && x.response === response).length;
  const fails = r.results.filter((x) => x.response === 'FAIL').map((x) => `${String(x.action)}: ${x.error}`);
  report(scenario, {
    injected,
    jobs: r.results.length,
    pass: r.results.filter((x) => x.response === 'PASS').length,
    fail: fails.length,
    buildDevicePass: count('BUILD_DEVICE', 'PASS'),
    buildDeviceFail: count('BUILD_DEVICE', 'FAIL'),
    buildIpPass: count('BUILD_IP', 'PASS'),
    serversHeld: sim.counts().servers,
    floatingIpsHeld: sim.counts().floatingIps,
    strayServers: inv.strayServers.length,
    strayIps: inv.strayIps.length,
    ms: r.ms,
    failReasons: [
      ...new Set(fails.map((f) => f.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<uuid>').replace(/\d+(\.\d+)*/g, 'N'))),
    ].slice(0, 6),
    ...extra,
  });
  assert.deepEqual(
    inv,
    { strayServers: [], strayIps: [], missing: [] },
    `the cloud holds only what PASS results report (fails: ${JSON.stringify(fails)})`,
  );

  sim.faults.clear();
  for (const x of r.results) {
    const action = String(x.action).toUpperCase();
    if (action === 'BUILD_IP' && x.response === 'PASS') {
      assert.equal((await chain.job({ action: 'DELETE_IP', ip: x.ip }, `cleanup-${String(x.ip)}`)).response, 'PASS');
    }
    // A failed build carries its name too: the admin API records it and deletes it by name.
    if (action === 'BUILD_DEVICE' && typeof x.name === 'string') {
      assert.equal((await chain.job({ action: 'DELETE_DEVICE', name: x.name }, `cleanup-${x.name}`)).response, 'PASS');
    }
  }
  assert.deepEqual([sim.counts().servers, sim.counts().floatingIps], [0, 0], 'nothing left after cleanup');
  report(`${scenario}: after cleanup`, { serversLeft: 0, floatingIpsLeft: 0 });
}

const nameOf = (unique: string): string => deviceName(BASENAME, deviceUuid(uniqueBytes(unique)));
const exactly = (names: string[]): string => `^(${names.join('|')})$`;

describe('the cloud misbehaves', { timeout: 120_000 }, () => {
  afterEach(() => {
    // A failed scenario must not leave its servers to the next one.
    chain.sim.faults.clear();
    chain.sim.reset();
  });

  test('no fault (the baseline)', async () => {
    const r = await round('base');
    assert.ok(
      r.results.every((x) => x.response === 'PASS'),
      JSON.stringify(r.results.filter((x) => x.response !== 'PASS')),
    );
    await settle('baseline', 'nothing', r);
  });

  test('20% of all requests answer 5xx (500, 502, 503)', async () => {
    chain.sim.faults.add({ rate: 0.1, seed: 11, effect: { status: 500 } });
    chain.sim.faults.add({ rate: 0.05, seed: 12, effect: { status: 502 } });
    chain.sim.faults.add({ rate: 0.05, seed: 13, effect: { status: 503 } });
    const r = await round('5xx', 6, 6);
    const hits = chain.sim.faults.list().reduce((n, f) => n + f.applied, 0);
    assert.ok(hits > 5, `faults fired: ${hits}`);
    await settle('5xx on 20% of requests', '500/502/503 on 20% of all requests, seeded', r, { faultsFired: hits });
  });

  test('slow responses (300 ms on 30% of requests, under the request timeout)', async () => {
    chain.sim.faults.add({ rate: 0.3, seed: 21, effect: { delayMs: 300 } });
    const r = await round('slow');
    assert.ok(
      r.results.every((x) => x.response === 'PASS'),
      'slow is not failed',
    );
    await settle('slow responses', '+300 ms on 30% of requests', r);
  });

  test('responses slower than the request timeout (1.5 s against 1 s), the create included', async () => {
    chain.sim.faults.add({
      service: 'compute',
      method: 'POST',
      path: '/servers$',
      effect: { delayMs: 1500 },
      times: 2,
    });
    chain.sim.faults.add({ rate: 0.1, seed: 31, effect: { delayMs: 1500 } });
    const r = await round('timeout');
    // The creates whose answer came too late are processed by the cloud anyway: their
    // servers must still be found (by name) and either reported or deleted.
    await until(
      () =>
        chain.sim
          .requests()
          .filter((x) => x.method === 'POST' && x.path.endsWith('/servers'))
          .every((x) => x.status !== 0),
      'the slow creates to be processed',
      5000,
    );
    await settle('responses slower than the timeout', '+1.5 s (timeout 1 s) on 2 creates and 10% of requests', r);
  });

  test('connection resets on 15% of requests', async () => {
    chain.sim.faults.add({ rate: 0.15, seed: 41, effect: { reset: true } });
    const r = await round('reset', 6, 6);
    await settle('connection resets', 'TCP reset on 15% of requests', r);
  });

  test('every Keystone token expires in the middle of the builds', async () => {
    const { sim } = chain;
    // Warm every function up first, so that each holds a token to lose.
    await settle('Keystone token expiry mid-build (warm-up)', 'nothing', await round('expiry-warm', 1, 1));
    const before = sim.requestCounts()['identity:POST /v3/auth/tokens'] ?? 0;
    const requestsBefore = sim.requests().length;
    const r = await round('expiry', 4, 2, async () => {
      await until(() => sim.servers().some((s) => s.status === 'BUILD'), 'a server in BUILD', 5000);
      sim.expireTokens();
    });
    const reauth = (sim.requestCounts()['identity:POST /v3/auth/tokens'] ?? 0) - before;
    const unauthorized = sim
      .requests()
      .slice(requestsBefore)
      .filter((x) => x.service !== 'identity' && x.status === 401).length;
    assert.ok(
      r.results.every((x) => x.response === 'PASS'),
      JSON.stringify(r.results.filter((x) => x.response !== 'PASS')),
    );
    // Each function bundle keeps its own token (one per Lambda function, as deployed); a 401
    // makes it authenticate again, once for all its requests in flight.
    assert.ok(unauthorized >= 1, 'the expired tokens were refused');
    assert.ok(reauth >= 1 && reauth <= unauthorized, `re-authenticated ${reauth} times for ${unauthorized} refusals`);
    await settle('Keystone token expiry mid-build', 'all tokens expired while servers were in BUILD', r, {
      refused401: unauthorized,
      reauthentications: reauth,
    });
  });

  test('quota exceeded: Nova 403 and 413, Neutron 409 OverQuota', async () => {
    const { sim } = chain;
    sim.faults.add({
      service: 'compute',
      method: 'POST',
      path: '/servers$',
      times: 2,
      effect: {
        status: 403,
        body: {
          forbidden: {
            code: 403,
            message: 'Quota exceeded for instances: Requested 1, but already used 10 of 10 instances',
          },
        },
      },
    });
    sim.faults.add({
      service: 'compute',
      method: 'POST',
      path: '/servers$',
      times: 1,
      effect: {
        status: 413,
        body: {
          overLimit: { code: 413, message: 'Quota exceeded for cores: Requested 2, but already used 20 of 20 cores' },
        },
      },
    });
    sim.faults.add({
      service: 'network',
      method: 'POST',
      path: '/floatingips$',
      times: 2,
      effect: {
        status: 409,
        body: {
          NeutronError: { type: 'OverQuota', message: "Quota exceeded for resources: ['floatingip'].", detail: '' },
        },
      },
    });
    const r = await round('quota');
    const quota = r.results.filter((x) => x.response === 'FAIL' && /[Qq]uota exceeded/.test(String(x.error)));
    assert.equal(quota.length, 5, JSON.stringify(r.results));
    await settle('quota exceeded', 'Nova 403 ×2 and 413 ×1 on create, Neutron 409 OverQuota ×2', r);
  });

  test('servers that go to ERROR are deleted and reported FAIL with name, addr, type, az', async () => {
    chain.sim.faults.serverOutcome({
      namePattern: exactly([nameOf('error-dev-0'), nameOf('error-dev-2')]),
      outcome: 'error',
      faultMessage: 'No valid host was found.',
    });
    const r = await round('error');
    const failed = r.results.filter((x) => x.response === 'FAIL');
    assert.deepEqual(failed.map((x) => x.name).sort(), [nameOf('error-dev-0'), nameOf('error-dev-2')].sort());
    for (const f of failed) {
      assert.match(String(f.error), /went to ERROR: No valid host was found\..*the server was deleted/);
      assert.deepEqual([typeof f.addr, f.type, f.az], ['string', `basename: ${BASENAME}, image: haproxy-lb`, '3']);
    }
    await settle('servers go to ERROR', '2 of 4 servers go to ERROR', r);
  });

  test('servers that never leave BUILD fail at the deadline and are deleted', async () => {
    chain.sim.faults.serverOutcome({
      namePattern: exactly([nameOf('stuck-dev-1'), nameOf('stuck-dev-3')]),
      outcome: 'stuck-build',
    });
    const r = await round('stuck');
    const failed = r.results.filter((x) => x.response === 'FAIL');
    assert.deepEqual(failed.map((x) => x.name).sort(), [nameOf('stuck-dev-1'), nameOf('stuck-dev-3')].sort());
    for (const f of failed)
      assert.match(String(f.error), /not ACTIVE after \d+ s, the build deadline \(status BUILD\).*deleted/);
    await settle('servers never leave BUILD', '2 of 4 servers stay in BUILD past the 4 s deadline', r);
  });

  test('a floating-IP association that never shows: ASSIGN_IP fails, nothing else is touched', async () => {
    chain.sim.faults.floatingIpAssociation('never');
    const r = await round('never', 2, 2);
    const assigns = r.results.filter((x) => String(x.action) === 'ASSIGN_IP');
    assert.equal(assigns.length, 2);
    for (const a of assigns)
      assert.match(String(a.error), /accepted the association .* but it did not show after 4 reads/);
    await settle('floating-IP association never shows', 'association accepted, never visible', r);
  });
});

describe('two runs of one BUILD_DEVICE at once converge on one server', { timeout: 30_000 }, () => {
  // In-process and quick: the same job run twice while the first run's create is still
  // in flight (the bridge died, gearmand handed the job on). Whichever create is slow,
  // both runs PASS with the same name, and one server is left.
  let sim: CloudSim;
  before(async () => {
    sim = await startCloud({ bootDelayMs: 300 });
  });
  after(async () => {
    await sim.close();
  });

  for (const slow of ['first', 'second'] as const) {
    test(`the ${slow} run's create is the slow one`, async () => {
      clearTokenCache();
      sim.reset();
      const unique = `twin-${slow}`;
      const context = (): ReturnType<typeof actionContext> => actionContext(sim, { unique });
      let first: Promise<Result>;
      let second: Promise<Result>;
      if (slow === 'first') {
        sim.faults.add({ service: 'compute', method: 'POST', path: '/servers$', effect: { delayMs: 600 }, times: 1 });
        first = runAction('BUILD_DEVICE', context(), { action: 'BUILD_DEVICE' });
        await until(
          () => sim.requests().some((x) => x.method === 'POST' && x.path.endsWith('/servers')),
          'the first create',
        );
        second = runAction('BUILD_DEVICE', context(), { action: 'BUILD_DEVICE' });
      } else {
        first = runAction('BUILD_DEVICE', context(), { action: 'BUILD_DEVICE' });
        await until(
          () => sim.requests().some((x) => x.method === 'POST' && x.path.endsWith('/servers')),
          'the first create',
        );
        // The first create is answered at once; the second run's list ran before it.
        second = (async () => {
          sim.faults.add({
            service: 'compute',
            method: 'GET',
            path: '/servers/detail$',
            effect: { status: 200, body: { servers: [] } },
            times: 1,
          });
          sim.faults.add({ service: 'compute', method: 'POST', path: '/servers$', effect: { delayMs: 300 }, times: 1 });
          return runAction('BUILD_DEVICE', context(), { action: 'BUILD_DEVICE' });
        })();
      }
      const [a, b] = await Promise.all([first, second]);
      assert.equal(a.response, 'PASS', JSON.stringify(a));
      assert.equal(b.response, 'PASS', JSON.stringify(b));
      assert.equal(a.name, b.name);
      assert.equal(
        sim.requests().filter((x) => x.method === 'POST' && x.path.endsWith('/servers')).length,
        2,
        'two servers were booted',
      );
      await until(() => sim.servers().length === 1, 'the twin to be deleted', 3000);
      assert.deepEqual(
        sim.servers().map((s) => [s.name, s.status]),
        [[a.name, 'ACTIVE']],
      );
    });
  }
});
