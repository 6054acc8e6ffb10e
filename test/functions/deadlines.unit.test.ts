/**
 * contract/deadlines.json is the one source of truth for time limits: its numbers agree
 * with each other and with Lambda's limit, serverless.yml and pool-bridge read them rather
 * than repeating them, and a handler keeps the cleanup reserve from Lambda's remaining time.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { DEFAULTS as BRIDGE_DEFAULTS } from '../../bridge/config';
import { POOL_SETTINGS_HELP, loadPoolSettings } from '../../functions/config';
import {
  ACTIONS,
  wrap,
  BRIDGE_MARGIN_SECONDS,
  BUILD_DEADLINE_SECONDS,
  CLEANUP_RESERVE_MS,
  DEFAULT_REQUEST_POLICY,
  FUNCTION_LIMITS,
  LAMBDA_MAX_TIMEOUT_SECONDS,
  defaultInvokeTimeoutSeconds,
  longestFunctionTimeoutSeconds,
  reserveMs,
  cleanupReserveMs,
} from '../../contract';
import deadlines from '../../contract/deadlines.json';
import { loadCloudSettings } from '../../functions/config';
import { DEFAULT_RETRY_MAX_DELAY_MS } from '../../functions/openstack/http';
import { makeHandler } from '../../functions/handlers/make-handler';
import { SECRET_VARIABLES } from '../../functions/secrets';
import type { CloudSim } from '../../scripts/cloud-sim';
import { functionEnv, startCloud } from '../helpers/cloud';

const root = join(import.meta.dirname, '..', '..');

interface ServerlessYaml {
  params: { default: Record<string, unknown> };
  provider: { environment: Record<string, string> };
  custom: { deadlines: string };
  functions: Record<string, { timeout: unknown; memorySize: unknown }>;
}

test('the deadlines agree with each other and with Lambda', () => {
  assert.equal(LAMBDA_MAX_TIMEOUT_SECONDS, 900);
  assert.deepEqual(Object.keys(FUNCTION_LIMITS).sort(), Object.values(ACTIONS).sort());
  for (const [name, limits] of Object.entries(FUNCTION_LIMITS)) {
    assert.ok(
      Number.isInteger(limits.timeout) && limits.timeout >= 30 && limits.timeout <= LAMBDA_MAX_TIMEOUT_SECONDS,
      name,
    );
    assert.ok(Number.isInteger(limits.memorySize) && limits.memorySize >= 128 && limits.memorySize <= 10_240, name);
  }
  // The build waits until the deadline, then the reserve remains to delete a failed build.
  assert.equal(BUILD_DEADLINE_SECONDS * 1000 + CLEANUP_RESERVE_MS, FUNCTION_LIMITS.buildDevice.timeout * 1000);
  assert.equal(loadPoolSettings({ POOL_IMAGE: 'i', POOL_FLAVOR: 'f' }).buildDeadlineMs, BUILD_DEADLINE_SECONDS * 1000);
  // buildDevice keeps the whole reserve; a short function a quarter of its timeout, never all of it.
  assert.equal(reserveMs('buildDevice'), CLEANUP_RESERVE_MS);
  for (const name of Object.values(ACTIONS).filter((fn) => fn !== 'buildDevice'))
    assert.ok(reserveMs(name) > 0 && reserveMs(name) <= (FUNCTION_LIMITS[name].timeout * 1000) / 4, name);
});

test('the cleanup reserve covers the worst case of the retry policy: a token and a DELETE, every attempt timing out', () => {
  // The client's defaults are the policy the reserve is sized from.
  const cloud = loadCloudSettings({
    OS_AUTH_URL: 'http://127.0.0.1:1/v3',
    OS_USERNAME: 'u',
    OS_PASSWORD: 'p',
    OS_PROJECT_NAME: 'x',
  });
  assert.deepEqual(
    { timeoutMs: cloud.requestTimeoutMs, retries: cloud.retries, retryMaxDelayMs: DEFAULT_RETRY_MAX_DELAY_MS },
    DEFAULT_REQUEST_POLICY,
  );
  // Worked by hand: each request is 1 + 3 attempts of 30 s and 3 pauses of at most 5 s = 135 s.
  const oneRequestMs = 4 * 30_000 + 3 * 5_000;
  assert.ok(CLEANUP_RESERVE_MS >= 2 * oneRequestMs, `reserve ${CLEANUP_RESERVE_MS} ms < a token and a DELETE at worst`);
  assert.equal(CLEANUP_RESERVE_MS, 2 * oneRequestMs + deadlines.answerMarginSeconds * 1000);
  // A slower policy keeps a larger reserve; a cloud answering within 1 s with no retries a small one.
  assert.equal(
    cleanupReserveMs({ timeoutMs: 60_000, retries: 3, retryMaxDelayMs: 5_000 }),
    2 * (4 * 60_000 + 3 * 5_000) + 5_000,
  );
  assert.equal(cleanupReserveMs({ timeoutMs: 1_000, retries: 0, retryMaxDelayMs: 5_000 }), 2 * 1_000 + 5_000);
  assert.equal(reserveMs('buildDevice', { timeoutMs: 60_000, retries: 3, retryMaxDelayMs: 5_000 }), 515_000);
});

test("pool-bridge's default invoke and drain timeouts are the longest function timeout plus the margin", () => {
  assert.equal(longestFunctionTimeoutSeconds(), 900);
  assert.equal(defaultInvokeTimeoutSeconds(), 900 + BRIDGE_MARGIN_SECONDS);
  assert.equal(BRIDGE_DEFAULTS.invokeTimeoutMs, defaultInvokeTimeoutSeconds() * 1000);
  assert.equal(BRIDGE_DEFAULTS.drainTimeoutMs, defaultInvokeTimeoutSeconds() * 1000);
});

test('serverless.yml takes every timeout and memory size from deadlines.json, and every setting as a parameter', () => {
  const config = parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as ServerlessYaml;
  assert.equal(config.custom.deadlines, '${file(./contract/deadlines.json)}');
  assert.deepEqual(Object.keys(config.functions).sort(), Object.values(ACTIONS).sort());
  for (const name of Object.keys(config.functions)) {
    assert.equal(config.functions[name]?.timeout, `\${self:custom.deadlines.functions.${name}.timeout}`);
    assert.equal(config.functions[name]?.memorySize, `\${self:custom.deadlines.functions.${name}.memorySize}`);
  }
  for (const setting of Object.keys(POOL_SETTINGS_HELP)) {
    // A secret setting comes from the SSM parameter in a deployed stage, never the environment.
    if ((SECRET_VARIABLES as readonly string[]).includes(setting)) {
      assert.ok(!(setting in config.provider.environment) && !(setting in config.params.default), setting);
      continue;
    }
    assert.equal(config.provider.environment[setting], `\${param:${setting}}`, setting);
    assert.ok(setting in config.params.default, setting);
  }
  assert.equal(
    config.params.default.POOL_BUILD_DEADLINE_SECONDS,
    '${env:POOL_BUILD_DEADLINE_SECONDS, self:custom.deadlines.buildDeadlineSeconds}',
  );
  assert.ok(
    !Object.keys(config.provider.environment).some((name) =>
      ['OS_PASSWORD', 'OS_APPLICATION_CREDENTIAL_SECRET'].includes(name),
    ),
  );
});

// ------------------------------------------------------------ the handler's own budget

let sim: CloudSim;
before(async () => {
  sim = await startCloud({ bootDelayMs: 60_000 });
});
after(() => sim.close());

test('a handler keeps the cleanup reserve of its request policy from Lambda remaining time, whatever the build deadline says', async () => {
  const env = functionEnv(sim, { POOL_BUILD_DEADLINE_SECONDS: '3600', POWERTOOLS_LOG_LEVEL: 'SILENT' });
  const handler = makeHandler('BUILD_DEVICE', { env: () => env });
  const invokedAt = Date.now();
  // The test environment's policy: OS_REQUEST_TIMEOUT_MS 5000, 3 retries.
  const reserve = reserveMs('buildDevice', { ...DEFAULT_REQUEST_POLICY, timeoutMs: Number(env.OS_REQUEST_TIMEOUT_MS) });
  // Lambda says 400 ms are left beyond the reserve: the build must give up after ~400 ms, not an hour.
  const result = await handler(wrap({ action: 'BUILD_DEVICE' }, 'reserve-1'), {
    awsRequestId: 'r1',
    getRemainingTimeInMillis: () => reserve + 400 - (Date.now() - invokedAt),
  });
  assert.equal(result.response, 'FAIL');
  assert.match(String(result.error), /not ACTIVE after \d+ s, the build deadline .*; the server was deleted$/);
  assert.ok(Date.now() - invokedAt < 10_000);
  assert.equal(sim.counts().servers, 0);
});
