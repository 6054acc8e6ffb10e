/**
 * What an operator types around the pool, with the real `openstack` CLI against one simulator:
 * flavors, availability zones, keypairs, images and networks by name, security groups and
 * rules, server groups, ports, quotas. The pool settings found this way boot a device; unknown
 * ones fail the job with Nova's own words. Malformed requests get each service's 4xx fault body.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { wrap } from '../../contract/envelope';
import { makeHandler } from '../../functions/handlers/make-handler';
import { FLAVORS, IMAGE_IDS, KEYPAIR, PRIVATE_NETWORK, PUBLIC_NETWORK, startCloudSim } from '../../scripts/cloud-sim';
import type { CloudSim } from '../../scripts/cloud-sim';
import { call, clients, issueToken, serverBody } from './helpers';
import type { JsonResponse } from './helpers';
import { OpenStackCli, requireOpenStackCli } from './openstack-cli';

const ZONES = ['nova', 'az-2'];
const EXTRA_GROUP = 'lb-ssh';
const INSTANCES = 20;
const FLOATING_IPS = 10;

let sim: CloudSim;
let os: OpenStackCli;
const fileStarted = Date.now();

before(async () => {
  await requireOpenStackCli();
  sim = await startCloudSim({
    bootDelayMs: 50,
    availabilityZones: ZONES,
    securityGroups: [EXTRA_GROUP],
    quotas: { instances: INSTANCES, floatingIps: FLOATING_IPS },
  });
  os = new OpenStackCli(sim.env);
  // The pool functions' log lines and metrics would only clutter the test output.
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

afterEach(() => sim.reset());

after(async () => {
  os?.close();
  await sim?.close();
  console.log(
    `openstack CLI: ${os?.history.length ?? 0} commands in ${os?.processes ?? 0} processes; file wall time ${Date.now() - fileStarted} ms`,
  );
});

/** What a pool function sees: the simulator's OS_* lines and pool settings (fast polling). */
function poolEnv(pool: Record<string, string>): Record<string, string> {
  return {
    ...sim.env,
    POOL_IMAGE: 'haproxy-lb',
    POOL_FLAVOR: 'm1.small',
    POOL_NODE_BASENAME: 'libra-stg-haproxy',
    POOL_POLL_INITIAL_MS: '20',
    POOL_POLL_MAX_MS: '100',
    OS_REQUEST_TIMEOUT_MS: '5000',
    ...pool,
  };
}

/** Rows of a `-f json` listing, by one column. */
function column<T = unknown>(rows: Record<string, unknown>[], name: string): T[] {
  return rows.map((row) => row[name] as T);
}

test('flavor list --long and flavor show (by name and by id) show the flavors with their extra specs', async () => {
  const lbSmall = FLAVORS.find((f) => f.name === 'lb.small');
  assert.ok(lbSmall);
  const [list, small, lb] = await os.session([
    ['flavor', 'list', '--long', '-f', 'json'],
    ['flavor', 'show', 'm1.small', '-f', 'json'],
    ['flavor', 'show', lbSmall.id, '-f', 'json'],
  ]);
  assert.deepEqual(column(list, 'Name'), ['m1.tiny', 'm1.small', 'm1.medium', 'lb.small']);
  const smallRow = list.find((row: { Name: string }) => row.Name === 'm1.small');
  assert.deepEqual(
    { id: smallRow.ID, ram: smallRow.RAM, disk: smallRow.Disk, vcpus: smallRow.VCPUs, properties: smallRow.Properties },
    { id: '2', ram: 2048, disk: 20, vcpus: 1, properties: {} },
  );
  assert.deepEqual(list.find((row: { Name: string }) => row.Name === 'lb.small').Properties, lbSmall.extraSpecs);
  assert.deepEqual(
    { id: small.id, name: small.name, ram: small.ram, vcpus: small.vcpus, disk: small.disk },
    { id: '2', name: 'm1.small', ram: 2048, vcpus: 1, disk: 20 },
  );
  assert.deepEqual(lb.properties, { 'hw:cpu_policy': 'shared', 'hw_rng:allowed': 'True' });
  assert.equal(lb.description, 'Load-balancer node');
});

test('availability zone list: the Nova zones server create accepts, with their hosts, and the Neutron zones', async () => {
  const [compute, network] = await os.session([
    ['availability', 'zone', 'list', '--compute', '--long', '-f', 'json'],
    ['availability', 'zone', 'list', '--network', '--long', '-f', 'json'],
  ]);
  const zoneRows = compute.filter((row: Record<string, string>) => row['Zone Name'] !== 'internal');
  assert.deepEqual([...new Set(column(zoneRows, 'Zone Name'))], ZONES);
  const az2 = zoneRows.filter((row: Record<string, string>) => row['Zone Name'] === 'az-2');
  assert.deepEqual(column(az2, 'Host Name'), ['sim-compute-4', 'sim-compute-5', 'sim-compute-6']);
  assert.ok(az2.every((row: Record<string, string>) => row['Service Name'] === 'nova-compute'));
  assert.ok(compute.every((row: Record<string, string>) => row['Zone Status'] === 'available'));
  assert.deepEqual(
    network.map((row: Record<string, string>) => [row['Zone Name'], row['Zone Resource'], row['Zone Status']]),
    [
      ['nova', 'network', 'available'],
      ['nova', 'router', 'available'],
    ],
  );
});

test('keypair list/show, image show and network show by name or id', async () => {
  const [keypairs, keypair, image, imageById, privateNet, publicNet] = await os.session([
    ['keypair', 'list', '-f', 'json'],
    ['keypair', 'show', KEYPAIR.name, '-f', 'json'],
    ['image', 'show', 'haproxy-lb', '-f', 'json'],
    ['image', 'show', IMAGE_IDS.ubuntu, '-f', 'json'],
    ['network', 'show', 'private', '-f', 'json'],
    ['network', 'show', PUBLIC_NETWORK.id, '-f', 'json'],
  ]);
  assert.deepEqual(keypairs, [{ Name: KEYPAIR.name, Fingerprint: KEYPAIR.fingerprint, Type: 'ssh' }]);
  assert.equal(keypair.fingerprint, KEYPAIR.fingerprint);
  assert.match(keypair.user_id, /^[0-9a-f]{32}$/);
  assert.equal(image.id, IMAGE_IDS.haproxy);
  assert.equal(imageById.name, 'ubuntu-22.04');
  assert.deepEqual(
    { id: privateNet.id, external: privateNet['router:external'], subnets: privateNet.subnets },
    { id: PRIVATE_NETWORK.id, external: false, subnets: [PRIVATE_NETWORK.subnet.id] },
  );
  assert.deepEqual(
    { name: publicNet.name, external: publicNet['router:external'] },
    { name: 'public', external: true },
  );
});

test('security groups and rules: list, create, show, duplicate refused, delete; default stays', async () => {
  const [groups, fallback, created, rule, rules] = await os.session([
    ['security', 'group', 'list', '-f', 'json'],
    ['security', 'group', 'show', 'default', '-f', 'json'],
    ['security', 'group', 'create', 'pool-sg', '--description', 'load-balancers', '-f', 'json'],
    ['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '443', 'pool-sg', '-f', 'json'],
    ['security', 'group', 'rule', 'list', 'pool-sg', '-f', 'json'],
  ]);
  assert.deepEqual(column(groups, 'Name').sort(), ['default', EXTRA_GROUP]);
  assert.deepEqual(
    fallback.rules.map((r: Record<string, unknown>) => [r.direction, r.ethertype, r.remote_group_id]),
    [
      ['ingress', 'IPv4', fallback.id],
      ['egress', 'IPv4', null],
      ['ingress', 'IPv6', fallback.id],
      ['egress', 'IPv6', null],
    ],
  );
  assert.deepEqual([created.name, created.description], ['pool-sg', 'load-balancers']);
  assert.deepEqual(
    created.rules.map((r: Record<string, unknown>) => [r.direction, r.ethertype, r.protocol]),
    [
      ['egress', 'IPv4', null],
      ['egress', 'IPv6', null],
    ],
  );
  assert.deepEqual(
    [rule.direction, rule.protocol, rule.port_range_min, rule.port_range_max, rule.remote_ip_prefix],
    ['ingress', 'tcp', 443, 443, '0.0.0.0/0'],
  );
  assert.equal(rule.security_group_id, created.id);
  assert.equal(rules.length, 3);
  assert.deepEqual(column(rules, 'Port Range').sort(), ['', '', '443:443']);

  const [duplicate, defaultDelete] = await Promise.all([
    os.failing(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '443', 'pool-sg']),
    os.failing(['security', 'group', 'delete', 'default']),
  ]);
  assert.match(duplicate.stderr, new RegExp(`Security group rule already exists\\. Rule id is ${rule.id}\\.`));
  assert.match(defaultDelete.stderr, /Insufficient rights for removing default security group/);

  const [shown, , , remaining, remainingRules] = await os.session([
    ['security', 'group', 'rule', 'show', rule.id, '-f', 'json'],
    ['security', 'group', 'rule', 'delete', rule.id],
    ['security', 'group', 'delete', 'pool-sg'],
    ['security', 'group', 'list', '-f', 'json'],
    ['security', 'group', 'rule', 'list', '-f', 'json'],
  ]);
  assert.deepEqual([shown.id, shown.protocol], [rule.id, 'tcp']);
  assert.deepEqual(column(remaining, 'Name').sort(), ['default', EXTRA_GROUP]);
  assert.ok(!column(remainingRules, 'Security Group').includes(created.id), 'the group took its rules along');
});

test('pool settings found with the CLI boot a device; unknown ones fail the job with the cloud’s own words', async () => {
  const [group, network, sshGroup] = await os.session([
    ['server', 'group', 'create', '--policy', 'anti-affinity', 'pool-group', '-f', 'json'],
    ['network', 'show', 'private', '-f', 'json'],
    ['security', 'group', 'show', EXTRA_GROUP, '-f', 'json'],
  ]);
  assert.deepEqual([group.name, group.policy, group.members], ['pool-group', 'anti-affinity', []]);
  const pool = {
    POOL_SECURITY_GROUPS: EXTRA_GROUP,
    POOL_AVAILABILITY_ZONE: 'az-2',
    POOL_KEY_NAME: KEYPAIR.name,
    POOL_SERVER_GROUP_ID: group.id,
    POOL_NETWORK_IDS: network.id,
  };
  const build = makeHandler('BUILD_DEVICE', { env: () => poolEnv(pool) });
  const passed = await build(wrap({ action: 'BUILD_DEVICE' }, 'cli-pool-1'));
  assert.equal(passed.response, 'PASS', JSON.stringify(passed));
  const name = String(passed.name);
  const [server] = sim.servers();
  assert.ok(server);

  const [[shown, groupShown, portsOfServer, portsOfNetwork], inUse] = await Promise.all([
    os.session([
      ['server', 'show', name, '-f', 'json'],
      ['server', 'group', 'show', 'pool-group', '-f', 'json'],
      ['port', 'list', '--server', name, '-f', 'json'],
      ['port', 'list', '--network', 'private', '-f', 'json'],
    ]),
    os.failing(['security', 'group', 'delete', EXTRA_GROUP]),
  ]);
  assert.deepEqual(shown.security_groups, [{ name: EXTRA_GROUP }]);
  assert.equal(shown['OS-EXT-AZ:availability_zone'], 'az-2');
  assert.equal(shown.key_name, KEYPAIR.name);
  assert.deepEqual(groupShown.members, [server.id]);
  assert.equal(portsOfServer.length, 1);
  assert.deepEqual(portsOfServer[0]['Fixed IP Addresses'], [
    { subnet_id: PRIVATE_NETWORK.subnet.id, ip_address: passed.addr },
  ]);
  assert.deepEqual(column(portsOfNetwork, 'ID'), [portsOfServer[0].ID]);
  assert.match(inUse.stderr, new RegExp(`Security Group ${sshGroup.id} in use\\.`));

  // Each unknown value is refused by Nova before anything boots, in Nova's words.
  const unknownGroup = '6f1f3d34-8d0c-4b1e-9a55-5c3a8e0f0a11';
  const refusals: [Record<string, string>, string][] = [
    [{ POOL_SECURITY_GROUPS: 'no-such-group' }, 'Security group no-such-group not found.'],
    [{ POOL_AVAILABILITY_ZONE: 'az-9' }, 'The requested availability zone is not available'],
    [{ POOL_KEY_NAME: 'no-such-key' }, 'Invalid key_name provided.'],
    [{ POOL_SERVER_GROUP_ID: unknownGroup }, `Instance group ${unknownGroup} could not be found.`],
  ];
  const results = await Promise.all(
    refusals.map(([setting], i) =>
      makeHandler('BUILD_DEVICE', { env: () => poolEnv({ ...pool, ...setting }) })(
        wrap({ action: 'BUILD_DEVICE' }, `cli-pool-bad-${i}`),
      ),
    ),
  );
  results.forEach((result, i) => {
    const [setting, words] = refusals[i] ?? [{}, ''];
    assert.equal(result.response, 'FAIL', JSON.stringify(setting));
    assert.ok(String(result.error).includes(`400 ${words}`), `${JSON.stringify(setting)}: ${String(result.error)}`);
  });
  assert.equal(sim.servers().length, 1, 'nothing booted for the refused settings');

  const [port, , , groupsLeft] = await os.session([
    ['port', 'show', portsOfServer[0].ID, '-f', 'json'],
    ['server', 'delete', '--wait', name],
    ['server', 'group', 'delete', 'pool-group'],
    ['server', 'group', 'list', '-f', 'json'],
  ]);
  assert.deepEqual([port.device_id, port.security_group_ids], [server.id, [sshGroup.id]]);
  assert.deepEqual(groupsLeft, []);
  assert.deepEqual(sim.servers(), []);
});

test('quota show / set / list --detail and limits show report the limits the cloud enforces and what is used', async () => {
  const token = await issueToken(sim);
  const { nova } = clients(sim, token);
  const booted = await nova('/servers', { method: 'POST', body: serverBody('quota-1', { flavorRef: '3' }) });
  assert.equal(booted.status, 202);

  const [[before, , shown, compute, network, limits], tooLow] = await Promise.all([
    os.session([
      ['quota', 'show', '-f', 'json'],
      ['quota', 'set', '--instances', '7', '--secgroups', '12', '--floating-ips', '9', 'admin'],
      ['quota', 'show', 'admin', '-f', 'json'],
      ['quota', 'list', '--detail', '--compute', '-f', 'json'],
      ['quota', 'list', '--detail', '--network', '-f', 'json'],
      ['limits', 'show', '--absolute', '-f', 'json'],
      ['quota', 'set', '--instances', '2', 'admin'],
    ]),
    os.failing(['quota', 'set', '--instances', '0', 'admin']),
  ]);
  assert.deepEqual(
    [before.instances, before['floating-ips'], before.secgroups, before['server-groups'], before.project_name],
    [INSTANCES, FLOATING_IPS, 10, 10, 'admin'],
  );
  assert.deepEqual([shown.instances, shown.secgroups, shown['floating-ips']], [7, 12, 9]);
  const usage = (rows: Record<string, unknown>[], resource: string) => {
    const row = rows.find((r) => r.Resource === resource);
    return [row?.['In Use'], row?.Limit];
  };
  assert.deepEqual(usage(compute, 'instances'), [1, 7]);
  assert.deepEqual(usage(compute, 'cores'), [2, 1000]);
  assert.deepEqual(usage(compute, 'ram'), [4096, 1_024_000]);
  assert.deepEqual(usage(network, 'security_groups'), [2, 12]);
  assert.deepEqual(usage(network, 'floating_ips'), [0, 9]);
  assert.deepEqual(usage(network, 'ports'), [1, 500]);
  const limit = (name: string) => limits.find((row: { Name: string }) => row.Name === name)?.Value;
  assert.deepEqual([limit('maxTotalInstances'), limit('totalInstancesUsed'), limit('totalCoresUsed')], [7, 1, 2]);
  assert.match(
    tooLow.stderr,
    /Quota limit 0 for instances must be greater than or equal to already used and reserved 1\./,
  );

  // The limit shown is the limit enforced: with 2 instances allowed (the session's last
  // command), the second fits and the third does not.
  assert.equal((await nova('/servers', { method: 'POST', body: serverBody('quota-2') })).status, 202);
  const over = await nova('/servers', { method: 'POST', body: serverBody('quota-3') });
  assert.deepEqual(over.body, {
    forbidden: { code: 403, message: 'Quota exceeded for instances: Requested 1, but already used 2 of 2 instances' },
  });
});

// ------------------------------------------------------------------ plain HTTP: the fault bodies

/** The service's fault shape, whatever the message. */
function assertFault(
  response: JsonResponse,
  service: 'nova' | 'neutron' | 'keystone' | 'glance',
  status: number,
): void {
  assert.equal(response.status, status, JSON.stringify(response.body));
  const body = response.body;
  switch (service) {
    case 'nova': {
      const [name, fault] = Object.entries(body)[0] ?? [];
      assert.equal(Object.keys(body).length, 1);
      assert.ok(typeof name === 'string' && /^[a-zA-Z]+$/.test(name));
      assert.equal((fault as { code: number }).code, status);
      assert.equal(typeof (fault as { message: string }).message, 'string');
      return;
    }
    case 'neutron':
      assert.deepEqual(Object.keys(body.NeutronError).sort(), ['detail', 'message', 'type']);
      return;
    case 'keystone':
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'title']);
      assert.equal(body.error.code, status);
      return;
    case 'glance':
      assert.equal(typeof body.message, 'string');
      assert.equal(body.code, `${status} ${body.title}`);
  }
}

test('malformed requests get the service’s 4xx fault body (never a 500, never a hang)', async () => {
  const token = await issueToken(sim);
  const { nova, neutron, glance } = clients(sim, token);
  const project = (await call(`${sim.authUrl}/auth/tokens`, { token, headers: { 'X-Subject-Token': token } })).body
    .token.project.id as string;
  const v264 = { 'OpenStack-API-Version': 'compute 2.64' };
  const garbage: unknown[] = ['{"not json', '[]', '"text"', '42', 'null', '{}', '{"x": {}}'];

  // Every body-taking route answers garbage with a 4xx in its own service's shape.
  const bodyRoutes: [string, (path: string, init: Record<string, unknown>) => Promise<JsonResponse>, string, string][] =
    [
      ['nova', nova, 'POST', '/os-server-groups'],
      ['nova', nova, 'PUT', `/os-quota-sets/${project}`],
      ['nova', nova, 'POST', '/servers'],
      ['neutron', neutron, 'POST', '/security-groups'],
      ['neutron', neutron, 'POST', '/security-group-rules'],
      ['neutron', neutron, 'PUT', `/quotas/${project}`],
    ];
  for (const [service, client, method, path] of bodyRoutes) {
    for (const body of garbage) {
      const response = await client(path, { method, body, headers: v264 });
      assert.ok(
        response.status >= 400 && response.status < 500,
        `${method} ${path} ${String(body)}: ${response.status}`,
      );
      assertFault(response, service as 'nova' | 'neutron', response.status);
    }
  }
  assert.deepEqual((await nova('/os-server-groups', { method: 'POST', body: '{"server_group": ' })).body, {
    badRequest: { code: 400, message: 'Malformed request body' },
  });
  assert.deepEqual((await neutron('/security-groups', { method: 'POST', body: '{"security_group": ' })).body, {
    NeutronError: {
      type: 'MalformedRequestBody',
      message: 'Malformed request body: Cannot understand JSON.',
      detail: '',
    },
  });

  // Wrong types.
  const badName = await nova('/os-server-groups', {
    method: 'POST',
    body: { server_group: { name: 7, policy: 'anti-affinity' } },
    headers: v264,
  });
  assertFault(badName, 'nova', 400);
  assert.equal(
    badName.body.badRequest.message,
    "Invalid input for field/attribute name. Value: 7. 7 is not of type 'string'",
  );
  const badPolicy = await nova('/os-server-groups', {
    method: 'POST',
    body: { server_group: { name: 'g', policy: 'round-robin' } },
    headers: v264,
  });
  assert.match(badPolicy.body.badRequest.message, /'round-robin' is not one of \['anti-affinity', 'affinity'/);
  const oldShape = await nova('/os-server-groups', {
    method: 'POST',
    body: { server_group: { name: 'g', policy: 'affinity' } },
  });
  assert.match(oldShape.body.badRequest.message, /Additional properties are not allowed \('policy' was unexpected\)/);
  const badQuota = await nova(`/os-quota-sets/${project}`, {
    method: 'PUT',
    body: { quota_set: { instances: 'many' } },
  });
  assertFault(badQuota, 'nova', 400);
  assert.match(badQuota.body.badRequest.message, /'many' does not match/);
  const badSgName = await neutron('/security-groups', { method: 'POST', body: { security_group: { name: ['x'] } } });
  assert.deepEqual(badSgName.body.NeutronError.type, 'HTTPBadRequest');
  assert.match(badSgName.body.NeutronError.message, /^Invalid input for name\. Reason: .* is not a valid string\.$/);
  const badPort = await neutron('/security-group-rules', {
    method: 'POST',
    body: {
      security_group_rule: { security_group_id: 'x', direction: 'ingress', protocol: 'tcp', port_range_min: 'ssh' },
    },
  });
  assert.deepEqual([badPort.status, badPort.body.NeutronError.type], [400, 'SecurityGroupInvalidPortValue']);
  const badDirection = await neutron('/security-group-rules', {
    method: 'POST',
    body: { security_group_rule: { security_group_id: 'x', direction: 'up' } },
  });
  assert.equal(
    badDirection.body.NeutronError.message,
    "Invalid input for direction. Reason: 'up' is not in ['ingress', 'egress'].",
  );
  const badAuth = await call(`${sim.authUrl}/auth/tokens`, {
    method: 'POST',
    body: { auth: { identity: { methods: 'password' } } },
  });
  assertFault(badAuth, 'keystone', 400);
  const badLimit = await glance('/images?limit=lots');
  assertFault(badLimit, 'glance', 400);

  // Unknown ids.
  const ghost = '0f0e0d0c-0b0a-4909-8807-060504030201';
  const notFound: [JsonResponse, 'nova' | 'neutron' | 'keystone' | 'glance', string][] = [
    [await nova(`/os-server-groups/${ghost}`), 'nova', `Instance group ${ghost} could not be found.`],
    [
      await nova(`/os-server-groups/${ghost}`, { method: 'DELETE' }),
      'nova',
      `Instance group ${ghost} could not be found.`,
    ],
    [await nova('/flavors/99/os-extra_specs'), 'nova', 'Flavor 99 could not be found.'],
    [
      await nova('/flavors/2/os-extra_specs/hw:mem_page_size'),
      'nova',
      'Flavor 2 has no extra specs with key hw:mem_page_size.',
    ],
    [await neutron(`/security-groups/${ghost}`), 'neutron', `Security group ${ghost} does not exist`],
    [
      await neutron(`/security-group-rules/${ghost}`, { method: 'DELETE' }),
      'neutron',
      `Security group rule ${ghost} does not exist`,
    ],
    [await call(`${sim.authUrl}/projects/${ghost}`, { token }), 'keystone', `Could not find project: ${ghost}.`],
    [await glance(`/images/${ghost}`), 'glance', `No image found with ID ${ghost}`],
  ];
  for (const [response, service, message] of notFound) {
    assertFault(response, service, 404);
    const text =
      service === 'nova'
        ? response.body.itemNotFound.message
        : service === 'neutron'
          ? response.body.NeutronError.message
          : service === 'keystone'
            ? response.body.error.message
            : response.body.message;
    assert.ok(String(text).startsWith(message), `${text} starts with ${message}`);
  }
  const ruleForGhost = await neutron('/security-group-rules', {
    method: 'POST',
    body: { security_group_rule: { security_group_id: ghost, direction: 'ingress' } },
  });
  assert.deepEqual([ruleForGhost.status, ruleForGhost.body.NeutronError.type], [404, 'SecurityGroupNotFound']);
  const unknownProject = await nova(`/os-quota-sets/${ghost.replace(/-/g, '')}`);
  assertFault(unknownProject, 'nova', 400);
  assert.match(unknownProject.body.badRequest.message, /is not a valid project\.$/);

  // A microversion above the maximum: 406 in Nova's body; 'latest' is the maximum.
  const tooNew = await nova('/os-server-groups', { headers: { 'OpenStack-API-Version': 'compute 2.97' } });
  assert.deepEqual(tooNew.body, {
    computeFault: {
      code: 406,
      message: 'Version 2.97 is not supported by the API. Minimum is 2.1 and maximum is 2.96.',
    },
  });
  const latest = await nova('/os-server-groups', { headers: { 'OpenStack-API-Version': 'compute latest' } });
  assert.deepEqual([latest.status, latest.headers.get('openstack-api-version')], [200, 'compute 2.96']);

  // Two groups sharing a name: Nova wants an id (409); by id it boots.
  const twins: string[] = [];
  for (let i = 0; i < 2; i += 1) {
    const created = await neutron('/security-groups', { method: 'POST', body: { security_group: { name: 'twin' } } });
    assert.equal(created.status, 201);
    twins.push(created.body.security_group.id);
  }
  const ambiguous = await nova('/servers', {
    method: 'POST',
    body: serverBody('t', { security_groups: [{ name: 'twin' }] }),
  });
  assert.deepEqual(ambiguous.body, {
    conflictingRequest: {
      code: 409,
      message: "Multiple security groups found matching 'twin'. Use an ID to be more specific.",
    },
  });
  const byId = await nova('/servers', {
    method: 'POST',
    body: serverBody('t', { security_groups: [{ name: twins[0] }] }),
  });
  assert.equal(byId.status, 202);
  assert.deepEqual(sim.servers()[0]?.securityGroups, ['twin']);
});

test('each microversion shapes server groups, flavors and quota sets as the compute API reference says', async () => {
  const token = await issueToken(sim);
  const { nova } = clients(sim, token);
  const at = (version: string) => ({ headers: { 'OpenStack-API-Version': `compute ${version}` } });
  const created = await nova('/os-server-groups', {
    method: 'POST',
    body: { server_group: { name: 'g', policies: ['anti-affinity'] } },
  });
  assert.equal(created.status, 200);
  const id = created.body.server_group.id as string;
  assert.deepEqual(created.body.server_group, {
    id,
    name: 'g',
    policies: ['anti-affinity'],
    metadata: {},
    members: [],
  });
  const v213 = (await nova(`/os-server-groups/${id}`, at('2.13'))).body.server_group;
  assert.deepEqual(Object.keys(v213).sort(), [
    'id',
    'members',
    'metadata',
    'name',
    'policies',
    'project_id',
    'user_id',
  ]);
  const v264 = (await nova(`/os-server-groups/${id}`, at('2.64'))).body.server_group;
  assert.deepEqual(
    [v264.policy, v264.rules, v264.policies, v264.metadata],
    ['anti-affinity', {}, undefined, undefined],
  );
  const soft = await nova('/os-server-groups', {
    method: 'POST',
    body: { server_group: { name: 's', policy: 'soft-anti-affinity', rules: { max_server_per_host: 2 } } },
    ...at('2.64'),
  });
  assert.deepEqual(soft.body.badRequest, { code: 400, message: 'Only anti-affinity policy supports rules.' });
  const softOld = await nova('/os-server-groups', {
    method: 'POST',
    body: { server_group: { name: 's', policies: ['soft-affinity'] } },
    ...at('2.14'),
  });
  assert.equal(softOld.status, 400, 'soft policies came with 2.15');

  const flavor = async (version: string) =>
    (await nova('/flavors/b1e2c3d4-5f60-4a7b-8c9d-0e1f2a3b4c5d', at(version))).body.flavor;
  assert.deepEqual([(await flavor('2.54')).description, (await flavor('2.60')).extra_specs], [undefined, undefined]);
  const v275 = await flavor('2.75');
  assert.deepEqual(
    [v275.description, v275.extra_specs, v275.swap],
    ['Load-balancer node', { 'hw:cpu_policy': 'shared', 'hw_rng:allowed': 'True' }, 0],
  );

  const project = (await call(`${sim.authUrl}/auth/tokens`, { token, headers: { 'X-Subject-Token': token } })).body
    .token.project.id as string;
  const keys = async (version: string) =>
    Object.keys((await nova(`/os-quota-sets/${project}`, at(version))).body.quota_set).sort();
  const [v21, v236, v257] = await Promise.all([keys('2.1'), keys('2.36'), keys('2.57')]);
  assert.ok(['floating_ips', 'fixed_ips', 'security_groups', 'injected_files'].every((k) => v21.includes(k)));
  assert.ok(!v236.includes('floating_ips') && v236.includes('injected_files'));
  assert.deepEqual(v257, [
    'cores',
    'id',
    'instances',
    'key_pairs',
    'metadata_items',
    'ram',
    'server_group_members',
    'server_groups',
  ]);
});
