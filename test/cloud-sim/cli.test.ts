import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { passwordAuth } from './helpers';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXPORT_LINES = 9;

function runCli(args: string[]): { child: ChildProcess; stdout: () => string; stderr: () => string } {
  const child = spawn('npx', ['tsx', 'scripts/cloud-sim/main.ts', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { child, stdout: () => out, stderr: () => err };
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
}

test('CLI prints the export lines first, serves, and exits 0 on SIGTERM', async () => {
  const cli = runCli(['--port', '0', '--boot-delay-ms', '10', '--availability-zones', 'nova,az-2']);
  let simPid: number | undefined;
  try {
    await until(
      () =>
        cli
          .stdout()
          .split('\n')
          .filter((l) => l.startsWith('export ')).length >= EXPORT_LINES,
      'export lines',
    );
    const lines = cli.stdout().trimEnd().split('\n');
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

    await until(() => /pid (\d+) listening/.test(cli.stderr()), 'pid on stderr');
    simPid = Number(/pid (\d+) listening/.exec(cli.stderr())?.[1]);
    process.kill(simPid, 'SIGTERM');
    const exit = await exitOf(cli.child);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(cli.stderr(), /stopped/);
    await assert.rejects(fetch(env.OS_AUTH_URL ?? ''), 'the port is closed');
  } finally {
    if (cli.child.exitCode === null && cli.child.signalCode === null) {
      if (simPid !== undefined) process.kill(simPid, 'SIGKILL');
      cli.child.kill('SIGKILL');
    }
  }
});

test('CLI refuses a non-loopback host and documents its options', async () => {
  const refused = runCli(['--host', '0.0.0.0']);
  const refusedExit = await exitOf(refused.child);
  assert.equal(refusedExit.code, 2);
  assert.match(refused.stderr(), /loopback/);
  assert.equal(refused.stdout(), '');

  const help = runCli(['--help']);
  assert.equal((await exitOf(help.child)).code, 0);
  for (const option of [
    '--port',
    '--host',
    '--boot-delay-ms',
    '--availability-zones',
    '--no-network-service',
    '--help',
  ]) {
    assert.ok(help.stdout().includes(option), `--help mentions ${option}`);
  }
});
