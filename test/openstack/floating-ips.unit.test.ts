import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ConfigurationError } from '../../contract/errors';
import {
  AmbiguousNameError,
  NotFoundError,
  OpenStackError,
  clearTokenCache,
  createOpenStack,
} from '../../functions/openstack/index';
import type { FloatingIp, OpenStackClient } from '../../functions/openstack/index';
import type { CloudSettings } from '../../functions/openstack/types';
import { json, passwordSettings, startFakeCloud } from './helpers';
import type { FakeCloud, Handler } from './helpers';

const EXT_ID = 'a1b2c3d4-0000-4000-8000-000000000001';

function neutronFip(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    floating_ip_address: '203.0.113.10',
    floating_network_id: EXT_ID,
    port_id: null,
    fixed_ip_address: null,
    description: '',
    status: 'DOWN',
    revision_number: 3,
    created_at: '2024-05-01T10:00:00Z',
    ...extra,
  };
}

describe('floating IPs', () => {
  let cloud: FakeCloud | undefined;
  let client: OpenStackClient | undefined;
  const start = async (
    routes: Record<string, Handler>,
    options: { network?: boolean; settings?: Partial<CloudSettings> } = {},
  ) => {
    const started = await startFakeCloud({ routes, network: options.network });
    cloud = started;
    client = createOpenStack(passwordSettings(started.authUrl, options.settings), { retryBaseDelayMs: 1 });
    return client.floatingIps();
  };
  const calls = (prefix: string) => {
    assert.ok(cloud);
    return cloud.serviceCalls(prefix).map((c) => `${c.method} ${c.url}`);
  };

  beforeEach(() => clearTokenCache());
  afterEach(async () => {
    await client?.close();
    await cloud?.close();
    client = undefined;
    cloud = undefined;
  });

  describe('neutron', () => {
    const networks = [
      { id: EXT_ID, name: 'public', 'router:external': true },
      { id: 'b1b2c3d4-0000-4000-8000-000000000002', name: 'private', 'router:external': false },
      { id: 'c1b2c3d4-0000-4000-8000-000000000003', name: 'ext-dup', 'router:external': true },
      { id: 'd1b2c3d4-0000-4000-8000-000000000004', name: 'ext-dup', 'router:external': true },
    ];
    const listNetworks =
      (list: typeof networks): Handler =>
      (req, res) => {
        let out = list;
        const name = req.query.get('name');
        if (name !== null) out = out.filter((n) => n.name === name);
        if (req.query.get('router:external') === 'true') out = out.filter((n) => n['router:external']);
        json(res, 200, { networks: out });
      };
    const routes = (extra: Record<string, Handler> = {}): Record<string, Handler> => ({
      'GET /network/v2.0/networks': listNetworks(networks),
      [`GET /network/v2.0/networks/${EXT_ID}`]: (_r, res) => json(res, 200, { network: networks[0] }),
      'POST /network/v2.0/floatingips': (req, res) => {
        const body = (req.body as { floatingip: Record<string, unknown> }).floatingip;
        json(res, 201, { floatingip: neutronFip('fip-1', { description: body.description ?? '' }) });
      },
      ...extra,
    });

    it('is picked when the catalog has a network service', async () => {
      const fips = await start(routes());
      assert.equal(fips.backend, 'neutron');
      assert.equal(await client?.floatingIps(), fips, 'the backend is chosen once per client');
    });

    it('is picked with a network override even without a catalog entry', async () => {
      const fips = await start(routes(), { network: false, settings: {} });
      assert.equal(fips.backend, 'nova-legacy');
      assert.ok(cloud);
      const overridden = createOpenStack(
        passwordSettings(cloud.authUrl, { endpointOverrides: { network: `${cloud.url}/network/v2.0/` } }),
      );
      try {
        const neutron = await overridden.floatingIps();
        assert.equal(neutron.backend, 'neutron');
        await neutron.allocate({ pool: 'public' });
        assert.ok(calls('/network').includes('POST /network/v2.0/floatingips'));
      } finally {
        await overridden.close();
      }
    });

    it('allocates from a pool given by name, by id, or the only external network', async () => {
      const fips = await start(routes({ 'GET /network/v2.0/networks': listNetworks(networks.slice(0, 2)) }));
      const allocated = await fips.allocate({ pool: 'public', description: 'job-42' });
      assert.deepEqual(allocated, {
        id: 'fip-1',
        ip: '203.0.113.10',
        serverId: undefined,
        portId: undefined,
        fixedIp: undefined,
        description: 'job-42',
        revision: 3,
        createdAt: '2024-05-01T10:00:00Z',
      });
      await fips.allocate({ pool: 'public' }); // the name is resolved once
      await fips.allocate({ pool: EXT_ID });
      await fips.allocate({});
      assert.deepEqual(calls('/network'), [
        'GET /network/v2.0/networks?name=public',
        'POST /network/v2.0/floatingips',
        'POST /network/v2.0/floatingips',
        `GET /network/v2.0/networks/${EXT_ID}`,
        'POST /network/v2.0/floatingips',
        'GET /network/v2.0/networks?router:external=true',
        'POST /network/v2.0/floatingips',
      ]);
      assert.ok(cloud);
      const posts = cloud.serviceCalls('/network/v2.0/floatingips').map((c) => c.body);
      assert.deepEqual(posts[0], { floatingip: { floating_network_id: EXT_ID, description: 'job-42' } });
      assert.deepEqual(posts[1], { floatingip: { floating_network_id: EXT_ID } });
    });

    it('fails clearly without a usable pool', async () => {
      let fips = await start(routes({ 'GET /network/v2.0/networks': listNetworks(networks.slice(1, 2)) }));
      await assert.rejects(
        fips.allocate({}),
        (e: unknown) =>
          e instanceof ConfigurationError &&
          e.code === 'POOL_ERR_CONFIGURATION' &&
          /no external network/.test(e.message),
      );
      await client?.close();
      await cloud?.close();
      fips = await start(routes());
      await assert.rejects(
        fips.allocate({ pool: 'nope' }),
        (e: unknown) =>
          e instanceof NotFoundError &&
          e.code === 'POOL_ERR_OPENSTACK_NOT_FOUND' &&
          e.message === 'no network named nope',
      );
      await assert.rejects(
        fips.allocate({ pool: 'ext-dup' }),
        (e: unknown) =>
          e instanceof AmbiguousNameError &&
          e.code === 'POOL_ERR_OPENSTACK_AMBIGUOUS_NAME' &&
          e.message === '2 networks named ext-dup: give an id',
      );
      await client?.close();
      await cloud?.close();
      fips = await start(routes({ 'GET /network/v2.0/networks': listNetworks(networks.slice(0, 3)) }));
      await assert.rejects(
        fips.allocate({}),
        (e: unknown) => e instanceof AmbiguousNameError && /^2 external networks \(public, ext-dup\)/.test(e.message),
      );
      assert.ok(!calls('/network').some((c) => c.startsWith('POST')), 'nothing was allocated');
    });

    it('finds by description and by address, exactly', async () => {
      const fips = await start(
        routes({
          'GET /network/v2.0/floatingips': (req, res) => {
            const all = [
              neutronFip('f1', {
                description: 'job-1',
                port_id: 'p1',
                fixed_ip_address: '10.0.0.5',
                port_details: { device_id: 'srv-1' },
              }),
              neutronFip('f2', { description: 'job-10', floating_ip_address: '203.0.113.11' }),
            ];
            // A sloppy filter that returns everything: the client compares exactly.
            json(res, 200, { floatingips: all });
            void req;
          },
        }),
      );
      const found = await fips.findByDescription('job-1');
      assert.deepEqual(found, [
        {
          id: 'f1',
          ip: '203.0.113.10',
          serverId: 'srv-1',
          portId: 'p1',
          fixedIp: '10.0.0.5',
          description: 'job-1',
          revision: 3,
          createdAt: '2024-05-01T10:00:00Z',
        },
      ]);
      assert.equal((await fips.findByAddress('203.0.113.11'))?.id, 'f2');
      assert.equal(await fips.findByAddress('203.0.113.99'), undefined);
      assert.deepEqual(calls('/network'), [
        'GET /network/v2.0/floatingips?description=job-1',
        'GET /network/v2.0/floatingips?floating_ip_address=203.0.113.11',
        'GET /network/v2.0/floatingips?floating_ip_address=203.0.113.99',
      ]);
    });

    it('gets one (undefined on 404), reading the server from the port when there are no port_details', async () => {
      const fips = await start(
        routes({
          'GET /network/v2.0/floatingips/f1': (_r, res) =>
            json(res, 200, { floatingip: neutronFip('f1', { port_id: 'p1', fixed_ip_address: '10.0.0.5' }) }),
          'GET /network/v2.0/ports/p1': (_r, res) => json(res, 200, { port: { id: 'p1', device_id: 'srv-9' } }),
        }),
      );
      assert.equal((await fips.get('f1'))?.serverId, 'srv-9');
      assert.equal(await fips.get('f2'), undefined);
    });

    it('associates with the first port with a fixed IPv4, disassociates, releases', async () => {
      const fips = await start(
        routes({
          'GET /network/v2.0/ports': (req, res) =>
            json(res, 200, {
              ports:
                req.query.get('device_id') === 'srv-1'
                  ? [
                      { id: 'p-v6', device_id: 'srv-1', fixed_ips: [{ subnet_id: 's6', ip_address: 'fd00::5' }] },
                      { id: 'p-v4', device_id: 'srv-1', fixed_ips: [{ subnet_id: 's4', ip_address: '10.0.0.5' }] },
                    ]
                  : [],
            }),
          'PUT /network/v2.0/floatingips/f1': (req, res) =>
            json(res, 200, {
              floatingip: neutronFip('f1', (req.body as { floatingip: Record<string, unknown> }).floatingip),
            }),
          'DELETE /network/v2.0/floatingips/f1': (_r, res) => json(res, 204, undefined),
        }),
      );
      const fip: FloatingIp = {
        id: 'f1',
        ip: '203.0.113.10',
        serverId: undefined,
        portId: undefined,
        fixedIp: undefined,
        description: undefined,
        revision: undefined,
        createdAt: undefined,
      };
      await fips.associate(fip, 'srv-1');
      await fips.disassociate(fip, 'srv-1');
      // Read at revision 7: both writes are conditional on it.
      await fips.associate({ ...fip, revision: 7 }, 'srv-1', '10.0.0.5');
      await fips.disassociate({ ...fip, revision: 7 }, 'srv-1');
      // A fixed IP no port of the server holds is refused before anything is written.
      await assert.rejects(
        fips.associate(fip, 'srv-1', '10.9.9.9'),
        (e: unknown) =>
          e instanceof OpenStackError && /server srv-1 has no port with the fixed IP 10\.9\.9\.9/.test(e.message),
      );
      assert.equal(await fips.release(fip), 'released');
      assert.equal(await fips.release({ ...fip, id: 'f2' }), 'absent');
      await assert.rejects(
        fips.associate(fip, 'srv-2'),
        (e: unknown) =>
          e instanceof OpenStackError &&
          e.code === 'POOL_ERR_OPENSTACK' &&
          /server srv-2 has no port with a fixed IPv4/.test(e.message),
      );
      assert.ok(cloud);
      const puts = cloud.serviceCalls('/network/v2.0/floatingips/f1').filter((c) => c.method === 'PUT');
      assert.deepEqual(
        puts.map((c) => c.body),
        [
          { floatingip: { port_id: 'p-v4', fixed_ip_address: '10.0.0.5' } },
          { floatingip: { port_id: null } },
          { floatingip: { port_id: 'p-v4', fixed_ip_address: '10.0.0.5' } },
          { floatingip: { port_id: null } },
        ],
      );
      assert.deepEqual(
        puts.map((c) => c.headers['if-match']),
        [undefined, undefined, 'revision_number=7', 'revision_number=7'],
      );
      assert.deepEqual(
        calls('/network').filter((c) => c.includes('ports')),
        [
          'GET /network/v2.0/ports?device_id=srv-1',
          'GET /network/v2.0/ports?device_id=srv-1',
          'GET /network/v2.0/ports?device_id=srv-1',
          'GET /network/v2.0/ports?device_id=srv-2',
        ],
      );
    });
  });

  describe('nova legacy', () => {
    const legacy = (id: number, extra: Record<string, unknown> = {}) => ({
      id,
      ip: `198.51.100.${id}`,
      pool: 'public',
      fixed_ip: null,
      instance_id: null,
      ...extra,
    });
    const routes: Record<string, Handler> = {
      'POST /compute/v2.1/os-floating-ips': (_r, res) => json(res, 200, { floating_ip: legacy(7) }),
      'GET /compute/v2.1/os-floating-ips': (_r, res) =>
        json(res, 200, { floating_ips: [legacy(7), legacy(8, { instance_id: 'srv-1', fixed_ip: '10.0.0.5' })] }),
      'GET /compute/v2.1/os-floating-ips/8': (_r, res) =>
        json(res, 200, { floating_ip: legacy(8, { instance_id: 'srv-1', fixed_ip: '10.0.0.5' }) }),
      'POST /compute/v2.1/servers/srv-1/action': (_r, res) => json(res, 202, undefined),
      'DELETE /compute/v2.1/os-floating-ips/7': (_r, res) => json(res, 202, undefined),
    };

    it('is used when the catalog has no network service', async () => {
      const fips = await start(routes, { network: false });
      assert.equal(fips.backend, 'nova-legacy');

      const allocated = await fips.allocate({ pool: 'public', description: 'ignored' });
      assert.deepEqual(allocated, {
        id: '7',
        ip: '198.51.100.7',
        serverId: undefined,
        portId: undefined,
        fixedIp: undefined,
        description: undefined,
        revision: undefined,
        createdAt: undefined,
      });
      await fips.allocate({});
      assert.deepEqual(await fips.findByDescription('job-1'), []);
      assert.equal((await fips.findByAddress('198.51.100.8'))?.serverId, 'srv-1');
      assert.equal(await fips.findByAddress('198.51.100.9'), undefined);
      assert.deepEqual(await fips.get('8'), {
        id: '8',
        ip: '198.51.100.8',
        serverId: 'srv-1',
        portId: undefined,
        fixedIp: '10.0.0.5',
        description: undefined,
        revision: undefined,
        createdAt: undefined,
      });
      assert.equal(await fips.get('9'), undefined);
      await fips.associate(allocated, 'srv-1');
      await fips.disassociate(allocated, 'srv-1');
      assert.equal(await fips.release(allocated), 'released');
      assert.equal(await fips.release({ ...allocated, id: '9' }), 'absent');

      assert.ok(cloud);
      const compute = cloud.serviceCalls('/compute');
      assert.deepEqual(
        compute.map((c) => `${c.method} ${c.url}`),
        [
          'POST /compute/v2.1/os-floating-ips',
          'POST /compute/v2.1/os-floating-ips',
          'GET /compute/v2.1/os-floating-ips',
          'GET /compute/v2.1/os-floating-ips',
          'GET /compute/v2.1/os-floating-ips/8',
          'GET /compute/v2.1/os-floating-ips/9',
          'POST /compute/v2.1/servers/srv-1/action',
          'POST /compute/v2.1/servers/srv-1/action',
          'DELETE /compute/v2.1/os-floating-ips/7',
          'DELETE /compute/v2.1/os-floating-ips/9',
        ],
      );
      assert.deepEqual(compute[0]?.body, { pool: 'public' });
      assert.deepEqual(compute[1]?.body, {});
      assert.deepEqual(compute[6]?.body, { addFloatingIp: { address: '198.51.100.7' } });
      assert.deepEqual(compute[7]?.body, { removeFloatingIp: { address: '198.51.100.7' } });
      assert.ok(compute.every((c) => c.headers['x-openstack-nova-api-version'] === '2.1'));
      assert.ok(compute.every((c) => c.headers['openstack-api-version'] === 'compute 2.1'));
    });
  });
});
