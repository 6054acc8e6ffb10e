/**
 * The client load of the bridge-overhead benchmark: `jobs` trivial jobs through gearmand,
 * `outstanding` submitted at any time over `connections` client connections (the Node
 * client of bridge/gearman/client.ts), each
 * timed from SUBMIT_JOB to WORK_COMPLETE. Bounded in count and in time.
 */
import os from 'node:os';
import type { JobResult } from '../../bridge/gearman';
import { GearmanClient } from '../../bridge/gearman';
import { percentile, round } from './common';
import type { LoadRun } from './fragments';

export interface LoadOptions {
  address: string;
  functionName: string;
  jobs: number;
  connections: number;
  outstanding: number;
  /** Stop submitting after this long (the jobs submitted still count). */
  timeLimitMs: number;
  payload: (i: number) => string;
  /** True when the result is the right answer for job i. */
  check: (result: JobResult, i: number) => boolean;
  uniquePrefix: string;
}

export async function gearmanLoad(o: LoadOptions): Promise<LoadRun> {
  const clients = await Promise.all(Array.from({ length: o.connections }, () => GearmanClient.connect(o.address)));
  const latencies: number[] = [];
  let next = 0;
  let wrong = 0;
  let timeLimited = false;
  const t0 = performance.now();
  const stopAt = t0 + o.timeLimitMs;
  try {
    const lanesPerClient = Math.max(1, Math.round(o.outstanding / o.connections));
    await Promise.all(
      clients.flatMap((client) =>
        Array.from({ length: lanesPerClient }, async () => {
          while (next < o.jobs) {
            if (performance.now() > stopAt) {
              timeLimited = true;
              return;
            }
            const i = next++;
            const result = await client.submit(o.functionName, `${o.uniquePrefix}-${i}`, o.payload(i));
            latencies.push(result.ms);
            if (!o.check(result, i)) wrong += 1;
          }
        }),
      ),
    );
  } finally {
    for (const c of clients) c.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    jobs: latencies.length,
    seconds: round(seconds, 3),
    jobsPerSecond: round(latencies.length / seconds, 0),
    p50Ms: round(percentile(latencies, 50), 3),
    p99Ms: round(percentile(latencies, 99), 3),
    maxMs: round(Math.max(...latencies), 3),
    wrong,
    timeLimited,
    loadAvg1m: round(os.loadavg()[0] ?? 0, 2),
  };
}
