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
  FUNCTION_LIMITS,
  LAMBDA_MAX_TIMEOUT_SECONDS,
  defaultInvokeTimeoutSeconds,
  longestFunctionTimeoutSeconds,
  reserveMs,
} from '../../contract';
import { makeHandler } from '../../functions/handlers/make-handler';
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
  assert.ok(CLEANUP_RESERVE_MS >= 60_000, 'room for a poll, a lookup and a DELETE at 30 s each');
  assert.equal(loadPoolSettings({ POOL_IMAGE: 'i', POOL_FLAVOR: 'f' }).buildDeadlineMs, BUILD_DEADLINE_SECONDS * 1000);
  // buildDevice keeps the whole reserve; a short function a quarter of its timeout, never all of it.
  assert.equal(reserveMs('buildDevice'), CLEANUP_RESERVE_MS);
  for (const name of Object.values(ACTIONS))
    assert.ok(reserveMs(name) > 0 && reserveMs(name) <= (FUNCTION_LIMITS[name].timeout * 1000) / 4, name);
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

test('a handler keeps the cleanup reserve from Lambda remaining time, whatever the build deadline says', async () => {
  const env = functionEnv(sim, { POOL_BUILD_DEADLINE_SECONDS: '3600', POWERTOOLS_LOG_LEVEL: 'SILENT' });
  const handler = makeHandler('BUILD_DEVICE', { env: () => env });
  const invokedAt = Date.now();
  // Lambda says 400 ms are left beyond the reserve: the build must give up after ~400 ms, not an hour.
  const result = await handler(wrap({ action: 'BUILD_DEVICE' }, 'reserve-1'), {
    awsRequestId: 'r1',
    getRemainingTimeInMillis: () => CLEANUP_RESERVE_MS + 400 - (Date.now() - invokedAt),
  });
  assert.equal(result.response, 'FAIL');
  assert.match(String(result.error), /not ACTIVE after \d+ s, the build deadline .*; the server was deleted$/);
  assert.ok(Date.now() - invokedAt < 10_000);
  assert.equal(sim.counts().servers, 0);
});
