/**
 * `npm run bench`: runs the four benchmark scripts one after another (each in a process of
 * its own, each bounded in time), then writes bench/REPORT.md and bench/results.json from
 * the JSON fragments they wrote in bench/out/.
 *
 *   npx tsx bench/run.ts                         # everything (about 8 minutes on 2 cores)
 *   npx tsx bench/run.ts --only fleet-builds,bridge-overhead
 *   npx tsx bench/run.ts --report-only           # rewrite the report from bench/out/*.json
 *   npx tsx bench/run.ts --quick                 # fewer runs: to check the scripts, not for the report
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GEARMAND, run, spawnChild } from '../scripts/harness';
import { LOG_DIR, ROOT, gitState, round } from './lib/common';
import { readFragment } from './lib/fragments';
import type { Fragments, Machine, ScriptRun } from './lib/report';
import { renderReport, results } from './lib/report';

const SCRIPTS = [
  { name: 'function-package', timeoutMs: 5 * 60_000 },
  // 100 BUILD_IP jobs one after another, each waiting 1 s for the cloud's timestamps to settle
  // before it looks for twins (functions/core/floating-ips.ts), then 1,900 quick DELETE_IP jobs.
  { name: 'openstack-calls', timeoutMs: 10 * 60_000 },
  { name: 'bridge-overhead', timeoutMs: 5 * 60_000 },
  { name: 'fleet-builds', timeoutMs: 12 * 60_000 },
] as const;

const HELP = `Usage: npm run bench [-- options]

Runs the benchmark scripts one after another:
  ${SCRIPTS.map((s) => s.name).join(', ')}
then writes bench/REPORT.md and bench/results.json from the fragments they wrote in bench/out/.

Options:
  --only NAME[,NAME]  run only these scripts (the report uses the fragments there are)
  --report-only       run nothing: rewrite the report from bench/out/*.json
  --quick             fewer runs, to check the scripts; writes bench/out/REPORT.quick.md
                      and bench/out/results.quick.json instead
  --help              show this help

Each script also runs alone, e.g. npx tsx bench/fleet-builds.ts --quick (options: the
comment at its top).
`;

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    'report-only': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const unknown = values.only?.split(',').filter((name) => !SCRIPTS.some((s) => s.name === name.trim()));
if (unknown && unknown.length > 0) {
  process.stderr.write(
    `bench: no script named ${unknown.join(', ')}; expected ${SCRIPTS.map((s) => s.name).join(', ')}\n`,
  );
  process.exit(2);
}

async function runScript(name: string, timeoutMs: number): Promise<ScriptRun> {
  const t0 = performance.now();
  process.stderr.write(`\n== bench/${name}.ts\n`);
  const child = spawnChild({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', path.join(ROOT, 'bench', `${name}.ts`), ...(values.quick ? ['--quick'] : [])],
    cwd: ROOT,
    stdout: 'inherit',
    stderr: 'inherit',
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void child.stop(10_000);
  }, timeoutMs);
  const exit = await child.exited;
  clearTimeout(timer);
  const seconds = round((performance.now() - t0) / 1000, 1);
  if (timedOut) return { name, seconds, ok: false, error: `stopped after ${timeoutMs / 1000} s` };
  if (exit.code !== 0) return { name, seconds, ok: false, error: `exit status ${exit.code ?? exit.signal}` };
  return { name, seconds, ok: true };
}

async function text(command: string, args: string[]): Promise<string> {
  const r = await run(command, args, { cwd: ROOT, timeoutMs: 30_000 }).catch(() => undefined);
  return r && r.code === 0 ? r.stdout.trim() : 'unknown';
}

function pkgVersion(name: string): string {
  try {
    return (
      JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'not installed';
  }
}

async function machine(): Promise<Machine> {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const osRelease = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
  const gearmand = (await text(GEARMAND, ['--version'])).split('\n').find((l) => l.trim()) ?? 'unknown';
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
    os: /PRETTY_NAME="?([^"\n]+)"?/.exec(osRelease)?.[1] ?? os.platform(),
    kernel: os.release(),
    versions: {
      Node: process.version,
      npm: await text('npm', ['-v']),
      gearmand: gearmand.replace(/ - https?:\/\/\S+/, '').trim(),
      'gearman-tools (C worker)': await text('dpkg-query', ['-W', '-f', '${Version}', 'gearman-tools']),
      'serverless (osls)': pkgVersion('serverless'),
      'serverless-offline': pkgVersion('serverless-offline'),
      'serverless-esbuild': pkgVersion('serverless-esbuild'),
      esbuild: pkgVersion('esbuild'),
      tsx: pkgVersion('tsx'),
    },
    ...gitState(),
    command: values.quick
      ? 'npm run bench -- --quick'
      : values['report-only'] || values.only
        ? `bench/run.ts${values.only ? ` --only ${values.only}` : ''}`
        : 'npm run bench',
  };
}

async function main(): Promise<void> {
  const only = values.only?.split(',').map((s) => s.trim());
  const scripts: ScriptRun[] = [];
  if (!values['report-only']) {
    fs.rmSync(LOG_DIR, { recursive: true, force: true });
    for (const s of SCRIPTS) {
      if (only && !only.includes(s.name)) continue;
      scripts.push(await runScript(s.name, s.timeoutMs));
    }
  }
  const fragments: Fragments = {};
  const fleet = readFragment('fleet-builds');
  const bridge = readFragment('bridge-overhead');
  const calls = readFragment('openstack-calls');
  const pkg = readFragment('function-package');
  // A failed script's old fragment must not pass for this run's.
  const failed = new Set(scripts.filter((s) => !s.ok).map((s) => s.name));
  if (fleet && !failed.has('fleet-builds')) fragments.fleet = fleet;
  if (bridge && !failed.has('bridge-overhead')) fragments.bridge = bridge;
  if (calls && !failed.has('openstack-calls')) fragments.calls = calls;
  if (pkg && !failed.has('function-package')) fragments.pkg = pkg;
  const m = await machine();
  const report = renderReport(fragments, m, scripts);
  const figures = results(fragments);
  const quick = [fleet, bridge, calls, pkg].some((f) => f?.quick);
  const reportFile = path.join(ROOT, 'bench', quick ? 'out/REPORT.quick.md' : 'REPORT.md');
  const resultsFile = path.join(ROOT, 'bench', quick ? 'out/results.quick.json' : 'results.json');
  fs.writeFileSync(reportFile, report);
  fs.writeFileSync(resultsFile, `${JSON.stringify(figures, null, 2)}\n`);
  process.stderr.write(
    `\n${JSON.stringify(figures, null, 2)}\nwrote ${path.relative(ROOT, reportFile)} and ${path.relative(ROOT, resultsFile)}\n`,
  );
  if (scripts.some((s) => !s.ok)) process.exitCode = 1;
}

await main();
