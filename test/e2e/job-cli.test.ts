/**
 * The operator CLI (`npm run job`, scripts/job) against a running fleet: what it prints,
 * its exit status (0 PASS, 1 FAIL or no result, 2 usage), the POOL_GEARMAN default, the
 * unique id, and the spinner, which only a terminal gets.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Fleet } from '../../scripts/fleet';
import { ROOT } from '../../scripts/fleet';
import { startTestFleet } from './helpers';
import type { RunResult } from '../../scripts/harness';
import { freePort, run } from '../../scripts/harness';

const JOB = ['--import', 'tsx', 'scripts/job/main.ts'];
const ESC = String.fromCharCode(27);
let fleet: Fleet;

before(async () => {
  fleet = await startTestFleet();
});

after(async () => {
  await fleet?.stop();
});

/** The job CLI, run as node runs it for `npm run job` (without npm's own output). */
function job(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const base = { ...process.env };
  delete base.POOL_GEARMAN;
  return run(process.execPath, [...JOB, ...args], { cwd: ROOT, env: { ...base, ...env }, timeoutMs: 60_000 });
}

/** "  key   value" lines of the pretty output. */
function fields(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of stdout.matchAll(/^ {2}(\S+) +(.*)$/gm)) out[m[1] ?? ''] = m[2] ?? '';
  return out;
}

describe('usage errors exit 2 and send nothing', { concurrency: true }, () => {
  const cases: [string, string[], RegExp][] = [
    ['no action', [], /no action given/],
    [
      'an unknown action',
      ['BUILD_EVERYTHING'],
      /unknown action "BUILD_EVERYTHING"; expected one of BUILD_DEVICE, DELETE_DEVICE/,
    ],
    ['a missing field', ['ASSIGN_IP', 'ip=1.2.3.4'], /ASSIGN_IP needs name=\.\.\./],
    ['a bad field', ['DELETE_IP', 'ip'], /expected field=value/],
    ['--data that is not JSON', ['--data', '{"action": "BUILD_IP",}'], /--data is not valid JSON/],
    ['--data that is not an object', ['--data', '[1]'], /--data must be a JSON object/],
    [
      'gearman -h habits',
      ['-h', '127.0.0.1', 'BUILD_IP'],
      /Unknown option '-h' \(the job server is --gearman HOST:PORT\)/,
    ],
    ['a bad --gearman', ['--gearman', 'host:port', 'BUILD_IP'], /--gearman "host:port": port must be a number/],
    ['a bad --timeout', ['--timeout', 'soon', 'BUILD_IP'], /--timeout needs a positive number of seconds/],
  ];
  for (const [what, args, error] of cases) {
    test(what, async () => {
      const r = await job(['--gearman', fleet.gearman, ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, error);
      assert.match(r.stderr, /Try: npm run job -- --help/);
      assert.equal(r.stdout, '');
    });
  }

  test('--help exits 0 and lists the actions and options', async () => {
    const r = await job(['--help']);
    assert.equal(r.code, 0);
    for (const word of [
      'BUILD_DEVICE',
      'DELETE_DEVICE',
      'BUILD_IP',
      'ASSIGN_IP',
      'REMOVE_IP',
      'DELETE_IP',
      '--gearman',
      '--unique',
      '--data',
      '--timeout',
      'POOL_GEARMAN',
    ]) {
      assert.ok(r.stdout.includes(word), `help mentions ${word}`);
    }
  });
});

describe('against the fleet', () => {
  let name = '';
  let ip = '';

  test('npm run job -- --gearman ADDR BUILD_DEVICE, as the banner says: PASS and the device fields', async () => {
    const r = await run('npm', ['run', '-s', 'job', '--', '--gearman', fleet.gearman, 'BUILD_DEVICE'], {
      cwd: ROOT,
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^PASS {2}BUILD_DEVICE {2}\(\d+\.\d s\)\n/);
    const f = fields(r.stdout);
    assert.match(f.name ?? '', /^libra-stg-haproxy-[0-9a-f-]{36}$/);
    assert.equal(f.type, 'basename: libra-stg-haproxy, image: haproxy-lb');
    assert.equal(f.az, '3');
    assert.match(
      r.stdout,
      new RegExp(`\\njob H:\\S+ on ${fleet.gearman.replace(/\./g, '\\.')}, unique [0-9a-f-]{36}\\n$`),
    );
    assert.ok(!r.stdout.includes(ESC), 'no escape codes when stdout is not a terminal');
    name = f.name ?? '';
    assert.ok(fleet.cloud?.servers().some((s) => s.name === name && s.status === 'ACTIVE'));
  });

  test('POOL_GEARMAN is the default job server; --json prints the result as is', async () => {
    const r = await job(['--json', 'BUILD_IP'], { POOL_GEARMAN: fleet.gearman });
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(result.action, 'BUILD_IP');
    assert.equal(result.response, 'PASS');
    ip = String(result.ip);
    assert.ok(fleet.cloud?.floatingIps().some((f) => f.address === ip));
  });

  test('ASSIGN_IP, REMOVE_IP with field=value; a FAIL exits 1 and shows the error first', async () => {
    const assign = await job(['--gearman', fleet.gearman, 'ASSIGN_IP', `ip=${ip}`, `name=${name}`]);
    assert.equal(assign.code, 0, assign.stdout + assign.stderr);
    assert.match(assign.stdout, /^PASS {2}ASSIGN_IP /);
    assert.deepEqual(fields(assign.stdout), { ip, name });

    const wrong = await job([
      '--gearman',
      fleet.gearman,
      'REMOVE_IP',
      `ip=${ip}`,
      'name=libra-stg-haproxy-not-this-one',
    ]);
    assert.equal(wrong.code, 1, wrong.stdout + wrong.stderr);
    assert.match(wrong.stdout, /^FAIL {2}REMOVE_IP .*\n {2}error +\S.*\n {2}ip +/);
    assert.deepEqual(
      fleet.cloud?.servers().find((s) => s.name === name)?.floatingIps,
      [ip],
      'the address stays where it was',
    );

    const remove = await job(['--gearman', fleet.gearman, 'remove_ip', `ip=${ip}`, `name=${name}`]);
    assert.equal(remove.code, 0, remove.stdout + remove.stderr);
    assert.match(remove.stdout, /^PASS {2}REMOVE_IP /);
  });

  test('--data and --unique: the same unique id twice returns the same IP', async () => {
    const unique = `job-cli-${randomUUID()}`;
    const before = fleet.cloud?.counts().floatingIps ?? 0;
    const a = await job(['--gearman', fleet.gearman, '--unique', unique, '--json', '--data', '{"action": "BUILD_IP"}']);
    const b = await job(['--gearman', fleet.gearman, '--unique', unique, '--json', '--data', '{"action": "BUILD_IP"}']);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.stdout, a.stdout);
    assert.equal(fleet.cloud?.counts().floatingIps, before + 1);
    const again = JSON.parse(a.stdout) as { ip: string };
    assert.equal((await job(['--gearman', fleet.gearman, 'DELETE_IP', `ip=${again.ip}`])).code, 0);
  });

  test('DELETE_IP and DELETE_DEVICE clean up: the simulator is empty', async () => {
    assert.equal((await job(['--gearman', fleet.gearman, 'DELETE_IP', `ip=${ip}`])).code, 0);
    const r = await job(['--gearman', fleet.gearman, 'DELETE_DEVICE', `name=${name}`]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^PASS {2}DELETE_DEVICE /);
    const counts = fleet.cloud?.counts();
    assert.deepEqual([counts?.servers, counts?.floatingIps], [0, 0]);
  });

  test(
    'a terminal gets a spinner with the elapsed time, then the result',
    { skip: !hasScript() && 'no `script` command for a pseudo-terminal' },
    async () => {
      const command = [process.execPath, ...JOB, '--gearman', fleet.gearman, 'BUILD_DEVICE', 'x=1'].join(' ');
      const r = await run('script', ['-qec', command, '/dev/null'], { cwd: ROOT, timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stdout);
      assert.match(r.stdout, /⠋ BUILD_DEVICE (submitting to|job H:\S+ on) 127\.0\.0\.1:\d+ · \d+\.\d s/);
      assert.match(r.stdout, new RegExp(`${ESC}\\[2K.*PASS.*BUILD_DEVICE`));
      const name = /name +(\S+)/.exec(r.stdout)?.[1] ?? '';
      assert.equal((await job(['--gearman', fleet.gearman, 'DELETE_DEVICE', `name=${name}`])).code, 0);
    },
  );
});

describe('when no result comes', { concurrency: true }, () => {
  test('nothing listens: exit 1 naming the address', async () => {
    const port = await freePort();
    const r = await job(['--gearman', `127.0.0.1:${port}`, 'BUILD_IP']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`cannot connect to the job server at 127\\.0\\.0\\.1:${port}: connection refused`),
    );
  });

  test('no worker for the function: a warning, then exit 1 after --timeout with the unique id to resubmit', async () => {
    const r = await job([
      '--gearman',
      fleet.gearman,
      '--function',
      'nobody_serves_this',
      '--timeout',
      '1',
      '--unique',
      'u-42',
      'BUILD_IP',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no worker has registered nobody_serves_this/);
    assert.match(r.stderr, /no result within 1\.0 s; job H:\S+ may still be running; resubmit with --unique u-42/);
  });
});

function hasScript(): boolean {
  return spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
}
