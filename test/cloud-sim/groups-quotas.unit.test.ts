/**
 * Security groups, server groups and quotas over plain HTTP: the rules Nova and Neutron
 * enforce with them, beyond what the CLI test shows.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { startCloudSim } from '../../scripts/cloud-sim';
import type { CloudSim } from '../../scripts/cloud-sim';
import { boot, call, clients, issueToken, serverBody, waitFor } from './helpers';
import type { JsonResponse } from './helpers';

let sim: CloudSim;
let api: ReturnType<typeof clients>;
let token: string;
let project: string;

before(async () => {
  sim = await startCloudSim({ bootDelayMs: 10, availabilityZones: ['nova', 'az-2'], securityGroups: ['lb-ssh'] });
});

afterEach(() => sim.reset());

after(() => sim.close());

/** A fresh token each test: reset() forgets the previous ones. */
async function connect(): Promise<void> {
  token = await issueToken(sim);
  api = clients(sim, token);
  const validated = await call(`${sim.authUrl}/auth/tokens`, { token, headers: { 'X-Subject-Token': token } });
  project = validated.body.token.project.id;
}

const V264 = { 'OpenStack-API-Version': 'compute 2.64' };

async function serverGroup(policy: string, rules: Record<string, number> = {}): Promise<string> {
  const created = await api.nova('/os-server-groups', {
    method: 'POST',
    headers: V264,
    body: { server_group: { name: `g-${policy}`, policy, rules } },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  return created.body.server_group.id;
}

async function settled(id: string): Promise<Record<string, unknown>> {
  return waitFor(async () => {
    const server = (await api.nova(`/servers/${id}`)).body.server;
    return server.status === 'BUILD' ? undefined : server;
  });
}

function neutronError(response: JsonResponse): [number, string, string] {
  return [response.status, response.body.NeutronError?.type, response.body.NeutronError?.message];
}

test('server groups place servers: anti-affinity one per host (then No valid host), affinity all together', async () => {
  await connect();
  const anti = await serverGroup('anti-affinity');
  const hint = { 'os:scheduler_hints': { group: anti } };
  const ids = [];
  for (let i = 0; i < 4; i += 1) ids.push(await boot(api.nova, `anti-${i}`, {}, hint));
  const states = await Promise.all(ids.map(settled));
  assert.deepEqual(
    states.map((s) => s.status),
    ['ACTIVE', 'ACTIVE', 'ACTIVE', 'ERROR'],
  );
  assert.equal(
    (states[3]?.fault as { message: string }).message,
    'No valid host was found. There are not enough hosts available.',
  );
  const hosts = sim
    .servers()
    .filter((s) => s.status === 'ACTIVE')
    .map((s) => s.host);
  assert.deepEqual(new Set(hosts).size, 3, `one host each: ${hosts.join(', ')}`);

  // A deleted member frees its host for the next one.
  await api.nova(`/servers/${ids[0]}`, { method: 'DELETE' });
  const next = await settled(await boot(api.nova, 'anti-4', {}, hint));
  assert.equal(next.status, 'ACTIVE');
  const members = (await api.nova(`/os-server-groups/${anti}`, { headers: V264 })).body.server_group.members;
  assert.ok(!members.includes(ids[0]), 'a deleted server leaves its group');
  assert.equal(members.length, 4, 'the failed build stays a member, as in Nova');

  const together = await serverGroup('affinity');
  for (let i = 0; i < 3; i += 1)
    await boot(api.nova, `aff-${i}`, { availability_zone: 'az-2' }, { 'os:scheduler_hints': { group: together } });
  const affHosts = sim
    .servers()
    .filter((s) => s.name.startsWith('aff-'))
    .map((s) => s.host);
  assert.equal(new Set(affHosts).size, 1);
  assert.match(affHosts[0] ?? '', /^sim-compute-[456]$/, 'az-2 has its own hosts');

  const twoPerHost = await serverGroup('anti-affinity', { max_server_per_host: 2 });
  const pairs = [];
  for (let i = 0; i < 7; i += 1)
    pairs.push(await boot(api.nova, `pair-${i}`, {}, { 'os:scheduler_hints': { group: twoPerHost } }));
  const pairStates = await Promise.all(pairs.map(settled));
  assert.deepEqual(
    pairStates.map((s) => s.status),
    ['ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE', 'ERROR'],
  );
});

test('Nova quotas: PUT limits are enforced (cores, server groups, members); DELETE goes back to the defaults', async () => {
  await connect();
  const put = (quota: Record<string, unknown>, headers: Record<string, string> = {}) =>
    api.nova(`/os-quota-sets/${project}`, { method: 'PUT', body: { quota_set: quota }, headers });
  const updated = await put({ cores: 2, server_groups: '1', server_group_members: 1 });
  assert.equal(updated.status, 200);
  assert.equal(updated.body.quota_set.id, undefined, 'the update answer carries no id');
  assert.deepEqual([updated.body.quota_set.cores, updated.body.quota_set.server_groups], [2, 1]);

  await boot(api.nova, 'big', { flavorRef: '3' });
  const over = await api.nova('/servers', { method: 'POST', body: serverBody('more') });
  assert.deepEqual(over.body, {
    forbidden: { code: 403, message: 'Quota exceeded for cores: Requested 1, but already used 2 of 2 cores' },
  });

  await put({ cores: 10 });
  const group = await serverGroup('affinity');
  const second = await api.nova('/os-server-groups', {
    method: 'POST',
    headers: V264,
    body: { server_group: { name: 'two', policy: 'affinity' } },
  });
  assert.deepEqual(second.body, { forbidden: { code: 403, message: 'Quota exceeded, too many server groups.' } });
  await boot(api.nova, 'member-1', {}, { 'os:scheduler_hints': { group } });
  const crowded = await api.nova('/servers', {
    method: 'POST',
    body: { ...(serverBody('member-2') as Record<string, unknown>), 'os:scheduler_hints': { group } },
  });
  assert.deepEqual(crowded.body, { forbidden: { code: 403, message: 'Quota exceeded, too many servers in group' } });

  const belowUse = await put({ instances: 1 });
  assert.equal(
    belowUse.body.badRequest.message,
    'Quota limit 1 for instances must be greater than or equal to already used and reserved 2.',
  );
  assert.equal((await put({ instances: 1, force: true })).body.quota_set.instances, 1);
  const gone = await put({ floating_ips: 5 }, { 'OpenStack-API-Version': 'compute 2.36' });
  assert.match(gone.body.badRequest.message, /Additional properties are not allowed \('floating_ips' was unexpected\)/);
  assert.equal((await api.nova(`/os-quota-sets/${project}`, { method: 'DELETE' })).status, 202);
  const reset = (await api.nova(`/os-quota-sets/${project}`)).body.quota_set;
  assert.deepEqual([reset.instances, reset.cores, reset.server_groups], [100, 1000, 10]);
  const detail = (await api.nova(`/os-quota-sets/${project}/detail`)).body.quota_set;
  assert.deepEqual(detail.instances, { in_use: 2, limit: 100, reserved: 0 });
  assert.deepEqual(detail.server_group_members, { in_use: 1, limit: 10, reserved: 0 });
});

test('Neutron quotas: floatingip and security_group limits enforced as OverQuota; used counts; reset', async () => {
  await connect();
  const put = (quota: Record<string, unknown>) => api.neutron(`/quotas/${project}`, { method: 'PUT', body: { quota } });
  assert.deepEqual((await put({ floatingip: 1, security_group: 2 })).body.quota.floatingip, 1);
  const allocate = () =>
    api.neutron('/floatingips', {
      method: 'POST',
      body: { floatingip: { floating_network_id: 'f1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f602' } },
    });
  assert.equal((await allocate()).status, 201);
  assert.deepEqual(neutronError(await allocate()), [409, 'OverQuota', "Quota exceeded for resources: ['floatingip']."]);
  const sg = await api.neutron('/security-groups', { method: 'POST', body: { security_group: { name: 'third' } } });
  assert.deepEqual(neutronError(sg), [409, 'OverQuota', "Quota exceeded for resources: ['security_group']."]);

  const low = await put({ floatingip: 0 });
  assert.deepEqual(neutronError(low), [
    400,
    'HTTPBadRequest',
    'Quota limit 0 for floatingip must be greater than or equal to already used 1',
  ]);
  assert.equal((await put({ floatingip: 0, force: true })).status, 200);
  const details = (await api.neutron(`/quotas/${project}/details.json`)).body.quota;
  assert.deepEqual(details.floatingip, { limit: 0, used: 1, reserved: 0 });
  assert.deepEqual(details.security_group, { limit: 2, used: 2, reserved: 0 });
  assert.deepEqual(details.security_group_rule.used, 6, 'default has 4 rules, lb-ssh its 2 egress ones');
  assert.deepEqual(
    (await api.neutron('/quotas')).body.quotas.map((q: { project_id: string }) => q.project_id),
    [project],
  );
  assert.deepEqual(neutronError(await put({ floatingip: 'lots' })), [
    400,
    'InvalidInput',
    "Invalid input for operation: 'lots' is not an integer.",
  ]);
  assert.equal((await api.neutron(`/quotas/${project}`, { method: 'DELETE' })).status, 204);
  assert.equal((await api.neutron(`/quotas/${project}`)).body.quota.floatingip, 50);
  assert.deepEqual((await api.neutron('/quotas')).body.quotas, []);
});

test('security group rules are validated as Neutron does', async () => {
  await connect();
  const group = (await api.neutron('/security-groups?name=lb-ssh')).body.security_groups[0];
  const rule = (fields: Record<string, unknown>) =>
    api.neutron('/security-group-rules', {
      method: 'POST',
      body: { security_group_rule: { security_group_id: group.id, direction: 'ingress', ...fields } },
    });
  const cases: [Record<string, unknown>, string, string][] = [
    [
      { protocol: 'tcp', port_range_min: 90, port_range_max: 80 },
      'SecurityGroupInvalidPortRange',
      'For TCP/UDP protocols, port_range_min must be <= port_range_max',
    ],
    [
      { protocol: 'tcp', port_range_min: 0, port_range_max: 80 },
      'SecurityGroupInvalidPortValue',
      'Invalid value for port 0',
    ],
    [
      { protocol: 'udp', port_range_min: 70000, port_range_max: 70000 },
      'SecurityGroupInvalidPortValue',
      'Invalid value for port 70000',
    ],
    [
      { port_range_min: 22, port_range_max: 22 },
      'SecurityGroupProtocolRequiredWithPorts',
      'Must also specify protocol if port range is given.',
    ],
    [
      { protocol: 'icmp', port_range_min: 300 },
      'SecurityGroupInvalidIcmpValue',
      'Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255.',
    ],
    [
      { protocol: 'icmp', port_range_max: 3 },
      'SecurityGroupMissingIcmpType',
      'ICMP code (port-range-max) 3 is provided but ICMP type (port-range-min) is missing.',
    ],
    [
      { protocol: 'gre', port_range_min: 1, port_range_max: 2 },
      'SecurityGroupInvalidProtocolForPort',
      'Ports cannot be specified for protocol gre. Ports are only supported for DCCP, SCTP, TCP, UDP.',
    ],
    [
      { ethertype: 'IPv4', remote_ip_prefix: '2001:db8::/64' },
      'SecurityGroupRuleParameterConflict',
      'Conflicting value ethertype IPv4 for CIDR 2001:db8::/64',
    ],
    [
      { ethertype: 'IPv5' },
      'SecurityGroupRuleInvalidEtherType',
      "Security group rule for ethertype 'IPv5' not supported. Allowed values are ['IPv4', 'IPv6'].",
    ],
    [{ remote_ip_prefix: '10.0.0.300/24' }, 'InvalidCIDR', 'Invalid CIDR 10.0.0.300/24 given as IP prefix.'],
    [
      { remote_ip_prefix: '10.0.0.0/8', remote_group_id: group.id },
      'SecurityGroupMultipleRemoteEntites',
      'Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.',
    ],
    [
      { protocol: 'ipv6-icmp' },
      'SecurityGroupEthertypeConflictWithProtocol',
      'Invalid ethertype IPv4 for protocol ipv6-icmp.',
    ],
    [{ bogus: 1 }, 'HTTPBadRequest', "Unrecognized attribute(s) 'bogus'"],
  ];
  for (const [fields, type, message] of cases) {
    const response = await rule(fields);
    assert.deepEqual(neutronError(response), [400, type, message], JSON.stringify(fields));
  }
  const badProtocol = await rule({ protocol: 'smtp' });
  assert.equal(badProtocol.body.NeutronError.type, 'SecurityGroupRuleInvalidProtocol');
  assert.match(
    badProtocol.body.NeutronError.message,
    /^Security group rule protocol smtp not supported\. Only protocol values \[None, 'any', 'ah'/,
  );

  const host = await rule({
    protocol: 'TCP',
    port_range_min: '443',
    port_range_max: 443,
    remote_ip_prefix: '10.0.0.5/24',
  });
  assert.equal(host.status, 201);
  assert.deepEqual(
    [
      host.body.security_group_rule.protocol,
      host.body.security_group_rule.remote_ip_prefix,
      host.body.security_group_rule.normalized_cidr,
    ],
    ['tcp', '10.0.0.5/24', '10.0.0.0/24'],
  );
  const everyPort = await rule({ protocol: 'udp', port_range_min: 1, port_range_max: 65535 });
  assert.deepEqual(
    [everyPort.body.security_group_rule.port_range_min, everyPort.body.security_group_rule.port_range_max],
    [null, null],
  );
  const anywhere = await rule({ protocol: 'udp', remote_ip_prefix: '0.0.0.0/0' });
  assert.deepEqual(
    neutronError(anywhere).slice(0, 2),
    [409, 'SecurityGroupRuleExists'],
    '0.0.0.0/0 is the same as no prefix',
  );
  const v6 = await rule({ ethertype: 'ipv6', protocol: 'icmp', remote_ip_prefix: '2001:db8::1' });
  assert.deepEqual(
    [
      v6.body.security_group_rule.ethertype,
      v6.body.security_group_rule.protocol,
      v6.body.security_group_rule.remote_ip_prefix,
    ],
    ['IPv6', 'ipv6-icmp', '2001:db8::1/128'],
  );
});

test('security groups: default is fixed, in-use groups stay, ids work in server create, ports carry them', async () => {
  await connect();
  const groups = (await api.neutron('/security-groups')).body.security_groups;
  const fallback = groups.find((g: { name: string }) => g.name === 'default');
  const ssh = groups.find((g: { name: string }) => g.name === 'lb-ssh');
  assert.deepEqual(
    neutronError(
      await api.neutron('/security-groups', { method: 'POST', body: { security_group: { name: 'Default' } } }),
    ),
    [409, 'SecurityGroupDefaultAlreadyExists', 'Default security group already exists.'],
  );
  assert.deepEqual(
    neutronError(
      await api.neutron(`/security-groups/${fallback.id}`, { method: 'PUT', body: { security_group: { name: 'x' } } }),
    ),
    [409, 'SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.'],
  );
  const described = await api.neutron(`/security-groups/${fallback.id}`, {
    method: 'PUT',
    body: { security_group: { description: 'ours' } },
  });
  assert.deepEqual([described.status, described.body.security_group.description], [200, 'ours']);
  assert.deepEqual(
    neutronError(
      await api.neutron(`/security-groups/${fallback.id}`, { method: 'PUT', body: { security_group: { id: 'x' } } }),
    ),
    [400, 'HTTPBadRequest', "Unrecognized attribute(s) 'id'"],
  );

  // A rule of another group naming this one as its remote goes with it.
  const web = (await api.neutron('/security-groups', { method: 'POST', body: { security_group: { name: 'web' } } }))
    .body.security_group;
  await api.neutron('/security-group-rules', {
    method: 'POST',
    body: { security_group_rule: { security_group_id: ssh.id, direction: 'ingress', remote_group_id: web.id } },
  });
  const id = await boot(api.nova, 'guarded', { security_groups: [{ name: web.id }, { name: 'lb-ssh' }] });
  const server = await settled(id);
  assert.deepEqual(server.security_groups, [{ name: 'web' }, { name: 'lb-ssh' }]);
  const ports = (
    await api.neutron(`/ports?security_groups=${web.id}&fields=id&fields=security_groups&fields=device_id`)
  ).body.ports;
  assert.deepEqual(ports, [{ id: ports[0].id, security_groups: [web.id, ssh.id], device_id: id }]);
  assert.deepEqual(neutronError(await api.neutron(`/security-groups/${web.id}`, { method: 'DELETE' })), [
    409,
    'SecurityGroupInUse',
    `Security Group ${web.id} in use.`,
  ]);
  await api.nova(`/servers/${id}`, { method: 'DELETE' });
  assert.equal((await api.neutron(`/security-groups/${web.id}`, { method: 'DELETE' })).status, 204);
  const sshRules = (await api.neutron(`/security-group-rules?security_group_id=${ssh.id}`)).body.security_group_rules;
  assert.ok(sshRules.every((r: { remote_group_id: string | null }) => r.remote_group_id !== web.id));
  assert.deepEqual(neutronError(await api.neutron('/security-groups?bogus=1')), [
    400,
    'HTTPBadRequest',
    "['bogus'] is invalid attribute for filtering",
  ]);
});

test('the zone list without hosts, and Keystone projects by id and by name', async () => {
  await connect();
  const zones = (await api.nova('/os-availability-zone')).body.availabilityZoneInfo;
  assert.deepEqual(zones, [
    { zoneName: 'nova', zoneState: { available: true }, hosts: null },
    { zoneName: 'az-2', zoneState: { available: true }, hosts: null },
  ]);
  const projects = (name: string) => call(`${sim.authUrl}/projects?name=${name}`, { token });
  assert.deepEqual(
    (await projects('admin')).body.projects.map((p: { id: string }) => p.id),
    [project],
  );
  assert.deepEqual((await projects('nobody')).body.projects, []);
  assert.equal((await call(`${sim.authUrl}/projects/${project}`, { token })).body.project.name, 'admin');
  assert.equal((await call(`${sim.authUrl}/projects`)).status, 401);
});

test('the quotas option sets every project default; cores and ram take -1 (unlimited); -2 is refused', async () => {
  const unlimited = await startCloudSim({ bootDelayMs: 0, quotas: { instances: 7, cores: -1, ram: -1 } });
  try {
    const own = await issueToken(unlimited);
    const validated = await call(`${unlimited.authUrl}/auth/tokens`, {
      token: own,
      headers: { 'X-Subject-Token': own },
    });
    const id: string = validated.body.token.project.id;
    const defaults = (await clients(unlimited, own).nova(`/os-quota-sets/${id}/defaults`)).body.quota_set;
    assert.deepEqual([defaults.instances, defaults.cores, defaults.ram], [7, -1, -1]);
  } finally {
    await unlimited.close();
  }
  await assert.rejects(startCloudSim({ quotas: { cores: -2 } }), {
    name: 'TypeError',
    message: 'quotas.cores must be a non-negative integer or -1 (unlimited)',
  });
});
