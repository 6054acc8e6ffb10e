/**
 * A warm function repeats none of its set-up, and nothing it keeps outlives the configuration
 * it came from: the handler (makeHandler) invoked again and again in one process, as a warm
 * Lambda, against the cloud simulator, with its environment changed between invocations.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { wrap } from '../../contract';
import type { Result } from '../../contract';
import { makeHandler } from '../../functions/handlers/make-handler';
import type { PoolManagerHandler } from '../../functions/handlers/make-handler';
import { ssmFetcher } from '../../functions/secrets';
import { IMAGE_IDS } from '../../scripts/cloud-sim';
import type { CloudSim, RequestRecord } from '../../scripts/cloud-sim';
import { POOL_ENV, functionEnv, startCloud } from '../helpers/cloud';
import type { FakeSsm } from './fake-ssm';
import { startFakeSsm } from './fake-ssm';
import { sleep } from '../../scripts/harness';

const TOKEN = 'identity:POST /v3/auth/tokens';
let sim: CloudSim;
let seq = 0;

before(async () => {
  sim = await startCloud();
});
after(() => sim.close());

/** One invocation, and the simulator requests it made ('service:METHOD /path', ids as {id}). */
async function invoke(handler: PoolManagerHandler, message: Record<string, unknown>) {
  const from = sim.requests().length;
  seq += 1;
  const result = await handler(wrap(message, `warm-${process.pid}-${seq}`), { awsRequestId: `r${seq}` });
  const requests = sim
    .requests()
    .slice(from)
    .map((r: RequestRecord) => `${r.service}:${r.method} ${r.path.replace(/\/[0-9a-f-]{32,36}(?=\/|$)/g, '/{id}')}`);
  return { result, requests };
}

const lookups = (requests: string[]) =>
  requests.filter((r) => r.startsWith('image:') || r.includes('/flavors') || r === TOKEN);

async function deleteAll(env: () => Record<string, string>, results: Result[]): Promise<void> {
  const remove = makeHandler('DELETE_DEVICE', { env });
  for (const r of results)
    assert.equal((await remove(wrap({ action: 'DELETE_DEVICE', name: r.name }))).response, 'PASS');
  assert.equal(sim.counts().servers, 0);
}

describe('a warm function', () => {
  test('looks up its image and flavor and gets its token once: a later build only creates and polls', async () => {
    const env = functionEnv(sim);
    const build = makeHandler('BUILD_DEVICE', { env: () => env });
    const runs = [];
    for (let i = 0; i < 3; i += 1) runs.push(await invoke(build, { action: 'BUILD_DEVICE' }));
    assert.deepEqual(
      runs.map((r) => r.result.response),
      ['PASS', 'PASS', 'PASS'],
    );
    const [first, ...later] = runs;
    assert.ok(
      first && lookups(first.requests).includes(TOKEN) && lookups(first.requests).includes('image:GET /v2/images'),
    );
    for (const run of later) {
      assert.deepEqual(lookups(run.requests), [], 'no token, image or flavor request after the first build');
      assert.deepEqual([...new Set(run.requests)].sort(), [
        'compute:GET /v2.1/servers/detail', // the rerun check before, the twin check after
        'compute:GET /v2.1/servers/{id}', // status polls
        'compute:POST /v2.1/servers',
      ]);
      assert.equal(run.requests.filter((r) => r === 'compute:POST /v2.1/servers').length, 1);
    }
    await deleteAll(
      () => env,
      runs.map((r) => r.result),
    );
  });

  test('uses a changed setting at its next invocation, and looks up again only what the change touched', async () => {
    let env: Record<string, string> = functionEnv(sim);
    const build = makeHandler('BUILD_DEVICE', { env: () => env });
    const results: Result[] = [];
    const step = async () => {
      const run = await invoke(build, { action: 'BUILD_DEVICE' });
      assert.equal(run.result.response, 'PASS', JSON.stringify(run.result));
      results.push(run.result);
      return { ...run, server: sim.servers().find((s) => s.name === run.result.name) };
    };

    const first = await step();
    assert.equal(first.server?.imageId, IMAGE_IDS.haproxy);

    // A new image and basename (POOL_*): the image is looked up, the flavor is not, no new token.
    env = { ...env, POOL_IMAGE: 'ubuntu-22.04', POOL_NODE_BASENAME: 'libra_prod_haproxy' };
    const second = await step();
    assert.equal(second.server?.imageId, IMAGE_IDS.ubuntu);
    assert.match(String(second.result.name), /^libra-prod-haproxy-/);
    assert.match(String(second.result.type), /image: ubuntu-22\.04$/);
    assert.deepEqual(lookups(second.requests), ['image:GET /v2/images']);

    // A new flavor given by id: used as it is.
    env = { ...env, POOL_FLAVOR: '3' };
    const third = await step();
    assert.equal(third.server?.flavorId, '3');

    // An OS_* change makes a new client: its lookups start afresh (the token is kept: same credentials).
    env = { ...env, OS_REQUEST_RETRIES: '2' };
    const fourth = await step();
    assert.deepEqual(lookups(fourth.requests).sort(), ['compute:GET /v2.1/flavors/3', 'image:GET /v2/images']);

    // Back to the first settings: the first image again, not a remembered one.
    env = functionEnv(sim);
    const fifth = await step();
    assert.equal(fifth.server?.imageId, IMAGE_IDS.haproxy);
    assert.match(String(fifth.result.name), /^libra-stg-haproxy-/);

    // A setting turned invalid fails the very next job, naming it.
    env = { ...env, POOL_POLL_MAX_MS: 'soon' };
    const bad = await invoke(build, { action: 'BUILD_DEVICE' });
    assert.equal(bad.result.response, 'FAIL');
    assert.match(String(bad.result.error), /^POOL_POLL_MAX_MS must be a whole number/);
    assert.deepEqual(bad.requests, []);

    env = functionEnv(sim);
    await deleteAll(() => env, results);
  });
});

describe('a warm function whose credentials come from SSM', () => {
  const PARAMETER = '/pool-manager/warm/openstack';
  let ssm: FakeSsm;
  before(async () => {
    ssm = await startFakeSsm();
    Object.assign(process.env, ssm.awsEnv);
  });
  after(() => ssm.close());

  test('reads the parameter again after its max age, uses what changed, and still refuses a plain secret', async () => {
    ssm.parameters.set(PARAMETER, { value: JSON.stringify(sim.env) });
    let env: Record<string, string> = {
      ...POOL_ENV,
      OS_CREDENTIALS_PARAMETER: PARAMETER,
      OS_CREDENTIALS_MAX_AGE_SECONDS: '1',
    };
    const build = makeHandler('BUILD_DEVICE', { env: () => env, fetchParameter: ssmFetcher });
    const reads = () => ssm.requests.filter((r) => r.Name === PARAMETER).length;
    const results: Result[] = [];

    const first = await invoke(build, { action: 'BUILD_DEVICE' });
    const second = await invoke(build, { action: 'BUILD_DEVICE' });
    results.push(first.result, second.result);
    assert.deepEqual([first.result.response, second.result.response], ['PASS', 'PASS']);
    assert.equal(reads(), 1, 'the second job within the max age used the cached parameter');
    assert.deepEqual(lookups(second.requests), []);

    // The operator changes the parameter; after its max age the function reads and uses it.
    ssm.parameters.set(PARAMETER, { value: JSON.stringify({ ...sim.env, OS_REQUEST_RETRIES: '1' }) });
    await sleep(1100);
    const third = await invoke(build, { action: 'BUILD_DEVICE' });
    results.push(third.result);
    assert.equal(third.result.response, 'PASS');
    assert.equal(reads(), 2);
    assert.deepEqual(
      lookups(third.requests).sort(),
      ['compute:GET /v2.1/flavors/detail', 'compute:GET /v2.1/flavors/m1.small', 'image:GET /v2/images'],
      'new settings, new client, fresh lookups',
    );

    // A plain secret in the environment is refused on the very next job, settings kept or not.
    env = { ...env, OS_PASSWORD: 'plain-env-s3cret' };
    const refused = await invoke(build, { action: 'BUILD_DEVICE' });
    assert.equal(refused.result.response, 'FAIL');
    assert.match(String(refused.result.error), /^OS_PASSWORD is set in the function's environment/);
    assert.ok(!String(refused.result.error).includes('plain-env-s3cret'));
    assert.deepEqual(refused.requests, []);

    await deleteAll(() => functionEnv(sim), results);
  });
});
