/**
 * Question 1, fleet build time: N BUILD_DEVICE jobs submitted at once through a real
 * gearmand, the pool-bridge command, serverless-offline (the functions bundled by
 * serverless-esbuild as serverless.yml says, behind the Lambda Invoke API) and the cloud
 * simulator with a fixed boot time. The reference, the original pool manager's model
 * (4 worker threads, a build polled every 60 s), is computed for the same N; the bridge
 * with --concurrency 4 (and with its default, 64) runs the same jobs through the same stack,
 * to show the difference is the design and not the simulator.
 *
 *   npx tsx bench/fleet-builds.ts [--sizes 10,50,200] [--runs 3] [--boot-ms 3000] [--poll-ms 250]
 *       [--concurrency 256] [--c4-sizes 10] [--c4-runs 3] [--default-c-runs 3]
 *       [--wt-sizes 10,50] [--wt-runs 3] [--quick]
 *
 * Endpoint. serverless-offline's default runs each concurrent invoke in a Node worker thread
 * of its own that loads the whole bundle (and keeps idle ones for reuse): on this 2-core
 * machine 200 at once took minutes and 14 GB, which measures the emulator, not the design
 * (in AWS every execution environment has its own CPU). So the fleet series run
 * serverless-offline with --useInProcess (the same bundle and HTTP Invoke API, the handler
 * loaded once in the serverless process); the default worker-thread mode is measured at the
 * small sizes (--wt-sizes) and labelled so.
 *
 * Cold and warm: "cold" is the first round a freshly started serverless-offline serves (one
 * fresh stack per run), "warm" the rounds after it on the same stack.
 * Writes bench/out/fleet-builds.json.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { GEARMAN_FUNCTION, POLL_GROWTH } from '../contract';
import type { CloudSim } from '../scripts/cloud-sim';
import { startCloudSim } from '../scripts/cloud-sim';
import { GearmanClient } from '../bridge/gearman';
import { MiB, log, percentile, round, stat } from './lib/common';
import type { FleetBuilds, FleetRound, FleetSeries } from './lib/fragments';
import { writeFragment } from './lib/fragments';
import type { Offline } from './lib/fleet';
import { availableWorkers, startBridgeCli, startOffline } from './lib/fleet';
import { STATUS_POLL_KEY, TOKEN_KEY, countRequests } from './lib/requests';
import type { Child, Gearmand } from '../scripts/harness';
import { startGearmand, until, within } from '../scripts/harness';

const NAME = 'fleet-builds' as const;
const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,50,200' },
    runs: { type: 'string', default: '3' },
    'boot-ms': { type: 'string', default: '3000' },
    'poll-ms': { type: 'string', default: '250' },
    concurrency: { type: 'string', default: '256' },
    'c4-sizes': { type: 'string', default: '10' },
    'c4-runs': { type: 'string', default: '3' },
    'default-c-runs': { type: 'string', default: '3' },
    'wt-sizes': { type: 'string', default: '10,50' },
    'wt-runs': { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const SIZES = (quick ? '10,50' : values.sizes).split(',').map(Number);
const RUNS = quick ? 1 : Number(values.runs);
const BOOT_MS = Number(values['boot-ms']);
const POLL_MS = Number(values['poll-ms']);
const CONCURRENCY = Number(values.concurrency);
const C4_SIZES = (quick ? '10' : values['c4-sizes']).split(',').filter(Boolean).map(Number);
const C4_RUNS = quick ? 1 : Number(values['c4-runs']);
const DEFAULT_C_RUNS = quick ? 0 : Number(values['default-c-runs']);
const WT_SIZES = (quick ? '10' : values['wt-sizes']).split(',').filter(Boolean).map(Number);
const WT_RUNS = quick ? 1 : Number(values['wt-runs']);
/** Bound on one round, whatever happens. */
const ROUND_TIMEOUT_MS = 5 * 60_000;

/** The original pool manager: 4 worker threads, one build each, first status poll 60 s after the request. */
const ORIGINAL = { threads: 4, pollSeconds: 60 };
function originalModelSeconds(n: number, bootMs: number): number {
  const perBuild = Math.max(1, Math.ceil(bootMs / 1000 / ORIGINAL.pollSeconds)) * ORIGINAL.pollSeconds;
  return Math.ceil(n / ORIGINAL.threads) * perBuild;
}

let sim: CloudSim;
let gd: Gearmand;
let fnEnv: Record<string, string>;
let runSeq = 0;

async function registered(): Promise<boolean> {
  return (await availableWorkers(gd, GEARMAN_FUNCTION)) > 0;
}

async function unregistered(): Promise<boolean> {
  return !(await registered());
}

/** Submits n BUILD_DEVICE jobs at once, on 4 client connections; resolves when every one answered. */
async function buildRound(n: number): Promise<FleetRound> {
  runSeq += 1;
  const tag = `bench-${process.pid}-${runSeq}`;
  const clients = await Promise.all(Array.from({ length: 4 }, () => GearmanClient.connect(gd.address)));
  const before = sim.requests().length;
  try {
    const t0 = performance.now();
    const epoch0 = Date.now();
    const jobs = Array.from({ length: n }, (_, i) =>
      (clients[i % clients.length] as GearmanClient).submit(
        GEARMAN_FUNCTION,
        `${tag}-${i}`,
        JSON.stringify({ action: 'BUILD_DEVICE' }),
      ),
    );
    const results = await within(Promise.all(jobs), ROUND_TIMEOUT_MS, `a round of ${n} builds to finish`);
    const wallMs = performance.now() - t0;
    const records = sim.requests().slice(before);
    const counts = countRequests(records);
    const creates = records
      .filter((r) => r.service === 'compute' && r.method === 'POST' && r.path === '/v2.1/servers')
      .map((r) => r.at - epoch0);
    const notPass = results.filter((r) => (r.json as { response?: string } | undefined)?.response !== 'PASS');
    const requests = (counts.identity ?? 0) + (counts.compute ?? 0) + (counts.network ?? 0) + (counts.image ?? 0);
    return {
      n,
      wallMs: round(wallMs, 1),
      pass: n - notPass.length,
      notPass: notPass.length,
      ...(notPass[0] ? { firstError: notPass[0].data.toString().slice(0, 300) } : {}),
      latencyP50Ms: round(
        percentile(
          results.map((r) => r.ms),
          50,
        ),
        1,
      ),
      latencyMaxMs: round(Math.max(...results.map((r) => r.ms)), 1),
      statusPollsPerBuild: round((counts[STATUS_POLL_KEY] ?? 0) / n, 2),
      requestsPerBuild: round(requests / n, 2),
      tokenRequests: counts[TOKEN_KEY] ?? 0,
      firstCreateMs: creates.length > 0 ? Math.min(...creates) : Number.NaN,
      lastCreateMs: creates.length > 0 ? Math.max(...creates) : Number.NaN,
      loadAvg1m: round(os.loadavg()[0] ?? 0, 2),
    };
  } finally {
    for (const c of clients) c.close();
  }
}

interface Stack {
  offline: Offline;
  bridge: Child;
}

let stackSeq = 0;
let bridgeSeq = 0;
async function startStack(concurrency: number, offline: Offline): Promise<Stack> {
  const bridge = startBridgeCli({
    gearman: gd.address,
    lambdaEndpoint: offline.url,
    concurrency,
    log: `${NAME}-${++bridgeSeq}-bridge.log`,
  });
  await until(registered, 'the bridge to register with gearmand', 30_000, 50);
  return { offline, bridge };
}

async function stopBridge(stack: Stack): Promise<void> {
  await stack.bridge.stop();
  await until(unregistered, 'the bridge to leave gearmand', 10_000, 50);
}

function describe(r: FleetRound): string {
  return (
    `${r.n} builds in ${(r.wallMs / 1000).toFixed(2)} s (${(r.wallMs / BOOT_MS).toFixed(2)}× boot), ${r.pass} PASS` +
    `${r.notPass ? `, ${r.notPass} not PASS: ${r.firstError}` : ''}, p50 ${(r.latencyP50Ms / 1000).toFixed(2)} s, ` +
    `${r.statusPollsPerBuild} status polls/build, servers created ${(r.firstCreateMs / 1000).toFixed(2)}–${(r.lastCreateMs / 1000).toFixed(2)} s, ` +
    `${r.tokenRequests} token requests, load ${r.loadAvg1m}`
  );
}

function series(
  label: string,
  meta: Omit<FleetSeries, 'rounds' | 'wallSeconds' | 'overBootTime' | 'label'>,
  rounds: FleetRound[],
  peak?: number,
): FleetSeries {
  const s: FleetSeries = {
    label,
    ...meta,
    rounds,
    wallSeconds: stat(rounds.map((r) => round(r.wallMs / 1000, 3))),
    overBootTime: stat(rounds.map((r) => round(r.wallMs / BOOT_MS, 3))),
  };
  if (peak !== undefined) s.offlinePeakRssMiB = MiB(peak);
  log(
    NAME,
    `${label}: ${s.wallSeconds.median.toFixed(2)} s median (${s.wallSeconds.min.toFixed(2)}–${s.wallSeconds.max.toFixed(2)}), ${s.overBootTime.median.toFixed(2)}× boot`,
  );
  return s;
}

interface Spec {
  label: string;
  inProcess: boolean;
  concurrency: number;
  n: number;
  /** Runs on a fresh serverless-offline each (the first round a stack serves). */
  cold: number;
  /** Rounds on the last stack after its first one (after a warm-up round when cold is 0). */
  warm: number;
}

/** serverless-offline kept for the warm-only specs of one endpoint mode (only the bridge changes between them). */
const shared = new Map<boolean, Offline>();

/** Runs one spec; returns its cold and warm series (either may be absent). */
async function measure(spec: Spec): Promise<FleetSeries[]> {
  const cold: FleetRound[] = [];
  const warm: FleetRound[] = [];
  let peak = 0;
  const stacks = Math.max(1, spec.cold);
  for (let run = 1; run <= stacks; run += 1) {
    let offline = spec.cold > 0 ? undefined : shared.get(spec.inProcess);
    const reused = offline !== undefined;
    if (!offline) {
      offline = await startOffline({ env: fnEnv, inProcess: spec.inProcess, log: `${NAME}-${++stackSeq}-offline.log` });
      offlineStartMs.push(offline.startMs);
      if (spec.cold === 0) shared.set(spec.inProcess, offline);
    }
    const stack = await startStack(spec.concurrency, offline);
    try {
      if (spec.cold > 0) {
        const r = await buildRound(spec.n);
        log(NAME, `${spec.label} cold #${run}: ${describe(r)}`);
        cold.push(r);
      } else if (!reused) {
        log(NAME, `${spec.label} warm-up: ${describe(await buildRound(Math.min(spec.n, spec.concurrency)))}`);
      }
      if (run === stacks) {
        for (let w = 1; w <= spec.warm; w += 1) {
          const r = await buildRound(spec.n);
          log(NAME, `${spec.label} warm #${w}: ${describe(r)}`);
          warm.push(r);
        }
      }
      peak = Math.max(peak, stack.offline.child.memory().hwm);
    } finally {
      await stopBridge(stack);
      if (spec.cold > 0) await stack.offline.stop();
    }
  }
  const meta = {
    endpoint: spec.inProcess ? ('in-process' as const) : ('worker-threads' as const),
    concurrency: spec.concurrency,
    n: spec.n,
  };
  const out: FleetSeries[] = [];
  if (cold.length > 0) out.push(series(`${spec.label} cold`, { ...meta, temperature: 'cold' }, cold, peak));
  if (warm.length > 0) out.push(series(`${spec.label} warm`, { ...meta, temperature: 'warm' }, warm, peak));
  return out;
}

const offlineStartMs: number[] = [];

async function main(): Promise<void> {
  const t0 = performance.now();
  // Unlimited cores and RAM: the default RAM stops a run at 500 m1.small servers, and the rounds leave theirs in place.
  sim = await startCloudSim({
    bootDelayMs: BOOT_MS,
    quotas: { instances: 1_000_000, cores: -1, ram: -1, floatingIps: 100 },
  });
  gd = await startGearmand({ threads: 2 });
  fnEnv = {
    ...sim.env,
    POOL_IMAGE: 'haproxy-lb',
    POOL_FLAVOR: 'm1.small',
    POOL_NODE_BASENAME: 'libra_bench_haproxy',
    POOL_AZ_LABEL: '3',
    POOL_POLL_INITIAL_MS: String(POLL_MS),
  };
  const specs: Spec[] = [
    // 1. The fleet: bridge --concurrency CONCURRENCY, serverless-offline --useInProcess.
    ...SIZES.map((n) => ({
      label: `fleet c=${CONCURRENCY} N=${n}`,
      inProcess: true,
      concurrency: CONCURRENCY,
      n,
      cold: RUNS,
      warm: RUNS,
    })),
    // 2. The bridge's default concurrency (64), largest N.
    ...(DEFAULT_C_RUNS > 0
      ? [
          {
            label: `bridge c=64 N=${Math.max(...SIZES)}`,
            inProcess: true,
            concurrency: 64,
            n: Math.max(...SIZES),
            cold: 0,
            warm: DEFAULT_C_RUNS,
          },
        ]
      : []),
    // 3. The same stack with the original's concurrency, 4.
    ...C4_SIZES.map((n) => ({
      label: `bridge c=4 N=${n}`,
      inProcess: true,
      concurrency: 4,
      n,
      cold: 0,
      warm: C4_RUNS,
    })),
    // 4. serverless-offline's default: a worker thread per concurrent invoke (small N only: see the header).
    ...WT_SIZES.map((n) => ({
      label: `fleet c=${CONCURRENCY} N=${n} worker-threads`,
      inProcess: false,
      concurrency: CONCURRENCY,
      n,
      cold: WT_RUNS,
      warm: WT_RUNS,
    })),
  ];
  const all: FleetSeries[] = [];
  try {
    for (const spec of specs) all.push(...(await measure(spec)));
  } finally {
    for (const o of shared.values()) await o.stop();
    await gd.stop();
    await sim.close();
  }
  const sizes = [...new Set([...SIZES, ...C4_SIZES, ...WT_SIZES])].sort((a, b) => a - b);
  const original = Object.fromEntries(sizes.map((n) => [n, originalModelSeconds(n, BOOT_MS)]));
  const out: FleetBuilds = {
    bootMs: BOOT_MS,
    pollInitialMs: POLL_MS,
    pollGrowth: POLL_GROWTH,
    bridgeConcurrency: CONCURRENCY,
    clientConnections: 4,
    quick,
    originalModel: { ...ORIGINAL, secondsByN: original },
    offlineStartMs: stat(offlineStartMs.map((ms) => round(ms, 0))),
    series: all,
    seconds: round((performance.now() - t0) / 1000, 1),
  };
  log(NAME, `original model: ${sizes.map((n) => `N=${n}: ${original[n]} s`).join(', ')}`);
  log(NAME, `wrote ${writeFragment(NAME, out)} in ${out.seconds} s`);
}

await main();
