/**
 * The six actions end to end against the cloud simulator, through the real OpenStack
 * client: what a Gearman client would see in the result, and what is left on the cloud.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { runAction } from '../../functions/core/run';
import { clearTokenCache, createOpenStack } from '../../functions/openstack';
import { loadSettings } from '../../functions/config';
import type { CloudSim } from '../../scripts/cloud-sim';
import { actionContext, functionEnv, startCloud } from '../helpers/cloud';
import { captureLogger } from '../openstack/helpers';
import { POOL_MARK } from '../../functions/core/servers';
import { sleep } from '../../scripts/harness';

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('with Neutron', () => {
  let sim: CloudSim;
  before(async () => {
    sim = await startCloud();
  });
  after(async () => {
    await sim.close();
  });
  afterEach(() => {
    sim.reset();
    clearTokenCache();
  });

  test('a full lifecycle passes every action and leaves the cloud empty', async () => {
    const build = await runAction('BUILD_DEVICE', actionContext(sim, { unique: 'job-life' }), {
      action: 'BUILD_DEVICE',
    });
    assert.equal(build.response, 'PASS', JSON.stringify(build));
    assert.equal(build.action, 'BUILD_DEVICE');
    assert.match(String(build.name), new RegExp(`^libra-stg-haproxy-${UUID.source}`));
    assert.match(String(build.addr), /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(build.type, 'basename: libra-stg-haproxy, image: haproxy-lb');
    assert.equal(build.az, '3');
    assert.equal(sim.counts().servers, 1);
    assert.equal(sim.servers()[0]?.status, 'ACTIVE');

    const ipResult = await runAction('BUILD_IP', actionContext(sim, { unique: 'job-ip' }), { action: 'BUILD_IP' });
    assert.equal(ipResult.response, 'PASS', JSON.stringify(ipResult));
    assert.equal(typeof ipResult.id, 'string');
    assert.match(String(ipResult.ip), /^127\.0\.100\.\d+$/);
    const ip = String(ipResult.ip);
    const name = String(build.name);

    const assign = { action: 'ASSIGN_IP', ip, name };
    assert.deepEqual(await runAction('ASSIGN_IP', actionContext(sim), assign), { ...assign, response: 'PASS' });
    assert.equal(sim.floatingIps()[0]?.port_id !== null, true);
    // Assigning again is a no-op success.
    assert.equal((await runAction('ASSIGN_IP', actionContext(sim), assign)).response, 'PASS');

    const remove = { action: 'REMOVE_IP', ip, name };
    assert.deepEqual(await runAction('REMOVE_IP', actionContext(sim), remove), { ...remove, response: 'PASS' });
    assert.equal(sim.floatingIps()[0]?.port_id, null);
    assert.equal(
      (await runAction('REMOVE_IP', actionContext(sim), remove)).response,
      'PASS',
      'already removed is PASS',
    );

    const del = { action: 'DELETE_IP', ip };
    assert.deepEqual(await runAction('DELETE_IP', actionContext(sim), del), { ...del, response: 'PASS' });
    assert.equal((await runAction('DELETE_IP', actionContext(sim), del)).response, 'PASS', 'already released is PASS');

    const delDevice = { action: 'DELETE_DEVICE', name };
    assert.deepEqual(await runAction('DELETE_DEVICE', actionContext(sim), delDevice), {
      ...delDevice,
      response: 'PASS',
    });
    assert.equal(
      (await runAction('DELETE_DEVICE', actionContext(sim), delDevice)).response,
      'PASS',
      'already gone is PASS',
    );
    assert.deepEqual(
      { servers: sim.counts().servers, floatingIps: sim.counts().floatingIps },
      { servers: 0, floatingIps: 0 },
    );
  });

  test('a rerun with the same unique id resumes the same server and returns the same IP', async () => {
    const [first, second] = await Promise.all([
      runAction('BUILD_DEVICE', actionContext(sim, { unique: 'job-twice' }), { action: 'BUILD_DEVICE' }),
      (async () => {
        await sleep(30);
        return runAction('BUILD_DEVICE', actionContext(sim, { unique: 'job-twice' }), { action: 'BUILD_DEVICE' });
      })(),
    ]);
    assert.equal(first.response, 'PASS');
    assert.equal(second.response, 'PASS');
    assert.equal(first.name, second.name);
    const third = await runAction('BUILD_DEVICE', actionContext(sim, { unique: 'job-twice' }), {
      action: 'BUILD_DEVICE',
    });
    assert.equal(third.name, first.name);
    assert.equal(sim.counts().servers, 1);

    const ipA = await runAction('BUILD_IP', actionContext(sim, { unique: 'ip-twice' }), { action: 'BUILD_IP' });
    const ipB = await runAction('BUILD_IP', actionContext(sim, { unique: 'ip-twice' }), { action: 'BUILD_IP' });
    assert.deepEqual([ipB.id, ipB.ip], [ipA.id, ipA.ip]);
    assert.equal(sim.counts().floatingIps, 1);
    const other = await runAction('BUILD_IP', actionContext(sim, { unique: 'ip-other' }), { action: 'BUILD_IP' });
    assert.notEqual(other.ip, ipA.ip);
    assert.equal(sim.counts().floatingIps, 2);
  });

  test('a rerun of BUILD_DEVICE after ASSIGN_IP answers the addr the first run did, not the floating IP', async () => {
    const build = () =>
      runAction('BUILD_DEVICE', actionContext(sim, { unique: 'job-rerun-assigned' }), { action: 'BUILD_DEVICE' });
    const first = await build();
    assert.equal(first.response, 'PASS', JSON.stringify(first));
    const fip = await runAction('BUILD_IP', actionContext(sim, { unique: 'ip-rerun-assigned' }), {
      action: 'BUILD_IP',
    });
    const ip = String(fip.ip);
    const assign = { action: 'ASSIGN_IP', ip, name: String(first.name) };
    assert.equal((await runAction('ASSIGN_IP', actionContext(sim), assign)).response, 'PASS');
    assert.deepEqual(sim.servers()[0]?.floatingIps, [ip], 'the server lists the floating IP');

    const rerun = await build();
    assert.deepEqual(rerun, first);
    assert.notEqual(rerun.addr, ip);
    // ASSIGN_IP again still finds the address on the port of the device's addr: nothing moves.
    assert.equal((await runAction('ASSIGN_IP', actionContext(sim), assign)).response, 'PASS');
    assert.equal(sim.floatingIps()[0]?.fixedIp, first.addr);
  });

  test('BUILD_IP whose allocation answer is lost finds the address by its description instead of leaking it', async () => {
    sim.faults.add({ service: 'network', method: 'POST', path: '/floatingips$', effect: { delayMs: 800 }, times: 1 });
    const ctx = actionContext(sim, { unique: 'lost-answer', env: { OS_REQUEST_TIMEOUT_MS: '300' } });
    const result = await runAction('BUILD_IP', ctx, { action: 'BUILD_IP' });
    assert.equal(result.response, 'PASS', JSON.stringify(result));
    assert.deepEqual(
      sim.floatingIps().map((fip) => fip.address),
      [result.ip],
    );
  });

  test('a server that goes to ERROR is deleted and the FAIL keeps name, addr, type, az', async () => {
    sim.faults.serverOutcome({
      namePattern: '^libra-stg-haproxy-',
      outcome: 'error',
      faultMessage: 'No valid host was found.',
    });
    const result = await runAction('BUILD_DEVICE', actionContext(sim, { unique: 'job-error' }), {
      action: 'BUILD_DEVICE',
    });
    assert.equal(result.response, 'FAIL');
    assert.match(String(result.error), /went to ERROR: No valid host was found\..*the server was deleted/);
    assert.match(String(result.name), UUID);
    assert.equal(typeof result.addr, 'string');
    assert.equal(result.type, 'basename: libra-stg-haproxy, image: haproxy-lb');
    assert.equal(result.az, '3');
    assert.equal(sim.counts().servers, 0);
  });

  test('a server that never becomes ACTIVE fails at the deadline and is deleted', async () => {
    sim.faults.serverOutcome({ outcome: 'stuck-build' });
    const started = Date.now();
    const result = await runAction(
      'BUILD_DEVICE',
      actionContext(sim, { unique: 'job-stuck', pool: { buildDeadlineMs: 400 } }),
      {
        action: 'BUILD_DEVICE',
      },
    );
    assert.equal(result.response, 'FAIL');
    assert.match(String(result.error), /not ACTIVE after \d+ s, the build deadline \(status BUILD\).*deleted/);
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual([typeof result.name, typeof result.addr, result.az], ['string', 'string', '3']);
    assert.equal(sim.counts().servers, 0);
  });

  test('quota exceeded fails with the cloud own words and leaves nothing behind', async () => {
    const quotaSim = await startCloud({ quotas: { instances: 0, floatingIps: 0 } });
    try {
      const build = await runAction('BUILD_DEVICE', actionContext(quotaSim, { unique: 'q' }), {
        action: 'BUILD_DEVICE',
      });
      assert.equal(build.response, 'FAIL');
      assert.match(String(build.error), /Quota exceeded for instances/);
      assert.equal(quotaSim.counts().servers, 0);
      const ip = await runAction('BUILD_IP', actionContext(quotaSim, { unique: 'q' }), { action: 'BUILD_IP' });
      assert.equal(ip.response, 'FAIL');
      assert.match(String(ip.error), /[Qq]uota/);
      assert.equal(quotaSim.counts().floatingIps, 0);
    } finally {
      await quotaSim.close();
    }
  });

  test('a setting the client finds wrong mid-action (no compute endpoint in the region) is a FAIL naming it', async () => {
    const ctx = actionContext(sim, { unique: 'cfg', env: { OS_REGION_NAME: 'Nowhere' } });
    const build = await runAction('BUILD_DEVICE', ctx, { action: 'BUILD_DEVICE' });
    assert.equal(build.response, 'FAIL');
    assert.equal(build.error, "no 'compute' endpoint for interface public in region Nowhere");
    assert.equal(sim.counts().servers, 0);
  });

  test('DELETE_DEVICE never deletes a server whose name is not exactly the one given', async () => {
    const ctx = actionContext(sim);
    const settings = await loadSettings(functionEnv(sim));
    const image = await ctx.openstack.image.resolveImage(settings.pool.image);
    const flavor = await ctx.openstack.compute.resolveFlavor(settings.pool.flavor);
    for (const name of ['libra-1', 'libra-10', 'libra-100', 'twin', 'twin']) {
      // Marked as BUILD_DEVICE marks its servers: this test is about names.
      await ctx.openstack.compute.createServer({
        name,
        imageRef: image,
        flavorRef: flavor,
        metadata: { [POOL_MARK]: name },
      });
    }
    for (const name of ['.*', 'libra-', 'libra', '^libra-1', 'libra-1$', 'libra-10|libra-100', 'libra-1.', '']) {
      const result = await runAction('DELETE_DEVICE', ctx, { action: 'DELETE_DEVICE', name });
      assert.equal(
        sim.counts().servers,
        5,
        `DELETE_DEVICE ${JSON.stringify(name)} deleted something: ${JSON.stringify(result)}`,
      );
    }
    const twin = await runAction('DELETE_DEVICE', ctx, { action: 'DELETE_DEVICE', name: 'twin' });
    assert.equal(twin.response, 'FAIL');
    assert.match(String(twin.error), /2 servers are named twin/);
    assert.equal(sim.counts().servers, 5);

    assert.equal(
      (await runAction('DELETE_DEVICE', ctx, { action: 'DELETE_DEVICE', name: 'libra-1' })).response,
      'PASS',
    );
    assert.deepEqual(
      sim
        .servers()
        .map((server) => server.name)
        .sort(),
      ['libra-10', 'libra-100', 'twin', 'twin'],
    );
  });

  test('REMOVE_IP refuses to take an address from a server that was not named', async () => {
    const a = await runAction('BUILD_DEVICE', actionContext(sim, { unique: 'dev-a' }), { action: 'BUILD_DEVICE' });
    const b = await runAction('BUILD_DEVICE', actionContext(sim, { unique: 'dev-b' }), { action: 'BUILD_DEVICE' });
    const fip = await runAction('BUILD_IP', actionContext(sim, { unique: 'fip' }), { action: 'BUILD_IP' });
    const ip = String(fip.ip);
    assert.equal(
      (await runAction('ASSIGN_IP', actionContext(sim), { action: 'ASSIGN_IP', ip, name: String(a.name) })).response,
      'PASS',
    );
    const wrong = await runAction('REMOVE_IP', actionContext(sim), { action: 'REMOVE_IP', ip, name: String(b.name) });
    assert.equal(wrong.response, 'FAIL');
    assert.match(String(wrong.error), /associated with another server/);
    const missing = await runAction('REMOVE_IP', actionContext(sim), {
      action: 'REMOVE_IP',
      ip,
      name: 'no-such-device',
    });
    assert.equal(missing.response, 'FAIL');
    assert.notEqual(sim.floatingIps()[0]?.port_id, null, 'the address stayed with its server');
  });

  test('ASSIGN_IP fails clearly for unknown servers, unknown IPs and an association that never shows', async () => {
    const dev = await runAction('BUILD_DEVICE', actionContext(sim, { unique: 'dev' }), { action: 'BUILD_DEVICE' });
    const fip = await runAction('BUILD_IP', actionContext(sim, { unique: 'fip' }), { action: 'BUILD_IP' });
    const name = String(dev.name);
    const ip = String(fip.ip);
    assert.match(
      String((await runAction('ASSIGN_IP', actionContext(sim), { action: 'ASSIGN_IP', ip, name: 'nope' })).error),
      /no server is named nope/,
    );
    assert.match(
      String(
        (await runAction('ASSIGN_IP', actionContext(sim), { action: 'ASSIGN_IP', ip: '127.0.100.254', name })).error,
      ),
      /no floating IP 127\.0\.100\.254/,
    );
    sim.faults.floatingIpAssociation('never');
    const never = await runAction('ASSIGN_IP', actionContext(sim), { action: 'ASSIGN_IP', ip, name });
    assert.equal(never.response, 'FAIL');
    assert.match(String(never.error), /did not show after 5 reads/);
  });

  test('ASSIGN_IP with the TCP check passes only when the port answers', async () => {
    const dev = await runAction('BUILD_DEVICE', actionContext(sim, { unique: 'tcp' }), { action: 'BUILD_DEVICE' });
    const fip = await runAction('BUILD_IP', actionContext(sim, { unique: 'tcp' }), { action: 'BUILD_IP' });
    const ip = String(fip.ip);
    const listener = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => listener.listen(0, ip, resolve));
    const port = (listener.address() as { port: number }).port;
    try {
      const message = { action: 'ASSIGN_IP', ip, name: String(dev.name) };
      const ok = await runAction(
        'ASSIGN_IP',
        actionContext(sim, { pool: { tcpCheckPort: port, tcpCheckTimeoutMs: 2000 } }),
        message,
      );
      assert.equal(ok.response, 'PASS', JSON.stringify(ok));
      await new Promise<void>((resolve) => listener.close(() => resolve()));
      const closed = await runAction(
        'ASSIGN_IP',
        actionContext(sim, { pool: { tcpCheckPort: port, tcpCheckTimeoutMs: 300 } }),
        message,
      );
      assert.equal(closed.response, 'FAIL');
      assert.match(String(closed.error), new RegExp(`port ${port} did not accept a TCP connection`));
    } finally {
      listener.close();
    }
  });

  test('an expired token is replaced once, and transient 5xx on reads are retried', async () => {
    const build = await runAction('BUILD_DEVICE', actionContext(sim, { unique: 'auth' }), { action: 'BUILD_DEVICE' });
    assert.equal(build.response, 'PASS');
    const tokensBefore = sim.requestCounts()['identity:POST /v3/auth/tokens'] ?? 0;
    sim.expireTokens();
    sim.faults.add({ service: 'compute', method: 'GET', effect: { status: 503 }, times: 2 });
    const del = await runAction('DELETE_DEVICE', actionContext(sim), {
      action: 'DELETE_DEVICE',
      name: String(build.name),
    });
    assert.equal(del.response, 'PASS', JSON.stringify(del));
    assert.equal((sim.requestCounts()['identity:POST /v3/auth/tokens'] ?? 0) - tokensBefore, 1);
    assert.equal(sim.counts().servers, 0);
  });

  test('many actions share one Keystone token', async () => {
    for (let i = 0; i < 10; i += 1) {
      const ip = await runAction('BUILD_IP', actionContext(sim, { unique: `many-${i}` }), { action: 'BUILD_IP' });
      await runAction('DELETE_IP', actionContext(sim), { action: 'DELETE_IP', ip: String(ip.ip) });
    }
    assert.equal(sim.requestCounts()['identity:POST /v3/auth/tokens'], 1);
  });

  test('no password or token reaches a log line or a result, even on errors', async () => {
    const logger = captureLogger();
    sim.faults.add({
      service: 'compute',
      effect: { status: 500, body: { computeFault: { code: 500, message: 'boom' } } },
    });
    const result = await runAction('BUILD_DEVICE', actionContext(sim, { unique: 'secret', logger }), {
      action: 'BUILD_DEVICE',
    });
    assert.equal(result.response, 'FAIL');
    const text = JSON.stringify(logger.lines) + JSON.stringify(result);
    assert.doesNotMatch(text, new RegExp(sim.env.OS_PASSWORD ?? 'unset'));
    for (const token of sim.issuedTokens()) assert.ok(!text.includes(token), 'a token leaked');
  });
});

describe('with the legacy Nova floating-IP proxy (no network service)', () => {
  let sim: CloudSim;
  before(async () => {
    sim = await startCloud({ networkService: false });
  });
  after(async () => {
    await sim.close();
  });

  test('BUILD_IP, ASSIGN_IP, REMOVE_IP, DELETE_IP pass through os-floating-ips', async () => {
    const build = await runAction('BUILD_DEVICE', actionContext(sim, { unique: 'legacy' }), { action: 'BUILD_DEVICE' });
    assert.equal(build.response, 'PASS', JSON.stringify(build));
    const fip = await runAction('BUILD_IP', actionContext(sim), { action: 'BUILD_IP' });
    assert.equal(fip.response, 'PASS', JSON.stringify(fip));
    const ip = String(fip.ip);
    const name = String(build.name);
    for (const action of ['ASSIGN_IP', 'REMOVE_IP'] as const) {
      const result = await runAction(action, actionContext(sim), { action, ip, name });
      assert.equal(result.response, 'PASS', JSON.stringify(result));
    }
    assert.equal((await runAction('DELETE_IP', actionContext(sim), { action: 'DELETE_IP', ip })).response, 'PASS');
    assert.equal(sim.counts().floatingIps, 0);
    assert.equal(sim.requestCounts().network ?? 0, 0, 'no Neutron call was made');
    assert.ok(
      (sim.requestCounts()['compute:POST /os-floating-ips'] ??
        sim.requests().filter((r) => r.path.includes('os-floating-ips')).length) > 0,
    );
    const settings = await loadSettings(functionEnv(sim));
    assert.equal((await createOpenStack(settings.cloud).floatingIps()).backend, 'nova-legacy');
  });
});
