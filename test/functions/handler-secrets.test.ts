/**
 * A deployed stage's credential path, as Lambda runs it: the esbuild bundle in a fresh
 * process whose environment has OS_CREDENTIALS_PARAMETER and no OS_* secret, Powertools
 * Parameters reading a loopback SSM stand-in, the OpenStack simulator behind it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { wrap } from '../../contract';
import type { CloudSim } from '../../scripts/cloud-sim';
import { POOL_ENV, startCloud } from '../helpers/cloud';
import type { Bundle } from '../../scripts/lambda/bundle';
import { bundleHandlers } from '../../scripts/lambda/bundle';
import { invokeBundled } from '../../scripts/lambda/warm-function';
import type { FakeSsm } from './fake-ssm';
import { startFakeSsm } from './fake-ssm';

const PARAMETER = '/pool-manager/test/openstack';
let sim: CloudSim;
let ssm: FakeSsm;
let bundle: Bundle;
let deployedEnv: Record<string, string>;

before(async () => {
  [sim, ssm, bundle] = await Promise.all([startCloud(), startFakeSsm(), bundleHandlers()]);
  ssm.parameters.set(PARAMETER, { value: JSON.stringify(sim.env) });
  // What serverless.yml gives a deployed function, plus where this test's "AWS" is.
  deployedEnv = {
    ...POOL_ENV,
    OS_CREDENTIALS_PARAMETER: PARAMETER,
    ...ssm.awsEnv,
    AWS_LAMBDA_FUNCTION_NAME: 'pool-manager-test-buildIp',
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  };
});
after(async () => {
  await Promise.all([sim.close(), ssm.close()]);
  bundle.remove();
});

test('a warm function reads its credentials from SSM once and never prints them', async () => {
  assert.equal(deployedEnv.OS_PASSWORD, undefined);
  const events = [1, 2, 3].map((i) => wrap({ action: 'BUILD_IP' }, `ssm-${i}`));
  const run = await invokeBundled(bundle, 'buildIp', events, deployedEnv);
  assert.deepEqual(
    run.results.map((r) => r.response),
    ['PASS', 'PASS', 'PASS'],
    JSON.stringify(run.results),
  );
  assert.deepEqual(
    ssm.requests,
    [{ Name: PARAMETER, WithDecryption: true }],
    'cached for 300 s: one read for three jobs',
  );
  assert.ok(!run.output.includes(sim.env.OS_PASSWORD ?? '<none>'), 'the password leaked');
  for (const token of sim.issuedTokens()) assert.ok(!run.output.includes(token), 'a token leaked');
  for (const result of run.results) {
    await invokeBundled(bundle, 'deleteIp', [{ action: 'DELETE_IP', ip: result.ip }], deployedEnv);
  }
  assert.equal(sim.counts().floatingIps, 0);
});

test('a deployed function boots devices with the POOL_USER_DATA of the parameter and never prints it', async () => {
  const userData = '#cloud-config\nwrite_files: [{path: /etc/lb.key, content: "lb-pr1vate-key"}]';
  const withUserData = '/pool-manager/test/with-user-data';
  ssm.parameters.set(withUserData, { value: JSON.stringify({ ...sim.env, POOL_USER_DATA: userData }) });
  const env = { ...deployedEnv, OS_CREDENTIALS_PARAMETER: withUserData };
  const run = await invokeBundled(bundle, 'buildDevice', [wrap({ action: 'BUILD_DEVICE' }, 'ssm-user-data')], env);
  assert.equal(run.results[0]?.response, 'PASS', JSON.stringify(run.results));
  const server = sim.servers()[0];
  assert.equal(Buffer.from(server?.userData ?? '', 'base64').toString('utf8'), userData);
  assert.ok(!run.output.includes('lb-pr1vate-key'), 'the user data leaked');
  // The same setting as a plain variable is refused, as OS_PASSWORD is.
  const plain = await invokeBundled(bundle, 'buildDevice', [wrap({ action: 'BUILD_DEVICE' }, 'ssm-user-data-2')], {
    ...env,
    POOL_USER_DATA: userData,
  });
  assert.match(
    String(plain.results[0]?.error),
    /^POOL_USER_DATA is set in the function's environment, but this stage reads POOL_USER_DATA from the SSM parameter/,
  );
  assert.ok(!plain.output.includes('lb-pr1vate-key'), 'the user data leaked');
  await invokeBundled(bundle, 'deleteDevice', [{ action: 'DELETE_DEVICE', name: run.results[0]?.name }], env);
  assert.equal(sim.counts().servers, 0);
});

test('a missing or unreadable parameter, or a plain secret, fails the job with what to fix', async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { OS_CREDENTIALS_PARAMETER: '/pool-manager/test/missing' },
      /^SSM parameter \/pool-manager\/test\/missing does not exist in eu-west-1/,
    ],
    [
      { OS_CREDENTIALS_PARAMETER: '/pool-manager/test/denied' },
      /^cannot read SSM parameter \/pool-manager\/test\/denied: access denied: the function's role needs ssm:GetParameter on arn:aws:ssm:eu-west-1:<account>:parameter\/pool-manager\/test\/denied$/,
    ],
    [
      { OS_PASSWORD: 'plain-env-s3cret' },
      /^OS_PASSWORD is set in the function's environment, but this stage reads its OpenStack credentials from the SSM parameter/,
    ],
  ];
  ssm.parameters.set('/pool-manager/test/denied', {
    error: 'AccessDeniedException',
    message: 'User: arn:aws:sts::1:assumed-role/r/f is not authorized to perform: ssm:GetParameter',
  });
  for (const [extra, expected] of cases) {
    const run = await invokeBundled(bundle, 'buildDevice', [wrap({ action: 'BUILD_DEVICE' }, 'ssm-fail')], {
      ...deployedEnv,
      ...extra,
    });
    const [result] = run.results;
    assert.equal(result?.response, 'FAIL');
    assert.match(String(result?.error), expected);
    assert.ok(!run.output.includes('plain-env-s3cret'), 'the plain secret leaked');
  }
  assert.equal(sim.counts().servers, 0);
});
