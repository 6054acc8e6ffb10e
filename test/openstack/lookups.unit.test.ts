/**
 * The client remembers the image and flavor ids it looked up (functions/openstack/lookups.ts):
 * one lookup per name, concurrent callers sharing it, and a fresh lookup (and one more create)
 * when Nova refuses a create because the remembered id is gone, as after an operator
 * replaces the load-balancer image under the same name.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { OpenStackError, clearTokenCache, createOpenStack } from '../../functions/openstack/index';
import type { OpenStackClient } from '../../functions/openstack/index';
import { captureLogger, json, passwordSettings, startFakeCloud } from './helpers';
import type { FakeCloud, Handler } from './helpers';

const OLD_IMAGE = '0c5e6a3e-8b1f-4a42-9a36-6f1d7c2c9a11';
const NEW_IMAGE = '5d2b7f4e-1c3a-4e6b-8f90-a1b2c3d4e5f6';

/** Glance and Nova over a state the test changes: images by id, flavors by id, created servers. */
function cloudState() {
  const state = {
    images: new Map<string, string>([[OLD_IMAGE, 'haproxy-lb']]),
    flavors: new Map<string, string>([['2', 'm1.small']]),
    created: [] as { imageRef: string; flavorRef: string }[],
  };
  const routes: Record<string, Handler> = {
    'GET /image/v2/images': (req, res) => {
      const name = req.query.get('name');
      const images = [...state.images].filter(([, n]) => n === name).map(([id, n]) => ({ id, name: n }));
      json(res, 200, { images, first: '/v2/images' });
    },
    'GET /compute/v2.1/flavors/detail': (_req, res) =>
      json(res, 200, { flavors: [...state.flavors].map(([id, name]) => ({ id, name })) }),
    'POST /compute/v2.1/servers': (req, res) => {
      const server = (req.body as { server: { imageRef: string; flavorRef: string } }).server;
      // Nova's own answers for an image or flavor that is not there (any more).
      if (!state.images.has(server.imageRef))
        return json(res, 400, { badRequest: { code: 400, message: 'Can not find requested image' } });
      if (!state.flavors.has(server.flavorRef))
        return json(res, 400, {
          badRequest: { code: 400, message: `Flavor ${server.flavorRef} could not be found.` },
        });
      state.created.push({ imageRef: server.imageRef, flavorRef: server.flavorRef });
      json(res, 202, { server: { id: `server-${state.created.length}` } });
    },
  };
  return { state, routes };
}

describe('image and flavor lookups', () => {
  let cloud: FakeCloud | undefined;
  let client: OpenStackClient | undefined;
  beforeEach(() => clearTokenCache());
  afterEach(async () => {
    await client?.close();
    await cloud?.close();
    client = cloud = undefined;
  });

  const lookupPaths = (): string[] =>
    (cloud as FakeCloud)
      .serviceCalls()
      .filter((c) => c.method === 'GET')
      .map((c) => c.path);

  /** What the core does for one build: look both up, then create. */
  const build = async (c: OpenStackClient, name: string) => {
    const [imageRef, flavorRef] = await Promise.all([
      c.image.resolveImage('haproxy-lb'),
      c.compute.resolveFlavor('m1.small'),
    ]);
    return c.compute.createServer({ name, imageRef, flavorRef });
  };

  it('a name is looked up once, however many builds and however concurrent', async () => {
    const { state, routes } = cloudState();
    cloud = await startFakeCloud({ routes });
    client = createOpenStack(passwordSettings(cloud.authUrl), { retryBaseDelayMs: 1 });
    await Promise.all([build(client, 'a'), build(client, 'b'), build(client, 'c')]);
    await build(client, 'd');
    assert.equal(state.created.length, 4);
    assert.deepEqual(
      lookupPaths().sort(),
      ['/compute/v2.1/flavors/detail', '/compute/v2.1/flavors/m1.small', '/image/v2/images'],
      'one image lookup and one flavor lookup (id first, then by name) for four builds',
    );
    assert.ok(state.created.every((s) => s.imageRef === OLD_IMAGE && s.flavorRef === '2'));
  });

  it('another client (other cloud settings) looks up for itself; a max age of 0 looks up every time', async () => {
    const { routes } = cloudState();
    cloud = await startFakeCloud({ routes });
    client = createOpenStack(passwordSettings(cloud.authUrl), { retryBaseDelayMs: 1 });
    await build(client, 'a');
    const other = createOpenStack(passwordSettings(cloud.authUrl), { retryBaseDelayMs: 1, lookupMaxAgeMs: 0 });
    try {
      await build(other, 'b');
      await build(other, 'c');
    } finally {
      await other.close();
    }
    assert.equal(lookupPaths().filter((p) => p === '/image/v2/images').length, 3);
  });

  it('an image replaced under the same name: the create is refused, looked up again, and sent once more', async () => {
    const { state, routes } = cloudState();
    cloud = await startFakeCloud({ routes });
    const logger = captureLogger();
    client = createOpenStack(passwordSettings(cloud.authUrl), { retryBaseDelayMs: 1, logger });
    await build(client, 'before');
    // The operator uploads a new haproxy-lb image and deletes the old one.
    state.images.delete(OLD_IMAGE);
    state.images.set(NEW_IMAGE, 'haproxy-lb');
    assert.deepEqual(await build(client, 'after'), { id: 'server-2' });
    await build(client, 'later');
    assert.deepEqual(
      state.created.map((s) => s.imageRef),
      [OLD_IMAGE, NEW_IMAGE, NEW_IMAGE],
    );
    assert.equal(lookupPaths().filter((p) => p === '/image/v2/images').length, 2, 'looked up again once');
    const posts = (cloud as FakeCloud).serviceCalls().filter((c) => c.method === 'POST');
    assert.equal(posts.length, 4, 'the refused create, its retry, and one create each for the other builds');
    const line = logger.lines.find((l) => l.message.startsWith('the image or flavor id looked up earlier is gone'));
    assert.equal(line?.extra[0]?.staleImageId, OLD_IMAGE);
    assert.equal(line?.extra[0]?.imageId, NEW_IMAGE);
  });

  it('builds running at once when the image is replaced all use the new one', async () => {
    const { state, routes } = cloudState();
    cloud = await startFakeCloud({ routes });
    client = createOpenStack(passwordSettings(cloud.authUrl), { retryBaseDelayMs: 1 });
    await build(client, 'before');
    state.images.delete(OLD_IMAGE);
    state.images.set(NEW_IMAGE, 'haproxy-lb');
    const c = client;
    await Promise.all(['a', 'b', 'c', 'd'].map((name) => build(c, name)));
    assert.deepEqual(
      state.created.map((s) => s.imageRef),
      [OLD_IMAGE, NEW_IMAGE, NEW_IMAGE, NEW_IMAGE, NEW_IMAGE],
    );
    assert.equal(lookupPaths().filter((p) => p === '/image/v2/images').length, 2, 'one lookup shared by the four');
  });

  it('a flavor replaced under the same name is looked up again too', async () => {
    const { state, routes } = cloudState();
    cloud = await startFakeCloud({ routes });
    client = createOpenStack(passwordSettings(cloud.authUrl), { retryBaseDelayMs: 1 });
    await build(client, 'before');
    state.flavors.delete('2');
    state.flavors.set('20', 'm1.small');
    await build(client, 'after');
    assert.deepEqual(
      state.created.map((s) => s.flavorRef),
      ['2', '20'],
    );
  });

  it('an image gone with nothing under its name left: the build fails saying so, and nothing is retried', async () => {
    const { state, routes } = cloudState();
    cloud = await startFakeCloud({ routes });
    client = createOpenStack(passwordSettings(cloud.authUrl), { retryBaseDelayMs: 1 });
    await build(client, 'before');
    state.images.clear();
    await assert.rejects(build(client, 'after'), /no image named haproxy-lb/);
    // The failed lookup is not remembered: once the image is back, the next build finds it.
    state.images.set(NEW_IMAGE, 'haproxy-lb');
    await build(client, 'restored');
    assert.deepEqual(
      state.created.map((s) => s.imageRef),
      [OLD_IMAGE, NEW_IMAGE],
    );
  });

  it('a refusal that the same ids would meet again is the caller’s, unchanged', async () => {
    const { state, routes } = cloudState();
    routes['POST /compute/v2.1/servers'] = (_req, res) =>
      json(res, 400, { badRequest: { code: 400, message: "Flavor's disk is too small for requested image." } });
    cloud = await startFakeCloud({ routes });
    client = createOpenStack(passwordSettings(cloud.authUrl), { retryBaseDelayMs: 1 });
    await assert.rejects(build(client, 'x'), (e: unknown) => {
      assert.ok(e instanceof OpenStackError);
      assert.equal(e.status, 400);
      assert.match(e.message, /Flavor's disk is too small for requested image/);
      return true;
    });
    assert.equal(state.created.length, 0);
    const posts = (cloud as FakeCloud).serviceCalls().filter((c) => c.method === 'POST');
    assert.equal(posts.length, 1, 'not sent again: looking up gave the same ids');
  });
});
