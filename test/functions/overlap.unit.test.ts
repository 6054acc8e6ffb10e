/**
 * Runs of the pool manager's actions that overlap, and partial failures, in-process through
 * the real OpenStack client against the simulator: what the clients are told and what the
 * cloud holds must agree. (The same through gearmand, the bridge and the local Lambda:
 * test/reliability/overlap.test.ts and bridge-crash.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { uniqueBytes } from '../../contract';
import { loadSettings } from '../../functions/config';
import { deviceName, deviceUuid, floatingIpDescription } from '../../functions/core/naming';
import { runAction } from '../../functions/core/run';
import { POOL_MARK } from '../../functions/core/servers';
import { clearTokenCache } from '../../functions/openstack';
import { PRIVATE_NETWORK, networkFixtures } from '../../scripts/cloud-sim';
import type { CloudSim } from '../../scripts/cloud-sim';
import { actionContext, functionEnv, startCloud } from '../helpers/cloud';
import { clients, issueToken } from '../cloud-sim/helpers';
import { captureLogger } from '../openstack/helpers';
import { sleep, until } from '../../scripts/harness';

/** Waits for a request the test acts on at once: polled every 5 ms, for up to 5 s. */
const seen = (check: () => boolean, what: string): Promise<void> => until(check, what, 5000, 5);

let sim: CloudSim;
before(async () => {
  sim = await startCloud({ bootDelayMs: 150, networks: ['lb-mgmt'] });
});
after(async () => {
  await sim.close();
});
afterEach(() => {
  sim.faults.clear();
  sim.reset();
  clearTokenCache();
});

const build = (unique: string, pool = {}) =>
  runAction('BUILD_DEVICE', actionContext(sim, { unique, pool }), { action: 'BUILD_DEVICE' });
const buildIp = (unique: string | Uint8Array, pool = {}) =>
  runAction('BUILD_IP', actionContext(sim, { unique, pool }), { action: 'BUILD_IP' });
const requestsTo = (method: string, suffix: RegExp) =>
  sim.requests().filter((r) => r.method === method && suffix.test(r.path));

describe('BUILD_IP: overlapping runs of one job converge on one address', () => {
  test('both runs allocate (the allocation is slow): one address is left, and both answer with it', async () => {
    sim.faults.add({ service: 'network', method: 'POST', path: '/floatingips$', effect: { delayMs: 400 }, times: 2 });
    const [a, b] = await Promise.all([buildIp('ip-twins'), buildIp('ip-twins')]);
    assert.equal(requestsTo('POST', /\/floatingips$/).length, 2, 'both runs allocated');
    assert.equal(a.response, 'PASS', JSON.stringify(a));
    assert.equal(b.response, 'PASS', JSON.stringify(b));
    assert.deepEqual([b.id, b.ip], [a.id, a.ip], 'every run answers with the one kept');
    assert.deepEqual(
      sim.floatingIps().map((f) => [f.address, f.description]),
      [[a.ip, 'libra-pool-manager job ip-twins']],
    );
    const late = await buildIp('ip-twins');
    assert.deepEqual([late.id, late.ip], [a.id, a.ip], 'a late rerun returns the same address');
    assert.equal(sim.counts().floatingIps, 1);
  });

  test('the first run answers before the second allocates: the second gives its address up', async () => {
    const first = buildIp('ip-late-twin');
    await seen(() => requestsTo('POST', /\/floatingips$/).length === 1, 'the first allocation');
    // The second run's lookup ran before the first allocation existed.
    sim.faults.add({
      service: 'network',
      method: 'GET',
      path: '/floatingips$',
      effect: { status: 200, body: { floatingips: [] } },
      times: 1,
    });
    sim.faults.add({ service: 'network', method: 'POST', path: '/floatingips$', effect: { delayMs: 300 }, times: 1 });
    const second = buildIp('ip-late-twin');
    const [a, b] = await Promise.all([first, second]);
    assert.equal(requestsTo('POST', /\/floatingips$/).length, 2, 'both runs allocated');
    assert.deepEqual([a.response, b.response], ['PASS', 'PASS'], JSON.stringify([a, b]));
    assert.equal(b.ip, a.ip);
    assert.deepEqual(
      sim.floatingIps().map((f) => f.address),
      [a.ip],
    );
  });
});

describe('unique ids are bytes, and a rerun is recognised only within the idempotency window', () => {
  test('6a ff and 6a fe are two jobs: two devices, two addresses', async () => {
    const ff = Uint8Array.of(0x6a, 0xff);
    const fe = Uint8Array.of(0x6a, 0xfe);
    const [a, b] = await Promise.all([
      runAction('BUILD_DEVICE', actionContext(sim, { unique: ff }), { action: 'BUILD_DEVICE' }),
      runAction('BUILD_DEVICE', actionContext(sim, { unique: fe }), { action: 'BUILD_DEVICE' }),
    ]);
    assert.deepEqual([a.response, b.response], ['PASS', 'PASS']);
    assert.notEqual(a.name, b.name);
    assert.equal(sim.counts().servers, 2);
    const [ipA, ipB] = [await buildIp(ff), await buildIp(fe)];
    assert.notEqual(ipA.ip, ipB.ip);
    assert.deepEqual(
      sim
        .floatingIps()
        .map((f) => f.description)
        .sort(),
      [floatingIpDescription(fe), floatingIpDescription(ff)].sort(),
    );
    assert.equal((await buildIp(ff)).ip, ipA.ip, 'a rerun with the same bytes finds its address');
  });

  test('after the window, a reused unique id is a FAIL naming the earlier device or address', async () => {
    const device = await build('old-job');
    const ip = await buildIp('old-job');
    assert.deepEqual([device.response, ip.response], ['PASS', 'PASS']);
    const window = { idempotencyWindowMs: 3000 };
    // Within the window: the first result again.
    assert.equal((await build('old-job', window)).name, device.name);
    assert.equal((await buildIp('old-job', window)).ip, ip.ip);
    await sleep(4100); // past the window, the cloud's timestamps being to the second
    const again = await build('old-job', window);
    assert.equal(again.response, 'FAIL');
    assert.match(String(again.error), new RegExp(`already used, at .*, by the job that made device ${device.name}`));
    assert.match(String(again.error), /POOL_IDEMPOTENCY_WINDOW_SECONDS/);
    // The error alone: a FAIL's name is what the admin API deletes, and that device may be in service.
    assert.equal(again.name, undefined);
    const ipAgain = await buildIp('old-job', window);
    assert.equal(ipAgain.response, 'FAIL');
    assert.match(
      String(ipAgain.error),
      new RegExp(`by the job that made floating IP ${String(ip.ip).replace(/\./g, '\\.')}`),
    );
    assert.equal(ipAgain.ip, undefined);
    assert.deepEqual([sim.counts().servers, sim.counts().floatingIps], [1, 1], 'nothing new, nothing taken away');
  });
});

describe('ASSIGN_IP and REMOVE_IP write conditionally', () => {
  async function twoDevicesAndAnAddress(): Promise<{ a: string; b: string; ip: string }> {
    const [a, b, fip] = await Promise.all([build('dev-a'), build('dev-b'), buildIp('fip')]);
    return { a: String(a.name), b: String(b.name), ip: String(fip.ip) };
  }
  const assign = (ip: string, name: string) =>
    runAction('ASSIGN_IP', actionContext(sim), { action: 'ASSIGN_IP', ip, name });
  const remove = (ip: string, name: string) =>
    runAction('REMOVE_IP', actionContext(sim), { action: 'REMOVE_IP', ip, name });
  const holder = (ip: string): string | undefined => {
    const fip = sim.floatingIps().find((f) => f.address === ip);
    return sim.servers().find((s) => s.id === fip?.serverId)?.name;
  };

  test('a slow ASSIGN_IP overtaken by another never moves the address back: never both PASS', async () => {
    const { a, b, ip } = await twoDevicesAndAnAddress();
    // The first run's association is slow; meanwhile a second job moves the address to b.
    sim.faults.add({ service: 'network', method: 'PUT', path: '/floatingips/', effect: { delayMs: 500 }, times: 1 });
    const first = assign(ip, a);
    await seen(() => requestsTo('PUT', /\/floatingips\//).length === 1, "the first run's write");
    const second = await assign(ip, b);
    assert.equal(second.response, 'PASS', JSON.stringify(second));
    const late = await first;
    assert.equal(late.response, 'FAIL', 'the overtaken run does not PASS');
    assert.match(
      String(late.error),
      new RegExp(`was moved to server .* by another job while this one was assigning it to ${a}`),
    );
    assert.equal(holder(ip), b, 'the address stays where the PASS put it');
  });

  test('two ASSIGN_IP of one address to two devices at once: exactly one PASSes, and the address is there', async () => {
    const { a, b, ip } = await twoDevicesAndAnAddress();
    sim.faults.add({ service: 'network', method: 'PUT', path: '/floatingips/', effect: { delayMs: 200 }, times: 2 });
    const results = await Promise.all([assign(ip, a), assign(ip, b)]);
    const passed = results.filter((r) => r.response === 'PASS');
    assert.equal(passed.length, 1, JSON.stringify(results));
    assert.equal(holder(ip), passed[0]?.name);
  });

  test('a slow REMOVE_IP never takes the address from the device it was moved to meanwhile', async () => {
    const { a, b, ip } = await twoDevicesAndAnAddress();
    assert.equal((await assign(ip, a)).response, 'PASS');
    sim.faults.add({ service: 'network', method: 'PUT', path: '/floatingips/', effect: { delayMs: 500 }, times: 1 });
    const removing = remove(ip, a);
    await seen(() => requestsTo('PUT', /\/floatingips\//).length === 2, "the removal's write");
    assert.equal((await assign(ip, b)).response, 'PASS');
    const removed = await removing;
    assert.equal(removed.response, 'FAIL', JSON.stringify(removed));
    assert.match(String(removed.error), /associated with another server/);
    assert.equal(holder(ip), b);
  });

  test('a revision bumped without a move (a description edit) is read again and the move goes on', async () => {
    const { a, b, ip } = await twoDevicesAndAnAddress();
    assert.equal((await assign(ip, a)).response, 'PASS');
    sim.faults.add({ service: 'network', method: 'PUT', path: '/floatingips/', effect: { delayMs: 300 }, times: 1 });
    const moving = assign(ip, b);
    await seen(() => requestsTo('PUT', /\/floatingips\//).length === 2, "the move's write");
    // Someone edits the description while the move's write is on its way: the revision moves on.
    const api = clients(sim, await issueToken(sim));
    const id = sim.floatingIps()[0]?.id ?? '';
    const edit = await api.neutron(`/floatingips/${id}`, {
      method: 'PUT',
      body: { floatingip: { description: 'edited' } },
    });
    assert.equal(edit.status, 200);
    const moved = await moving;
    assert.equal(moved.response, 'PASS', JSON.stringify(moved));
    assert.equal(holder(ip), b);
    const writes = sim.requests().filter((r) => r.method === 'PUT' && r.path.includes('/floatingips/'));
    assert.deepEqual(
      writes.map((r) => r.status),
      [200, 412, 200, 200],
      'the first move, the stale write (refused), the edit, the move decided again',
    );
  });
});

describe('the address goes on the port that holds the device address', () => {
  test('on a device with two ports, the port on POOL_ADDR_NETWORK', async () => {
    const mgmt = networkFixtures(['lb-mgmt']).find((n) => n.name === 'lb-mgmt');
    const env = {
      POOL_NETWORK_IDS: `${mgmt?.id ?? ''},${PRIVATE_NETWORK.id}`,
      POOL_ADDR_NETWORK: 'private',
    };
    const device = await runAction('BUILD_DEVICE', actionContext(sim, { unique: 'two-ports', env }), {
      action: 'BUILD_DEVICE',
    });
    assert.equal(device.response, 'PASS', JSON.stringify(device));
    assert.match(String(device.addr), /^10\.0\.0\./, 'addr is on private');
    const server = sim.servers()[0];
    assert.deepEqual(
      server?.networks.map((n) => n.networkName),
      ['lb-mgmt', 'private'],
      'the device has two ports, lb-mgmt first',
    );
    const fip = await buildIp('two-ports');
    const assigned = await runAction('ASSIGN_IP', actionContext(sim, { env }), {
      action: 'ASSIGN_IP',
      ip: fip.ip,
      name: device.name,
    });
    assert.equal(assigned.response, 'PASS', JSON.stringify(assigned));
    const held = sim.floatingIps()[0];
    assert.equal(held?.fixedIp, device.addr, 'on the private port, where addr is');
    assert.equal(held?.portId, server?.networks.find((n) => n.networkName === 'private')?.portId);
    // Without POOL_ADDR_NETWORK the address follows the device's addr the same way.
    const settings = await loadSettings(functionEnv(sim, { POOL_NETWORK_IDS: env.POOL_NETWORK_IDS }));
    assert.equal(settings.pool.addrNetwork, undefined);
  });
});

describe('a failed build deletes only what its own run booted', () => {
  test("a concurrent rerun's server that already PASSed survives the other run's failure", async () => {
    // The first run's create is slow: the rerun (gearmand re-queued the job) boots its own
    // server meanwhile, sees no twin yet, and PASSes with it.
    sim.faults.add({ service: 'compute', method: 'POST', path: '/servers$', effect: { delayMs: 1000 }, times: 1 });
    const first = build('cleanup-twin');
    await seen(() => requestsTo('POST', /\/servers$/).length === 1, 'the first create');
    const rerun = await build('cleanup-twin');
    assert.equal(rerun.response, 'PASS', JSON.stringify(rerun));
    const kept = sim.servers()[0];
    assert.ok(kept);
    // Then the first run fails on its own server (a refused status read).
    sim.faults.add({
      service: 'compute',
      method: 'GET',
      path: '/servers/[0-9a-f-]{36}$',
      effect: { status: 403, body: { forbidden: { code: 403, message: 'Policy does not allow it.' } } },
      times: 1,
    });
    const failed = await first;
    assert.equal(failed.response, 'FAIL', JSON.stringify(failed));
    assert.match(String(failed.error), /403 Policy does not allow it\..*; the server was deleted/);
    await seen(() => sim.servers().length === 1, 'the failed run to delete its own server');
    assert.deepEqual(
      sim.servers().map((s) => [s.id, s.name, s.status]),
      [[kept.id, rerun.name, 'ACTIVE']],
      'the PASSed server is still there',
    );
  });
});

describe('the pool acts only on servers it built', () => {
  test('BUILD_DEVICE marks its servers with the device uuid', async () => {
    const device = await build('marked');
    assert.equal(device.response, 'PASS');
    const metadata = sim.servers()[0]?.metadata ?? {};
    assert.equal(metadata[POOL_MARK], deviceUuid(uniqueBytes('marked')));
    assert.equal(device.name, deviceName('libra-stg-haproxy', metadata[POOL_MARK] ?? ''));
    assert.equal(metadata['libra-job'], 'marked');
  });

  test('DELETE_DEVICE, ASSIGN_IP and REMOVE_IP refuse a server without the mark, unless a setting accepts it', async () => {
    const ctx = actionContext(sim);
    const settings = await loadSettings(functionEnv(sim));
    const imageRef = await ctx.openstack.image.resolveImage(settings.pool.image);
    const flavorRef = await ctx.openstack.compute.resolveFlavor(settings.pool.flavor);
    const name = 'libra-stg-haproxy-0cdc0c9a-df1a-5d03-a28f-1f08aa094faa';
    await ctx.openstack.compute.createServer({ name, imageRef, flavorRef });
    const ours = await build('ours');
    const fip = await buildIp('mark-ip');
    const ip = String(fip.ip);
    await seen(() => sim.servers().every((s) => s.status === 'ACTIVE'), 'both servers ACTIVE');
    const refused =
      /was not built by the pool manager \(it has no 'libra-pool-manager' metadata\): not touching it; .*POOL_ACCEPT_UNTAGGED_SERVERS=true/;

    const del = await runAction('DELETE_DEVICE', actionContext(sim), { action: 'DELETE_DEVICE', name });
    assert.equal(del.response, 'FAIL');
    assert.match(String(del.error), refused);
    const assign = await runAction('ASSIGN_IP', actionContext(sim), { action: 'ASSIGN_IP', ip, name });
    assert.equal(assign.response, 'FAIL');
    assert.match(String(assign.error), refused);
    assert.equal(sim.floatingIps()[0]?.serverId, null, 'the address was not moved');
    assert.equal(sim.counts().servers, 2, 'nothing was deleted');

    const accept = { env: { POOL_ACCEPT_UNTAGGED_SERVERS: 'true' } };
    assert.equal(
      (await runAction('ASSIGN_IP', actionContext(sim, accept), { action: 'ASSIGN_IP', ip, name })).response,
      'PASS',
    );
    const remove = await runAction('REMOVE_IP', actionContext(sim), { action: 'REMOVE_IP', ip, name });
    assert.equal(remove.response, 'FAIL');
    assert.match(String(remove.error), refused);
    assert.notEqual(sim.floatingIps()[0]?.serverId, null, 'the address stayed');
    assert.equal(
      (await runAction('REMOVE_IP', actionContext(sim, accept), { action: 'REMOVE_IP', ip, name })).response,
      'PASS',
    );
    assert.equal(
      (await runAction('DELETE_DEVICE', actionContext(sim, accept), { action: 'DELETE_DEVICE', name })).response,
      'PASS',
    );
    // The pool's own server needs no setting.
    assert.equal(
      (await runAction('DELETE_DEVICE', actionContext(sim), { action: 'DELETE_DEVICE', name: ours.name })).response,
      'PASS',
    );
    await seen(() => sim.servers().length === 0, 'both servers gone');
  });
});

describe('a boot refused because of a pool setting names the setting', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ POOL_KEY_NAME: 'foo' }, /400 Invalid key_name provided\. \(POOL_KEY_NAME=foo\)$/],
    [
      { POOL_AVAILABILITY_ZONE: 'nowhere' },
      /400 The requested availability zone is not available \(POOL_AVAILABILITY_ZONE=nowhere\)$/,
    ],
    [{ POOL_SECURITY_GROUPS: 'lb,nope' }, /400 Security group lb not found\. \(POOL_SECURITY_GROUPS=lb,nope\)$/],
    [
      { POOL_SERVER_GROUP_ID: '00000000-0000-4000-8000-00000000000a' },
      /400 Instance group 00000000-0000-4000-8000-00000000000a could not be found\. \(POOL_SERVER_GROUP_ID=00000000-0000-4000-8000-00000000000a\)$/,
    ],
    [
      { POOL_NETWORK_IDS: '00000000-0000-4000-8000-00000000000b' },
      /400 Network 00000000-0000-4000-8000-00000000000b could not be found\. \(POOL_NETWORK_IDS=00000000-0000-4000-8000-00000000000b\)$/,
    ],
    [{ POOL_IMAGE: 'no-such-image' }, /^no image named no-such-image \(POOL_IMAGE=no-such-image\)$/],
    [{ POOL_FLAVOR: 'm9.huge' }, /^no flavor named m9\.huge \(POOL_FLAVOR=m9\.huge\)$/],
    [{ POOL_IMAGE: 'duplicate-name' }, /^2 images named duplicate-name: give an id \(POOL_IMAGE=duplicate-name\)$/],
  ];
  for (const [env, expected] of cases) {
    test(Object.keys(env).join(', '), async () => {
      const result = await runAction('BUILD_DEVICE', actionContext(sim, { unique: 'settings', env }), {
        action: 'BUILD_DEVICE',
      });
      assert.equal(result.response, 'FAIL');
      assert.match(String(result.error), expected);
      assert.equal(sim.counts().servers, 0);
    });
  }

  test('POOL_FLAVOR found twice', async () => {
    const flavors = ['c1', 'c2'].map((id) => ({ id, name: 'dup-flavor' }));
    sim.faults.add({
      service: 'compute',
      method: 'GET',
      path: '/flavors/detail$',
      effect: { status: 200, body: { flavors } },
    });
    const result = await runAction(
      'BUILD_DEVICE',
      actionContext(sim, { unique: 'settings', env: { POOL_FLAVOR: 'dup-flavor' } }),
      {
        action: 'BUILD_DEVICE',
      },
    );
    assert.equal(result.response, 'FAIL');
    assert.match(String(result.error), /^2 flavors named dup-flavor: give an id \(POOL_FLAVOR=dup-flavor\)$/);
    assert.equal(sim.counts().servers, 0);
  });

  test('POOL_USER_DATA is named but never shown, not even as the base64 the cloud quotes back', async () => {
    const userData = `#cloud-config\npassword: s3cret-${'x'.repeat(70_000)}`;
    const logger = captureLogger();
    const result = await runAction(
      'BUILD_DEVICE',
      actionContext(sim, { unique: 'user-data', pool: { userData }, logger }),
      { action: 'BUILD_DEVICE' },
    );
    assert.equal(result.response, 'FAIL');
    assert.match(String(result.error), /user_data.*\(POOL_USER_DATA, value not shown\)$/);
    const text = JSON.stringify(result) + JSON.stringify(logger.lines);
    assert.ok(!text.includes('s3cret'), 'the user data leaked');
    const base64 = Buffer.from(userData, 'utf8').toString('base64');
    assert.ok(!text.includes(base64.slice(0, 40)), 'the user data leaked as base64');
  });
});
