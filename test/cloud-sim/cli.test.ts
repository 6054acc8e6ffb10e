import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { Child } from '../../scripts/harness';
import { spawnChild, until } from '../../scripts/harness';
import { passwordAuth } from './helpers';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXPORT_LINES = 9;

/** `npx tsx scripts/cloud-sim/main.ts ARGS`, as the README runs it; every line of output kept. */
function runCli(args: string[]): Child {
  return spawnChild({
    name: 'cloud-sim',
    command: 'npx',
    args: ['tsx', 'scripts/cloud-sim/main.ts', ...args],
    cwd: REPO_ROOT,
    keepOutput: 'all',
  });
}

test('CLI prints the export lines first, serves, and exits 0 on SIGTERM', async () => {
  const cli = runCli(['--port', '0', '--boot-delay-ms', '10', '--availability-zones', 'nova,az-2']);
  let simPid: number | undefined;
  try {
    await until(
      () =>
        cli
          .output('stdout')
          .split('\n')
          .filter((l) => l.startsWith('export ')).length >= EXPORT_LINES,
      'export lines',
      15_000,
    );
    const lines = cli.output('stdout').trimEnd().split('\n');
    assert.equal(lines.length, EXPORT_LINES, 'nothing but the exports on stdout');
    for (const line of lines) assert.match(line, /^export OS_[A-Z_]+='[^']*'$/);
    const env = Object.fromEntries(lines.map((line) => /^export (\w+)='(.*)'$/.exec(line)?.slice(1, 3) ?? []));
    assert.equal(env.OS_IDENTITY_API_VERSION, '3');
    assert.match(env.OS_AUTH_URL ?? '', /^http:\/\/127\.0\.0\.1:\d+\/identity\/v3$/);

    const version = await fetch(env.OS_AUTH_URL ?? '');
    assert.equal(version.status, 200);
    assert.equal(((await version.json()) as { version: { id: string } }).version.id, 'v3.14');
    const auth = await fetch(`${env.OS_AUTH_URL}/auth/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(passwordAuth(env.OS_PASSWORD)),
    });
    const zones = await fetch(`${env.OS_AUTH_URL?.replace('/identity/v3', '/compute/v2.1')}/os-availability-zone`, {
      headers: { 'X-Auth-Token': auth.headers.get('x-subject-token') ?? '' },
    });
    const info = ((await zones.json()) as { availabilityZoneInfo: { zoneName: string }[] }).availabilityZoneInfo;
    assert.deepEqual(
      info.map((zone) => zone.zoneName),
      ['nova', 'az-2'],
      '--availability-zones',
    );

    await until(() => /pid (\d+) listening/.test(cli.output('stderr')), 'pid on stderr', 15_000);
    simPid = Number(/pid (\d+) listening/.exec(cli.output('stderr'))?.[1]);
    process.kill(simPid, 'SIGTERM');
    const exit = await cli.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(cli.output('stderr'), /stopped/);
    await assert.rejects(fetch(env.OS_AUTH_URL ?? ''), 'the port is closed');
  } finally {
    if (cli.alive()) {
      if (simPid !== undefined) process.kill(simPid, 'SIGKILL');
      cli.signal('SIGKILL');
    }
  }
});

test('CLI refuses a non-loopback host and documents its options', async () => {
  const refused = runCli(['--host', '0.0.0.0']);
  const refusedExit = await refused.exited;
  assert.equal(refusedExit.code, 2);
  assert.match(refused.output('stderr'), /loopback/);
  assert.equal(refused.output('stdout'), '');

  const help = runCli(['--help']);
  assert.equal((await help.exited).code, 0);
  for (const option of ['--port', '--host', '--boot-delay-ms', '--no-network-service', '--help']) {
    assert.ok(help.output('stdout').includes(option), `--help mentions ${option}`);
  }
});
