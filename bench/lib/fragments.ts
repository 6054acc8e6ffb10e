/**
 * What each benchmark script writes to bench/out/<name>.json and bench/lib/report/ reads
 * back: the shapes, typed once for both sides, and the functions that write and read them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FunctionName } from '../../contract/actions';
import type { Stat } from './common';
import { OUT_DIR, round } from './common';
import type { ProfileSummary } from './cpuprofile';

/** When a script ran, and the machine's load then (other work on it skews timings). */
export interface Meta {
  startedAt: string;
  finishedAt: string;
  loadAvg1mAtStart: number;
  loadAvg1mAtEnd: number;
}

// ------------------------------------------------------------------ bench/fleet-builds.ts

/** One round: n BUILD_DEVICE jobs submitted at once. */
export interface FleetRound {
  n: number;
  wallMs: number;
  pass: number;
  notPass: number;
  firstError?: string;
  latencyP50Ms: number;
  latencyMaxMs: number;
  statusPollsPerBuild: number;
  requestsPerBuild: number;
  tokenRequests: number;
  /** When the first and the last POST /servers reached the cloud, from the submission. */
  firstCreateMs: number;
  lastCreateMs: number;
  /** The machine's 1-minute load average when the round ended. */
  loadAvg1m: number;
}

export interface FleetSeries {
  label: string;
  endpoint: 'worker-threads' | 'in-process';
  temperature: 'cold' | 'warm';
  concurrency: number;
  n: number;
  rounds: FleetRound[];
  wallSeconds: Stat;
  overBootTime: Stat;
  /** Largest peak RSS of serverless-offline over the series' processes. */
  offlinePeakRssMiB?: number;
}

export interface FleetBuilds {
  bootMs: number;
  pollInitialMs: number;
  pollGrowth: number;
  bridgeConcurrency: number;
  clientConnections: number;
  quick: boolean;
  originalModel: { threads: number; pollSeconds: number; secondsByN: Record<string, number> };
  offlineStartMs: Stat;
  series: FleetSeries[];
  seconds: number;
}

// ------------------------------------------------------------------ bench/bridge-overhead.ts

/** One load run against one worker configuration (bench/lib/load.ts). */
export interface LoadRun {
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  wrong: number;
  timeLimited: boolean;
  /** The machine's 1-minute load average when the run ended. */
  loadAvg1m: number;
}

export interface WorkerConfigResult {
  key: string;
  label: string;
  runs: LoadRun[];
  jobsPerSecond: Stat;
  p50Ms: Stat;
  p99Ms: Stat;
}

export interface InFlightMemory {
  inflight: number;
  reached: number;
  idleRssMiB: number;
  busyRssMiB: number;
  peakRssMiB: number;
  perJobKiB: number;
  fillMs: number;
}

/** The built bridge's start and idle memory, against a bare `node -e 0` in the same run. */
export interface Footprint {
  starts: number;
  /** exec -> exit of `node -e 0`. */
  bareNodeMs: Stat;
  /** exec -> the bridge's "registered with job server" line. */
  startToRegisteredMs: Stat;
  /** Per start: the bridge's time over the bare node's just before it. */
  startOverBareNode: Stat;
  /** RSS 2 s after registering (the Lambda invoker loaded, no job yet). */
  idleRssMiB: Stat;
  /** RSS idle again 2 s after a burst of burstJobs jobs through a local Lambda endpoint. */
  idleRssAfterJobsMiB: Stat;
  burstJobs: number;
}

export interface BridgeOverhead {
  /** What was measured: the built file, its size, the Node that ran it. */
  built: { file: string; kib: number; node: string; commit: string; uncommitted: number };
  gearmandThreads: number;
  load: { jobs: number; connections: number; outstanding: number; timeLimitMs: number; warmupJobs: number };
  bridgeConcurrency: number;
  quick: boolean;
  configs: WorkerConfigResult[];
  referenceKey: string;
  ratio: { bridgeInfoOverReference: Stat; bridgeWarnOverReference: Stat };
  footprint: Footprint;
  memory: InFlightMemory;
  profile: ProfileSummary & { jobsPerSecond: number };
  /** The 1-minute load average before and after the script's runs. */
  machineLoad: { before: number; after: number };
  seconds: number;
}

// ------------------------------------------------------------------ bench/openstack-calls.ts

/** One action's counts. */
export interface ActionCalls {
  action: string;
  fn: FunctionName;
  jobs: number;
  pass: number;
  firstError?: string;
  /** Requests of the first job of the warm process, by service and by operation. */
  cold: Record<string, number>;
  /** Mean requests per job over the other jobs, by service and by operation. */
  warmPerJob: Record<string, number>;
  tokenRequests: number;
  durationMs: Stat;
}

export interface OpenStackCalls {
  bootMs: number;
  pollDefaults: { initialMs: number; growth: number; maxMs: number };
  quick: boolean;
  actions: ActionCalls[];
  statusPollsPerBuild: Stat;
  /** Mean requests of a warm BUILD_DEVICE (every one after a process's first), by purpose. */
  warmBuild: {
    requests: number;
    creates: number;
    statusPolls: number;
    /** GET /servers/detail?name=: the rerun check before the create, the twin check after ACTIVE. */
    lookupsByName: number;
    /** Keystone tokens, image and flavor lookups: repeated set-up, 0 when a warm function keeps it. */
    setUp: number;
  };
  buildSeconds: Stat;
  tokens: {
    cheapJobs: number;
    cheapTokenRequests: number;
    perThousandJobs: number;
    warmProcesses: number;
    allJobs: number;
    allTokenRequests: number;
    /** The original authenticated on every job. */
    originalPerThousandJobs: number;
  };
  seconds: number;
}

// ------------------------------------------------------------------ bench/function-package.ts

/** One function's zip. */
export interface Packaged {
  fn: string;
  zipBytes: number;
  zipKB: number;
  files: { name: string; bytes: number; compressedBytes: number }[];
  /** The source map serverless package built beside the zip (sourcemaps/<bundle path>.map). */
  sourceMapBeside?: { path: string; bytes: number };
}

/** The top contributors to one bundle (esbuild metafile). */
export interface BundleContributors {
  fn: string;
  outputBytes: number;
  top: { input: string; bytes: number; pct: number }[];
}

/** undici in the bundles (esbuild metafiles), against its public entry. */
export interface UndiciShare {
  version: string;
  /** Whether its package.json has an exports map (a public entry smaller than index.js). */
  exportsMap: boolean;
  /** Bytes of undici in the first function's bundle (its Agent and request: functions/openstack/undici.ts), by part of the package. */
  bytesInBundle: number;
  parts: { part: string; bytes: number }[];
  /** Its public entry alone, bundled with the same options (raw, and deflated as in the zip). */
  aloneBytes: number;
  aloneZippedBytes: number;
}

export interface InitTimes {
  fn: string;
  /** With serverless.yml's NODE_OPTIONS, if it sets any. */
  asDeployed: Stat;
}

export interface ColdInit {
  runs: number;
  /** serverless.yml's NODE_OPTIONS, null when it sets none. */
  nodeOptions: string | null;
  functions: InitTimes[];
  /** The reference: a handler with the Powertools Logger only, bundled with the same options. */
  minimal: Stat;
  /**
   * The least a handler that speaks HTTP through undici loads: the Logger and the functions'
   * undici (functions/openstack/undici.ts), bundled the same way.
   */
  httpFloor: Stat;
  /** undici's public entry alone, bundled the same way. */
  undiciOnly: Stat;
  /** `require('@aws-sdk/client-ssm')` alone. */
  sdkOnly: Stat;
}

export interface FunctionPackage {
  quick: boolean;
  esbuild: Record<string, unknown>;
  packageSeconds: number;
  packaged: Packaged[];
  bundles: BundleContributors[];
  undici: UndiciShare;
  init: ColdInit;
  maxZipKB: number;
  /** The slowest function's median cold init, and that ÷ the minimal handler's and ÷ the HTTP floor's medians. */
  maxInitMs: number;
  initOverMinimal: number;
  initOverHttpFloor: number;
  seconds: number;
}

// ------------------------------------------------------------------ writing and reading

/** Each script's fragment, by the script's name. */
export interface FragmentData {
  'fleet-builds': FleetBuilds;
  'bridge-overhead': BridgeOverhead;
  'openstack-calls': OpenStackCalls;
  'function-package': FunctionPackage;
}

export type FragmentName = keyof FragmentData;

/** A fragment as written: the script's data plus when it ran. */
export type Fragment<K extends FragmentName> = FragmentData[K] & { meta: Meta };

/** The 1-minute load average when this script started. */
const loadAtStart = round(os.loadavg()[0] ?? 0, 2);
const startedAt = new Date().toISOString();

/** Writes bench/out/<name>.json: the data plus when it ran and the machine's load average then. */
export function writeFragment<K extends FragmentName>(name: K, data: FragmentData[K]): string {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const file = path.join(OUT_DIR, `${name}.json`);
  const meta: Meta = {
    startedAt,
    finishedAt: new Date().toISOString(),
    loadAvg1mAtStart: loadAtStart,
    loadAvg1mAtEnd: round(os.loadavg()[0] ?? 0, 2),
  };
  fs.writeFileSync(file, `${JSON.stringify({ ...data, meta }, null, 2)}\n`);
  return file;
}

/** bench/out/<name>.json, or undefined when that script has not run. */
export function readFragment<K extends FragmentName>(name: K): Fragment<K> | undefined {
  const file = path.join(OUT_DIR, `${name}.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Fragment<K>) : undefined;
}
