import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  AmbiguousNameError,
  COMPUTE_MICROVERSION,
  InvalidArgumentError,
  NotFoundError,
  clearTokenCache,
  createOpenStack,
} from '../../functions/openstack/index';
import type { OpenStackClient } from '../../functions/openstack/index';
import { exactNameRegex } from '../../functions/openstack/names';
import { json, passwordSettings, startFakeCloud } from './helpers';
import type { FakeCloud, Handler, Recorded } from './helpers';

const IMAGE_ID = '0c5e6a3e-8b1f-4a42-9a36-6f1d7c2c9a11';

function serverBody(id: string, name: string, extra: Record<string, unknown> = {}) {
  return { id, name, status: 'ACTIVE', addresses: {}, ...extra };
}

/** Nova's own behaviour for `?name=`: a regex search over every server's name. */
function novaNameFilter(servers: { id: string; name: string }[]): Handler {
  return (req, res) => {
    const pattern = req.query.get('name');
    const matching = pattern === null ? servers : servers.filter((s) => new RegExp(pattern).test(s.name));
    json(res, 200, { servers: matching.map((s) => serverBody(s.id, s.name)) });
  };
}

describe('nova', () => {
  let cloud: FakeCloud | undefined;
  let client: OpenStackClient | undefined;
  const start = async (routes: Record<string, Handler>) => {
    const started = await startFakeCloud({ routes });
    cloud = started;
    client = createOpenStack(passwordSettings(started.authUrl), { retryBaseDelayMs: 1 });
    return client.compute;
  };
  const startImage = async (routes: Record<string, Handler>) => {
    await start(routes);
    assert.ok(client);
    return client.image;
  };
  const fake = (): FakeCloud => {
    assert.ok(cloud);
    return cloud;
  };
  const computeCalls = (): Recorded[] => fake().serviceCalls('/compute');

  beforeEach(() => clearTokenCache());
  afterEach(async () => {
    await client?.close();
    await cloud?.close();
    client = undefined;
    cloud = undefined;
  });

  it('an empty id or name is refused before anything is sent', async () => {
    const compute = await start({});
    assert.ok(client);
    const { image } = client;
    for (const [call, message] of [
      [() => image.resolveImage(''), 'image is empty'],
      [() => compute.getServer(''), 'server id is empty'],
      [() => compute.deleteServer(''), 'server id is empty'],
      [() => compute.findServersByName(''), 'server name is empty'],
      [() => compute.resolveFlavor(''), 'flavor is empty'],
    ] as const) {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(e instanceof InvalidArgumentError);
        assert.equal(e.code, 'POOL_ERR_INVALID_ARGUMENT');
        assert.equal(e.message, message);
        return true;
      });
    }
    assert.deepEqual(fake().serviceCalls(), []);
  });

  it('creates a server with the full body and the microversion headers', async () => {
    const compute = await start({
      'POST /compute/v2.1/servers': (_r, res) => json(res, 202, { server: { id: 'new-id', adminPass: 'x' } }),
    });
    const created = await compute.createServer({
      name: 'libra-stg-haproxy-eaf1fef0',
      imageRef: IMAGE_ID,
      flavorRef: '101',
      keyName: 'libra',
      securityGroups: ['lbaas', 'default'],
      availabilityZone: 'az3',
      networkIds: ['net-a', 'net-b'],
      userData: '#!/bin/sh\necho héllo\n',
      metadata: { job: 'u1' },
      serverGroupId: 'grp-1',
    });
    assert.deepEqual(created, { id: 'new-id' });
    const [post] = computeCalls();
    assert.equal(post?.headers['openstack-api-version'], `compute ${COMPUTE_MICROVERSION}`);
    assert.equal(post?.headers['x-openstack-nova-api-version'], COMPUTE_MICROVERSION);
    assert.equal(COMPUTE_MICROVERSION, '2.1');
    assert.equal(post?.headers['content-type'], 'application/json');
    assert.deepEqual(post?.body, {
      server: {
        name: 'libra-stg-haproxy-eaf1fef0',
        imageRef: IMAGE_ID,
        flavorRef: '101',
        key_name: 'libra',
        security_groups: [{ name: 'lbaas' }, { name: 'default' }],
        availability_zone: 'az3',
        networks: [{ uuid: 'net-a' }, { uuid: 'net-b' }],
        user_data: Buffer.from('#!/bin/sh\necho héllo\n', 'utf8').toString('base64'),
        metadata: { job: 'u1' },
      },
      'os:scheduler_hints': { group: 'grp-1' },
    });
  });

  it('leaves optional fields out of a minimal create', async () => {
    const compute = await start({ 'POST /compute/v2.1/servers': (_r, res) => json(res, 202, { server: { id: 'n' } }) });
    await compute.createServer({ name: 'n', imageRef: 'i', flavorRef: 'f', networkIds: [] });
    assert.deepEqual(computeCalls()[0]?.body, { server: { name: 'n', imageRef: 'i', flavorRef: 'f' } });
  });

  it('maps a server body, and undefined on 404', async () => {
    const compute = await start({
      'GET /compute/v2.1/servers/s1': (_r, res) =>
        json(res, 200, {
          server: serverBody('s1', 'libra-1', {
            status: 'ERROR',
            'OS-EXT-AZ:availability_zone': 'nova',
            created: '2024-01-01T00:00:00Z',
            metadata: { 'libra-pool-manager': 'u', 'not-a-string': 7 },
            fault: {
              code: 500,
              message: 'No valid host was found.',
              details: 'trace',
              created: '2024-01-01T00:00:00Z',
            },
            addresses: {
              private: [
                {
                  addr: '10.0.0.5',
                  version: 4,
                  'OS-EXT-IPS:type': 'fixed',
                  'OS-EXT-IPS-MAC:mac_addr': 'fa:16:3e:00:00:01',
                },
                { addr: 'fd00::5', version: 6, 'OS-EXT-IPS:type': 'fixed' },
                { addr: '203.0.113.9', version: 4, 'OS-EXT-IPS:type': 'floating' },
              ],
              public: [{ addr: '198.51.100.7', version: 4 }],
            },
          }),
        }),
    });
    assert.deepEqual(await compute.getServer('s1'), {
      id: 's1',
      name: 'libra-1',
      status: 'ERROR',
      availabilityZone: 'nova',
      created: '2024-01-01T00:00:00Z',
      metadata: { 'libra-pool-manager': 'u' },
      fault: { code: 500, message: 'No valid host was found.', details: 'trace' },
      addresses: {
        private: [
          { addr: '10.0.0.5', version: 4, type: 'fixed' },
          { addr: 'fd00::5', version: 6, type: 'fixed' },
          { addr: '203.0.113.9', version: 4, type: 'floating' },
        ],
        public: [{ addr: '198.51.100.7', version: 4, type: undefined }],
      },
    });
    assert.equal(await compute.getServer('gone'), undefined);
    for (const call of computeCalls()) {
      assert.equal(call.headers['openstack-api-version'], 'compute 2.1');
      assert.equal(call.headers['x-openstack-nova-api-version'], '2.1');
    }
  });

  it('deletes a server, absent on 404', async () => {
    const compute = await start({ 'DELETE /compute/v2.1/servers/s1': (_r, res) => json(res, 204, undefined) });
    assert.equal(await compute.deleteServer('s1'), 'deleted');
    assert.equal(await compute.deleteServer('s2'), 'absent');
    assert.deepEqual(
      computeCalls().map((c) => `${c.method} ${c.path}`),
      ['DELETE /compute/v2.1/servers/s1', 'DELETE /compute/v2.1/servers/s2'],
    );
  });

  describe('findServersByName', () => {
    const servers = [
      { id: '1', name: 'libra-1' },
      { id: '10', name: 'libra-10' },
      { id: '11', name: 'xlibra-1' },
      { id: '2', name: 'a.b' },
      { id: '3', name: 'axb' },
      { id: '4', name: '^$|()[]+?{}\\' },
      { id: '5', name: '.*' },
    ];

    it('anchors and escapes the regex, and compares exactly', async () => {
      const compute = await start({ 'GET /compute/v2.1/servers/detail': novaNameFilter(servers) });
      assert.deepEqual(
        (await compute.findServersByName('libra-1')).map((s) => s.id),
        ['1'],
      );
      assert.deepEqual(
        (await compute.findServersByName('a.b')).map((s) => s.id),
        ['2'],
      );
      assert.deepEqual(
        (await compute.findServersByName('.*')).map((s) => s.id),
        ['5'],
      );
      assert.deepEqual(
        (await compute.findServersByName('^$|()[]+?{}\\')).map((s) => s.id),
        ['4'],
      );
      assert.deepEqual(await compute.findServersByName('libra'), []);
      const sent = computeCalls().map((c) => c.query.get('name'));
      assert.deepEqual(sent, [
        '^libra-1$',
        '^a\\.b$',
        '^\\.\\*$',
        '^\\^\\$\\|\\(\\)\\[\\]\\+\\?\\{\\}\\\\$',
        '^libra$',
      ]);
      assert.ok(computeCalls()[2]?.url.includes('name=%5E%5C.%5C*%24'), computeCalls()[2]?.url);
    });

    it('drops what a sloppy server-side filter returns', async () => {
      // A filter that ignores the anchors (a substring match): the client still compares exactly.
      const compute = await start({
        'GET /compute/v2.1/servers/detail': (_r, res) =>
          json(res, 200, { servers: servers.map((s) => serverBody(s.id, s.name)) }),
      });
      assert.deepEqual(
        (await compute.findServersByName('libra-1')).map((s) => s.id),
        ['1'],
      );
      assert.deepEqual(
        (await compute.findServersByName('.*')).map((s) => s.id),
        ['5'],
      );
    });

    it('follows pagination links on the same endpoint only', async () => {
      const compute = await start({
        'GET /compute/v2.1/servers/detail': (req, res) => {
          const marker = req.query.get('marker');
          if (!marker) {
            json(res, 200, {
              servers: [serverBody('a', 'dup')],
              servers_links: [
                { rel: 'next', href: 'http://elsewhere.invalid:8774/v2.1/servers/detail?name=%5Edup%24&marker=a' },
              ],
            });
          } else if (marker === 'a') {
            json(res, 200, {
              servers: [serverBody('b', 'dup')],
              servers_links: [
                { rel: 'next', href: `${fake().url}/compute/v2.1/servers/detail?name=%5Edup%24&marker=b` },
              ],
            });
          } else {
            json(res, 200, { servers: [] });
          }
        },
      });
      assert.deepEqual(
        (await compute.findServersByName('dup')).map((s) => s.id),
        ['a', 'b'],
      );
      assert.deepEqual(
        computeCalls().map((c) => c.query.get('marker')),
        [null, 'a', 'b'],
      );
      assert.ok(computeCalls().every((c) => c.headers['x-openstack-nova-api-version'] === '2.1'));
    });

    it('escapes every metacharacter', () => {
      const name = '^$|()[]+?{}\\.*';
      assert.ok(new RegExp(exactNameRegex(name)).test(name));
      assert.ok(!new RegExp(exactNameRegex('libra-1')).test('libra-10'));
      assert.ok(!new RegExp(exactNameRegex('.*')).test('anything'));
    });
  });

  describe('resolveImage (Glance)', () => {
    const images: { id: string; name: string }[] = [
      { id: IMAGE_ID, name: 'cirros' },
      { id: 'img-2', name: 'ubuntu' },
      { id: 'img-3', name: 'ubuntu' },
    ];
    const glance: Record<string, Handler> = {
      [`GET /image/v2/images/${IMAGE_ID}`]: (_r, res) => json(res, 200, { id: IMAGE_ID, name: 'cirros' }),
      'GET /image/v2/images': (req, res) => {
        const name = req.query.get('name');
        const matching = images.filter((i) => i.name === name);
        // One image per page, Glance style: `next` is a relative link.
        const after = req.query.get('marker');
        const start = after ? matching.findIndex((i) => i.id === after) + 1 : 0;
        const page = matching.slice(start, start + 1);
        const next = start + 1 < matching.length ? `/v2/images?name=${name}&marker=${page[0]?.id}` : undefined;
        json(res, 200, { images: page, ...(next ? { next } : {}), first: '/v2/images' });
      },
    };

    it('an existing UUID is itself', async () => {
      const image = await startImage(glance);
      assert.equal(await image.resolveImage(IMAGE_ID), IMAGE_ID);
      assert.deepEqual(
        fake()
          .serviceCalls()
          .map((c) => c.path),
        [`/image/v2/images/${IMAGE_ID}`],
      );
    });

    it('a name with exactly one image is its id; a missing UUID falls back to the name', async () => {
      const image = await startImage(glance);
      assert.equal(await image.resolveImage('cirros'), IMAGE_ID);
      const missing = '11111111-2222-3333-4444-555555555555';
      await assert.rejects(
        image.resolveImage(missing),
        (e: unknown) => e instanceof NotFoundError && e.message === `no image named ${missing}`,
      );
      assert.deepEqual(
        fake()
          .serviceCalls()
          .map((c) => c.url),
        ['/image/v2/images?name=cirros', `/image/v2/images/${missing}`, `/image/v2/images?name=${missing}`],
      );
    });

    it('none is an error, several are ambiguous (across pages)', async () => {
      const image = await startImage(glance);
      await assert.rejects(
        image.resolveImage('fedora'),
        (e: unknown) =>
          e instanceof NotFoundError &&
          e.code === 'POOL_ERR_OPENSTACK_NOT_FOUND' &&
          e.message === 'no image named fedora',
      );
      await assert.rejects(image.resolveImage('ubuntu'), (e: unknown) => {
        assert.ok(e instanceof AmbiguousNameError);
        assert.equal(e.code, 'POOL_ERR_OPENSTACK_AMBIGUOUS_NAME');
        assert.equal(e.message, '2 images named ubuntu: give an id');
        assert.equal(e.count, 2);
        return true;
      });
    });
  });

  describe('resolveFlavor', () => {
    const flavors = [
      { id: '1', name: 'm1.tiny' },
      { id: '2', name: 'm1.small' },
      { id: '3', name: 'dup' },
      { id: '4', name: 'dup' },
    ];
    const nova: Record<string, Handler> = {
      'GET /compute/v2.1/flavors/2': (_r, res) => json(res, 200, { flavor: flavors[1] }),
      'GET /compute/v2.1/flavors/detail': (_r, res) => json(res, 200, { flavors }),
    };

    it('an id is itself', async () => {
      const compute = await start(nova);
      assert.equal(await compute.resolveFlavor('2'), '2');
      assert.equal(computeCalls().length, 1);
    });

    it('a 404 falls back to the exact name; none and several are errors', async () => {
      const compute = await start(nova);
      assert.equal(await compute.resolveFlavor('m1.tiny'), '1');
      assert.deepEqual(
        computeCalls().map((c) => c.path),
        ['/compute/v2.1/flavors/m1.tiny', '/compute/v2.1/flavors/detail'],
      );
      await assert.rejects(compute.resolveFlavor('m1'), /^NotFoundError: no flavor named m1$/);
      await assert.rejects(compute.resolveFlavor('dup'), /^AmbiguousNameError: 2 flavors named dup: give an id$/);
      assert.ok(computeCalls().every((c) => c.headers['openstack-api-version'] === 'compute 2.1'));
    });
  });
});
