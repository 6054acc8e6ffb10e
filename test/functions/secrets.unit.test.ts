/**
 * OpenStack credentials from SSM Parameter Store: which source is used, how the parameter
 * merges under the plain environment, what is refused, and that no error ever carries a
 * value of the parameter. The last tests drive the real Powertools fetcher against a
 * loopback SSM stand-in.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ConfigurationError } from '../../contract/errors';
import { loadCloudSettings, loadPoolSettings } from '../../functions/config';
import type { ParameterFetcher } from '../../functions/secrets';
import {
  credentialSource,
  describeParameterError,
  parseCredentials,
  resolveEnv,
  ssmFetcher,
} from '../../functions/secrets';
import type { FakeSsm } from './fake-ssm';
import { startFakeSsm } from './fake-ssm';

const NAME = '/pool-manager/test/openstack';
const SECRET = 'sw0rdfish-not-for-logs';
const CREDENTIALS = {
  OS_AUTH_URL: 'http://127.0.0.1:5000/v3',
  OS_USERNAME: 'lb-admin',
  OS_PASSWORD: SECRET,
  OS_PROJECT_NAME: 'lb',
  OS_USER_DOMAIN_NAME: 'Default',
  OS_PROJECT_DOMAIN_NAME: 'Default',
};

function fetcherOf(
  values: Record<string, string | Error>,
): ParameterFetcher & { calls: { name: string; maxAgeSeconds: number }[] } {
  const calls: { name: string; maxAgeSeconds: number }[] = [];
  const fetch = async (name: string, options: { maxAgeSeconds: number }) => {
    calls.push({ name, maxAgeSeconds: options.maxAgeSeconds });
    const value = values[name];
    if (value instanceof Error) throw value;
    return value;
  };
  return Object.assign(fetch, { calls });
}

function awsError(name: string, message: string): Error {
  // Powertools wraps the SDK's error in a GetParameterError with the SDK error as cause.
  const cause = Object.assign(new Error(message), { name });
  return Object.assign(new Error(message, { cause }), { name: 'GetParameterError' });
}

const noSecret = (error: unknown) => {
  assert.doesNotMatch(String((error as Error).message), new RegExp(SECRET));
  return true;
};

test('without OS_CREDENTIALS_PARAMETER the plain environment is used as it is', async () => {
  const env = { ...CREDENTIALS, POOL_IMAGE: 'x' };
  const fetch = fetcherOf({});
  assert.deepEqual(credentialSource(env), { kind: 'environment' });
  assert.equal(await resolveEnv(env, fetch), env);
  assert.equal(fetch.calls.length, 0);
});

test('serverless invoke local and serverless-offline use exported OS_* variables, not the parameter', async () => {
  for (const marker of [{ IS_LOCAL: 'true' }, { IS_OFFLINE: 'true' }]) {
    const env = { ...CREDENTIALS, OS_CREDENTIALS_PARAMETER: NAME, ...marker };
    assert.deepEqual(credentialSource(env), { kind: 'environment' });
    assert.equal(await resolveEnv(env, fetcherOf({})), env);
  }
  // Locally without OS_* variables, the parameter is read (with the developer's AWS credentials).
  assert.deepEqual(credentialSource({ OS_CREDENTIALS_PARAMETER: NAME, IS_LOCAL: 'true' }), {
    kind: 'parameter',
    name: NAME,
  });
});

test('a deployed function reads the parameter, cached 300 s, and the plain environment wins over it', async () => {
  const fetch = fetcherOf({
    [NAME]: JSON.stringify({ ...CREDENTIALS, OS_REGION_NAME: 'RegionOne', OS_INSECURE: false }),
  });
  const env = await resolveEnv(
    { OS_CREDENTIALS_PARAMETER: NAME, OS_REGION_NAME: 'RegionTwo', OS_INTERFACE: '', POOL_IMAGE: 'img' },
    fetch,
  );
  assert.deepEqual(fetch.calls, [{ name: NAME, maxAgeSeconds: 300 }]);
  assert.equal(env.OS_PASSWORD, SECRET);
  assert.equal(env.OS_REGION_NAME, 'RegionTwo', 'a plain variable wins');
  assert.equal(env.OS_INTERFACE, undefined, 'an empty plain variable does not blank the parameter');
  assert.equal(env.OS_INSECURE, 'false');
  assert.equal(env.POOL_IMAGE, 'img');
  const cloud = loadCloudSettings(env);
  assert.equal(cloud.auth.method === 'password' && cloud.auth.password, SECRET);

  await resolveEnv({ OS_CREDENTIALS_PARAMETER: NAME, OS_CREDENTIALS_MAX_AGE_SECONDS: '0' }, fetch);
  assert.equal(fetch.calls[1]?.maxAgeSeconds, 0);
  await assert.rejects(
    resolveEnv({ OS_CREDENTIALS_PARAMETER: NAME, OS_CREDENTIALS_MAX_AGE_SECONDS: 'soon' }, fetch),
    /OS_CREDENTIALS_MAX_AGE_SECONDS must be a whole number/,
  );
});

test('a plain OS_PASSWORD or application credential secret is refused in a deployed stage', async () => {
  const fetch = fetcherOf({ [NAME]: JSON.stringify(CREDENTIALS) });
  for (const variable of ['OS_PASSWORD', 'OS_APPLICATION_CREDENTIAL_SECRET']) {
    await assert.rejects(resolveEnv({ OS_CREDENTIALS_PARAMETER: NAME, [variable]: SECRET }, fetch), (error: Error) => {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(error.code, 'POOL_ERR_CONFIGURATION');
      assert.equal(error.setting, variable);
      assert.match(
        error.message,
        new RegExp(
          `^${variable} is set in the function's environment, but this stage reads its OpenStack credentials from the SSM parameter ${NAME}`,
        ),
      );
      return noSecret(error);
    });
  }
  assert.equal(fetch.calls.length, 0, 'refused before any fetch');
});

test('POOL_USER_DATA comes from the parameter in a deployed stage, never the plain environment; locally the variable works', async () => {
  const userData = '#cloud-config\nchpasswd: {list: "root:c1oud-init-s3cret"}';
  const fetch = fetcherOf({ [NAME]: JSON.stringify({ ...CREDENTIALS, POOL_USER_DATA: userData }) });
  const env = await resolveEnv({ OS_CREDENTIALS_PARAMETER: NAME, POOL_IMAGE: 'i', POOL_FLAVOR: 'f' }, fetch);
  assert.equal(loadPoolSettings(env).userData, userData);

  await assert.rejects(
    resolveEnv({ OS_CREDENTIALS_PARAMETER: NAME, POOL_USER_DATA: userData }, fetch),
    (error: Error) => {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(error.setting, 'POOL_USER_DATA');
      assert.equal(
        error.message,
        `POOL_USER_DATA is set in the function's environment, but this stage reads POOL_USER_DATA from the SSM parameter ${NAME}: remove POOL_USER_DATA from the environment and keep it only in the parameter`,
      );
      assert.ok(!error.message.includes('s3cret'));
      return true;
    },
  );
  // Locally (no parameter, or serverless invoke local with OS_* exported) the variable is used.
  assert.equal(
    loadPoolSettings(await resolveEnv({ POOL_IMAGE: 'i', POOL_FLAVOR: 'f', POOL_USER_DATA: userData })).userData,
    userData,
  );
  const local = {
    ...CREDENTIALS,
    OS_CREDENTIALS_PARAMETER: NAME,
    IS_LOCAL: 'true',
    POOL_IMAGE: 'i',
    POOL_FLAVOR: 'f',
    POOL_USER_DATA: userData,
  };
  assert.equal(loadPoolSettings(await resolveEnv(local, fetcherOf({}))).userData, userData);
  // Other POOL_* settings stay out of the parameter.
  assert.throws(
    () => parseCredentials(NAME, JSON.stringify({ POOL_IMAGE: 'x' })),
    /the key 'POOL_IMAGE': only OS_\* variables of an openrc file and POOL_USER_DATA belong there/,
  );
});

test('read failures name the parameter and the missing permission, never a value', async () => {
  const env = { OS_CREDENTIALS_PARAMETER: NAME, AWS_REGION: 'eu-west-1' };
  const cases: [Error | string, RegExp][] = [
    [
      awsError(
        'AccessDeniedException',
        'User: arn:aws:sts::123456789012:assumed-role/x/y is not authorized to perform: ssm:GetParameter',
      ),
      /^cannot read SSM parameter \/pool-manager\/test\/openstack: access denied: the function's role needs ssm:GetParameter on arn:aws:ssm:eu-west-1:<account>:parameter\/pool-manager\/test\/openstack$/,
    ],
    [
      awsError(
        'AccessDeniedException',
        'User: ... is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:eu-west-1:123456789012:key/k',
      ),
      /^cannot decrypt SSM parameter \/pool-manager\/test\/openstack \(AccessDeniedException\): the function's role needs kms:Decrypt on the parameter's KMS key \(via ssm.eu-west-1.amazonaws.com/,
    ],
    [
      awsError('ParameterNotFound', ''),
      /^SSM parameter \/pool-manager\/test\/openstack does not exist in eu-west-1: store it with aws ssm put-parameter --type SecureString/,
    ],
    [
      awsError('ThrottlingException', 'Rate exceeded'),
      /^cannot read SSM parameter \/pool-manager\/test\/openstack \(ThrottlingException: Rate exceeded\)$/,
    ],
    ['', /^SSM parameter \/pool-manager\/test\/openstack is empty/],
    [`{"OS_PASSWORD": "${SECRET}"`, /^SSM parameter \/pool-manager\/test\/openstack is not valid JSON/],
    [`"${SECRET}"`, /must hold a JSON object of OS_\* variables/],
    [
      `{"OS_PASSWORD": "${SECRET}", "password": "${SECRET}"}`,
      /has the key 'password': only OS_\* variables of an openrc file and POOL_USER_DATA belong there/,
    ],
    [`{"OS_PASSWORD": {"value": "${SECRET}"}}`, /the value of OS_PASSWORD must be a string/],
  ];
  for (const [outcome, expected] of cases) {
    await assert.rejects(resolveEnv(env, fetcherOf({ [NAME]: outcome })), (error: Error) => {
      assert.ok(error instanceof ConfigurationError);
      assert.equal(error.name, 'ConfigurationError');
      assert.equal(error.code, 'POOL_ERR_CONFIGURATION');
      assert.equal(error.setting, 'OS_CREDENTIALS_PARAMETER');
      assert.match(error.message, expected);
      return noSecret(error);
    });
  }
  assert.match(
    describeParameterError(NAME, awsError('AccessDeniedException', 'denied'), { AWS_REGION: 'cn-north-1' }),
    /arn:aws-cn:ssm:cn-north-1:/,
  );
  assert.throws(() => parseCredentials(NAME, `not json ${SECRET}`), noSecret);
});

test('OS_CREDENTIALS_PARAMETER must be a parameter path', () => {
  assert.throws(
    () => credentialSource({ OS_CREDENTIALS_PARAMETER: 'openstack creds' }),
    /must be an SSM parameter path such as \/pool-manager\/prod\/openstack/,
  );
  assert.deepEqual(credentialSource({ OS_CREDENTIALS_PARAMETER: ' /a/b.c_d-e ' }), {
    kind: 'parameter',
    name: '/a/b.c_d-e',
  });
});

test('OS_CACERT may be the PEM itself, as a parameter has no file to point at', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
  assert.equal(loadCloudSettings({ ...CREDENTIALS, OS_CACERT: pem }).caCertPem, pem);
});

// ------------------------------------------------ the real fetcher (Powertools + AWS SDK)

let ssm: FakeSsm;
before(async () => {
  ssm = await startFakeSsm();
  Object.assign(process.env, ssm.awsEnv);
});
after(() => ssm.close());

test('the Powertools fetcher decrypts, caches for maxAge, and surfaces SDK errors by name', async () => {
  ssm.parameters.set('/t/cached', { value: JSON.stringify(CREDENTIALS) });
  const env = { OS_CREDENTIALS_PARAMETER: '/t/cached', AWS_REGION: 'eu-west-1' };
  const first = await resolveEnv(env, ssmFetcher);
  const second = await resolveEnv(env, ssmFetcher);
  assert.equal(first.OS_PASSWORD, SECRET);
  assert.deepEqual(second, first);
  assert.deepEqual(
    ssm.requests,
    [{ Name: '/t/cached', WithDecryption: true }],
    'one request: the second read came from the cache',
  );

  ssm.parameters.set('/t/fresh', { value: JSON.stringify(CREDENTIALS) });
  await resolveEnv({ OS_CREDENTIALS_PARAMETER: '/t/fresh', OS_CREDENTIALS_MAX_AGE_SECONDS: '0' }, ssmFetcher);
  await resolveEnv({ OS_CREDENTIALS_PARAMETER: '/t/fresh', OS_CREDENTIALS_MAX_AGE_SECONDS: '0' }, ssmFetcher);
  assert.equal(ssm.requests.filter((r) => r.Name === '/t/fresh').length, 2, 'max age 0: read every time');

  ssm.parameters.set('/t/denied', {
    error: 'AccessDeniedException',
    message: 'User: arn:aws:sts::1:assumed-role/r/f is not authorized to perform: ssm:GetParameter',
  });
  await assert.rejects(
    resolveEnv({ OS_CREDENTIALS_PARAMETER: '/t/denied', AWS_REGION: 'eu-west-1' }, ssmFetcher),
    /access denied: the function's role needs ssm:GetParameter on arn:aws:ssm:eu-west-1:<account>:parameter\/t\/denied/,
  );
  await assert.rejects(
    resolveEnv({ OS_CREDENTIALS_PARAMETER: '/t/missing', AWS_REGION: 'eu-west-1' }, ssmFetcher),
    /SSM parameter \/t\/missing does not exist in eu-west-1/,
  );
});

test('run locally without OS_* variables, a failed read says how to use them instead', async () => {
  const env = { OS_CREDENTIALS_PARAMETER: NAME, IS_OFFLINE: 'true', AWS_REGION: 'us-east-1' };
  await assert.rejects(
    resolveEnv(env, fetcherOf({ [NAME]: awsError('Error', 'getaddrinfo ENOTFOUND ssm.us-east-1.amazonaws.com') })),
    /cannot read SSM parameter \/pool-manager\/test\/openstack \(Error: getaddrinfo ENOTFOUND ssm.us-east-1.amazonaws.com\) \(running locally: export the OS_\* variables instead; serverless offline passes them on only with --localEnvironment\)$/,
  );
});
