import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ConfigurationError } from '../../contract/errors';
import { AuthenticationError, clearTokenCache, createOpenStack } from '../../functions/openstack/index';
import type { OpenStackClient } from '../../functions/openstack/index';
import { authRequestBody, normaliseAuthUrl, refreshTime } from '../../functions/openstack/identity/keystone';
import type { AuthSettings } from '../../functions/openstack/types';
import { APP_SECRET, PASSWORD, json, passwordSettings, startFakeCloud } from './helpers';
import type { FakeCloud } from './helpers';

const SERVER = { id: 's1', name: 'libra-1', status: 'ACTIVE', addresses: {} };

type PasswordAuth = Extract<AuthSettings, { method: 'password' }>;

describe('keystone', () => {
  let cloud: FakeCloud;
  const clients: OpenStackClient[] = [];
  const client = (...args: Parameters<typeof createOpenStack>) => {
    const c = createOpenStack(...args);
    clients.push(c);
    return c;
  };

  beforeEach(() => clearTokenCache());
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await cloud?.close();
  });

  describe('auth request body', () => {
    it('password with user and project by name and domain name', () => {
      assert.deepEqual(authRequestBody(passwordSettings('http://k').auth), {
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: 'admin', domain: { name: 'Default' }, password: PASSWORD } },
          },
          scope: { project: { name: 'demo', domain: { name: 'Default' } } },
        },
      });
    });

    it('password with user id and project id', () => {
      const auth: AuthSettings = {
        method: 'password',
        authUrl: 'http://k',
        userId: 'u1',
        password: PASSWORD,
        projectId: 'p1',
      };
      assert.deepEqual(authRequestBody(auth), {
        auth: {
          identity: { methods: ['password'], password: { user: { id: 'u1', password: PASSWORD } } },
          scope: { project: { id: 'p1' } },
        },
      });
    });

    it('domain ids win over names; the project domain defaults to the user domain', () => {
      const auth: AuthSettings = {
        method: 'password',
        authUrl: 'http://k',
        username: 'admin',
        userDomainId: 'default',
        userDomainName: 'Ignored',
        password: PASSWORD,
        projectName: 'demo',
      };
      assert.deepEqual(authRequestBody(auth), {
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { name: 'admin', domain: { id: 'default' }, password: PASSWORD } },
          },
          scope: { project: { name: 'demo', domain: { id: 'default' } } },
        },
      });
    });

    it('application credential by id, then by name with its user', () => {
      assert.deepEqual(
        authRequestBody({
          method: 'applicationCredential',
          authUrl: 'http://k',
          applicationCredentialId: 'ac1',
          applicationCredentialSecret: APP_SECRET,
        }),
        {
          auth: {
            identity: {
              methods: ['application_credential'],
              application_credential: { id: 'ac1', secret: APP_SECRET },
            },
          },
        },
      );
      assert.deepEqual(
        authRequestBody({
          method: 'applicationCredential',
          authUrl: 'http://k',
          applicationCredentialName: 'pool',
          username: 'admin',
          userDomainName: 'Default',
          applicationCredentialSecret: APP_SECRET,
        }),
        {
          auth: {
            identity: {
              methods: ['application_credential'],
              application_credential: {
                name: 'pool',
                secret: APP_SECRET,
                user: { name: 'admin', domain: { name: 'Default' } },
              },
            },
          },
        },
      );
    });

    it('names what is missing, without the secret', () => {
      const cases: [AuthSettings, RegExp][] = [
        [{ method: 'password', authUrl: 'http://k', password: PASSWORD }, /username or a user id/],
        [{ method: 'password', authUrl: 'http://k', username: 'a', password: PASSWORD }, /user domain/],
        [
          { method: 'password', authUrl: 'http://k', userId: 'u', password: PASSWORD, projectName: 'p' },
          /project domain/,
        ],
        [
          { method: 'applicationCredential', authUrl: 'http://k', applicationCredentialSecret: APP_SECRET },
          /id or a name/,
        ],
        [
          {
            method: 'applicationCredential',
            authUrl: 'http://k',
            applicationCredentialName: 'n',
            applicationCredentialSecret: APP_SECRET,
          },
          /username/,
        ],
      ];
      for (const [auth, pattern] of cases) {
        assert.throws(
          () => authRequestBody(auth),
          (e: unknown) =>
            e instanceof ConfigurationError &&
            e.code === 'POOL_ERR_CONFIGURATION' &&
            e.setting !== undefined &&
            e.message.includes(e.setting) &&
            pattern.test(e.message) &&
            !e.message.includes(PASSWORD) &&
            !e.message.includes(APP_SECRET),
        );
      }
    });
  });

  it('normalises the auth URL', () => {
    assert.equal(normaliseAuthUrl('https://k:5000'), 'https://k:5000/v3');
    assert.equal(normaliseAuthUrl('https://k:5000/'), 'https://k:5000/v3');
    assert.equal(normaliseAuthUrl('https://k:5000/v3/'), 'https://k:5000/v3');
    assert.equal(normaliseAuthUrl('https://k/identity/v2.0'), 'https://k/identity/v3');
  });

  it('posts the body to /v3/auth/tokens whether or not authUrl ends in /v3', async () => {
    cloud = await startFakeCloud({
      routes: { 'GET /compute/v2.1/servers/s1': (_r, res) => json(res, 200, { server: SERVER }) },
    });
    const withoutV3 = `${cloud.url}/identity/`;
    await client(passwordSettings(withoutV3)).compute.getServer('s1');
    const [call] = cloud.keystoneCalls();
    assert.equal(call?.path, '/identity/v3/auth/tokens');
    assert.equal(call?.headers['content-type'], 'application/json');
    assert.deepEqual(call?.body, authRequestBody(passwordSettings(withoutV3).auth));
  });

  it('reuses one token across client instances (one Keystone call)', async () => {
    cloud = await startFakeCloud({
      routes: { 'GET /compute/v2.1/servers/s1': (_r, res) => json(res, 200, { server: SERVER }) },
    });
    const settings = passwordSettings(cloud.authUrl);
    await client(settings).compute.getServer('s1');
    await client(settings).compute.getServer('s1');
    await client({ ...settings, auth: { ...settings.auth, authUrl: `${cloud.url}/identity` } }).compute.getServer('s1');
    assert.equal(cloud.keystoneCalls().length, 1);
    const tokens = cloud.serviceCalls().map((r) => r.headers['x-auth-token']);
    assert.deepEqual(tokens, [cloud.issued[0], cloud.issued[0], cloud.issued[0]]);
  });

  it('does not share a token between different credentials', async () => {
    cloud = await startFakeCloud({
      routes: { 'GET /compute/v2.1/servers/s1': (_r, res) => json(res, 200, { server: SERVER }) },
    });
    const settings = passwordSettings(cloud.authUrl);
    const auth = settings.auth as PasswordAuth;
    await client(settings).compute.getServer('s1');
    await client({ ...settings, auth: { ...auth, password: 'another' } }).compute.getServer('s1');
    await client({ ...settings, auth: { ...auth, projectName: 'other' } }).compute.getServer('s1');
    assert.equal(cloud.keystoneCalls().length, 3);
  });

  it('concurrent callers share one in-flight authentication', async () => {
    cloud = await startFakeCloud({
      routes: { 'GET /compute/v2.1/servers/s1': (_r, res) => json(res, 200, { server: SERVER }) },
    });
    const settings = passwordSettings(cloud.authUrl);
    await Promise.all([1, 2, 3, 4, 5].map(() => client(settings).compute.getServer('s1')));
    assert.equal(cloud.keystoneCalls().length, 1);
  });

  it('re-authenticates when the token is within the expiry margin', async () => {
    // Issued an hour ago, 50 s left: the margin is 60 s, so it is never reused.
    cloud = await startFakeCloud({
      tokenTtlMs: 50_000,
      issuedAgoMs: 3_600_000,
      routes: { 'GET /compute/v2.1/servers/s1': (_r, res) => json(res, 200, { server: SERVER }) },
    });
    const settings = passwordSettings(cloud.authUrl);
    await client(settings).compute.getServer('s1');
    await client(settings).compute.getServer('s1');
    assert.equal(cloud.keystoneCalls().length, 2);
  });

  it('reuses a short-lived token: the margin is 10% of its lifetime', async () => {
    cloud = await startFakeCloud({
      tokenTtlMs: 30_000,
      routes: { 'GET /compute/v2.1/servers/s1': (_r, res) => json(res, 200, { server: SERVER }) },
    });
    const settings = passwordSettings(cloud.authUrl);
    await client(settings).compute.getServer('s1');
    await client(settings).compute.getServer('s1');
    assert.equal(cloud.keystoneCalls().length, 1);
  });

  it('computes the refresh time against the server clock', () => {
    const expiresAt = Date.parse('2030-01-01T01:00:00Z');
    const issuedAt = Date.parse('2030-01-01T00:00:00Z');
    // Local clock 10 minutes behind the server: still 60 minutes left, minus the 60 s margin.
    const localNow = issuedAt - 600_000;
    assert.equal(refreshTime({ expiresAt, issuedAt, serverNow: issuedAt, localNow }), localNow + 3_600_000 - 60_000);
    // A 100 s token gets a 10 s margin.
    assert.equal(
      refreshTime({ expiresAt: issuedAt + 100_000, issuedAt, serverNow: issuedAt, localNow }),
      localNow + 90_000,
    );
  });

  it('re-authenticates once on a 401 and retries the request', async () => {
    cloud = await startFakeCloud({
      routes: { 'GET /compute/v2.1/servers/s1': (_r, res) => json(res, 200, { server: SERVER }) },
    });
    const settings = passwordSettings(cloud.authUrl);
    await client(settings).compute.getServer('s1');
    cloud.revokeAll();
    const server = await client(settings).compute.getServer('s1');
    assert.equal(server?.id, 's1');
    assert.equal(cloud.keystoneCalls().length, 2);
    const tokens = cloud.serviceCalls().map((r) => r.headers['x-auth-token']);
    assert.deepEqual(tokens, [cloud.issued[0], cloud.issued[0], cloud.issued[1]]);
  });

  it('re-authenticates on a 401 to a POST too (nothing was created)', async () => {
    let posts = 0;
    cloud = await startFakeCloud({
      routes: {
        'POST /compute/v2.1/servers': (_r, res) => {
          posts++;
          if (posts === 1) cloud.revokeAll();
          json(
            res,
            posts === 1 ? 401 : 202,
            posts === 1 ? { error: { message: 'expired' } } : { server: { id: 'new' } },
          );
        },
      },
    });
    const created = await client(passwordSettings(cloud.authUrl)).compute.createServer({
      name: 'n',
      imageRef: 'i',
      flavorRef: 'f',
    });
    assert.deepEqual(created, { id: 'new' });
    assert.equal(posts, 2);
    assert.equal(cloud.keystoneCalls().length, 2);
  });

  it('a second 401 is an AuthenticationError', async () => {
    cloud = await startFakeCloud({
      routes: {
        'GET /compute/v2.1/servers/s1': (_r, res) =>
          json(res, 401, { error: { code: 401, message: 'token rejected' } }),
      },
    });
    await assert.rejects(client(passwordSettings(cloud.authUrl)).compute.getServer('s1'), (e: unknown) => {
      assert.ok(e instanceof AuthenticationError);
      assert.equal(e.code, 'POOL_ERR_OPENSTACK_AUTHENTICATION');
      assert.equal(e.status, 401);
      assert.match(e.message, /^Nova GET \/servers\/s1 failed: 401 again after re-authenticating \(token rejected\)$/);
      for (const t of cloud.issued) assert.ok(!e.message.includes(t));
      return true;
    });
    assert.equal(cloud.keystoneCalls().length, 2);
    assert.equal(cloud.serviceCalls().length, 2);
  });

  it('Keystone refusing the password is an AuthenticationError without the password', async () => {
    cloud = await startFakeCloud({
      keystone: (_req, res) =>
        json(res, 401, {
          error: { code: 401, title: 'Unauthorized', message: 'The password is wrong' },
        }),
    });
    await assert.rejects(client(passwordSettings(cloud.authUrl)).compute.getServer('s1'), (e: unknown) => {
      assert.ok(e instanceof AuthenticationError);
      assert.equal(e.code, 'POOL_ERR_OPENSTACK_AUTHENTICATION');
      assert.equal(e.message, 'Keystone POST /v3/auth/tokens failed: 401 The password is wrong');
      return true;
    });
    assert.equal(cloud.keystoneCalls().length, 1, 'a refused login is not retried');
  });

  it('authenticates with an application credential', async () => {
    cloud = await startFakeCloud({
      routes: { 'GET /compute/v2.1/servers/s1': (_r, res) => json(res, 200, { server: SERVER }) },
    });
    const settings = passwordSettings(cloud.authUrl, {
      auth: {
        method: 'applicationCredential',
        authUrl: cloud.authUrl,
        applicationCredentialId: 'ac1',
        applicationCredentialSecret: APP_SECRET,
      },
    });
    await client(settings).compute.getServer('s1');
    await client(settings).compute.getServer('s1');
    assert.equal(cloud.keystoneCalls().length, 1);
    assert.deepEqual(cloud.keystoneCalls()[0]?.body, {
      auth: {
        identity: { methods: ['application_credential'], application_credential: { id: 'ac1', secret: APP_SECRET } },
      },
    });
  });

  describe('catalog', () => {
    const routes = {
      'GET /compute/v2.1/servers/s1': (_r: unknown, res: Parameters<typeof json>[0]) =>
        json(res, 200, { server: { ...SERVER, name: 'public' } }),
      'GET /int/compute/v2.1/servers/s1': (_r: unknown, res: Parameters<typeof json>[0]) =>
        json(res, 200, { server: { ...SERVER, name: 'internal' } }),
      'GET /r2/compute/v2.1/servers/s1': (_r: unknown, res: Parameters<typeof json>[0]) =>
        json(res, 200, { server: { ...SERVER, name: 'region-two' } }),
      'GET /override/v2.1/servers/s1': (_r: unknown, res: Parameters<typeof json>[0]) =>
        json(res, 200, { server: { ...SERVER, name: 'override' } }),
    };

    it('picks the endpoint by region (region_id or region) and interface', async () => {
      cloud = await startFakeCloud({ routes });
      const base = passwordSettings(cloud.authUrl);
      assert.equal((await client(base).compute.getServer('s1'))?.name, 'public');
      assert.equal((await client({ ...base, interface: 'internal' }).compute.getServer('s1'))?.name, 'internal');
      assert.equal((await client({ ...base, regionName: 'RegionTwo' }).compute.getServer('s1'))?.name, 'region-two');
    });

    it('an override bypasses the catalog (a version is added when missing)', async () => {
      cloud = await startFakeCloud({ routes });
      const settings = passwordSettings(cloud.authUrl, { endpointOverrides: { compute: `${cloud.url}/override` } });
      assert.equal((await client(settings).compute.getServer('s1'))?.name, 'override');
    });

    it('names the missing endpoint', async () => {
      cloud = await startFakeCloud({ routes });
      const settings = passwordSettings(cloud.authUrl, { regionName: 'RegionThree' });
      await assert.rejects(client(settings).compute.getServer('s1'), (e: unknown) => {
        assert.ok(e instanceof ConfigurationError);
        assert.equal(e.code, 'POOL_ERR_CONFIGURATION');
        assert.equal(e.message, "no 'compute' endpoint for interface public in region RegionThree");
        return true;
      });
      await assert.rejects(
        client({ ...passwordSettings(cloud.authUrl), interface: 'admin' }).image.resolveImage('cirros'),
        /^ConfigurationError: no 'image' endpoint for interface admin in region RegionOne$/,
      );
    });

    it('says when the token has no catalog at all', async () => {
      cloud = await startFakeCloud({ catalog: () => [] });
      await assert.rejects(
        client(passwordSettings(cloud.authUrl)).compute.getServer('s1'),
        /the token has no service catalog/,
      );
    });
  });
});

describe('service base URLs', () => {
  it('keeps the compute version, adds one when missing, strips network and image versions', async () => {
    const { serviceBaseUrl } = await import('../../functions/openstack/identity/catalog');
    assert.equal(serviceBaseUrl('compute', 'http://h:8774/v2.1/', undefined), 'http://h:8774/v2.1');
    assert.equal(serviceBaseUrl('compute', 'http://h:8774/v2.1/%(project_id)s', 'p1'), 'http://h:8774/v2.1/p1');
    assert.equal(serviceBaseUrl('compute', 'http://h/compute', undefined), 'http://h/compute/v2.1');
    assert.equal(serviceBaseUrl('network', 'http://h:9696/v2.0/', undefined), 'http://h:9696');
    assert.equal(serviceBaseUrl('image', 'http://h:9292/v2', undefined), 'http://h:9292');
    assert.throws(() => serviceBaseUrl('compute', 'not a url', undefined), ConfigurationError);
  });
});
