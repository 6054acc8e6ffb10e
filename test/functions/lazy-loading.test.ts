/**
 * A cold start loads only what the function's configuration needs: the bundle serverless
 * ships, required in a fresh Node process as Lambda does, with the modules it loaded read
 * from require.cache after the require (the init) and after one job.
 *
 * - the SSM client (@aws-sdk/client-ssm, for Powertools Parameters) only once a job reads
 *   the credentials parameter: never at init, never without OS_CREDENTIALS_PARAMETER;
 * - the yaml package only when OS_CLOUD names a clouds.yaml entry.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { wrap } from '../../contract';
import type { Result } from '../../contract';
import type { CloudSim } from '../../scripts/cloud-sim';
import { POOL_ENV, functionEnv, startCloud } from '../helpers/cloud';
import type { Bundle } from '../../scripts/lambda/bundle';
import { bundleHandlers } from '../../scripts/lambda/bundle';
import type { FakeSsm } from './fake-ssm';
import { startFakeSsm } from './fake-ssm';
import { run } from '../../scripts/harness';

const root = join(import.meta.dirname, '..', '..');
const SSM_CLIENT = /node_modules\/@aws-sdk\/client-ssm\//;
const YAML = /node_modules\/yaml\//;

const RUNNER = `
const [file, eventsJson] = process.argv.slice(2);
const modules = () => Object.keys(require.cache);
const { handler } = require(file);
const atInit = modules();
(async () => {
  const results = [];
  for (const event of JSON.parse(eventsJson)) results.push(await handler(event, { awsRequestId: 'lazy' }));
  process.stdout.write('\\nLOADED ' + JSON.stringify({ atInit, afterJobs: modules(), results }) + '\\n');
})();
`;

let sim: CloudSim;
let ssm: FakeSsm;
let bundle: Bundle;
let work: string;

before(async () => {
  [sim, ssm, bundle] = await Promise.all([startCloud(), startFakeSsm(), bundleHandlers()]);
  work = mkdtempSync(join(tmpdir(), 'pool-lazy-'));
  writeFileSync(join(work, 'runner.cjs'), RUNNER);
  // As in serverless offline or `invoke local`, the project's node_modules above the bundle
  // (the bundle imports yaml with import(), which NODE_PATH does not reach).
  symlinkSync(join(root, 'node_modules'), join(bundle.dir, 'node_modules'), 'dir');
  // As deployed: the bundle alone.
  mkdirSync(join(work, 'deployed'));
  copyFileSync(bundle.file('buildIp'), join(work, 'deployed', 'buildIp.cjs'));
});
after(async () => {
  await Promise.all([sim.close(), ssm.close()]);
  bundle.remove();
  rmSync(work, { recursive: true, force: true });
});

interface Loaded {
  atInit: string[];
  afterJobs: string[];
  results: Result[];
}

/** One cold start of buildIp with `env` (and only it), one BUILD_IP job; what was loaded when. */
async function coldStart(env: Record<string, string>, file = bundle.file('buildIp')): Promise<Loaded> {
  const events = [wrap({ action: 'BUILD_IP' }, `lazy-${Math.random()}`)];
  const { output, timedOut } = await run(process.execPath, [join(work, 'runner.cjs'), file, JSON.stringify(events)], {
    env: {
      PATH: process.env.PATH ?? '',
      // The runtime's AWS SDK (left out of the bundles) and yaml come from the project.
      NODE_PATH: join(root, 'node_modules'),
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      ...env,
    },
    timeoutMs: 30_000,
  });
  const line = output.split('\n').find((l) => l.startsWith('LOADED '));
  if (!line) throw new Error(`no LOADED line${timedOut ? ' (killed after 30 s)' : ''}:\n${output}`);
  return JSON.parse(line.slice(7)) as Loaded;
}

const has = (modules: string[], pattern: RegExp) => modules.some((m) => pattern.test(m));

async function releaseAll(results: Result[]): Promise<void> {
  const { makeHandler } = await import('../../functions/handlers/make-handler');
  const release = makeHandler('DELETE_IP', { env: () => functionEnv(sim) });
  for (const r of results) assert.equal((await release({ action: 'DELETE_IP', ip: r.ip })).response, 'PASS');
}

test('without a credentials parameter or OS_CLOUD, neither the SSM client nor yaml is ever loaded', async () => {
  const loaded = await coldStart(functionEnv(sim));
  assert.equal(loaded.results[0]?.response, 'PASS', JSON.stringify(loaded.results));
  for (const [when, modules] of [
    ['at init', loaded.atInit],
    ['after a job', loaded.afterJobs],
  ] as const) {
    assert.ok(!has(modules, SSM_CLIENT), `@aws-sdk/client-ssm loaded ${when}`);
    assert.ok(!has(modules, YAML), `yaml loaded ${when}`);
  }
  await releaseAll(loaded.results);
});

test('with a credentials parameter, the SSM client loads for the first job, not at init', async () => {
  const parameter = '/pool-manager/lazy/openstack';
  ssm.parameters.set(parameter, { value: JSON.stringify(sim.env) });
  const loaded = await coldStart({
    ...POOL_ENV,
    OS_CREDENTIALS_PARAMETER: parameter,
    ...ssm.awsEnv,
  });
  assert.equal(loaded.results[0]?.response, 'PASS', JSON.stringify(loaded.results));
  assert.ok(!has(loaded.atInit, SSM_CLIENT), 'not at init');
  assert.ok(has(loaded.afterJobs, SSM_CLIENT), 'loaded to read the parameter');
  assert.deepEqual(ssm.requests.at(-1), { Name: parameter, WithDecryption: true });
  await releaseAll(loaded.results);
});

test('with OS_CLOUD, yaml loads to read clouds.yaml, not at init', async () => {
  const file = join(work, 'clouds.yaml');
  const e = sim.env;
  writeFileSync(
    file,
    [
      'clouds:',
      '  sim:',
      '    auth:',
      `      auth_url: ${e.OS_AUTH_URL}`,
      `      username: ${e.OS_USERNAME}`,
      `      password: ${e.OS_PASSWORD}`,
      `      project_name: ${e.OS_PROJECT_NAME}`,
      '      user_domain_name: Default',
      '      project_domain_name: Default',
      `    region_name: ${e.OS_REGION_NAME}`,
    ].join('\n'),
  );
  const loaded = await coldStart({ ...POOL_ENV, OS_CLOUD: 'sim', OS_CLIENT_CONFIG_FILE: file });
  assert.equal(loaded.results[0]?.response, 'PASS', JSON.stringify(loaded.results));
  assert.ok(!has(loaded.atInit, YAML), 'not at init');
  assert.ok(has(loaded.afterJobs, YAML), 'loaded to read clouds.yaml');
  assert.ok(!has(loaded.afterJobs, SSM_CLIENT));
  await releaseAll(loaded.results);
});

test('packaged without yaml (as deployed), OS_CLOUD fails the job saying what to do instead', async () => {
  // The bundle alone, as in Lambda, where serverless.yml leaves yaml out.
  const loaded = await coldStart(
    { ...POOL_ENV, OS_CLOUD: 'sim', OS_CLIENT_CONFIG_FILE: join(work, 'clouds.yaml') },
    join(work, 'deployed', 'buildIp.cjs'),
  );
  assert.equal(loaded.results[0]?.response, 'FAIL');
  assert.match(
    String(loaded.results[0]?.error),
    /^OS_CLOUD is set, but this function was packaged without a clouds\.yaml reader \(the yaml package\): a deployed function takes its OS_\* variables from the SSM parameter/,
  );
  assert.ok(!String(loaded.results[0]?.error).includes(sim.env.OS_PASSWORD ?? '<none>'));
});
