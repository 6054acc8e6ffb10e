import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigurationError } from '../../contract/errors';
import { loadCloudSettings, loadPoolSettings, loadSettings } from '../../functions/config';

const openrc = {
  OS_AUTH_URL: 'http://127.0.0.1:5000/v3',
  OS_USERNAME: 'admin',
  OS_PASSWORD: 'hunter2-secret',
  OS_PROJECT_NAME: 'admin',
  OS_USER_DOMAIN_NAME: 'Default',
  OS_PROJECT_DOMAIN_NAME: 'Default',
  OS_REGION_NAME: 'RegionOne',
};
const pool = { POOL_IMAGE: 'haproxy-lb', POOL_FLAVOR: 'm1.small' };

test('an openrc environment gives password auth with domains and region', () => {
  const settings = loadCloudSettings(openrc);
  assert.deepEqual(settings.auth, {
    method: 'password',
    authUrl: 'http://127.0.0.1:5000/v3',
    username: 'admin',
    userId: undefined,
    password: 'hunter2-secret',
    userDomainName: 'Default',
    userDomainId: undefined,
    projectName: 'admin',
    projectId: undefined,
    projectDomainName: 'Default',
    projectDomainId: undefined,
  });
  assert.equal(settings.regionName, 'RegionOne');
  assert.equal(settings.interface, 'public');
  assert.equal(settings.insecure, false);
  assert.equal(settings.requestTimeoutMs, 30_000);
});

test('application credentials are chosen when their id is set', () => {
  const settings = loadCloudSettings({
    OS_AUTH_URL: 'http://127.0.0.1:5000/v3',
    OS_APPLICATION_CREDENTIAL_ID: 'cred-1',
    OS_APPLICATION_CREDENTIAL_SECRET: 'app-secret',
  });
  assert.equal(settings.auth.method, 'applicationCredential');
});

test('each missing OpenStack setting is named, and no secret is echoed', () => {
  const cases: [Record<string, string>, RegExp, string][] = [
    [{}, /OS_AUTH_URL is not set/, 'OS_AUTH_URL'],
    [{ ...openrc, OS_PASSWORD: '' }, /OS_PASSWORD is not set/, 'OS_PASSWORD'],
    [{ ...openrc, OS_USERNAME: '' }, /OS_USERNAME \(or OS_USER_ID\) is not set/, 'OS_USERNAME'],
    [{ ...openrc, OS_PROJECT_NAME: '' }, /OS_PROJECT_NAME \(or OS_PROJECT_ID\) is not set/, 'OS_PROJECT_NAME'],
    [
      { OS_AUTH_URL: openrc.OS_AUTH_URL, OS_APPLICATION_CREDENTIAL_ID: 'x' },
      /OS_APPLICATION_CREDENTIAL_SECRET is not set/,
      'OS_APPLICATION_CREDENTIAL_SECRET',
    ],
    [{ ...openrc, OS_AUTH_URL: 'not a url' }, /OS_AUTH_URL is not a URL/, 'OS_AUTH_URL'],
    [{ ...openrc, OS_INTERFACE: 'outer' }, /OS_INTERFACE must be public, internal or admin/, 'OS_INTERFACE'],
    [{ ...openrc, OS_INSECURE: 'maybe' }, /OS_INSECURE must be true or false/, 'OS_INSECURE'],
    [{ ...openrc, OS_CACERT: '/nonexistent/ca.pem' }, /OS_CACERT: cannot read \/nonexistent\/ca.pem/, 'OS_CACERT'],
  ];
  for (const [env, expected, setting] of cases) {
    assert.throws(
      () => loadCloudSettings(env),
      (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.equal(error.code, 'POOL_ERR_CONFIGURATION');
        assert.equal(error.setting, setting);
        assert.match(error.message, expected);
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      },
    );
  }
});

test('each missing or invalid pool setting is named', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ POOL_FLAVOR: 'm1.small' }, /POOL_IMAGE is not set/],
    [{ POOL_IMAGE: 'x' }, /POOL_FLAVOR is not set/],
    [{ ...pool, POOL_BUILD_DEADLINE_SECONDS: 'soon' }, /POOL_BUILD_DEADLINE_SECONDS must be a whole number/],
    [{ ...pool, POOL_TCP_CHECK_PORT: '70000' }, /POOL_TCP_CHECK_PORT must be a whole number from 1 to 65535/],
    [{ ...pool, POOL_METADATA: '[1]' }, /POOL_METADATA must be a JSON object of strings/],
    [{ ...pool, POOL_IGNORE_500_ON_REMOVE: 'sometimes' }, /POOL_IGNORE_500_ON_REMOVE must be true or false/],
  ];
  for (const [env, expected] of cases) {
    assert.throws(
      () => loadPoolSettings(env),
      (error: unknown) => {
        assert.ok(error instanceof ConfigurationError);
        assert.equal(error.code, 'POOL_ERR_CONFIGURATION');
        assert.ok(error.setting?.startsWith('POOL_') && error.message.startsWith(`${error.setting} `), error.message);
        assert.match(error.message, expected);
        return true;
      },
    );
  }
});

test('pool settings: basename underscores become dashes, lists split, defaults apply', () => {
  const settings = loadPoolSettings({
    ...pool,
    POOL_NODE_BASENAME: 'libra_stg_haproxy',
    POOL_SECURITY_GROUPS: 'lb, ssh ,',
    POOL_TCP_CHECK_PORT: '443',
    POOL_METADATA: '{"role":"lb"}',
  });
  assert.equal(settings.nodeBasename, 'libra-stg-haproxy');
  assert.deepEqual(settings.securityGroups, ['lb', 'ssh']);
  assert.equal(settings.tcpCheckPort, 443);
  assert.deepEqual(settings.metadata, { role: 'lb' });
  // The default is buildDevice's timeout minus the cleanup reserve (contract/deadlines.json).
  assert.equal(settings.buildDeadlineMs, 625_000);
  assert.equal(settings.ignore500OnRemove, false);
  assert.equal(settings.idempotencyWindowMs, 24 * 3600 * 1000, 'a rerun is recognised for 24 h');
  assert.equal(settings.acceptUntaggedServers, false);
  const other = loadPoolSettings({
    ...pool,
    POOL_IDEMPOTENCY_WINDOW_SECONDS: '3600',
    POOL_ACCEPT_UNTAGGED_SERVERS: 'true',
  });
  assert.deepEqual([other.idempotencyWindowMs, other.acceptUntaggedServers], [3_600_000, true]);
  assert.throws(
    () => loadPoolSettings({ ...pool, POOL_IDEMPOTENCY_WINDOW_SECONDS: '10' }),
    /POOL_IDEMPOTENCY_WINDOW_SECONDS must be a whole number from 60 to 31536000/,
  );
});

test('clouds.yaml with OS_CLOUD, overridden by OS_* variables', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'clouds-'));
  const file = join(dir, 'clouds.yaml');
  writeFileSync(
    file,
    [
      'clouds:',
      '  sim:',
      '    auth:',
      '      auth_url: http://127.0.0.1:5000/v3',
      '      username: alice',
      '      password: from-yaml-secret',
      '      project_name: lb',
      '      user_domain_name: Default',
      '      project_domain_name: Default',
      '    region_name: RegionTwo',
      '    interface: internal',
      '    compute_endpoint_override: http://127.0.0.1:8774/v2.1/',
    ].join('\n'),
  );
  const settings = await loadSettings({
    OS_CLIENT_CONFIG_FILE: file,
    OS_CLOUD: 'sim',
    OS_REGION_NAME: 'RegionOne',
    ...pool,
  });
  assert.equal(settings.cloud.auth.method, 'password');
  assert.equal(settings.cloud.auth.method === 'password' && settings.cloud.auth.username, 'alice');
  assert.equal(settings.cloud.regionName, 'RegionOne');
  assert.equal(settings.cloud.interface, 'internal');
  assert.equal(settings.cloud.endpointOverrides.compute, 'http://127.0.0.1:8774/v2.1');
  await assert.rejects(
    loadSettings({ OS_CLIENT_CONFIG_FILE: file, OS_CLOUD: 'other', ...pool }),
    /has no such cloud \(it has: sim\)/,
  );
  await assert.rejects(
    loadSettings({ OS_CLIENT_CONFIG_FILE: join(dir, 'missing.yaml'), OS_CLOUD: 'sim', ...pool }),
    /no clouds.yaml was found/,
  );
});
