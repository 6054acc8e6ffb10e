/**
 * The README's quick start, as a newcomer types it: `npm start` (after
 * `bash scripts/setup.sh`, which is not rerun here: it may reinstall node_modules), wait
 * for the banner, paste the gearman command it prints into a shell, see PASS, press Ctrl-C
 * (SIGINT to the whole foreground process group, as a terminal does), and nothing that was
 * started is left running.
 *
 * README_FILE=path checks another copy of the README (e.g. a draft).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../../scripts/fleet';
import { findPrometheus, prometheusApi } from '../../scripts/fleet/prometheus';
import { groupAlive, pidAlive, run, signalGroup, until } from '../../scripts/harness';
import { cleanEnv } from './helpers';

const README = process.env.README_FILE ?? path.join(ROOT, 'README.md');

/** The indented (Markdown code) lines of the README. */
function readmeCommands(): string[] {
  return fs
    .readFileSync(README, 'utf8')
    .split('\n')
    .filter((line) => /^ {4}\S/.test(line))
    .map((line) => line.trim());
}

test('the README quick start: bash scripts/setup.sh && npm start', () => {
  const commands = readmeCommands();
  assert.ok(
    commands.includes('bash scripts/setup.sh && npm start'),
    `${README} shows "bash scripts/setup.sh && npm start" as a command`,
  );
  assert.ok(
    commands.some((c) => /^gearman -h 127\.0\.0\.1 -p \S+ -f libra_pool_mgm '\{"action":"BUILD_DEVICE"\}'$/.test(c)),
    `${README} shows the gearman command the banner prints`,
  );
  assert.ok(
    commands.some((c) => /^npm run job -- /.test(c)),
    `${README} shows the job CLI`,
  );
});

test(
  'npm start: the banner, its gearman command gives PASS, Ctrl-C leaves nothing running',
  { timeout: 180_000 },
  async (t) => {
    // A newcomer's shell: no cloud, no fleet settings.
    const env = cleanEnv();
    const npm = spawn('npm', ['start'], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const pgid = npm.pid;
    assert.ok(pgid, 'npm started');
    let stdout = '';
    let stderr = '';
    npm.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      npm.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const pids: number[] = [];
    t.after(() => {
      // Only if an assertion failed half way: stop by PID whatever is left.
      for (const pid of [pgid, ...pids]) signalGroup(pid, 'SIGKILL');
    });

    await until(
      () => /^try:\n(.+\n){3}/m.test(stdout) || npm.exitCode !== null,
      'the banner of npm start',
      150_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    });
    assert.equal(npm.exitCode, null, `npm start exited early:\n${stdout}\n${stderr}`);

    const banner = stdout.slice(stdout.indexOf('pool manager fleet is up'));
    t.diagnostic(banner);
    assert.match(banner, /^pool manager fleet is up \(Ctrl-C stops it\)\n/);
    assert.ok(banner.trimEnd().split('\n').length <= 12, 'the banner is short');
    const gearmand = /^ {2}gearmand +127\.0\.0\.1:(\d+) \(pid (\d+)\)$/m.exec(banner);
    const functions = /^ {2}functions +http:\/\/127\.0\.0\.1:\d+ \(serverless offline, pid (\d+)\)$/m.exec(banner);
    const cloud =
      /^ {2}cloud simulator +(http:\/\/127\.0\.0\.1:\d+) \(OS_AUTH_URL=http:\/\/127\.0\.0\.1:\d+\/identity\/v3\)$/m.exec(
        banner,
      );
    const bridge = /^ {2}bridge +pid (\d+), health (http:\/\/127\.0\.0\.1:\d+\/healthz)$/m.exec(banner);
    const logs = /^ {2}logs +(\S+)$/m.exec(banner);
    assert.ok(gearmand && functions && cloud && bridge && logs, `every part is in the banner:\n${banner}`);
    pids.push(Number(gearmand[2]), Number(functions[1]), Number(bridge[1]));
    assert.equal((await fetch(bridge[2] ?? '')).status, 200, 'the bridge is connected');

    // With Debian's prometheus installed, the fleet runs it: it scrapes the bridge with the
    // project's alert rules, and on a healthy idle fleet no alert is pending or firing.
    if (findPrometheus(env)) {
      const prometheus = /^ {2}prometheus +(http:\/\/127\.0\.0\.1:\d+) \(pid (\d+), alerts at (\S+)\)$/m.exec(banner);
      assert.ok(prometheus, `the banner has Prometheus' URL:\n${banner}`);
      const url = prometheus[1] ?? '';
      assert.equal(prometheus[3], `${url}/alerts`);
      pids.push(Number(prometheus[2]));
      const api = prometheusApi(url);
      const metricsUrl = (bridge[2] ?? '').replace(/\/healthz$/, '/metrics');
      let scrapedAt = 0;
      await until(
        async () => {
          const target = (await api.targets()).find((t) => t.scrapeUrl === metricsUrl && t.health === 'up');
          scrapedAt = target ? Date.parse(target.lastScrape) : 0;
          return target !== undefined;
        },
        `Prometheus scraping ${metricsUrl}`,
        30_000,
      );
      // Once the rules have been evaluated on what was scraped, nothing is pending or firing.
      await until(
        async () => Date.parse((await api.ruleGroups())[0]?.lastEvaluation ?? '') > scrapedAt,
        'an evaluation of the rules after the first scrape',
        30_000,
      );
      const groups = await api.ruleGroups();
      assert.deepEqual(
        groups.map((g) => path.relative(ROOT, g.file)),
        ['ops/prometheus/alerts.yml'],
      );
      assert.ok((groups[0]?.rules.length ?? 0) >= 8, 'the alert rules are loaded');
      assert.deepEqual(await api.alerts(), [], 'no alert on a healthy idle fleet');
    } else {
      assert.match(banner, /^ {2}prometheus +not installed: sudo apt-get install prometheus/m);
    }
    for (const pid of pids) assert.ok(pidAlive(pid), `pid ${pid} runs`);

    // Paste the banner's commands into a shell.
    const gearmanLine = /^ {2}(gearman -h .*)$/m.exec(banner)?.[1];
    assert.equal(gearmanLine, `gearman -h 127.0.0.1 -p ${gearmand[1]} -f libra_pool_mgm '{"action":"BUILD_DEVICE"}'`);
    const built = await run('sh', ['-c', gearmanLine], { cwd: ROOT, timeoutMs: 60_000 });
    assert.equal(built.code, 0, built.stderr);
    const result = JSON.parse(built.stdout) as Record<string, unknown>;
    t.diagnostic(`$ ${gearmanLine}\n${built.stdout}`);
    assert.equal(result.action, 'BUILD_DEVICE');
    assert.equal(result.response, 'PASS', built.stdout);
    assert.match(String(result.name), /^libra-stg-haproxy-[0-9a-f-]{36}$/);
    assert.equal(result.type, 'basename: libra-stg-haproxy, image: haproxy-lb');
    assert.equal(result.az, '3');

    const jobLine = /^ {2}(npm run job -- .*)$/m.exec(banner)?.[1];
    assert.equal(jobLine, `npm run job -- --gearman 127.0.0.1:${gearmand[1]} BUILD_DEVICE`);
    const jobDelete = await run(
      'sh',
      ['-c', `npm run job -- --gearman 127.0.0.1:${gearmand[1]} DELETE_DEVICE name=${String(result.name)}`],
      { cwd: ROOT, timeoutMs: 60_000 },
    );
    assert.equal(jobDelete.code, 0, jobDelete.stdout + jobDelete.stderr);
    assert.match(jobDelete.stdout, /^PASS {2}DELETE_DEVICE /m);
    const state = (await (await fetch(`${cloud[1]}/_sim/state`)).json()) as { counts: { servers: number } };
    assert.equal(state.counts.servers, 0);

    // Ctrl-C: the terminal sends SIGINT to the foreground process group.
    signalGroup(pgid, 'SIGINT');
    const exit = await exited;
    t.diagnostic(`npm start after Ctrl-C: ${JSON.stringify(exit)}\n${stderr}`);
    // The fleet exits 0; npm, which got the SIGINT too, then ends by that signal, as after any Ctrl-C.
    assert.ok(exit.code === 0 || exit.signal === 'SIGINT', `npm start ended by ${JSON.stringify(exit)}:\n${stderr}`);
    assert.doesNotMatch(stderr, /npm (ERR|error)/);
    assert.match(stderr, /fleet: SIGINT: stopping/);
    assert.match(stderr, /fleet: stopped; logs kept in /);
    await until(() => !groupAlive(pgid), 'npm start and its own processes to be gone', 10_000);
    for (const pid of pids) {
      assert.equal(pidAlive(pid), false, `pid ${pid} is gone`);
      assert.equal(groupAlive(pid), false, `process group ${pid} is empty`);
    }
    const logDir = path.resolve(ROOT, logs[1] ?? '');
    assert.ok(logDir.startsWith(path.join(ROOT, '.fleet', 'run-')), `logs in .fleet/run-<pid>: ${logDir}`);
    assert.ok(fs.existsSync(path.join(logDir, 'bridge.log')), 'the logs are kept');
    fs.rmSync(logDir, { recursive: true, force: true });
  },
);
