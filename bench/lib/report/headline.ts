/**
 * The headline figures (bench/results.json) and the targets they are held to, from the
 * fragments; the summary and the sections quote them.
 */
import { round } from '../common';
import type { FleetBuilds, FleetSeries } from '../fragments';
import type { Fragments } from './index';

export const TARGETS = {
  fleetOverBoot: 1.5,
  bridgeOverC: 1,
  bridgeIdleRssMiB: 60,
  bridgeStartOverBareNode: 6,
  tokensPerThousand: 1,
  zipKB: 250,
  /** The slowest function's median cold init ÷ the minimal handler's (bench/function-package.ts). */
  initOverMinimal: 1.5,
  /** Token, image and flavor requests of a warm BUILD_DEVICE. */
  warmBuildSetUp: 0,
};

export type Target = keyof typeof TARGETS;

/**
 * Whether each figure meets its target, one comparison per target for the summary and the
 * missed targets alike; a target whose benchmark did not run is absent.
 */
export function targetsMet(fr: Fragments, r: Record<string, number | null>): Partial<Record<Target, boolean>> {
  const met: Partial<Record<Target, boolean>> = {};
  if (fr.fleet) met.fleetOverBoot = (r.fleet_200_builds_over_boot_time ?? Infinity) <= TARGETS.fleetOverBoot;
  if (fr.bridge) {
    met.bridgeOverC = (r.bridge_over_c_worker_throughput ?? 0) >= TARGETS.bridgeOverC;
    met.bridgeIdleRssMiB = fr.bridge.footprint.idleRssMiB.median <= TARGETS.bridgeIdleRssMiB;
    met.bridgeStartOverBareNode = fr.bridge.footprint.startOverBareNode.median <= TARGETS.bridgeStartOverBareNode;
  }
  if (fr.calls) {
    met.tokensPerThousand = fr.calls.tokens.perThousandJobs <= TARGETS.tokensPerThousand;
    met.warmBuildSetUp = fr.calls.warmBuild.setUp <= TARGETS.warmBuildSetUp;
  }
  if (fr.pkg) {
    met.zipKB = fr.pkg.maxZipKB <= TARGETS.zipKB;
    met.initOverMinimal = fr.pkg.initOverMinimal <= TARGETS.initOverMinimal;
  }
  return met;
}

export function findSeries(
  f: FleetBuilds,
  q: Partial<Pick<FleetSeries, 'endpoint' | 'temperature' | 'concurrency' | 'n'>>,
): FleetSeries | undefined {
  return f.series.find(
    (s) =>
      (q.endpoint === undefined || s.endpoint === q.endpoint) &&
      (q.temperature === undefined || s.temperature === q.temperature) &&
      (q.concurrency === undefined || s.concurrency === q.concurrency) &&
      (q.n === undefined || s.n === q.n),
  );
}

export function fleetHeadline(f: FleetBuilds): FleetSeries | undefined {
  const n = Math.max(
    ...f.series.filter((s) => s.endpoint === 'in-process' && s.concurrency === f.bridgeConcurrency).map((s) => s.n),
  );
  return findSeries(f, { endpoint: 'in-process', temperature: 'cold', concurrency: f.bridgeConcurrency, n });
}

export function results(fr: Fragments): Record<string, number | null> {
  const head = fr.fleet ? fleetHeadline(fr.fleet) : undefined;
  const warm =
    fr.fleet && head
      ? findSeries(fr.fleet, { endpoint: 'in-process', temperature: 'warm', concurrency: head.concurrency, n: head.n })
      : undefined;
  const ref = fr.bridge?.configs.find((c) => c.key === fr.bridge?.referenceKey);
  const bridgeDefault = fr.bridge?.configs.find((c) => c.key === 'bridge_info');
  const original = fr.fleet && head ? fr.fleet.originalModel.secondsByN[String(head.n)] : undefined;
  const n = (v: number | undefined, d = 3): number | null => (v === undefined || Number.isNaN(v) ? null : round(v, d));
  return {
    fleet_200_builds_over_boot_time: n(head?.overBootTime.median),
    bridge_over_c_worker_throughput: n(fr.bridge?.ratio.bridgeInfoOverReference.median),
    keystone_tokens_per_1000_jobs: n(fr.calls?.tokens.perThousandJobs),
    max_function_zip_kb: n(fr.pkg?.maxZipKB, 1),
    cold_init_over_minimal_handler: n(fr.pkg?.initOverMinimal, 2),
    max_cold_init_ms: n(fr.pkg?.maxInitMs, 1),
    cold_init_over_minimal_http_handler: n(fr.pkg?.initOverHttpFloor, 2),
    warm_build_set_up_requests: n(fr.calls?.warmBuild.setUp),
    // Context for the figures above.
    fleet_200_builds_seconds: n(head?.wallSeconds.median),
    fleet_200_builds_warm_over_boot_time: n(warm?.overBootTime.median),
    original_model_200_builds_seconds: n(original),
    fleet_speedup_over_original_model: n(
      original !== undefined && head ? original / head.wallSeconds.median : undefined,
      0,
    ),
    bridge_jobs_per_second: n(bridgeDefault?.jobsPerSecond.median, 0),
    c_worker_jobs_per_second: n(ref?.jobsPerSecond.median, 0),
    bridge_warn_over_c_worker_throughput: n(fr.bridge?.ratio.bridgeWarnOverReference.median),
    bridge_rss_mib_1000_in_flight: n(fr.bridge?.memory.busyRssMiB, 1),
    bridge_idle_rss_mib: n(fr.bridge?.footprint.idleRssMiB.median, 1),
    bridge_start_to_registered_ms: n(fr.bridge?.footprint.startToRegisteredMs.median, 0),
    bridge_start_over_bare_node: n(fr.bridge?.footprint.startOverBareNode.median, 2),
    status_polls_per_build_default_settings: n(fr.calls?.statusPollsPerBuild.median),
    warm_build_requests: n(fr.calls?.warmBuild.requests),
    minimal_handler_cold_init_ms: n(fr.pkg?.init.minimal.median, 1),
    minimal_http_handler_cold_init_ms: n(fr.pkg?.init.httpFloor.median, 1),
    undici_alone_cold_init_ms: n(fr.pkg?.init.undiciOnly.median, 1),
  };
}
