/**
 * The bridge as a service: the systemd unit restarts on failure but not on a configuration
 * error, runs as its own user with the hardening options, waits longer than the drain on
 * stop, and passes `systemd-analyze verify` (where systemd-analyze exists); the example
 * configuration loads and leaves the timeouts to contract/deadlines.json.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { DEFAULTS, loadConfig } from '../../bridge/config';
import { root } from './package';

const UNIT = join(root, 'bridge', 'pool-bridge.service');
const EXAMPLE = join(root, 'bridge', 'pool-bridge.example.yaml');

/** Section name to key to every value the key has (systemd allows repeating a key). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const sections: Record<string, Record<string, string[]>> = {};
  let current: Record<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = sections[header[1]!] = {};
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current && eq > 0, `unparsable line: ${line}`);
    (current[line.slice(0, eq)] ??= []).push(line.slice(eq + 1));
  }
  return sections;
}

const seconds = (value: string) => {
  const match = /^(\d+)(s|min)?$/.exec(value);
  assert.ok(match, value);
  return Number(match[1]) * (match[2] === 'min' ? 60 : 1);
};

test('the unit restarts on failure, runs unprivileged and hardened, and outlasts the drain', () => {
  const unit = parseUnit(readFileSync(UNIT, 'utf8'));
  const service = unit.Service ?? {};
  const one = (key: string) => {
    assert.equal(service[key]?.length, 1, key);
    return service[key]![0]!;
  };
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('RestartPreventExitStatus'), '2', 'exit 2 is a configuration error: restarting will not fix it');
  assert.equal(one('User'), 'pool-bridge');
  assert.equal(one('Group'), 'pool-bridge');
  // The built file, alone: the VM needs Node.js and nothing else.
  assert.match(one('ExecStart'), /^\/usr\/bin\/node \/opt\/pool-bridge\/pool-bridge\.mjs$/);
  assert.equal(one('KillSignal'), 'SIGTERM');
  assert.equal(one('KillMode'), 'mixed');
  assert.ok(seconds(one('TimeoutStopSec')) > DEFAULTS.drainTimeoutMs / 1000, 'SIGKILL only after the drain timeout');
  assert.deepEqual(service.EnvironmentFile, ['-/etc/pool-bridge/env']);
  for (const [key, value] of Object.entries({
    NoNewPrivileges: 'yes',
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    ProtectKernelTunables: 'yes',
    ProtectKernelModules: 'yes',
    ProtectControlGroups: 'yes',
    RestrictSUIDSGID: 'yes',
    LockPersonality: 'yes',
    CapabilityBoundingSet: '',
    SystemCallArchitectures: 'native',
  })) {
    assert.equal(one(key), value, key);
  }
  assert.ok(!('MemoryDenyWriteExecute' in service), "V8's JIT needs writable executable memory");
  for (const environment of service.Environment ?? [])
    assert.doesNotMatch(environment, /SECRET|PASSWORD|AWS_ACCESS_KEY|AWS_SECRET/);
  assert.deepEqual(unit.Install?.WantedBy, ['multi-user.target']);
  assert.ok(unit.Unit?.After?.[0]?.includes('network-online.target'));
});

test('systemd-analyze verifies the unit and rates its exposure OK', async (t) => {
  const run = promisify(execFile);
  try {
    await run('systemd-analyze', ['--version']);
  } catch {
    t.skip('systemd-analyze is not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'pool-bridge-unit-'));
  try {
    // The same unit with this machine's node, so verify checks the unit, not the install.
    const file = join(dir, 'pool-bridge.service');
    writeFileSync(file, readFileSync(UNIT, 'utf8').replace('ExecStart=/usr/bin/node', `ExecStart=${process.execPath}`));
    const verify = await run('systemd-analyze', ['verify', file]).catch((error: { stderr?: string }) => ({
      stderr: `FAILED ${error.stderr}`,
    }));
    assert.equal(verify.stderr.trim(), '', verify.stderr);
    const security = await run('systemd-analyze', ['security', '--offline=true', '--no-pager', file]).catch(
      () => undefined,
    );
    if (!security) {
      t.diagnostic('systemd-analyze security --offline is not supported here (systemd < 250)');
      return;
    }
    const exposure = /Overall exposure level for pool-bridge\.service: ([\d.]+)/.exec(security.stdout);
    assert.ok(exposure, security.stdout.slice(-300));
    t.diagnostic(`systemd-analyze security: exposure ${exposure[1]}`);
    assert.ok(Number(exposure[1]) <= 2, `exposure ${exposure[1]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the example configuration loads and leaves the timeouts to contract/deadlines.json', () => {
  const loaded = loadConfig(['--config', EXAMPLE], {});
  assert.equal(loaded.kind, 'run');
  if (loaded.kind !== 'run') return;
  const { config, warnings } = loaded;
  assert.ok(config.servers.length >= 2, 'the example shows several job servers');
  assert.match(config.functionPrefix, /^pool-manager-[a-z0-9-]+-$/);
  assert.equal(config.invokeTimeoutMs, DEFAULTS.invokeTimeoutMs);
  assert.equal(config.drainTimeoutMs, DEFAULTS.drainTimeoutMs);
  assert.deepEqual(config.health, { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(warnings, []);
});
