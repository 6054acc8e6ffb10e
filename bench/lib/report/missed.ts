/** "Targets missed, and why": each target the run missed, with what the figures say about it. */
import { collect, fixed, kb, medianOf, polls } from './format';
import { TARGETS, fleetHeadline } from './headline';
import type { Fragments } from './index';

export function missedSection(fr: Fragments, r: Record<string, number | null>): string[] {
  const [out, p] = collect();
  const lines: string[] = [];
  if (fr.fleet && (r.fleet_200_builds_over_boot_time ?? Infinity) > TARGETS.fleetOverBoot) {
    lines.push(
      `- **Fleet build time: ${fixed(r.fleet_200_builds_over_boot_time ?? Number.NaN)}× the boot time for 200 builds (target ≤ ${TARGETS.fleetOverBoot}×).** The poll`,
      `  schedule alone puts the floor at ${fixed(polls(fr.fleet.bootMs, fr.fleet.pollInitialMs, fr.fleet.pollGrowth).seenAtMs / fr.fleet.bootMs)}× (section 1); the rest is the time to dispatch 200 jobs through`,
      '  gearmand, the bridge, serverless-offline, the function and the simulator, every one of them on the same two',
      '  cores (with the load generator and whatever else ran on the machine: see the load averages in section 1):',
      `  the last of the 200 servers was requested ${fixed(medianOf((fleetHeadline(fr.fleet)?.rounds ?? []).map((x) => x.lastCreateMs)) / 1000)} s after the submission (median of the cold rounds), so its`,
      `  build ended about that much after the floor. In AWS the functions run on capacity of`,
      '  their own; locally a faster first poll (POOL_POLL_INITIAL_MS) would lower the floor but not the dispatch.',
    );
  }
  if (fr.bridge && (r.bridge_over_c_worker_throughput ?? 0) < TARGETS.bridgeOverC) {
    const prof = fr.bridge.profile.inclusive;
    const logger = prof.find((e) => e.where.includes('powertools/logger'));
    const prom = prof.find((e) => e.where === 'prom-client');
    const warn = fr.bridge.ratio.bridgeWarnOverReference.median;
    lines.push(
      `- **Bridge throughput: ${fixed(r.bridge_over_c_worker_throughput ?? Number.NaN)}× the C worker (target ≥ 1×).** The bridge does more per job than the C`,
      '  worker (it parses the message, wraps it in an envelope, times it, counts it in Prometheus metrics, logs it and',
      `  serialises a JSON answer), in JavaScript. The profile says where: the Powertools logger takes ${fixed(logger?.pct ?? 0, 0)}% of its busy CPU`,
      `  (two JSON lines per job; a first run, which made a child logger per job, measured 0.16× and 52% there)${prom ? `, prom-client ${fixed(prom.pct, 0)}%` : ''};`,
      `  at log level WARN the ratio is ${fixed(warn)}×. Also, one GRAB_JOB is outstanding per gearmand connection, so every job waits`,
      '  a round trip through gearmand before it starts, while a pool of C workers has one grab in flight per process.',
      '  For this project the figure bounds what the bridge costs: a real job is a Lambda invoke of tens of',
      `  milliseconds to minutes, against ${fixed(1000 / (fr.bridge.configs.find((c) => c.key === 'bridge_info')?.jobsPerSecond.median ?? Number.NaN), 2)} ms of bridge time per job at the throughput above.`,
      "  Changes that would close the gap, for the bridge's owner: fewer lines per job at INFO, and several grabs",
      '  in flight per connection (up to the free slots).',
    );
  }
  if (fr.calls && fr.calls.tokens.perThousandJobs > TARGETS.tokensPerThousand) {
    lines.push(`- **Keystone tokens: ${fixed(fr.calls.tokens.perThousandJobs)} per 1,000 jobs (target ≤ 1).**`);
  }
  if (fr.pkg && fr.pkg.maxZipKB > TARGETS.zipKB) {
    const pk = fr.pkg.packaged[0];
    const map = pk?.files.find((f) => f.name.endsWith('.map'));
    const top = fr.pkg.bundles[0]?.top ?? [];
    const undici = top.find((t) => t.input === 'undici');
    const yaml = top.find((t) => t.input === 'yaml');
    const noMap = Math.max(...fr.pkg.packaged.map((x) => x.zipKBWithoutMap));
    lines.push(
      `- **Function zip: ${fixed(fr.pkg.maxZipKB, 1)} KB (target ≤ ${TARGETS.zipKB} KB).** ${map ? `The source map is ${kb(map.compressedBytes)} of it (\`sourcemap: true\` puts it in the zip); without it the zip would be ${fixed(noMap, 1)} KB, still over.` : ''}`,
      `  The code itself is dominated by dependencies: ${undici ? `undici is ${kb(undici.bytes)} (${fixed(undici.pct, 0)}%) of the minified bundle` : ''}${yaml ? `, yaml ${kb(yaml.bytes)} (${fixed(yaml.pct, 0)}%)` : ''};`,
      `  the project's own code (functions/) is ${fixed(
        top.filter((t) => t.input.startsWith('functions/')).reduce((n, t) => n + t.pct, 0),
        0,
      )}% of what the table in section 4 lists. See the recommendations there.`,
    );
  }
  if (fr.pkg && fr.pkg.maxInitMs > TARGETS.initMs) {
    const slow = [...fr.pkg.init.functions].sort((a, b) => b.withSourceMaps.median - a.withSourceMaps.median)[0];
    lines.push(
      `- **Cold init: ${fixed(fr.pkg.maxInitMs, 1)} ms median for ${slow?.fn ?? '?'} (target ≤ ${TARGETS.initMs} ms).** Of that, loading \`@aws-sdk/client-ssm\` takes`,
      `  about ${fixed(fr.pkg.init.sdkOnly.median, 0)} ms on its own (Powertools Parameters imports it at module load), and --enable-source-maps`,
      `  adds ${fixed((slow?.withSourceMaps.median ?? 0) - (slow?.withoutSourceMaps.median ?? 0), 0)} ms here. See the recommendations in section 4.`,
    );
  }
  p('## Targets missed, and why', '');
  if (lines.length === 0) p('None: every target was met in this run.', '');
  else p(...lines, '');
  return out;
}
