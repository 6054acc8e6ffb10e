import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { PRIVATE_NETWORK, PUBLIC_NETWORK, startCloudSim } from '../../scripts/cloud-sim';
import type { CloudSim } from '../../scripts/cloud-sim';
import { sleep, until } from '../../scripts/harness';
import { clients, issueToken, serverBody } from './helpers';

let sim: CloudSim;
let api: ReturnType<typeof clients>;

before(async () => {
  sim = await startCloudSim({ bootDelayMs: 0, quotas: { floatingIps: 3 } });
  api = clients(sim, await issueToken(sim));
});

afterEach(async () => {
  sim.faults.clear();
  for (const fip of sim.floatingIps()) await api.neutron(`/floatingips/${fip.id}`, { method: 'DELETE' });
  for (const server of sim.servers()) await api.nova(`/servers/${server.id}`, { method: 'DELETE' });
});

after(async () => {
  await sim.close();
});

async function activeServer(name: string): Promise<string> {
  const created = await api.nova('/servers', { method: 'POST', body: serverBody(name) });
  return created.body.server.id as string;
}

async function portOf(serverId: string): Promise<{ id: string; fixed_ips: { ip_address: string }[] }> {
  const ports = await api.neutron(`/ports?device_id=${serverId}`);
  assert.equal(ports.status, 200);
  assert.equal(ports.body.ports.length, 1);
  return ports.body.ports[0];
}

/** POST /floatingips on the public network, with any other attributes given; the whole answer. */
function allocateFloatingIp(attributes: Record<string, unknown> = {}) {
  return api.neutron('/floatingips', {
    method: 'POST',
    body: { floatingip: { floating_network_id: PUBLIC_NETWORK.id, ...attributes } },
  });
}

test('networks: private and external public, with filters', async () => {
  const all = await api.neutron('/networks');
  assert.deepEqual(all.body.networks.map((n: { name: string }) => n.name).sort(), ['private', 'public']);
  const external = await api.neutron('/networks?router:external=True');
  assert.deepEqual(
    external.body.networks.map((n: { id: string }) => n.id),
    [PUBLIC_NETWORK.id],
  );
  const byName = await api.neutron('/networks?name=private&fields=id&fields=name');
  assert.deepEqual(byName.body.networks, [{ id: PRIVATE_NETWORK.id, name: 'private' }]);
  assert.equal((await api.neutron(`/networks/${PRIVATE_NETWORK.id}`)).body.network['router:external'], false);
  const missing = await api.neutron('/networks/00000000-0000-4000-8000-000000000000');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.NeutronError.type, 'NetworkNotFound');
  const badFilter = await api.neutron('/networks?colour=blue');
  assert.equal(badFilter.status, 400);
  assert.equal(badFilter.body.NeutronError.message, "['colour'] is invalid attribute for filtering");
});

test('Neutron floating IP: create, find by description, associate, port_details, disassociate, delete, 404', async () => {
  const serverId = await activeServer('fip-host');
  const port = await portOf(serverId);
  assert.equal((await api.neutron(`/ports/${port.id}`)).body.port.device_owner, 'compute:nova');

  const created = await allocateFloatingIp({ description: 'job-42' });
  assert.equal(created.status, 201);
  const fip = created.body.floatingip;
  assert.match(fip.floating_ip_address, /^127\.0\.100\.\d+$/);
  assert.equal(fip.status, 'DOWN');
  assert.equal(fip.port_id, null);
  assert.equal(fip.port_details, null);
  assert.equal(fip.description, 'job-42');
  for (const key of [
    'id',
    'floating_network_id',
    'router_id',
    'fixed_ip_address',
    'tenant_id',
    'project_id',
    'created_at',
    'updated_at',
    'revision_number',
    'tags',
  ]) {
    assert.ok(key in fip, `floatingip has ${key}`);
  }

  const found = await api.neutron('/floatingips?description=job-42');
  assert.deepEqual(
    found.body.floatingips.map((f: { id: string }) => f.id),
    [fip.id],
  );
  assert.equal((await api.neutron('/floatingips?description=other')).body.floatingips.length, 0);
  const byAddress = await api.neutron(`/floatingips?floating_ip_address=${fip.floating_ip_address}&fields=id`);
  assert.deepEqual(byAddress.body.floatingips, [{ id: fip.id }]);

  const associated = await api.neutron(`/floatingips/${fip.id}`, {
    method: 'PUT',
    body: { floatingip: { port_id: port.id } },
  });
  assert.equal(associated.status, 200);
  const shown = (await api.neutron(`/floatingips/${fip.id}`)).body.floatingip;
  assert.equal(shown.port_id, port.id);
  assert.equal(shown.status, 'ACTIVE');
  assert.equal(shown.fixed_ip_address, port.fixed_ips[0]?.ip_address);
  assert.equal(shown.port_details.device_id, serverId);
  assert.equal(shown.port_details.device_owner, 'compute:nova');
  assert.equal(shown.port_details.network_id, PRIVATE_NETWORK.id);
  const byPort = await api.neutron(`/floatingips?port_id=${port.id}`);
  assert.equal(byPort.body.floatingips.length, 1);

  const addresses = (await api.nova(`/servers/${serverId}`)).body.server.addresses.private;
  assert.deepEqual(
    addresses.map((a: Record<string, unknown>) => [a.addr, a['OS-EXT-IPS:type']]),
    [
      [port.fixed_ips[0]?.ip_address, 'fixed'],
      [fip.floating_ip_address, 'floating'],
    ],
  );

  const second = await allocateFloatingIp();
  const conflict = await api.neutron(`/floatingips/${second.body.floatingip.id}`, {
    method: 'PUT',
    body: { floatingip: { port_id: port.id } },
  });
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.NeutronError.type, 'FloatingIPPortAlreadyAssociated');

  const detached = await api.neutron(`/floatingips/${fip.id}`, {
    method: 'PUT',
    body: { floatingip: { port_id: null } },
  });
  assert.equal(detached.body.floatingip.port_id, null);
  assert.equal((await api.neutron(`/floatingips/${fip.id}`)).body.floatingip.status, 'DOWN');

  assert.equal((await api.neutron(`/floatingips/${fip.id}`, { method: 'DELETE' })).status, 204);
  const gone = await api.neutron(`/floatingips/${fip.id}`);
  assert.equal(gone.status, 404);
  assert.deepEqual(gone.body, {
    NeutronError: { type: 'FloatingIPNotFound', message: `Floating IP ${fip.id} could not be found`, detail: '' },
  });
  assert.equal((await api.neutron(`/floatingips/${fip.id}`, { method: 'DELETE' })).status, 404);
});

test('Neutron create errors: non-external network, missing network, quota OverQuota, malformed body', async () => {
  const internal = await api.neutron('/floatingips', {
    method: 'POST',
    body: { floatingip: { floating_network_id: PRIVATE_NETWORK.id } },
  });
  assert.equal(internal.status, 400);
  const missing = await api.neutron('/floatingips', { method: 'POST', body: { floatingip: {} } });
  assert.equal(missing.status, 400);
  const malformed = await api.neutron('/floatingips', { method: 'POST', body: '{"floatingip": ' });
  assert.equal(malformed.status, 400);
  assert.deepEqual(malformed.body, {
    NeutronError: {
      type: 'MalformedRequestBody',
      message: 'Malformed request body: Cannot understand JSON.',
      detail: '',
    },
  });

  for (let i = 0; i < 3; i += 1) {
    assert.equal((await allocateFloatingIp()).status, 201);
  }
  const over = await allocateFloatingIp();
  assert.equal(over.status, 409);
  assert.deepEqual(over.body, {
    NeutronError: { type: 'OverQuota', message: "Quota exceeded for resources: ['floatingip'].", detail: '' },
  });
});

test('association behaviour: delayed and never', async () => {
  const serverId = await activeServer('slow-assoc');
  const port = await portOf(serverId);
  const fip = (await allocateFloatingIp()).body.floatingip;

  sim.faults.floatingIpAssociation({ delayMs: 100 });
  const accepted = await api.neutron(`/floatingips/${fip.id}`, {
    method: 'PUT',
    body: { floatingip: { port_id: port.id } },
  });
  assert.equal(accepted.status, 200);
  assert.equal((await api.neutron(`/floatingips/${fip.id}`)).body.floatingip.port_id, null, 'not visible yet');
  assert.equal(sim.floatingIps()[0]?.pendingPortId, port.id);
  await until(
    async () => (await api.neutron(`/floatingips/${fip.id}`)).body.floatingip.port_id === port.id,
    'the association to show',
    3000,
  );

  await api.neutron(`/floatingips/${fip.id}`, { method: 'PUT', body: { floatingip: { port_id: null } } });
  sim.faults.floatingIpAssociation('never');
  await api.neutron(`/floatingips/${fip.id}`, { method: 'PUT', body: { floatingip: { port_id: port.id } } });
  await sleep(50);
  assert.equal((await api.neutron(`/floatingips/${fip.id}`)).body.floatingip.port_id, null);
  assert.equal(sim.floatingIps()[0]?.portId, null);
});

test('If-Match: revision_number=N: a stale PUT or DELETE is refused with 412, as Neutron does', async () => {
  const serverId = await activeServer('if-match');
  const port = await portOf(serverId);
  const fip = (await allocateFloatingIp()).body.floatingip;
  const extensions = (await api.neutron('/extensions')).body.extensions.map((e: { alias: string }) => e.alias);
  assert.ok(extensions.includes('revision-if-match'));
  const put = (revision: string, portId: string | null) =>
    api.neutron(`/floatingips/${fip.id}`, {
      method: 'PUT',
      headers: { 'If-Match': revision },
      body: { floatingip: { port_id: portId } },
    });
  const first = fip.revision_number as number;
  const moved = await put(`revision_number=${first}`, port.id);
  assert.equal(moved.status, 200);
  assert.equal(moved.body.floatingip.revision_number, first + 1);
  // Another writer read the same revision: its write is refused and changes nothing.
  const stale = await put(`revision_number=${first}`, null);
  assert.equal(stale.status, 412);
  assert.deepEqual(stale.body, {
    NeutronError: {
      type: 'RevisionNumberConstraintFailed',
      message: `Constrained to ${first}, but current revision is ${first + 1}`,
      detail: '',
    },
  });
  assert.equal((await api.neutron(`/floatingips/${fip.id}`)).body.floatingip.port_id, port.id);
  // Quoted tags and other tags are read as webob reads them; a bad number is a 400.
  assert.equal((await put(`"other", "revision_number=${first + 1}"`, null)).status, 200);
  const bad = await put('revision_number=x', null);
  assert.equal(bad.status, 400);
  assert.match(bad.body.NeutronError.message, /revision_number=<int>/);
  const twice = await put('revision_number=1, revision_number=2', null);
  assert.equal(twice.status, 400);
  const staleDelete = await api.neutron(`/floatingips/${fip.id}`, {
    method: 'DELETE',
    headers: { 'If-Match': `revision_number=${first}` },
  });
  assert.equal(staleDelete.status, 412);
  assert.equal(sim.counts().floatingIps, 1);
  // Without the header a write is unconditional, as before.
  assert.equal((await put('', port.id)).status, 200);
});

test('legacy Nova os-floating-ips + addFloatingIp/removeFloatingIp share the store, and vanish at 2.36/2.44', async () => {
  const serverId = await activeServer('legacy-host');
  const pools = await api.nova('/os-floating-ip-pools');
  assert.deepEqual(pools.body, { floating_ip_pools: [{ name: 'public' }] });

  const allocated = await api.nova('/os-floating-ips', { method: 'POST', body: { pool: 'public' } });
  assert.equal(allocated.status, 200);
  const legacy = allocated.body.floating_ip;
  assert.deepEqual(Object.keys(legacy).sort(), ['fixed_ip', 'id', 'instance_id', 'ip', 'pool']);
  assert.equal(legacy.pool, 'public');
  assert.equal(legacy.instance_id, null);
  assert.equal(
    (await api.neutron(`/floatingips/${legacy.id}`)).body.floatingip.floating_ip_address,
    legacy.ip,
    'same store as Neutron',
  );
  assert.equal((await api.nova('/os-floating-ips', { method: 'POST', body: { pool: 'nope' } })).status, 404);

  const added = await api.nova(`/servers/${serverId}/action`, {
    method: 'POST',
    body: { addFloatingIp: { address: legacy.ip } },
  });
  assert.equal(added.status, 202);
  const shown = (await api.nova(`/os-floating-ips/${legacy.id}`)).body.floating_ip;
  assert.equal(shown.instance_id, serverId);
  assert.match(shown.fixed_ip, /^10\.0\.0\./);
  const listed = (await api.nova('/os-floating-ips')).body.floating_ips;
  assert.equal(listed.length, 1);

  const notMine = await api.nova(`/servers/${serverId}/action`, {
    method: 'POST',
    body: { removeFloatingIp: { address: '127.0.100.250' } },
  });
  assert.equal(notMine.status, 404);
  const removed = await api.nova(`/servers/${serverId}/action`, {
    method: 'POST',
    body: { removeFloatingIp: { address: legacy.ip } },
  });
  assert.equal(removed.status, 202);
  const again = await api.nova(`/servers/${serverId}/action`, {
    method: 'POST',
    body: { removeFloatingIp: { address: legacy.ip } },
  });
  assert.equal(again.status, 409);
  assert.ok(again.body.conflictingRequest);

  const v236 = { 'OpenStack-API-Version': 'compute 2.36' };
  assert.equal((await api.nova('/os-floating-ips', { headers: v236 })).status, 404);
  assert.equal((await api.nova('/os-floating-ip-pools', { headers: v236 })).status, 404);
  const action244 = await api.nova(`/servers/${serverId}/action`, {
    method: 'POST',
    body: { addFloatingIp: { address: legacy.ip } },
    headers: { 'OpenStack-API-Version': 'compute 2.44' },
  });
  assert.equal(action244.status, 404);
  assert.equal(
    (
      await api.nova(`/servers/${serverId}/action`, {
        method: 'POST',
        body: { addFloatingIp: { address: legacy.ip } },
        headers: { 'OpenStack-API-Version': 'compute 2.43' },
      })
    ).status,
    202,
  );

  assert.equal((await api.nova(`/os-floating-ips/${legacy.id}`, { method: 'DELETE' })).status, 202);
  assert.equal((await api.nova(`/os-floating-ips/${legacy.id}`)).status, 404);
});

test('deleting a server disassociates its floating IP; counts return to zero after cleanup', async () => {
  const serverId = await activeServer('short-lived');
  const port = await portOf(serverId);
  const fip = (await allocateFloatingIp({ port_id: port.id })).body.floatingip;
  assert.equal(fip.port_id, port.id);
  assert.equal(sim.servers()[0]?.floatingIps[0], fip.floating_ip_address);
  assert.deepEqual({ ...sim.counts(), tokens: 0 }, { servers: 1, floatingIps: 1, ports: 1, tokens: 0 });

  await api.nova(`/servers/${serverId}`, { method: 'DELETE' });
  assert.equal((await api.neutron(`/floatingips/${fip.id}`)).body.floatingip.port_id, null);
  assert.equal((await api.neutron(`/ports?device_id=${serverId}`)).body.ports.length, 0);
  await api.neutron(`/floatingips/${fip.id}`, { method: 'DELETE' });
  const counts = sim.counts();
  assert.deepEqual(
    { servers: counts.servers, floatingIps: counts.floatingIps, ports: counts.ports },
    { servers: 0, floatingIps: 0, ports: 0 },
  );
  assert.ok(counts.tokens >= 1);
});

test('Glance images: list, name filter, duplicate names, 404', async () => {
  const all = (await api.glance('/images')).body;
  assert.equal(all.first, '/v2/images');
  assert.equal(all.schema, '/v2/schemas/images');
  assert.equal(all.images.length, 4);
  const ubuntu = (await api.glance('/images?name=ubuntu-22.04')).body.images;
  assert.equal(ubuntu.length, 1);
  assert.equal(ubuntu[0].status, 'active');
  assert.equal((await api.glance('/images?name=duplicate-name')).body.images.length, 2);
  assert.equal((await api.glance(`/images/${ubuntu[0].id}`)).body.name, 'ubuntu-22.04');
  const missing = await api.glance('/images/00000000-0000-4000-8000-000000000000');
  assert.equal(missing.status, 404);
  assert.match(missing.body.message, /No image found with ID/);
});

test('the networks option adds tenant networks: a server on two networks has a port and an address on each', async () => {
  const cloud = await startCloudSim({ bootDelayMs: 0, networks: ['lb-mgmt'] });
  try {
    const own = clients(cloud, await issueToken(cloud));
    const networks = (await own.neutron('/networks')).body.networks as { id: string; name: string }[];
    assert.deepEqual(networks.map((n) => n.name).sort(), ['lb-mgmt', 'private', 'public']);
    const mgmt = networks.find((n) => n.name === 'lb-mgmt');
    assert.ok(mgmt);
    const subnet = (await own.neutron(`/subnets?network_id=${mgmt.id}`)).body.subnets[0];
    assert.equal(subnet.cidr, '10.1.0.0/24');
    const created = await own.nova('/servers', {
      method: 'POST',
      body: serverBody('two-ports', { networks: [{ uuid: PRIVATE_NETWORK.id }, { uuid: mgmt.id }] }),
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = created.body.server.id as string;
    const ports = (await own.neutron(`/ports?device_id=${id}`)).body.ports as { network_id: string }[];
    assert.deepEqual(ports.map((p) => p.network_id).sort(), [PRIVATE_NETWORK.id, mgmt.id].sort());
    const addresses = (await own.nova(`/servers/${id}`)).body.server.addresses;
    assert.deepEqual(Object.keys(addresses).sort(), ['lb-mgmt', 'private']);
    assert.match(addresses['lb-mgmt'][0].addr, /^10\.1\.0\.\d+$/);
  } finally {
    await cloud.close();
  }
  await assert.rejects(startCloudSim({ networks: ['private'] }), /always exists/);
});
