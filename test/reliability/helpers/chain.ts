/**
 * The whole pool manager on loopback, as in production but small: the cloud simulator,
 * a real gearmand, the local Lambda running the bundled handlers against the simulator,
 * and the pool-bridge command as a child process invoking it. Plus the bookkeeping every
 * reliability test needs: the loopback guard, submit jobs, compare what the results report with what the
 * cloud holds, clean up, and report numbers.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before } from 'node:test';
import type { Result } from '../../../contract';
import { GEARMAN_FUNCTION, describeUnique, uniqueBytes } from '../../../contract';
import type { CloudSim, CloudSimOptions } from '../../../scripts/cloud-sim';
import { GearmanClient } from '../../../bridge/gearman';
import { functionEnv, startCloud } from '../../helpers/cloud';
import type { LocalLambda } from './local-lambda';
import { startLocalLambda } from './local-lambda';
import type { BridgeProc } from './procs';
import { startBridgeProcess } from './procs';
import type { ConnectionRecord, Gearmand } from '../../../scripts/harness';
import {
  allConnections,
  guardFile,
  installLoopbackGuard,
  removeGuardFile,
  startGearmand,
} from '../../../scripts/harness';

export const FN = GEARMAN_FUNCTION;

export interface LoopbackGuardOptions {
  /** Connections the file makes to a non-loopback address on purpose: left out of the check. */
  ignore?: (connection: ConnectionRecord) => boolean;
  /** Assert that the guard saw connections at all (default true). */
  expectSome?: boolean;
  /** Stops what the file started, before the check reads what the children recorded. */
  teardown?: () => Promise<void>;
  /** Reports the number of connections checked under this scenario name. */
  report?: string;
}

export interface LoopbackGuard {
  /** A fresh file for a child to record its connections in; the check reads and removes it. */
  file(label: string): string;
}

/**
 * The loopback guard of a reliability test file: installed in this process before anything
 * starts (a before hook), and after everything (an after hook, teardown first) the check
 * that every connection of this process and of the children given a `file()` went to
 * loopback. Call it at the top of the file, before the file's own hooks.
 */
export function useLoopbackGuard(options: LoopbackGuardOptions = {}): LoopbackGuard {
  const files: string[] = [];
  before(async () => {
    await installLoopbackGuard();
  });
  after(async () => {
    await options.teardown?.();
    const all = (await allConnections(files)).filter((c) => !options.ignore?.(c));
    for (const f of files) removeGuardFile(f);
    if (options.expectSome ?? true) assert.ok(all.length > 0, 'the loopback guard saw the connections');
    assert.deepEqual(
      all.filter((c) => !c.allowed),
      [],
      'every connection was to loopback',
    );
    if (options.report) report(options.report, { connections: all.length, nonLoopback: 0 });
  });
  return {
    file: (label) => {
      const file = guardFile(label);
      files.push(file);
      return file;
    },
  };
}

export interface ChainOptions {
  label: string;
  /** The file's loopback guard: the chain's children record their connections for it. */
  guard: LoopbackGuard;
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
  /** Starts (another) bridge process on this chain's gearmand and Lambda. */
  startBridge(clientId: string, args?: string[], env?: Record<string, string>): Promise<BridgeProc>;
  /** Submits one job and resolves with its result object (throws if it is not one). A unique id may be bytes. */
  job(message: Record<string, unknown>, unique: string | Uint8Array): Promise<Result>;
  /**
   * Clears the faults and deletes through the bridge what `results` made: every device a
   * BUILD_DEVICE result names (PASS or not: deleting a device that is gone is a PASS too)
   * and every address a BUILD_IP PASS reports; then asserts the cloud is empty.
   */
  cleanUp(results: Result[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startChain(options: ChainOptions): Promise<Chain> {
  const sim = options.cloud ?? (await startCloud({ bootDelayMs: 200, ...options.sim }));
  const gd = await startGearmand();
  const lambda = await startLocalLambda({
    env: functionEnv(sim, { POWERTOOLS_LOG_LEVEL: 'WARN', ...options.env }),
    timeouts: options.timeouts,
    guardFile: options.guard.file(`${options.label}-lambda`),
  });
  const bridges: BridgeProc[] = [];
  const startBridge = async (
    clientId: string,
    args: string[] = [],
    env: Record<string, string> = {},
  ): Promise<BridgeProc> => {
    const b = await startBridgeProcess({
      servers: [gd.address],
      lambdaUrl: lambda.url,
      clientId,
      args: [...(options.bridgeArgs ?? []), ...args],
      env: { ...options.bridgeEnv, ...env },
      guardFile: options.guard.file(`${options.label}-${clientId}`),
      nodeArgs: options.bridgeNodeArgs,
    });
    bridges.push(b);
    return b;
  };
  const bridge = options.noBridge ? undefined : await startBridge(`${options.label}-bridge`);
  let client: GearmanClient | undefined;
  const job = async (message: Record<string, unknown>, unique: string | Uint8Array): Promise<Result> => {
    client ??= await GearmanClient.connect(gd.address);
    const r = await client.submit(FN, unique, JSON.stringify(message));
    if (r.packet !== 'WORK_COMPLETE' || typeof r.json !== 'object' || r.json === null) {
      throw new Error(
        `job ${describeUnique(uniqueBytes(unique))}: ${r.packet} ${r.data.toString('utf8').slice(0, 300)}`,
      );
    }
    return r.json as Result;
  };
  return {
    sim,
    gd,
    lambda,
    bridge,
    startBridge,
    job,
    cleanUp: async (results) => {
      sim.faults.clear();
      for (const r of results) {
        const action = String(r.action).toUpperCase();
        if (action === 'BUILD_DEVICE' && typeof r.name === 'string') {
          const del = await job({ action: 'DELETE_DEVICE', name: r.name }, `cleanup-${r.name}`);
          assert.equal(del.response, 'PASS', JSON.stringify(del));
        } else if (action === 'BUILD_IP' && r.response === 'PASS') {
          const del = await job({ action: 'DELETE_IP', ip: r.ip }, `cleanup-${String(r.ip)}`);
          assert.equal(del.response, 'PASS', JSON.stringify(del));
        }
      }
      assert.deepEqual([sim.counts().servers, sim.counts().floatingIps], [0, 0], 'nothing left after cleanup');
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
