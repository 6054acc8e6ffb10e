import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCloudSim } from '../../scripts/cloud-sim';
import type { CloudSim } from '../../scripts/cloud-sim';
import { call, clients, issueToken, passwordAuth } from './helpers';
import { sleep } from '../../scripts/harness';

let sim: CloudSim;

before(async () => {
  sim = await startCloudSim({ bootDelayMs: 50 });
});

after(async () => {
  await sim.close();
});

test('password auth issues a scoped token with a full catalog', async () => {
  const response = await call(`${sim.authUrl}/auth/tokens`, { method: 'POST', body: passwordAuth() });
  assert.equal(response.status, 201);
  assert.match(response.headers.get('x-subject-token') ?? '', /^gAAAAA/);
  const token = response.body.token;
  assert.deepEqual(token.methods, ['password']);
  assert.equal(token.user.name, 'admin');
  assert.deepEqual(token.user.domain, { id: 'default', name: 'Default' });
  assert.equal(token.project.name, 'admin');
  assert.match(token.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.ok(Date.parse(token.expires_at) > Date.now() + 3500_000);
  assert.ok(token.roles.some((role: { name: string }) => role.name === 'admin'));

  const types = token.catalog.map((entry: { type: string }) => entry.type).sort();
  assert.deepEqual(types, ['compute', 'identity', 'image', 'network']);
  for (const entry of token.catalog) {
    assert.deepEqual(entry.endpoints.map((e: { interface: string }) => e.interface).sort(), [
      'admin',
      'internal',
      'public',
    ]);
    for (const endpoint of entry.endpoints) {
      assert.equal(endpoint.region, 'RegionOne');
      assert.equal(endpoint.region_id, 'RegionOne');
      assert.match(endpoint.id, /^[0-9a-f]{32}$/);
      assert.ok(endpoint.url.startsWith(sim.url));
    }
  }
  const compute = token.catalog.find((entry: { type: string }) => entry.type === 'compute');
  assert.equal(compute.endpoints[0].url, `${sim.url}/compute/v2.1`);
});

test('password auth works with user and project ids and without a scope', async () => {
  const first = await call(`${sim.authUrl}/auth/tokens`, { method: 'POST', body: passwordAuth() });
  const { user, project } = first.body.token;
  const byId = await call(`${sim.authUrl}/auth/tokens`, {
    method: 'POST',
    body: {
      auth: {
        identity: { methods: ['password'], password: { user: { id: user.id, password: 'sim-password' } } },
        scope: { project: { id: project.id } },
      },
    },
  });
  assert.equal(byId.status, 201);
  assert.equal(byId.body.token.project.id, project.id);
  const unscopedRequest = await call(`${sim.authUrl}/auth/tokens`, {
    method: 'POST',
    body: {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'admin', domain: { id: 'default' }, password: 'sim-password' } },
        },
      },
    },
  });
  assert.equal(unscopedRequest.status, 201);
  assert.equal(unscopedRequest.body.token.project.name, 'admin', "scoped to the user's default project");
});

test('application credential auth by id and by name', async () => {
  const byId = await call(`${sim.authUrl}/auth/tokens`, {
    method: 'POST',
    body: {
      auth: {
        identity: {
          methods: ['application_credential'],
          application_credential: { id: 'sim-appcred', secret: 'sim-appcred-secret' },
        },
      },
    },
  });
  assert.equal(byId.status, 201);
  assert.deepEqual(byId.body.token.methods, ['application_credential']);
  assert.equal(byId.body.token.application_credential.id, 'sim-appcred');
  assert.equal(byId.body.token.project.name, 'admin');

  const byName = await call(`${sim.authUrl}/auth/tokens`, {
    method: 'POST',
    body: {
      auth: {
        identity: {
          methods: ['application_credential'],
          application_credential: {
            name: 'sim-appcred',
            secret: 'sim-appcred-secret',
            user: { name: 'admin', domain: { name: 'Default' } },
          },
        },
      },
    },
  });
  assert.equal(byName.status, 201);

  const wrongSecret = await call(`${sim.authUrl}/auth/tokens`, {
    method: 'POST',
    body: {
      auth: {
        identity: {
          methods: ['application_credential'],
          application_credential: { id: 'sim-appcred', secret: 'nope' },
        },
      },
    },
  });
  assert.equal(wrongSecret.status, 401);
});

test('bad credentials get 401 with Keystone error body; malformed bodies get 400', async () => {
  const wrong = await call(`${sim.authUrl}/auth/tokens`, { method: 'POST', body: passwordAuth('wrong') });
  assert.equal(wrong.status, 401);
  assert.deepEqual(wrong.body, {
    error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' },
  });
  assert.equal(wrong.headers.get('x-subject-token'), null);

  const notJson = await call(`${sim.authUrl}/auth/tokens`, { method: 'POST', body: '{"auth": ' });
  assert.equal(notJson.status, 400);
  assert.equal(notJson.body.error.code, 400);
  assert.equal(notJson.body.error.title, 'Bad Request');

  const noIdentity = await call(`${sim.authUrl}/auth/tokens`, { method: 'POST', body: { auth: {} } });
  assert.equal(noIdentity.status, 400);

  const nameWithoutDomain = await call(`${sim.authUrl}/auth/tokens`, {
    method: 'POST',
    body: {
      auth: { identity: { methods: ['password'], password: { user: { name: 'admin', password: 'sim-password' } } } },
    },
  });
  assert.equal(nameWithoutDomain.status, 400);
  assert.match(nameWithoutDomain.body.error.message, /Expecting to find domain in user/);
});

test('tokens validate with X-Subject-Token and revoke with DELETE', async () => {
  const caller = await issueToken(sim);
  const subject = await issueToken(sim);
  const valid = await call(`${sim.authUrl}/auth/tokens`, { token: caller, headers: { 'X-Subject-Token': subject } });
  assert.equal(valid.status, 200);
  assert.equal(valid.headers.get('x-subject-token'), subject);
  const revoked = await call(`${sim.authUrl}/auth/tokens`, {
    method: 'DELETE',
    token: caller,
    headers: { 'X-Subject-Token': subject },
  });
  assert.equal(revoked.status, 204);
  const gone = await call(`${sim.authUrl}/auth/tokens`, { token: caller, headers: { 'X-Subject-Token': subject } });
  assert.equal(gone.status, 404);
});

test('version discovery documents', async () => {
  const identityRoot = await call(`${sim.url}/identity`);
  assert.equal(identityRoot.status, 300);
  assert.equal(identityRoot.body.versions.values[0].status, 'stable');
  const v3 = await call(`${sim.url}/identity/v3`);
  assert.equal(v3.status, 200);
  assert.equal(v3.body.version.links[0].href, `${sim.url}/identity/v3/`);

  const computeRoot = await call(`${sim.url}/compute`);
  assert.equal(computeRoot.status, 200);
  const v21 = computeRoot.body.versions.find((v: { id: string }) => v.id === 'v2.1');
  assert.equal(v21.min_version, '2.1');
  assert.match(v21.version, /^2\.\d+$/);
  const computeVersion = await call(`${sim.url}/compute/v2.1`);
  assert.equal(computeVersion.body.version.id, 'v2.1');
  assert.equal(
    computeVersion.body.version['media-types'][0].type,
    'application/vnd.openstack.compute+json;version=2.1',
  );

  const networkRoot = await call(`${sim.url}/network`);
  assert.equal(networkRoot.status, 200);
  assert.equal(networkRoot.body.versions[0].id, 'v2.0');

  const imageRoot = await call(`${sim.url}/image`);
  assert.equal(imageRoot.status, 300);
  assert.equal(imageRoot.body.versions[0].status, 'CURRENT');
});

test('expired tokens get 401 from Nova and Neutron (keystonemiddleware body)', async () => {
  const token = await issueToken(sim);
  const { nova, neutron } = clients(sim, token);
  assert.equal((await nova('/servers')).status, 200);
  assert.equal((await neutron('/floatingips')).status, 200);

  sim.expireTokens();
  const novaDenied = await nova('/servers');
  assert.equal(novaDenied.status, 401);
  assert.deepEqual(novaDenied.body, {
    error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
  });
  assert.equal(novaDenied.headers.get('www-authenticate'), `Keystone uri="${sim.url}/identity"`);
  assert.equal((await neutron('/floatingips')).status, 401);
  assert.equal(sim.counts().tokens, 0);

  const fresh = await issueToken(sim);
  assert.equal((await clients(sim, fresh).nova('/servers')).status, 200, 'new tokens work again');
  assert.equal((await call(`${sim.url}/compute/v2.1/servers`)).status, 401, 'no token at all');
  assert.equal((await call(`${sim.url}/image/v2/images`, { token: 'made-up' })).status, 401);
});

test('short token TTL expires on its own', async () => {
  const shortLived = await startCloudSim({ tokenTtlSeconds: 0.05 });
  try {
    const token = await issueToken(shortLived);
    await sleep(80);
    assert.equal((await clients(shortLived, token).nova('/flavors')).status, 401);
  } finally {
    await shortLived.close();
  }
});

test('networkService: false hides Neutron from the catalog and 404s its routes', async () => {
  const noNeutron = await startCloudSim({ networkService: false });
  try {
    const response = await call(`${noNeutron.authUrl}/auth/tokens`, { method: 'POST', body: passwordAuth() });
    const types = response.body.token.catalog.map((entry: { type: string }) => entry.type).sort();
    assert.deepEqual(types, ['compute', 'identity', 'image']);
    const token = response.headers.get('x-subject-token') ?? '';
    assert.equal((await clients(noNeutron, token).neutron('/floatingips')).status, 404);
    assert.equal((await call(`${noNeutron.url}/network`)).status, 404);
  } finally {
    await noNeutron.close();
  }
});

test('env carries the OS_* variables for this cloud', () => {
  assert.deepEqual(sim.env, {
    OS_AUTH_URL: `${sim.url}/identity/v3`,
    OS_USERNAME: 'admin',
    OS_PASSWORD: 'sim-password',
    OS_PROJECT_NAME: 'admin',
    OS_USER_DOMAIN_NAME: 'Default',
    OS_PROJECT_DOMAIN_NAME: 'Default',
    OS_REGION_NAME: 'RegionOne',
    OS_INTERFACE: 'public',
    OS_IDENTITY_API_VERSION: '3',
  });
  assert.match(sim.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(sim.authUrl, `${sim.url}/identity/v3`);
});

test('only loopback hosts are accepted', async () => {
  await assert.rejects(startCloudSim({ host: '0.0.0.0' }), /loopback/);
});
