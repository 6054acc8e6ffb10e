/** "Summary": one table row per question, each figure against its reference and target. */
import { TARGETS, fleetHeadline, targetsMet } from './headline';
import { collect, fixed, met, spread } from './format';
import type { Fragments } from './index';

export function summarySection(fr: Fragments, r: Record<string, number | null>): string[] {
  const [out, p] = collect();
  const m = targetsMet(fr, r);
  p('## Summary', '', '| question | figure | reference (same run) | target | |', '|---|---|---|---|---|');
  if (fr.fleet) {
    const head = fleetHeadline(fr.fleet);
    const original = head ? fr.fleet.originalModel.secondsByN[String(head.n)] : undefined;
    p(
      `| 1. ${head?.n ?? '?'} builds at once, ${fr.fleet.bootMs / 1000} s boot (cold fleet, serverless offline --useInProcess) | ${spread(head?.wallSeconds)} s = **${fixed(r.fleet_200_builds_over_boot_time ?? Number.NaN)}× the boot time** | original model ${original} s (${fixed(r.fleet_speedup_over_original_model ?? Number.NaN, 0)}× longer) | ≤ ${TARGETS.fleetOverBoot}× boot | ${met(m.fleetOverBoot === true)} |`,
    );
  } else p('| 1. fleet build time | not measured | | | |');
  if (fr.bridge) {
    const ref = fr.bridge.configs.find((c) => c.key === fr.bridge?.referenceKey);
    const b = fr.bridge.configs.find((c) => c.key === 'bridge_info');
    const f = fr.bridge.footprint;
    const ratio = fr.bridge.ratio.bridgeInfoOverReference;
    p(
      `| 2. bridge throughput, no-op jobs (built file, --dry-run, INFO) | ${spread(b?.jobsPerSecond, 0)} jobs/s = **${fixed(r.bridge_over_c_worker_throughput ?? Number.NaN)}× the C worker** (${fixed(ratio.min)}–${fixed(ratio.max)}× per run) | ${ref?.label}: ${spread(ref?.jobsPerSecond, 0)} jobs/s | ≥ ${TARGETS.bridgeOverC}× | ${met(m.bridgeOverC === true)} |`,
      `| 2. bridge idle RSS (built file) | **${fixed(f.idleRssMiB.median, 1)} MiB** (${fixed(f.idleRssMiB.min, 1)}–${fixed(f.idleRssMiB.max, 1)}; ${fixed(f.idleRssAfterJobsMiB.median, 1)} MiB idle after ${f.burstJobs} jobs) | | ≤ ${TARGETS.bridgeIdleRssMiB} MiB | ${met(m.bridgeIdleRssMiB === true)} |`,
      `| 2. bridge exec → registered (built file) | **${fixed(f.startToRegisteredMs.median, 0)} ms = ${fixed(f.startOverBareNode.median)}×** a bare node start | \`node -e 0\`: ${spread(f.bareNodeMs, 0, ' ms')} | ≤ ${TARGETS.bridgeStartOverBareNode}× | ${met(m.bridgeStartOverBareNode === true)} |`,
      `| 2. bridge memory, ${fr.bridge.memory.inflight} jobs in flight (built file) | ${fixed(fr.bridge.memory.busyRssMiB, 1)} MiB RSS (idle ${fixed(fr.bridge.memory.idleRssMiB, 1)} MiB) | | report | |`,
    );
  } else p('| 2. bridge overhead | not measured | | | |');
  if (fr.calls) {
    p(
      `| 3. Keystone tokens per 1,000 jobs | **${fixed(fr.calls.tokens.perThousandJobs)}** (${fr.calls.tokens.cheapTokenRequests} for ${fr.calls.tokens.cheapJobs} jobs) | the original: 1,000 (one per job) | ≤ ${TARGETS.tokensPerThousand} | ${met(m.tokensPerThousand === true)} |`,
      `| 3. status polls per build (defaults) | ${spread(fr.calls.statusPollsPerBuild, 0)} | | report | |`,
      `| 3. a warm build's token, image and flavor requests | **${fixed(fr.calls.warmBuild.setUp)}** (of ${fixed(fr.calls.warmBuild.requests)} requests: ${fixed(fr.calls.warmBuild.creates)} create, ${fixed(fr.calls.warmBuild.statusPolls)} status polls, ${fixed(fr.calls.warmBuild.lookupsByName)} lookups by name) | | ${TARGETS.warmBuildSetUp} | ${met(m.warmBuildSetUp === true)} |`,
    );
  } else p('| 3. OpenStack calls | not measured | | | |');
  if (fr.pkg) {
    p(
      `| 4. largest function zip | **${fixed(fr.pkg.maxZipKB, 1)} KB** | | ≤ ${TARGETS.zipKB} KB | ${met(m.zipKB === true)} |`,
      `| 4. slowest cold init (median) ÷ minimal handler | ${fixed(fr.pkg.maxInitMs, 1)} ms = **${fixed(fr.pkg.initOverMinimal)}×** | minimal handler (Logger only): ${spread(fr.pkg.init.minimal, 1, ' ms')} | ≤ ${TARGETS.initOverMinimal}× | ${met(m.initOverMinimal === true)} |`,
      `| 4. slowest cold init (median) ÷ the HTTP floor | **${fixed(fr.pkg.initOverHttpFloor)}×** | the Logger and the functions' undici: ${spread(fr.pkg.init.httpFloor, 1, ' ms')} | report | |`,
    );
  } else p('| 4. function package | not measured | | | |');
  p('');
  return out;
}
