/** "2. Bridge overhead": throughput against the C worker, memory with jobs in flight, the CPU profile. */
import type { Fragment } from '../fragments';
import { collect, fixed, load, spread } from './format';

export function bridgeSection(b: Fragment<'bridge-overhead'>): string[] {
  const [out, p] = collect();
  const ref = b.configs.find((c) => c.key === b.referenceKey);
  p(
    '## 2. Bridge overhead',
    '',
    `The same client load against each worker: ${b.load.jobs} jobs per run (after ${b.load.warmupJobs} warm-up jobs), ${b.load.outstanding} outstanding at any`,
    `time over ${b.load.connections} connections, from one Node client (bridge/gearman/client.ts, the project's Gearman client),`,
    `through one gearmand (--threads=${b.gearmandThreads}); latency is from SUBMIT_JOB to WORK_COMPLETE. The payload is a small contract`,
    'message. The configurations take turns within each run. The C reference is `gearman -w -f bench_echo` from',
    'gearman-tools with no command: it writes each workload to its stdout (here a file) and completes the job with an',
    'empty result, the cheapest job it can run (with a command it forks and execs it per job, far slower); one process',
    'runs one job at a time, so a pool of processes is measured too and the faster is the reference. The bridge is',
    `startBridge (what the pool-bridge command runs) in a process of its own, concurrency ${b.bridgeConcurrency}, with a no-op invoker that`,
    'answers every job at once with the same small PASS object: everything but Lambda. At its default log level (INFO) it',
    `writes two JSON lines per job (to a file here). ${load(b.meta)}.`,
    '',
    '| worker | jobs/s | p50 latency | p99 latency | throughput ÷ reference (per run) |',
    '|---|---|---|---|---|',
  );
  for (const c of b.configs) {
    const ratio =
      c.key === 'bridge_info'
        ? b.ratio.bridgeInfoOverReference
        : c.key === 'bridge_warn'
          ? b.ratio.bridgeWarnOverReference
          : undefined;
    const wrong = c.runs.reduce((n, r) => n + r.wrong, 0);
    p(
      `| ${c.label}${c.key === b.referenceKey ? ' (**reference**)' : ''}${wrong ? ` (${wrong} wrong answers)` : ''} | ${spread(c.jobsPerSecond, 0)} | ${spread(c.p50Ms, 1, ' ms')} | ${spread(c.p99Ms, 1, ' ms')} | ${ratio ? spread(ratio) : c.key === b.referenceKey ? '1' : ''} |`,
    );
  }
  const runs = ref?.runs.length ?? 0;
  p(
    '',
    `${runs} runs each. The 1-minute load average at the end of each run of the reference: ${ref?.runs.map((x) => x.loadAvg1m ?? '?').join(', ') ?? '?'}.`,
    '',
    `**Memory.** The pool-bridge command (the real LambdaInvoker) with --concurrency ${b.memory.inflight}, pointed at a local`,
    `Lambda-compatible endpoint that holds every invoke open, and ${b.memory.inflight} BUILD_DEVICE jobs submitted: ${b.memory.reached} invokes were open`,
    `${fixed(b.memory.fillMs / 1000)} s later. RSS: ${fixed(b.memory.idleRssMiB, 1)} MiB idle, **${fixed(b.memory.busyRssMiB, 1)} MiB with ${b.memory.reached} jobs in flight** (peak ${fixed(b.memory.peakRssMiB, 1)} MiB),`,
    `about ${fixed(b.memory.perJobKiB, 0)} KiB per job in flight (one open HTTP request to Lambda each). One run.`,
    '',
    `**Where the bridge's CPU goes** (one extra run at INFO under the V8 profiler, startup excluded, ${b.profile.jobsPerSecond} jobs/s while`,
    `profiled; the process was idle ${b.profile.idlePct}% of the time). Share of its busy time spent in (inclusive):`,
    '',
    '| code | share |',
    '|---|---|',
    ...b.profile.inclusive.slice(0, 8).map((e) => `| ${e.where} | ${fixed(e.pct, 1)}% |`),
    '',
    `Largest self times: ${b.profile.self
      .slice(0, 6)
      .map((e) => `${e.fn} ${fixed(e.pct, 1)}%`)
      .join(', ')}`,
    '(writeBuffer is the native write: the log lines to stdout, the packets to gearmand; getBooleanFromEnv and',
    'getStringFromEnv run when Powertools reads its settings while it writes a line).',
    '',
  );
  return out;
}
