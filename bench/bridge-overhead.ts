/**
 * Question 2, the bridge as it ships: dist/pool-bridge.mjs, built by this script first (so
 * the figures are those of the checked-out code), run with `node` like the systemd unit does.
 *
 *  1. Throughput through a real gearmand: K trivial jobs, C of them outstanding over L client
 *     connections, served by
 *     (a) the C reference worker of gearman-tools, `gearman -w -f bench_echo` with no command
 *         (it echoes the workload; one job at a time per process), as 1 process and as a pool
 *         of P processes: the fastest is the reference;
 *     (b) the built bridge with --dry-run, concurrency 64 as shipped, at its default log level
 *         (INFO: one line per job) and at WARN. --dry-run gives every job the parsing,
 *         routing, envelope, deadline, metrics and log line a real job gets, then answers it
 *         with a FAIL "dry run: no function invoked" instead of invoking Lambda: the bridge's
 *         own cost, never a PASS it did not earn. (Pointing it at a local Lambda stand-in
 *         would measure that stand-in and the SDK's HTTP client on the same two cores; the
 *         in-process no-op invoker it replaces ran the source through tsx, not what ships.)
 *     The configurations take turns within each run, so background load hits them alike.
 *  2. Footprint, side by side in the same run, N rounds: exec -> "registered with job server"
 *     of the built bridge (a real configuration: the Lambda invoker, pointed at a local
 *     endpoint) against exec -> exit of a bare `node -e 0`; its RSS when idle after
 *     registering, and idle again after serving a burst of jobs through that endpoint.
 *  3. RSS of the built bridge with 1,000 jobs in flight (the endpoint holds every invoke open).
 *  4. One more dry-run at INFO under the V8 profiler (--cpu-prof, read through the source map).
 *
 *   npx tsx bench/bridge-overhead.ts [--jobs 10000] [--runs 5] [--connections 16] [--outstanding 64]
 *       [--pools 1,4] [--inflight 1000] [--starts 7] [--quick]
 *
 * Writes bench/out/bridge-overhead.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { echoPass, startFakeLambda } from '../scripts/lambda/fake-lambda';
import type { FakeLambda } from '../scripts/lambda/fake-lambda';
import { buildBridge } from '../scripts/build/bridge';
import type { JobResult } from '../bridge/gearman';
import { GearmanClient } from '../bridge/gearman';
import type { Child } from '../scripts/harness';
import { sleep, spawnChild, until } from '../scripts/harness';
import type { Stat } from './lib/common';
import { MiB, ROOT, gitState, log, logFile, round, stat } from './lib/common';
import type { BridgeOverhead, Footprint, InFlightMemory, LoadRun, WorkerConfigResult } from './lib/fragments';
import { writeFragment } from './lib/fragments';
import type { ProfileSummary } from './lib/cpuprofile';
import { summariseProfile } from './lib/cpuprofile';
import { availableWorkers, startBridgeCli } from './lib/fleet';
import { gearmanLoad } from './lib/load';
import type { Gearmand } from '../scripts/harness';
import { startGearmand } from '../scripts/harness';
import { GEARMAN_FUNCTION } from '../contract';

const NAME = 'bridge-overhead' as const;
const FN = 'bench_echo';
const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '5' },
    connections: { type: 'string', default: '16' },
    outstanding: { type: 'string', default: '64' },
    pools: { type: 'string', default: '1,4' },
    inflight: { type: 'string', default: '1000' },
    starts: { type: 'string', default: '7' },
    'gearmand-threads': { type: 'string', default: '2' },
    quick: { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const JOBS = quick ? 2000 : Number(values.jobs);
const RUNS = quick ? 1 : Number(values.runs);
const CONNECTIONS = Number(values.connections);
const OUTSTANDING = Number(values.outstanding);
const POOLS = values.pools.split(',').map(Number);
const INFLIGHT = quick ? 200 : Number(values.inflight);
const STARTS = quick ? 2 : Number(values.starts);
/** Jobs through each started bridge before its idle RSS is read again. */
const BURST_JOBS = quick ? 500 : 3000;
const GD_THREADS = Number(values['gearmand-threads']);
const TIME_LIMIT_MS = 20_000;
const BRIDGE_CONCURRENCY = 64;
const DRY_RUN_ERROR = /^dry run: no function invoked/;

let gd: Gearmand;

interface Server {
  children: Child[];
  stop(): Promise<void>;
}

/**
 * P `gearman -w -f bench_echo` processes. With no command the C worker writes each workload
 * to its stdout (here a log file) and completes the job with an empty result: the cheapest
 * job it can run (with a command it forks and execs that command per job).
 */
async function startCWorkers(p: number, run: number): Promise<Server> {
  const out = fs.openSync(logFile(`${NAME}-c-worker-${p}-${run}.log`), 'w');
  const children = Array.from({ length: p }, () =>
    spawnChild({
      command: 'gearman',
      args: ['-w', '-h', gd.host, '-p', String(gd.port), '-f', FN],
      cwd: ROOT,
      stdout: out,
    }),
  );
  fs.closeSync(out);
  await until(async () => (await availableWorkers(gd, FN)) >= p, `${p} C workers to register`, 15_000);
  return { children, stop: () => stopAll(children) };
}

/** The built bridge with --dry-run, its log lines to a file; optionally under the V8 profiler. */
async function startDryRunBridge(logLevel: string, run: number | string, profileDir?: string): Promise<Server> {
  const child = startBridgeCli({
    gearman: gd.address,
    concurrency: BRIDGE_CONCURRENCY,
    logLevel,
    drainTimeout: 5,
    extraArgs: ['--dry-run', '--function-name', FN],
    nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    log: `${NAME}-bridge-${logLevel}-${run}.log`,
  });
  await until(async () => (await availableWorkers(gd, FN)) >= 1, 'the bridge to register', 15_000);
  return { children: [child], stop: () => stopAll([child]) };
}

async function stopAll(children: Child[]): Promise<void> {
  await Promise.all(children.map((c) => c.stop(8000)));
  await until(async () => (await availableWorkers(gd, FN)) === 0, 'workers to leave gearmand', 10_000);
}

interface Config {
  key: string;
  label: string;
  start: (run: number) => Promise<Server>;
  /** The C worker completes with an empty result; the dry-run bridge with its FAIL object. */
  check: (result: JobResult) => boolean;
}

const emptyCheck = (r: JobResult): boolean => r.packet === 'WORK_COMPLETE' && r.data.length === 0;
const dryRunCheck = (r: JobResult): boolean => {
  const result = r.json as { response?: string; error?: string } | undefined;
  return r.packet === 'WORK_COMPLETE' && result?.response === 'FAIL' && DRY_RUN_ERROR.test(result.error ?? '');
};

const configs: Config[] = [
  ...POOLS.map((p) => ({
    key: `c_worker_${p}`,
    label: `C worker (gearman -w), ${p} process${p === 1 ? '' : 'es'}`,
    start: (r: number) => startCWorkers(p, r),
    check: emptyCheck,
  })),
  {
    key: 'bridge_info',
    label: `dist/pool-bridge.mjs --dry-run, concurrency ${BRIDGE_CONCURRENCY}, log level INFO (default)`,
    start: (r) => startDryRunBridge('INFO', r),
    check: dryRunCheck,
  },
  {
    key: 'bridge_warn',
    label: `dist/pool-bridge.mjs --dry-run, concurrency ${BRIDGE_CONCURRENCY}, log level WARN`,
    start: (r) => startDryRunBridge('WARN', r),
    check: dryRunCheck,
  },
];

const loadBase = (): Omit<Parameters<typeof gearmanLoad>[0], 'jobs' | 'check' | 'uniquePrefix'> => ({
  address: gd.address,
  functionName: FN,
  connections: CONNECTIONS,
  outstanding: OUTSTANDING,
  timeLimitMs: TIME_LIMIT_MS,
  payload: (i: number): string => `{"action":"BUILD_IP","i":${i}}`,
});

async function throughput(): Promise<WorkerConfigResult[]> {
  const byKey = new Map<string, LoadRun[]>(configs.map((c) => [c.key, []]));
  for (let run = 1; run <= RUNS; run += 1) {
    for (const config of configs) {
      const server = await config.start(run);
      try {
        const check = (r: JobResult): boolean => config.check(r);
        await gearmanLoad({ ...loadBase(), jobs: 500, check, uniquePrefix: `warm-${config.key}-${run}` });
        const result = await gearmanLoad({ ...loadBase(), jobs: JOBS, check, uniquePrefix: `${config.key}-${run}` });
        byKey.get(config.key)?.push(result);
        log(
          NAME,
          `run ${run} ${config.label}: ${result.jobsPerSecond} jobs/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms` +
            `${result.wrong ? `, ${result.wrong} WRONG` : ''}${result.timeLimited ? ' (time-limited)' : ''}`,
        );
      } finally {
        await server.stop();
      }
    }
  }
  return configs.map((c) => {
    const runs = byKey.get(c.key) ?? [];
    return {
      key: c.key,
      label: c.label,
      runs,
      jobsPerSecond: stat(runs.map((r) => r.jobsPerSecond)),
      p50Ms: stat(runs.map((r) => r.p50Ms)),
      p99Ms: stat(runs.map((r) => r.p99Ms)),
    };
  });
}

/** exec -> exit of `node -e 0`, ms. */
async function bareNodeMs(): Promise<number> {
  const t0 = performance.now();
  const child = spawnChild({ name: 'node -e 0', command: process.execPath, args: ['-e', '0'], cwd: ROOT });
  await child.exited;
  return performance.now() - t0;
}

/**
 * One start of the built bridge with a real configuration (the Lambda invoker, pointed at
 * `lambda`): exec -> its "registered with job server" line; RSS idle 2 s later; RSS idle again
 * 2 s after serving a burst of jobs.
 */
async function bridgeStart(
  lambda: FakeLambda,
  round: number,
): Promise<{ ms: number; idle: number; afterJobs: number }> {
  const t0 = performance.now();
  const child = startBridgeCli({
    gearman: gd.address,
    lambdaEndpoint: lambda.url,
    logLevel: 'INFO',
    extraArgs: ['--client-id', `start-${round}`],
  });
  try {
    await child.waitForLine(/"message":"registered with job server"/, 20_000);
    const ms = performance.now() - t0;
    await sleep(2000);
    const idle = child.memory().rss;
    const burst = await gearmanLoad({
      ...loadBase(),
      functionName: GEARMAN_FUNCTION,
      jobs: BURST_JOBS,
      check: (r) => (r.json as { response?: string } | undefined)?.response === 'PASS',
      uniquePrefix: `burst-${round}`,
    });
    if (burst.wrong > 0) throw new Error(`${burst.wrong} jobs of the burst were not PASS`);
    await sleep(2000);
    return { ms, idle, afterJobs: child.memory().rss };
  } finally {
    await child.stop(8000);
    await until(
      async () => (await availableWorkers(gd, GEARMAN_FUNCTION)) === 0,
      'the bridge to leave gearmand',
      10_000,
    );
  }
}

async function footprint(): Promise<Footprint> {
  const lambda = await startFakeLambda(echoPass);
  const bare: number[] = [];
  const registered: number[] = [];
  const ratios: number[] = [];
  const idle: number[] = [];
  const afterJobs: number[] = [];
  try {
    // Warm the file system cache for both, then take turns.
    await bareNodeMs();
    for (let i = 1; i <= STARTS; i += 1) {
      const b = await bareNodeMs();
      const s = await bridgeStart(lambda, i);
      bare.push(round(b, 1));
      registered.push(round(s.ms, 1));
      ratios.push(round(s.ms / b, 2));
      idle.push(MiB(s.idle));
      afterJobs.push(MiB(s.afterJobs));
      log(
        NAME,
        `start ${i}: node -e 0 ${round(b, 0)} ms, bridge exec -> registered ${round(s.ms, 0)} ms (${round(s.ms / b, 2)}x); ` +
          `idle RSS ${MiB(s.idle)} MiB, after ${BURST_JOBS} jobs ${MiB(s.afterJobs)} MiB`,
      );
    }
  } finally {
    await lambda.close();
  }
  return {
    starts: STARTS,
    bareNodeMs: stat(bare),
    startToRegisteredMs: stat(registered),
    startOverBareNode: stat(ratios),
    idleRssMiB: stat(idle),
    idleRssAfterJobsMiB: stat(afterJobs),
    burstJobs: BURST_JOBS,
  };
}

/** The built bridge with INFLIGHT jobs held open by a local Lambda endpoint. */
async function memoryInFlight(): Promise<InFlightMemory> {
  const lambda = await startFakeLambda(() => ({ kind: 'hang' }));
  const bridge = startBridgeCli({
    gearman: gd.address,
    lambdaEndpoint: lambda.url,
    concurrency: INFLIGHT,
    log: `${NAME}-inflight-bridge.log`,
  });
  const clients: GearmanClient[] = [];
  try {
    await until(async () => (await availableWorkers(gd, GEARMAN_FUNCTION)) > 0, 'the bridge to register', 30_000);
    await sleep(1000);
    const idle = bridge.memory();
    for (let i = 0; i < 10; i += 1) clients.push(await GearmanClient.connect(gd.address));
    const t0 = performance.now();
    for (let i = 0; i < INFLIGHT; i += 1) {
      (clients[i % clients.length] as GearmanClient)
        .submit(GEARMAN_FUNCTION, `inflight-${i}`, '{"action":"BUILD_DEVICE"}')
        .catch(() => undefined);
    }
    await until(() => lambda.requests.length >= INFLIGHT, `${INFLIGHT} invokes in flight`, 60_000);
    const fillMs = performance.now() - t0;
    await sleep(1000);
    const busy = bridge.memory();
    const result = {
      inflight: INFLIGHT,
      reached: lambda.requests.length,
      idleRssMiB: MiB(idle.rss),
      busyRssMiB: MiB(busy.rss),
      peakRssMiB: MiB(busy.hwm),
      perJobKiB: round((busy.rss - idle.rss) / INFLIGHT / 1024, 1),
      fillMs: round(fillMs, 0),
    };
    log(
      NAME,
      `pool-bridge RSS idle ${result.idleRssMiB} MiB, with ${result.reached} jobs in flight ${result.busyRssMiB} MiB (peak ${result.peakRssMiB} MiB, +${result.perJobKiB} KiB/job)`,
    );
    return result;
  } finally {
    await bridge.stop(2000);
    for (const c of clients) c.close();
    await lambda.close();
  }
}

/** One more dry run at INFO under the V8 profiler (its start included): where the bridge's time goes. */
async function profileBridge(): Promise<ProfileSummary & { jobsPerSecond: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-bridge-profile-'));
  const server = await startDryRunBridge('INFO', 'profile', dir);
  let result: LoadRun;
  try {
    result = await gearmanLoad({ ...loadBase(), jobs: JOBS, check: () => true, uniquePrefix: 'profile' });
  } finally {
    await server.stop();
  }
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no CPU profile in ${dir}`);
  const kept = logFile(`${NAME}-bridge.cpuprofile`);
  fs.copyFileSync(path.join(dir, file), kept);
  fs.rmSync(dir, { recursive: true, force: true });
  const summary = { ...summariseProfile(kept), jobsPerSecond: result.jobsPerSecond };
  log(
    NAME,
    `profile (INFO, ${result.jobsPerSecond} jobs/s under the profiler): idle ${summary.idlePct}%; ` +
      summary.inclusive
        .slice(0, 8)
        .map((e) => `${e.where} ${e.pct}%`)
        .join(', '),
  );
  return summary;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const built = await buildBridge();
  log(NAME, `built ${path.relative(ROOT, built.file)} (${round(built.bytes / 1024, 0)} KiB)`);
  gd = await startGearmand({ threads: GD_THREADS });
  let results: WorkerConfigResult[];
  let memory: InFlightMemory;
  let profile: Awaited<ReturnType<typeof profileBridge>>;
  let start: Footprint;
  const loadBefore = round(os.loadavg()[0] ?? 0, 2);
  try {
    start = await footprint();
    results = await throughput();
    profile = await profileBridge();
    memory = await memoryInFlight();
  } finally {
    await gd.stop();
  }
  const c = results.filter((r) => r.key.startsWith('c_worker'));
  const reference = c.reduce((best, r) => (r.jobsPerSecond.median > best.jobsPerSecond.median ? r : best));
  const bridgeDefault = results.find((r) => r.key === 'bridge_info') as WorkerConfigResult;
  const bridgeWarn = results.find((r) => r.key === 'bridge_warn') as WorkerConfigResult;
  // Ratio per run (the configurations of one run ran back to back), then the median of those.
  const perRun = (b: WorkerConfigResult): Stat =>
    stat(b.runs.map((r, i) => round(r.jobsPerSecond / (reference.runs[i]?.jobsPerSecond ?? Number.NaN), 3)));
  const out: BridgeOverhead = {
    built: {
      file: path.relative(ROOT, built.file),
      kib: round(built.bytes / 1024, 0),
      node: process.version,
      ...gitState(),
    },
    gearmandThreads: GD_THREADS,
    load: {
      jobs: JOBS,
      connections: CONNECTIONS,
      outstanding: OUTSTANDING,
      timeLimitMs: TIME_LIMIT_MS,
      warmupJobs: 500,
    },
    bridgeConcurrency: BRIDGE_CONCURRENCY,
    quick,
    configs: results,
    referenceKey: reference.key,
    ratio: { bridgeInfoOverReference: perRun(bridgeDefault), bridgeWarnOverReference: perRun(bridgeWarn) },
    footprint: start,
    memory,
    profile,
    machineLoad: { before: loadBefore, after: round(os.loadavg()[0] ?? 0, 2) },
    seconds: round((performance.now() - t0) / 1000, 1),
  };
  log(
    NAME,
    `reference: ${reference.label}; bridge (INFO) / reference = ${out.ratio.bridgeInfoOverReference.median} ` +
      `(${out.ratio.bridgeInfoOverReference.min}-${out.ratio.bridgeInfoOverReference.max}), (WARN) = ${out.ratio.bridgeWarnOverReference.median}; ` +
      `start ${start.startToRegisteredMs.median} ms = ${start.startOverBareNode.median}x node -e 0; idle RSS ${start.idleRssMiB.median} MiB`,
  );
  log(NAME, `wrote ${writeFragment(NAME, out)} in ${out.seconds} s`);
}

await main();
