/**
 * The whole pool manager on loopback, as in production but small: the cloud simulator,
 * a real gearmand, the local Lambda running the bundled handlers against the simulator,
 * and the pool-bridge command as a child process invoking it. Plus the bookkeeping every
 * reliability test needs: submit jobs, compare what the results report with what the
 * cloud holds, clean up, and report numbers.
 */
import fs from 'node:fs';
import type { Result } from '../../../contract';
import { GEARMAN_FUNCTION, describeUnique, uniqueBytes } from '../../../contract';
import type { CloudSim, CloudSimOptions } from '../../../scripts/cloud-sim';
import { GearmanClient } from '../../../bridge/gearman';
import { functionEnv, startCloud } from '../../helpers/cloud';
import type { LocalLambda } from './local-lambda';
import { startLocalLambda } from './local-lambda';
import { guardFile, removeGuardFile } from '../../../scripts/harness';
import type { BridgeProc } from './procs';
import { startBridgeProcess } from './procs';
import type { Gearmand } from '../../../scripts/harness';
import { startGearmand } from '../../../scripts/harness';

export const FN = GEARMAN_FUNCTION;

export interface ChainOptions {
  label: string;
  sim?: CloudSimOptions;
  /** Use this simulator instead of starting one (stop() still closes it). */
  cloud?: CloudSim;
  /** Extra function environment (over the simulator's OS_* and the test POOL_* settings). */
  env?: Record<string, string>;
  timeouts?: Parameters<typeof startLocalLambda>[0]['timeouts'];
  bridgeArgs?: string[];
  bridgeEnv?: Record<string, string>;
  /** Extra node options of the bridge processes. */
  bridgeNodeArgs?: string[];
  /** Start no bridge (the test starts its own). */
  noBridge?: boolean;
}

export interface Chain {
  sim: CloudSim;
  gd: Gearmand;
  lambda: LocalLambda;
  bridge: BridgeProc | undefined;
  /** Files the children record their connections in (loopback guard). */
  guardFiles: string[];
  /** Starts (another) bridge process on this chain's gearmand and Lambda. */
  startBridge(clientId: string, args?: string[], env?: Record<string, string>): Promise<BridgeProc>;
  /** Submits one job and resolves with its result object (throws if it is not one). A unique id may be bytes. */
  job(message: Record<string, unknown>, unique: string | Uint8Array): Promise<Result>;
  stop(): Promise<void>;
}

export async function startChain(options: ChainOptions): Promise<Chain> {
  const guardFiles = [guardFile(`${options.label}-lambda`)];
  const sim = options.cloud ?? (await startCloud({ bootDelayMs: 200, ...options.sim }));
  const gd = await startGearmand();
  const lambda = await startLocalLambda({
    env: functionEnv(sim, { POWERTOOLS_LOG_LEVEL: 'WARN', ...options.env }),
    timeouts: options.timeouts,
    guardFile: guardFiles[0],
  });
  const bridges: BridgeProc[] = [];
  const startBridge = async (
    clientId: string,
    args: string[] = [],
    env: Record<string, string> = {},
  ): Promise<BridgeProc> => {
    const file = guardFile(`${options.label}-${clientId}`);
    guardFiles.push(file);
    const b = await startBridgeProcess({
      servers: [gd.address],
      lambdaUrl: lambda.url,
      clientId,
      args: [...(options.bridgeArgs ?? []), ...args],
      env: { ...options.bridgeEnv, ...env },
      guardFile: file,
      nodeArgs: options.bridgeNodeArgs,
    });
    bridges.push(b);
    return b;
  };
  const bridge = options.noBridge ? undefined : await startBridge(`${options.label}-bridge`);
  let client: GearmanClient | undefined;
  return {
    sim,
    gd,
    lambda,
    bridge,
    guardFiles,
    startBridge,
    job: async (message, unique) => {
      client ??= await GearmanClient.connect(gd.address);
      const r = await client.submit(FN, unique, JSON.stringify(message));
      if (r.packet !== 'WORK_COMPLETE' || typeof r.json !== 'object' || r.json === null) {
        throw new Error(
          `job ${describeUnique(uniqueBytes(unique))}: ${r.packet} ${r.data.toString('utf8').slice(0, 300)}`,
        );
      }
      return r.json as Result;
    },
    stop: async () => {
      client?.close();
      await Promise.all(bridges.map((b) => b.stop(5000)));
      await lambda.stop();
      await gd.stop();
      await sim.close();
    },
  };
}

/** Removes the guard files of a chain (after the loopback assertion read them). */
export function removeGuardFiles(files: string[]): void {
  for (const f of files) removeGuardFile(f);
}

export interface Inventory {
  /** Servers on the cloud that no PASS result reports. */
  strayServers: string[];
  /** Floating IPs on the cloud that no PASS result reports. */
  strayIps: string[];
  /** PASS results whose server or IP is not on the cloud. */
  missing: string[];
}

/** Compares what PASS results report (BUILD_DEVICE names, BUILD_IP addresses) with what the cloud holds. */
export function inventory(sim: CloudSim, results: Result[]): Inventory {
  const names = new Set<string>();
  const ips = new Set<string>();
  for (const r of results) {
    if (r.response !== 'PASS') continue;
    const action = String(r.action).toUpperCase();
    if (action === 'BUILD_DEVICE') names.add(String(r.name));
    if (action === 'BUILD_IP') ips.add(String(r.ip));
  }
  const servers = sim.servers().filter((s) => s.status !== 'DELETED');
  const fips = sim.floatingIps();
  const onCloud = new Set(servers.map((s) => s.name));
  const ipsOnCloud = new Set(fips.map((f) => f.address));
  return {
    strayServers: servers.filter((s) => !names.has(s.name)).map((s) => `${s.name} (${s.status})`),
    strayIps: fips.filter((f) => !ips.has(f.address)).map((f) => f.address),
    missing: [...[...names].filter((n) => !onCloud.has(n)), ...[...ips].filter((ip) => !ipsOnCloud.has(ip))],
  };
}

/** Numbers for docs/reliability.md: printed as TAP comments, and appended to $RELIABILITY_REPORT if set. */
export function report(scenario: string, numbers: Record<string, unknown>): void {
  const line = JSON.stringify({ scenario, ...numbers });
  console.log(`reliability ${line}`);
  const file = process.env.RELIABILITY_REPORT;
  if (file) fs.appendFileSync(file, `${line}\n`);
}
