/**
 * The parts of a local fleet, assembled for the benchmarks: serverless-offline serving the
 * bundled functions (serverless-esbuild, exactly as serverless.yml says) and the
 * pool-bridge command, each a child process on free loopback ports.
 */
import fs from 'node:fs';
import { BRIDGE_BIN, startOffline as startFleetOffline, stageService as stageFleetService } from '../../scripts/fleet';
import { gearmanStatus } from '../../bridge/gearman';
import type { Child, Gearmand } from '../../scripts/harness';
import { envWithoutServices, spawnChild } from '../../scripts/harness';
import { ROOT, logFile } from './common';

/** Staged service directories still to remove when the benchmark process exits. */
const staged = new Set<string>();
process.once('exit', () => {
  for (const dir of staged) fs.rmSync(dir, { recursive: true, force: true });
});

/** The fleet's staged service directory (scripts/fleet), removed on exit if the caller does not. */
export function stageService(): { dir: string; remove(): void } {
  const dir = stageFleetService('pool-bench-service-');
  staged.add(dir);
  return {
    dir,
    remove: () => {
      fs.rmSync(dir, { recursive: true, force: true });
      staged.delete(dir);
    },
  };
}

export interface Offline {
  /** http://127.0.0.1:N, the Lambda Invoke API. */
  url: string;
  child: Child;
  /** Milliseconds from spawn to "listening" (includes the esbuild bundling). */
  startMs: number;
  stop(): Promise<void>;
}

export interface OfflineOptions {
  /** The function environment: the simulator's OS_* plus POOL_* settings. */
  env: Record<string, string>;
  /** serverless-offline --useInProcess: every handler in the serverless process (default: a worker thread per concurrent invoke). */
  inProcess?: boolean;
  readyTimeoutMs?: number;
  /** Name of its log file in bench/out/logs/. */
  log: string;
}

/**
 * The fleet's serverless offline (scripts/fleet), in a staged service directory of its own,
 * timed from staging to ready. Dummy AWS credentials; telemetry off.
 */
export async function startOffline(options: OfflineOptions): Promise<Offline> {
  const t0 = performance.now();
  const staging = stageService();
  try {
    const service = await startFleetOffline({
      staging: staging.dir,
      env: envWithoutServices({
        ...options.env,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
      }),
      logFile: logFile(options.log),
      ...(options.inProcess ? { extraArgs: ['--useInProcess'] } : {}),
      ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
    });
    return {
      url: service.url,
      child: service,
      startMs: performance.now() - t0,
      stop: async () => {
        await service.stop(15_000);
        staging.remove();
      },
    };
  } catch (error) {
    staging.remove();
    throw error;
  }
}

/** The workers gearmand counts as available for fn (0 when it does not answer). */
export async function availableWorkers(gd: Gearmand, fn: string): Promise<number> {
  const functions = await gearmanStatus(gd).catch(() => []);
  return functions.find((f) => f.function === fn)?.availableWorkers ?? 0;
}

/**
 * The pool-bridge command as it ships (dist/pool-bridge.mjs), no health endpoint. With `log`,
 * the bridge writes its output to that file itself: reading it line by line here would cost
 * this process CPU the benchmarks measure on the same two cores.
 */
export function startBridgeCli(options: {
  gearman: string;
  /** Omitted for --dry-run (in extraArgs). */
  lambdaEndpoint?: string;
  /** Default: the bridge's own (64). */
  concurrency?: number;
  /** Default WARN. */
  logLevel?: string;
  /** --drain-timeout in seconds (default 0). */
  drainTimeout?: number;
  extraArgs?: string[];
  /** Node options before the script, e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Name of its log file in bench/out/logs/. */
  log?: string;
}): Child {
  const out = options.log ? fs.openSync(logFile(options.log), 'w') : undefined;
  const child = spawnChild({
    name: 'pool-bridge',
    command: process.execPath,
    args: [
      ...(options.nodeArgs ?? []),
      BRIDGE_BIN,
      '--gearman',
      options.gearman,
      ...(options.lambdaEndpoint === undefined ? [] : ['--lambda-endpoint', options.lambdaEndpoint]),
      ...(options.concurrency === undefined ? [] : ['--concurrency', String(options.concurrency)]),
      '--health-listen',
      'off',
      '--log-level',
      options.logLevel ?? 'WARN',
      '--drain-timeout',
      String(options.drainTimeout ?? 0),
      ...(options.extraArgs ?? []),
    ],
    cwd: ROOT,
    env: envWithoutServices({ NODE_NO_WARNINGS: '1', AWS_EC2_METADATA_DISABLED: 'true' }),
    ...(out === undefined ? {} : { stdout: out, stderr: out }),
  });
  if (out !== undefined) fs.closeSync(out);
  return child;
}
