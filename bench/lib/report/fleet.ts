/** "1. Fleet build time": N builds at once through the whole stack, against the original's model. */
import type { Fragment, FleetSeries } from '../fragments';
import { stat } from '../common';
import { collect, fixed, load, spread, polls } from './format';
import { findSeries, fleetHeadline } from './headline';

export function fleetSection(f: Fragment<'fleet-builds'>): string[] {
  const [out, p] = collect();
  const boot = f.bootMs / 1000;
  const floor = polls(f.bootMs, f.pollInitialMs, f.pollGrowth);
  const sizes = [...new Set(f.series.map((s) => s.n))].sort((a, b) => a - b);
  const C = f.bridgeConcurrency;
  p(
    '## 1. Fleet build time',
    '',
    `N BUILD_DEVICE jobs submitted at once (on ${f.clientConnections} client connections) through a real gearmand, the`,
    '`pool-bridge` command, serverless-offline serving the functions that serverless-esbuild bundles from',
    `serverless.yml (the Lambda Invoke API on loopback) and the cloud simulator with a fixed ${boot} s boot. Time from`,
    `the submission to the last result; every result was checked to be PASS. Status polling: ${f.pollInitialMs} ms, growing`,
    `×${f.pollGrowth} (POOL_POLL_INITIAL_MS=${f.pollInitialMs}, as the local fleet sets it; the default is 1 s): a server`,
    `that is ACTIVE ${boot} s after its creation is seen by poll ${floor.count}, ${fixed(floor.seenAtMs / 1000)} s after it, so`,
    `${fixed(floor.seenAtMs / f.bootMs)}× the boot time is the floor of any build here. Bridge --concurrency ${C} (its default, 64,`,
    `would run 200 builds in 4 waves; measured below). ${load(f.meta)}.`,
    '',
    `**Reference: the original pool manager's model.** ${f.originalModel.threads} worker threads, one build each, the status polled`,
    `every ${f.originalModel.pollSeconds} s: a ${boot} s boot is seen at the first poll, so each build takes ${f.originalModel.pollSeconds} s and N builds take`,
    `ceil(N/${f.originalModel.threads}) × ${f.originalModel.pollSeconds} s. The same stack with the bridge at --concurrency 4 shows how much of the difference`,
    "is that design (4 at a time) rather than the simulator: it polls fast, so only the concurrency is the original's.",
    '',
    '**Endpoint.** serverless-offline by default runs each concurrent invoke in a Node worker thread of its own that',
    'loads the whole bundle, and keeps idle ones for reuse. On this 2-core machine that is the bottleneck, not the',
    'design: during development a 200-build round in that mode had reached 118 of 200 results after 3 minutes with',
    'serverless-offline at 14 GB RSS, and was stopped (in AWS each execution environment has its own CPU and memory).',
    'So the fleet figures use `serverless offline --useInProcess` (the same bundles and the same HTTP Invoke API; the',
    'handler loaded once in the serverless process); the default worker-thread mode is measured at the sizes it can',
    'manage here, labelled "worker threads". "Cold" is the first round a freshly started serverless-offline serves',
    '(a fresh one per run: the bundle is loaded and a token fetched during the round), "warm" the rounds after it.',
    '',
    `| N | original model | fleet c=${C}, cold | ÷ boot | original ÷ fleet | fleet c=${C}, warm | ÷ boot | bridge c=4 (same stack, warm) | bridge c=64 (warm) | worker threads c=${C}, cold | worker threads, warm |`,
    '|---|---|---|---|---|---|---|---|---|---|---|',
  );
  // The c=4 bridge runs ceil(N/4) waves: its time at a size not measured is derived from the per-wave time measured.
  const c4Measured = f.series.filter((s) => s.concurrency === 4).sort((a, b) => b.n - a.n)[0];
  const perWave = c4Measured ? c4Measured.wallSeconds.median / Math.ceil(c4Measured.n / 4) : Number.NaN;
  for (const n of sizes) {
    const orig = f.originalModel.secondsByN[String(n)] ?? Number.NaN;
    const cold = findSeries(f, { endpoint: 'in-process', temperature: 'cold', concurrency: C, n });
    const warm = findSeries(f, { endpoint: 'in-process', temperature: 'warm', concurrency: C, n });
    const c4 = findSeries(f, { endpoint: 'in-process', concurrency: 4, n });
    const c64 = findSeries(f, { endpoint: 'in-process', concurrency: 64, n });
    const wtCold = findSeries(f, { endpoint: 'worker-threads', temperature: 'cold', n });
    const wtWarm = findSeries(f, { endpoint: 'worker-threads', temperature: 'warm', n });
    const s = (x: FleetSeries | undefined): string => (x ? `${spread(x.wallSeconds)} s` : '—');
    const b = (x: FleetSeries | undefined): string => (x ? `${spread(x.overBootTime)}×` : '—');
    p(
      `| ${n} | ${orig} s | ${s(cold)} | ${b(cold)} | ${cold ? `${fixed(orig / cold.wallSeconds.median, 0)}×` : '—'} | ${s(warm)} | ${b(warm)} | ${c4 ? s(c4) : Number.isFinite(perWave) ? `≈ ${fixed(perWave * Math.ceil(n / 4), 0)} s (derived)` : '—'} | ${s(c64)} | ${s(wtCold)} | ${s(wtWarm)} |`,
    );
  }
  const runs = (x: FleetSeries | undefined): number => x?.rounds.length ?? 0;
  const sample = findSeries(f, { endpoint: 'in-process', temperature: 'cold', concurrency: C });
  p(
    '',
    `Runs: ${runs(sample)} per cold figure (a fresh serverless-offline each), ${runs(findSeries(f, { endpoint: 'in-process', temperature: 'warm', concurrency: C }))} per warm figure, ` +
      `${runs(findSeries(f, { concurrency: 4 }))} per c=4 figure. Every build of every round was PASS unless said below.` +
      (c4Measured
        ? ` "Derived" c=4 figures are ceil(N/4) waves × the ${fixed(perWave)} s per wave measured at N=${c4Measured.n} (not run, to keep the whole benchmark short).`
        : ''),
    '',
  );
  // Where the time goes, for the headline series.
  const head = fleetHeadline(f);
  const warmHead = head
    ? findSeries(f, { endpoint: 'in-process', temperature: 'warm', concurrency: C, n: head.n })
    : undefined;
  if (head) {
    const last = (s: FleetSeries | undefined): number => stat(s?.rounds.map((x) => x.lastCreateMs) ?? []).median;
    const first = (s: FleetSeries | undefined): number => stat(s?.rounds.map((x) => x.firstCreateMs) ?? []).median;
    p(
      `Where the ${head.n}-build time goes (medians over the rounds): the first server was requested ${fixed(first(head) / 1000)} s after the`,
      `submission when cold, ${fixed(first(warmHead) / 1000)} s when warm; the last one ${fixed(last(head) / 1000)} s (cold) and ${fixed(last(warmHead) / 1000)} s (warm) after it: that`,
      `spread is the dispatch of ${head.n} jobs through gearmand, the bridge, serverless-offline and the function on two shared cores, and`,
      `it adds to the ${fixed(floor.seenAtMs / 1000)} s floor above. Each build made ${head.rounds[0]?.statusPollsPerBuild ?? '?'} status polls and ${head.rounds[0]?.requestsPerBuild ?? '?'} cloud requests in all;`,
      `a cold round made ${head.rounds[0]?.tokenRequests ?? '?'} Keystone token request(s) for its ${head.n} concurrent builds, a warm one ${warmHead?.rounds[0]?.tokenRequests ?? '?'}.`,
      `The machine's 1-minute load average at the end of each ${head.n}-build round: ${head.rounds.map((x) => x.loadAvg1m ?? '?').join(', ')} (cold), ` +
        `${warmHead?.rounds.map((x) => x.loadAvg1m ?? '?').join(', ') ?? '—'} (warm); on 2 cores, anything above 2 is work waiting for a CPU.`,
      '',
    );
  }
  const wt = f.series.filter((s) => s.endpoint === 'worker-threads' && s.temperature === 'cold');
  const inProcessPeak = Math.max(
    ...f.series.filter((s) => s.endpoint === 'in-process').map((s) => s.offlinePeakRssMiB ?? 0),
  );
  if (wt.length > 0) {
    p(
      'Worker-thread mode: every cold invoke starts a worker thread that loads the bundle and authenticates on its own,',
      `as a cold Lambda instance would: a cold round of N builds made ${wt.map((s) => `${s.rounds[0]?.tokenRequests ?? '?'} token requests (N=${s.n})`).join(', ')}. ` +
        `Peak RSS of serverless-offline: ${wt.map((s) => `${fixed(s.offlinePeakRssMiB ?? 0, 0)} MiB (N=${s.n})`).join(', ')}, against at most ${fixed(inProcessPeak, 0)} MiB in`,
      `in-process mode for any N. serverless-offline took ${spread(f.offlineStartMs, 0)} ms to bundle and listen.`,
      '',
    );
  }
  const bad = f.series.flatMap((s) =>
    s.rounds
      .filter((x) => x.notPass > 0)
      .map((x) => `${s.label}: ${x.notPass} of ${x.n} not PASS (${x.firstError ?? ''})`),
  );
  if (bad.length > 0) p('Not PASS:', '', ...bad.map((b) => `- ${b}`), '');
  return out;
}
