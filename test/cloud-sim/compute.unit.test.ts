import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { IMAGE_IDS, PUBLIC_NETWORK, PRIVATE_NETWORK, startCloudSim } from '../../scripts/cloud-sim';
import type { CloudSim } from '../../scripts/cloud-sim';
import { boot, clients, issueToken, serverBody, waitFor } from './helpers';
import type { JsonResponse } from './helpers';
import { sleep } from '../../scripts/harness';

const BOOT_DELAY_MS = 150;
let sim: CloudSim;
let nova: ReturnType<typeof clients>['nova'];

before(async () => {
  sim = await startCloudSim({ bootDelayMs: BOOT_DELAY_MS, quotas: { instances: 4 } });
  nova = clients(sim, await issueToken(sim)).nova;
});

afterEach(() => {
  sim.faults.clear();
});

after(async () => {
  await sim.close();
});

async function deleteAll(): Promise<void> {
  for (const server of sim.servers()) await nova(`/servers/${server.id}`, { method: 'DELETE' });
}

async function statusOf(id: string): Promise<JsonResponse> {
  return nova(`/servers/${id}`);
}

test('create answers 202 with links, adminPass and Location; BUILD turns ACTIVE after the boot delay', async () => {
  const created = await nova('/servers', {
    method: 'POST',
    body: serverBody('lb-one', { key_name: 'sim-key', metadata: { role: 'lb' } }),
  });
  assert.equal(created.status, 202);
  const server = created.body.server;
  assert.match(server.id, /^[0-9a-f-]{36}$/);
  assert.equal(typeof server.adminPass, 'string');
  assert.deepEqual(server.security_groups, [{ name: 'default' }]);
  assert.equal(server['OS-DCF:diskConfig'], 'MANUAL');
  assert.deepEqual(
    server.links.map((l: { rel: string }) => l.rel),
    ['self', 'bookmark'],
  );
  assert.equal(created.headers.get('location'), `${sim.url}/compute/v2.1/servers/${server.id}`);
  assert.equal(created.headers.get('openstack-api-version'), 'compute 2.1');

  const building = (await statusOf(server.id)).body.server;
  assert.equal(building.status, 'BUILD');
  assert.equal(building['OS-EXT-STS:vm_state'], 'building');
  assert.equal(building['OS-EXT-STS:task_state'], 'spawning');
  assert.equal(building.fault, undefined);

  const active = await waitFor(async () => {
    const body = (await statusOf(server.id)).body.server;
    return body.status === 'ACTIVE' ? body : undefined;
  });
  assert.equal(active['OS-EXT-STS:power_state'], 1);
  assert.equal(active['OS-EXT-STS:task_state'], null);
  assert.equal(active.key_name, 'sim-key');
  assert.deepEqual(active.metadata, { role: 'lb' });
  assert.equal(active.image.id, IMAGE_IDS.ubuntu);
  assert.equal(active.flavor.id, '1');
  assert.equal(active['OS-EXT-AZ:availability_zone'], 'nova');
  const [fixed] = active.addresses.private;
  assert.equal(fixed['OS-EXT-IPS:type'], 'fixed');
  assert.match(fixed.addr, /^10\.0\.0\.\d+$/);
  assert.match(fixed['OS-EXT-IPS-MAC:mac_addr'], /^fa:16:3e(:[0-9a-f]{2}){3}$/);
  await deleteAll();
});

test('server outcome rules: ERROR with a fault, and stuck in BUILD', async () => {
  sim.faults.serverOutcome({ namePattern: '^doomed-', outcome: 'error', faultMessage: 'No valid host was found.' });
  sim.faults.serverOutcome({ namePattern: '^stuck-', outcome: 'stuck-build' });
  const doomed = await boot(nova, 'doomed-1');
  const stuck = await boot(nova, 'stuck-1');
  const fine = await boot(nova, 'fine-1');
  await sleep(BOOT_DELAY_MS + 50);

  const failed = (await statusOf(doomed)).body.server;
  assert.equal(failed.status, 'ERROR');
  assert.equal(failed['OS-EXT-STS:vm_state'], 'error');
  assert.equal(failed.fault.code, 500);
  assert.equal(failed.fault.message, 'No valid host was found.');
  assert.match(failed.fault.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.deepEqual(failed.addresses, {}, 'a failed build has no network');

  assert.equal((await statusOf(stuck)).body.server.status, 'BUILD');
  assert.equal((await statusOf(fine)).body.server.status, 'ACTIVE');
  assert.equal((await statusOf(fine)).body.server.fault, undefined);
  await deleteAll();
});

test('name filter is an unanchored regular expression', async () => {
  const ids = [await boot(nova, 'libra-1'), await boot(nova, 'libra-10'), await boot(nova, 'other')];
  const names = async (query: string): Promise<string[]> =>
    ((await nova(`/servers?${query}`)).body.servers as { name: string }[]).map((s) => s.name).sort();
  assert.deepEqual(await names('name=libra-1'), ['libra-1', 'libra-10']);
  assert.deepEqual(await names(`name=${encodeURIComponent('^libra-1$')}`), ['libra-1']);
  assert.deepEqual(await names(`name=${encodeURIComponent('.*')}`), ['libra-1', 'libra-10', 'other']);
  assert.deepEqual(await names('name=nomatch'), []);
  assert.equal(
    (await nova(`/servers?name=${encodeURIComponent('libra-(')}`)).status,
    400,
    'invalid regex -> 400 (simulator choice)',
  );

  const detail = await nova('/servers/detail?name=libra-10&status=BUILD');
  assert.deepEqual(
    detail.body.servers.map((s: { name: string }) => s.name),
    ['libra-10'],
  );
  assert.equal((await nova('/servers?status=ACTIVE')).body.servers.length, 0);
  assert.deepEqual((await nova('/servers?status=BOGUS')).body.servers, [], 'unknown status before 2.38: empty list');
  assert.equal(
    (await nova('/servers?status=BOGUS', { headers: { 'OpenStack-API-Version': 'compute 2.38' } })).status,
    400,
  );

  const page = await nova('/servers?limit=2');
  assert.equal(page.body.servers.length, 2);
  const next = new URL(page.body.servers_links[0].href);
  const rest = await nova(`/servers?${next.searchParams.toString()}`);
  assert.equal(rest.body.servers.length, 1);
  assert.equal(new Set([...page.body.servers, ...rest.body.servers].map((s: { id: string }) => s.id)).size, 3);
  assert.equal(ids.length, 3);
  await deleteAll();
});

test('GET /servers/{name} is 404 itemNotFound; DELETE removes from lists and 404s after', async () => {
  const id = await boot(nova, 'named-thing');
  const byName = await nova('/servers/named-thing');
  assert.equal(byName.status, 404);
  assert.deepEqual(byName.body, { itemNotFound: { code: 404, message: 'Instance named-thing could not be found.' } });

  const deleted = await nova(`/servers/${id}`, { method: 'DELETE' });
  assert.equal(deleted.status, 204);
  assert.equal((await nova(`/servers/${id}`)).status, 404);
  assert.equal((await nova(`/servers/${id}`, { method: 'DELETE' })).status, 404);
  assert.equal((await nova('/servers')).body.servers.length, 0);
  assert.equal(sim.counts().servers, 0);
  assert.equal(sim.counts().ports, 0, 'ports go with the server');
});

test('instance quota answers 403 forbidden with Nova wording', async () => {
  for (let i = 0; i < 4; i += 1) await boot(nova, `quota-${i}`);
  const refused = await nova('/servers', { method: 'POST', body: serverBody('quota-5') });
  assert.equal(refused.status, 403);
  assert.deepEqual(refused.body, {
    forbidden: { code: 403, message: 'Quota exceeded for instances: Requested 1, but already used 4 of 4 instances' },
  });
  await deleteAll();
});

test('create validation: image, flavor, key, networks, user_data, name', async () => {
  const bad = async (body: unknown, headers?: Record<string, string>): Promise<JsonResponse> =>
    nova('/servers', { method: 'POST', body, ...(headers ? { headers } : {}) });
  const missingImage = await bad(serverBody('x', { imageRef: '00000000-0000-4000-8000-000000000000' }));
  assert.deepEqual(missingImage.body, { badRequest: { code: 400, message: 'Can not find requested image' } });
  assert.equal((await bad(serverBody('x', { flavorRef: '999' }))).status, 400);
  assert.equal(
    (await bad(serverBody('x', { key_name: 'nope' }))).body.badRequest.message,
    'Invalid key_name provided.',
  );
  assert.equal((await bad(serverBody('x', { user_data: 'not base64!' }))).status, 400);
  assert.equal((await bad({ server: { imageRef: IMAGE_IDS.ubuntu, flavorRef: '1' } })).status, 400);
  assert.equal(
    (await bad(serverBody('x', { networks: [{ uuid: '00000000-0000-4000-8000-000000000000' }] }))).status,
    400,
  );
  assert.equal((await bad(serverBody('x', { networks: [{ uuid: PUBLIC_NETWORK.id }] }))).status, 403);
  assert.equal((await bad(serverBody('x', { security_groups: [{ name: 'missing' }] }))).status, 400);
  assert.equal(
    (await bad(serverBody('x'), { 'OpenStack-API-Version': 'compute 2.37' })).status,
    400,
    'networks required at 2.37',
  );
  const malformed = await nova('/servers', { method: 'POST', body: '{"server": ' });
  assert.deepEqual(malformed.body, { badRequest: { code: 400, message: 'Malformed request body' } });
  assert.equal(sim.counts().servers, 0);

  const ok = await bad(
    serverBody('with-net', {
      networks: [{ uuid: PRIVATE_NETWORK.id }],
      user_data: Buffer.from('#!/bin/sh\n').toString('base64'),
    }),
  );
  assert.equal(ok.status, 202);
  const none = await bad(serverBody('no-net', { networks: 'none' }), { 'OpenStack-API-Version': 'compute 2.37' });
  assert.equal(none.status, 202);
  assert.deepEqual(sim.servers().find((s) => s.name === 'no-net')?.networks, []);
  await deleteAll();
});

test('microversions: echoed headers, 406 outside range, 400 malformed, embedded flavor at 2.47', async () => {
  const versioned = await nova('/flavors', { headers: { 'OpenStack-API-Version': 'compute 2.60' } });
  assert.equal(versioned.headers.get('openstack-api-version'), 'compute 2.60');
  assert.equal(versioned.headers.get('x-openstack-nova-api-version'), '2.60');
  assert.match(versioned.headers.get('vary') ?? '', /OpenStack-API-Version/);
  const legacy = await nova('/flavors', { headers: { 'X-OpenStack-Nova-API-Version': '2.10' } });
  assert.equal(legacy.headers.get('openstack-api-version'), 'compute 2.10');
  const latest = await nova('/flavors', { headers: { 'OpenStack-API-Version': 'compute latest' } });
  assert.match(latest.headers.get('openstack-api-version') ?? '', /^compute 2\.\d+$/);

  const tooNew = await nova('/servers', { headers: { 'OpenStack-API-Version': 'compute 3.0' } });
  assert.equal(tooNew.status, 406);
  assert.match(tooNew.body.computeFault.message, /Version 3\.0 is not supported by the API/);
  assert.equal((await nova('/servers', { headers: { 'OpenStack-API-Version': 'compute 2.x' } })).status, 400);

  const id = await boot(nova, 'flavored');
  const old = (await nova(`/servers/${id}`)).body.server;
  assert.deepEqual(Object.keys(old.flavor).sort(), ['id', 'links']);
  const embedded = (await nova(`/servers/${id}`, { headers: { 'OpenStack-API-Version': 'compute 2.47' } })).body.server;
  assert.equal(embedded.flavor.original_name, 'm1.tiny');
  await deleteAll();
});

test('flavors, images proxy, keypairs, unknown routes and wrong methods', async () => {
  const flavors = (await nova('/flavors/detail')).body.flavors;
  assert.deepEqual(
    flavors.slice(0, 3).map((f: { id: string; name: string }) => [f.id, f.name]),
    [
      ['1', 'm1.tiny'],
      ['2', 'm1.small'],
      ['3', 'm1.medium'],
    ],
  );
  assert.equal((await nova('/flavors/2')).body.flavor.ram, 2048);
  assert.equal((await nova('/flavors/42')).status, 404);

  assert.equal((await nova(`/images/${IMAGE_IDS.haproxy}`)).body.image.name, 'haproxy-lb');
  assert.equal((await nova('/images', { headers: { 'OpenStack-API-Version': 'compute 2.36' } })).status, 404);

  assert.equal((await nova('/os-keypairs')).body.keypairs[0].keypair.name, 'sim-key');
  assert.equal((await nova('/os-keypairs/sim-key')).status, 200);
  assert.equal((await nova('/os-keypairs/other')).status, 404);

  const unknown = await nova('/no-such-thing');
  assert.deepEqual(unknown.body, { itemNotFound: { code: 404, message: 'The resource could not be found.' } });
  assert.equal((await nova('/flavors', { method: 'DELETE' })).status, 405);
});

test('deleteDelayMs keeps a deleted server listed as deleting for a while', async () => {
  const slow = await startCloudSim({ bootDelayMs: 0, deleteDelayMs: 120 });
  try {
    const client = clients(slow, await issueToken(slow)).nova;
    const created = await client('/servers', { method: 'POST', body: serverBody('slow-delete') });
    const id = created.body.server.id as string;
    assert.equal((await client(`/servers/${id}`, { method: 'DELETE' })).status, 204);
    const deleting = (await client(`/servers/${id}`)).body.server;
    assert.equal(deleting.status, 'ACTIVE');
    assert.equal(deleting['OS-EXT-STS:task_state'], 'deleting');
    assert.equal((await client('/servers')).body.servers.length, 1);
    await sleep(150);
    assert.equal((await client(`/servers/${id}`)).status, 404);
    assert.equal(slow.counts().servers, 0);
  } finally {
    await slow.close();
  }
});
