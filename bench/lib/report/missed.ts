/** "Targets missed, and why": each target the run missed, with what the figures say about it. */
import { stat } from '../common';
import { collect, fixed, kb, polls } from './format';
import { TARGETS, fleetHeadline, targetsMet } from './headline';
import type { Fragments } from './index';

export function missedSection(fr: Fragments, r: Record<string, number | null>): string[] {
  const [out, p] = collect();
  const m = targetsMet(fr, r);
  const lines: string[] = [];
  if (fr.fleet && m.fleetOverBoot === false) {
    lines.push(
      `- **Fleet build time: ${fixed(r.fleet_200_builds_over_boot_time ?? Number.NaN)}× the boot time for 200 builds (target ≤ ${TARGETS.fleetOverBoot}×).** The poll`,
      `  schedule alone puts the floor at ${fixed(polls(fr.fleet.bootMs, fr.fleet.pollInitialMs, fr.fleet.pollGrowth).seenAtMs / fr.fleet.bootMs)}× (section 1); the rest is the time to dispatch 200 jobs through`,
      '  gearmand, the bridge, serverless-offline, the function and the simulator, every one of them on the same two',
      '  cores (with the load generator and whatever else ran on the machine: see the load averages in section 1):',
      `  the last of the 200 servers was requested ${fixed(stat((fleetHeadline(fr.fleet)?.rounds ?? []).map((x) => x.lastCreateMs)).median / 1000)} s after the submission (median of the cold rounds), so its`,
      `  build ended about that much after the floor. In AWS the functions run on capacity of`,
      '  their own; locally a faster first poll (POOL_POLL_INITIAL_MS) would lower the floor but not the dispatch.',
    );
  }
  if (fr.bridge && m.bridgeOverC === false) {
    const prof = fr.bridge.profile;
    lines.push(
      `- **Bridge throughput: ${fixed(r.bridge_over_c_worker_throughput ?? Number.NaN)}× the C worker (target ≥ ${TARGETS.bridgeOverC}×).** Under the profiler it was idle ${fixed(prof.idlePct, 0)}% of the`,
      `  time; its busy time went to ${prof.inclusive
        .slice(0, 4)
        .map((e) => `${e.where} ${fixed(e.pct, 0)}%`)
        .join(', ')} (section 2). The bridge shares the two cores with gearmand and the load`,
      '  generator, as the C workers do; see the load averages in section 2.',
    );
  }
  if (fr.bridge && m.bridgeIdleRssMiB === false) {
    lines.push(
      `- **Bridge idle RSS: ${fixed(fr.bridge.footprint.idleRssMiB.median, 1)} MiB (target ≤ ${TARGETS.bridgeIdleRssMiB} MiB).** Most of it is the AWS SDK the Lambda invoker loads at start.`,
    );
  }
  if (fr.bridge && m.bridgeStartOverBareNode === false) {
    lines.push(
      `- **Bridge start: ${fixed(fr.bridge.footprint.startOverBareNode.median)}× a bare node start (target ≤ ${TARGETS.bridgeStartOverBareNode}×).**`,
    );
  }
  if (fr.calls && m.tokensPerThousand === false) {
    lines.push(
      `- **Keystone tokens: ${fixed(fr.calls.tokens.perThousandJobs)} per 1,000 jobs (target ≤ ${TARGETS.tokensPerThousand}).**`,
    );
  }
  if (fr.calls && m.warmBuildSetUp === false) {
    lines.push(
      `- **A warm build still asks for ${fixed(fr.calls.warmBuild.setUp)} token, image or flavor requests (target ${TARGETS.warmBuildSetUp}).** See section 3.`,
    );
  }
  if (fr.pkg && m.zipKB === false) {
    const top = fr.pkg.bundles[0]?.top ?? [];
    const undici = top.find((t) => t.input === 'undici');
    lines.push(
      `- **Function zip: ${fixed(fr.pkg.maxZipKB, 1)} KB (target ≤ ${TARGETS.zipKB} KB).** ${undici ? `undici is ${kb(undici.bytes)} (${fixed(undici.pct, 0)}%) of the minified bundle.` : ''} See section 4.`,
    );
  }
  if (fr.pkg && m.initOverMinimal === false) {
    const k = fr.pkg;
    const slow = [...k.init.functions].sort((a, b) => b.asDeployed.median - a.asDeployed.median)[0];
    const rest = k.maxInitMs - k.init.httpFloor.median;
    lines.push(
      `- **Cold init: ${fixed(k.maxInitMs, 1)} ms median for ${slow?.fn ?? '?'}, ${fixed(k.initOverMinimal)}× the minimal handler's ${fixed(k.init.minimal.median, 1)} ms (target ≤ ${TARGETS.initOverMinimal}×).**`,
      `  The HTTP floor, the Logger plus undici's Agent and request alone, takes ${fixed(k.init.httpFloor.median, 1)} ms (${fixed(k.init.httpFloor.median / k.init.minimal.median, 1)}× the minimal handler):`,
      `  the target would need a function to load all of its code in ${fixed(k.init.minimal.median * TARGETS.initOverMinimal, 1)} ms, less than undici's HTTP client alone.`,
      `  Everything else in the bundle (the contract, the OpenStack client, the core, Powertools Metrics, zod) adds about`,
      `  ${fixed(rest, 0)} ms (${fixed(k.initOverHttpFloor)}× the floor). undici stays the HTTP client and every action makes HTTP requests, so it`,
      '  is loaded at init: importing it on first use would only move its load into the first job (the same time from a',
      '  cold start to the first answer), not remove it.',
    );
  }
  p('## Targets missed, and why', '');
  if (lines.length === 0) p('None: every target was met in this run.', '');
  else p(...lines, '');
  return out;
}
