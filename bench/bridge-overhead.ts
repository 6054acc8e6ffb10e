/**
 * Question 2, bridge overhead, through a real gearmand:
 *  1. jobs/s and p50/p99 latency of a trivial job under one client load (K jobs, C of them
 *     outstanding, over L connections) served by
 *     (a) the C reference worker of gearman-tools, `gearman -w -f bench_echo` with no command
 *         (it echoes the workload; one job at a time per process), as 1 process and as a pool
 *         of P processes: the fastest is the reference;
 *     (b) the bridge (startBridge, in a process of its own, concurrency 64 as shipped) with a
 *         no-op invoker that answers PASS at once: at the command's default log level (INFO,
 *         two JSON lines per job, to a file) and at WARN (no line per job).
 *     The configurations take turns within each run, so background load hits them alike.
 *  2. RSS of the pool-bridge command with 1,000 jobs in flight: the real LambdaInvoker
 *     against a local Lambda-compatible endpoint that holds every invoke open.
 *
 *   npx tsx bench/bridge-overhead.ts [--jobs 10000] [--runs 5] [--connections 16] [--outstanding 64]
 *       [--pools 1,4] [--inflight 1000] [--quick]
 *
 * (It replaces the bridge author's first measurement script.)
 * Writes bench/out/bridge-overhead.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startFakeLambda } from '../scripts/lambda/fake-lambda';
import type { JobResult } from '../bridge/gearman';
import { GearmanClient, gearmanStatus } from '../bridge/gearman';
import type { Child } from '../scripts/harness';
import { memoryOf, sleep, spawnChild, until } from '../scripts/harness';
import type { Stat } from './lib/common';
import { MiB, ROOT, log, logFile, round, stat } from './lib/common';
import type { BridgeOverhead, InFlightMemory, LoadRun, WorkerConfigResult } from './lib/fragments';
import { writeFragment } from './lib/fragments';
import type { ProfileSummary } from './lib/cpuprofile';
import { summariseProfile } from './lib/cpuprofile';
import { startBridgeCli } from './lib/fleet';
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
const GD_THREADS = Number(values['gearmand-threads']);
const TIME_LIMIT_MS = 20_000;
const BRIDGE_CONCURRENCY = 64;

let gd: Gearmand;

async function workersFor(fn: string): Promise<number> {
  const functions = await gearmanStatus(gd).catch(() => []);
  return functions.find((f) => f.function === fn)?.availableWorkers ?? 0;
}

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
  await until(async () => (await workersFor(FN)) >= p, `${p} C workers to register`, 15_000);
  return { children, stop: () => stopAll(children) };
}

async function startNoopBridge(logLevel: string, run: number | string, profile?: string): Promise<Server> {
  const out = fs.openSync(logFile(`${NAME}-bridge-${logLevel}-${run}.log`), 'w');
  const child = spawnChild({
    name: 'noop-bridge',
    command: process.execPath,
    args: [
      '--import',
      'tsx',
      path.join(ROOT, 'bench/lib/noop-bridge.ts'),
      '--gearman',
      gd.address,
      '--function',
      FN,
      '--concurrency',
      String(BRIDGE_CONCURRENCY),
      '--log-level',
      logLevel,
      ...(profile ? ['--profile', profile] : []),
    ],
    cwd: ROOT,
    stdout: out,
  });
  fs.closeSync(out);
  await child.waitForLine(/READY/, 30_000);
  await until(async () => (await workersFor(FN)) >= 1, 'the bridge to register', 15_000);
  return { children: [child], stop: () => stopAll([child]) };
}

async function stopAll(children: Child[]): Promise<void> {
  await Promise.all(children.map((c) => c.stop(3000)));
  await until(async () => (await workersFor(FN)) === 0, 'workers to leave gearmand', 10_000);
}

interface Config {
  key: string;
  label: string;
  start: (run: number) => Promise<Server>;
  /** The bridge answers JSON with response PASS; the C worker completes with an empty result. */
  check: (result: JobResult) => boolean;
}

const emptyCheck = (r: JobResult): boolean => r.packet === 'WORK_COMPLETE' && r.data.length === 0;
const passCheck = (r: JobResult): boolean =>
  r.packet === 'WORK_COMPLETE' && (r.json as { response?: string } | undefined)?.response === 'PASS';

const configs: Config[] = [
  ...POOLS.map((p) => ({
    key: `c_worker_${p}`,
    label: `C worker (gearman -w), ${p} process${p === 1 ? '' : 'es'}`,
    start: (r: number) => startCWorkers(p, r),
    check: emptyCheck,
  })),
  {
    key: 'bridge_info',
    label: `bridge, no-op invoker, concurrency ${BRIDGE_CONCURRENCY}, log level INFO (default)`,
    start: (r) => startNoopBridge('INFO', r),
    check: passCheck,
  },
  {
    key: 'bridge_warn',
    label: `bridge, no-op invoker, concurrency ${BRIDGE_CONCURRENCY}, log level WARN`,
    start: (r) => startNoopBridge('WARN', r),
    check: passCheck,
  },
];

async function throughput(): Promise<WorkerConfigResult[]> {
  const byKey = new Map<string, LoadRun[]>(configs.map((c) => [c.key, []]));
  for (let run = 1; run <= RUNS; run += 1) {
    for (const config of configs) {
      const server = await config.start(run);
      try {
        const payload = (i: number): string => `{"action":"BUILD_IP","i":${i}}`;
        const base = {
          address: gd.address,
          functionName: FN,
          connections: CONNECTIONS,
          outstanding: OUTSTANDING,
          timeLimitMs: TIME_LIMIT_MS,
          payload,
        };
        const check = (r: JobResult): boolean => config.check(r);
        await gearmanLoad({ ...base, jobs: 500, check, uniquePrefix: `warm-${config.key}-${run}` });
        const result = await gearmanLoad({ ...base, jobs: JOBS, check, uniquePrefix: `${config.key}-${run}` });
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

/** The pool-bridge command with INFLIGHT jobs held open by a local Lambda endpoint. */
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
    await until(async () => (await workersFor(GEARMAN_FUNCTION)) > 0, 'the bridge to register', 30_000);
    await sleep(1000);
    const idle = memoryOf(bridge.child.pid);
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
    const busy = memoryOf(bridge.child.pid);
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
    await bridge.child.stop(2000);
    for (const c of clients) c.close();
    await lambda.close();
  }
}

/** One more bridge run (log level INFO) under the CPU profiler, startup excluded: where its time goes. */
async function profileBridge(): Promise<ProfileSummary & { jobsPerSecond: number }> {
  const file = logFile(`${NAME}-bridge.cpuprofile`);
  const server = await startNoopBridge('INFO', 'profile', file);
  let result: LoadRun;
  try {
    const payload = (i: number): string => `{"action":"BUILD_IP","i":${i}}`;
    result = await gearmanLoad({
      address: gd.address,
      functionName: FN,
      connections: CONNECTIONS,
      outstanding: OUTSTANDING,
      timeLimitMs: TIME_LIMIT_MS,
      payload,
      jobs: JOBS,
      check: () => true,
      uniquePrefix: 'profile',
    });
  } finally {
    await server.stop();
  }
  const summary = { ...summariseProfile(file), jobsPerSecond: result.jobsPerSecond };
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
  gd = await startGearmand({ threads: GD_THREADS });
  let results: WorkerConfigResult[];
  let memory: InFlightMemory;
  let profile: Awaited<ReturnType<typeof profileBridge>>;
  try {
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
    memory,
    profile,
    seconds: round((performance.now() - t0) / 1000, 1),
  };
  log(
    NAME,
    `reference: ${reference.label}; bridge (INFO) / reference = ${out.ratio.bridgeInfoOverReference.median}, (WARN) = ${out.ratio.bridgeWarnOverReference.median}`,
  );
  log(NAME, `wrote ${writeFragment(NAME, out)} in ${out.seconds} s`);
}

await main();
