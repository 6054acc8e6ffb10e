/**
 * Question 3, OpenStack calls per job: each function bundled as serverless.yml says and run
 * warm (many jobs, one after another, in one Node process, as a warm Lambda), against the
 * cloud simulator (3 s boot), with the pool manager's default settings (status polls from
 * 1 s growing ×1.5, assign confirmations 1 s apart). Every event is the bridge's envelope
 * with a fresh Gearman unique id, as in production. Counted from the simulator's request log,
 * split per invocation by time:
 *  - requests per job by service (Keystone, Nova, Neutron, Glance) and by API operation, for
 *    the first job of a process (cold: it authenticates) and the rest (warm);
 *  - Keystone token requests per 1,000 jobs over 2,000 cheap jobs: 100 BUILD_IP, then DELETE_IP
 *    (the releases, then reruns of them) up to 2,000, each function in one warm process;
 *  - status polls (GET /servers/{id}) per BUILD_DEVICE, and what else a warm BUILD_DEVICE
 *    asks: its create, the two lookups by name that make a rerun safe, and (target: none)
 *    Keystone tokens and image or flavor lookups.
 *
 *   npx tsx bench/openstack-calls.ts [--cheap-jobs 2000] [--builds 3] [--quick]
 *
 * Writes bench/out/openstack-calls.json.
 */
import { parseArgs } from 'node:util';
import type { FunctionName } from '../contract';
import { POLL_GROWTH } from '../contract';
import { startCloudSim } from '../scripts/cloud-sim';
import type { CloudSim, RequestRecord } from '../scripts/cloud-sim';
import type { Bundle } from '../scripts/lambda/bundle';
import { bundleHandlers } from '../scripts/lambda/bundle';
import { log, round, stat } from './lib/common';
import type { ActionCalls, OpenStackCalls } from './lib/fragments';
import { writeFragment } from './lib/fragments';
import type { TimedInvocation } from '../scripts/lambda/warm-function';
import { WarmFunction } from '../scripts/lambda/warm-function';
import { STATUS_POLL_KEY, TOKEN_KEY, countRequests } from './lib/requests';

const NAME = 'openstack-calls' as const;
const { values } = parseArgs({
  options: {
    'cheap-jobs': { type: 'string', default: '2000' },
    builds: { type: 'string', default: '3' },
    'boot-ms': { type: 'string', default: '3000' },
    quick: { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const CHEAP = quick ? 100 : Number(values['cheap-jobs']);
const BUILDS = Number(values.builds);
const BOOT_MS = Number(values['boot-ms']);
const SERVICES = ['identity', 'compute', 'network', 'image'] as const;
const BATCH = 100;

let sim: CloudSim;
let bundle: Bundle;
let env: Record<string, string>;
let seq = 0;

const envelope = (message: Record<string, unknown>): Record<string, unknown> => {
  seq += 1;
  return {
    envelope: 'libra-pool-manager/v1',
    unique: `bench-${process.pid}-${seq}-${crypto.randomUUID()}`,
    handle: `H:bench:${seq}`,
    message,
  };
};

const warmFunctions = new Map<FunctionName, WarmFunction>();
const invocations = new Map<string, { fn: FunctionName; list: TimedInvocation[] }>();

const MARKER = '/bench-marker/';

/**
 * The request log split per invocation: each warm process GETs /bench-marker/<fn>/<index>
 * after each invocation, and the processes take turns, so the requests logged before a
 * marker (and after the previous one) are that invocation's.
 */
function perInvocation(records: RequestRecord[]): Map<string, RequestRecord[]> {
  const out = new Map<string, RequestRecord[]>();
  let bucket: RequestRecord[] = [];
  for (const r of records) {
    if (r.service === 'sim' && r.path.startsWith(MARKER)) {
      out.set(r.path.slice(MARKER.length), bucket);
      bucket = [];
    } else if (r.service !== 'sim') {
      bucket.push(r);
    }
  }
  return out;
}

let split = new Map<string, RequestRecord[]>();
const recordsOf = (fn: FunctionName, inv: TimedInvocation): RequestRecord[] => split.get(`${fn}/${inv.index}`) ?? [];

/** Runs the messages (as envelopes) in the function's warm process. */
async function run(action: string, fn: FunctionName, messages: Record<string, unknown>[]): Promise<TimedInvocation[]> {
  let warm = warmFunctions.get(fn);
  if (!warm) {
    warm = new WarmFunction(bundle, fn, env, { markerUrl: `${sim.url}${MARKER}${fn}` });
    warmFunctions.set(fn, warm);
  }
  const list = await warm.invoke(messages.map(envelope));
  const entry = invocations.get(action) ?? { fn, list: [] };
  entry.list.push(...list);
  invocations.set(action, entry);
  return list;
}

function summarise(): ActionCalls[] {
  const services = (c: Record<string, number>): string => SERVICES.map((s) => `${s} ${c[s] ?? 0}`).join(', ');
  return [...invocations].map(([action, { fn, list }]) => {
    const notPass = list.filter((i) => i.result.response !== 'PASS');
    const cold = list[0] ? countRequests(recordsOf(fn, list[0])) : {};
    const warmCounts = countRequests(list.slice(1).flatMap((inv) => recordsOf(fn, inv)));
    const warmJobs = Math.max(1, list.length - 1);
    const warmPerJob = Object.fromEntries(Object.entries(warmCounts).map(([k, v]) => [k, round(v / warmJobs, 3)]));
    const r: ActionCalls = {
      action,
      fn,
      jobs: list.length,
      pass: list.length - notPass.length,
      ...(notPass[0] ? { firstError: String(notPass[0].result.error) } : {}),
      cold,
      warmPerJob,
      tokenRequests: (cold[TOKEN_KEY] ?? 0) + (warmCounts[TOKEN_KEY] ?? 0),
      durationMs: stat(list.map((i) => i.end - i.start)),
    };
    log(
      NAME,
      `${action} ×${r.jobs} (${r.pass} PASS${r.firstError ? `; ${r.firstError}` : ''}): first job ${services(cold)}; ` +
        `then per job ${services(warmPerJob)}; ${r.tokenRequests} token requests`,
    );
    return r;
  });
}

async function main(): Promise<void> {
  const t0 = performance.now();
  sim = await startCloudSim({ bootDelayMs: BOOT_MS, quotas: { instances: 1000, floatingIps: 1000 } });
  bundle = await bundleHandlers();
  env = {
    ...sim.env,
    POOL_IMAGE: 'haproxy-lb',
    POOL_FLAVOR: 'm1.small',
    POOL_NODE_BASENAME: 'libra_bench_haproxy',
    POOL_AZ_LABEL: '3',
    POWERTOOLS_LOG_LEVEL: 'WARN',
  };
  let builds: TimedInvocation[];
  try {
    // Devices (default status polling: 1 s, ×1.5, up to 15 s).
    builds = await run(
      'BUILD_DEVICE',
      'buildDevice',
      Array.from({ length: BUILDS }, () => ({ action: 'BUILD_DEVICE' })),
    );
    const names = builds.map((b) => String(b.result.name));
    // Cheap jobs: one batch of floating IPs allocated (each BUILD_IP waits out the cloud's
    // one-second created_at before it settles on its address, so a thousand of them would take a
    // quarter of an hour), then DELETE_IP jobs until there are CHEAP jobs in all: the releases,
    // then reruns of them (already released: PASS), as a client's retries would send them. The
    // two functions stay warm. (The simulator's external network has a /24: one batch fits.)
    const ips = await run(
      'BUILD_IP',
      'buildIp',
      Array.from({ length: Math.min(BATCH, CHEAP) }, () => ({ action: 'BUILD_IP' })),
    );
    const addresses = ips.map((i) => String(i.result.ip));
    const first = addresses.splice(0, names.length);
    for (let done = ips.length; done < CHEAP && addresses.length > 0; done += addresses.length) {
      await run(
        'DELETE_IP',
        'deleteIp',
        addresses.slice(0, CHEAP - done).map((ip) => ({ action: 'DELETE_IP', ip })),
      );
    }
    const onDevice = names.map((name, k) => ({ ip: first[k] as string, name }));
    await run(
      'ASSIGN_IP',
      'assignIp',
      onDevice.map((m) => ({ action: 'ASSIGN_IP', ...m })),
    );
    await run(
      'REMOVE_IP',
      'removeIp',
      onDevice.map((m) => ({ action: 'REMOVE_IP', ...m })),
    );
    await run(
      'DELETE_IP',
      'deleteIp',
      first.map((ip) => ({ action: 'DELETE_IP', ip })),
    );
    await run(
      'DELETE_DEVICE',
      'deleteDevice',
      names.map((name) => ({ action: 'DELETE_DEVICE', name })),
    );
  } finally {
    await Promise.all([...warmFunctions.values()].map((w) => w.close()));
    bundle.remove();
    await sim.close();
  }
  split = perInvocation(sim.requests());
  const results = summarise();
  const polls = stat(builds.map((inv) => countRequests(recordsOf('buildDevice', inv))[STATUS_POLL_KEY] ?? 0));
  // A warm build's requests by purpose: anything else than these would be repeated set-up.
  const warmBuild = results.find((r) => r.action === 'BUILD_DEVICE')?.warmPerJob ?? {};
  const sum = (keep: (key: string) => boolean) =>
    round(
      Object.entries(warmBuild)
        .filter(([key]) => key.includes(':') && keep(key))
        .reduce((n, [, v]) => n + v, 0),
      3,
    );
  const cheap = results.filter((r) => r.action === 'BUILD_IP' || r.action === 'DELETE_IP');
  const cheapTokens = cheap.reduce((n, r) => n + r.tokenRequests, 0);
  const cheapJobs = cheap.reduce((n, r) => n + r.jobs, 0);
  const allJobs = results.reduce((n, r) => n + r.jobs, 0);
  const allTokens = results.reduce((n, r) => n + r.tokenRequests, 0);
  const out: OpenStackCalls = {
    bootMs: BOOT_MS,
    pollDefaults: { initialMs: 1000, growth: POLL_GROWTH, maxMs: 15000 },
    quick,
    actions: results,
    statusPollsPerBuild: polls,
    warmBuild: {
      requests: sum(() => true),
      creates: sum((key) => key === 'compute:POST /v2.1/servers'),
      statusPolls: sum((key) => key === STATUS_POLL_KEY),
      lookupsByName: sum((key) => key === 'compute:GET /v2.1/servers/detail'),
      setUp: sum((key) => key === TOKEN_KEY || key.startsWith('image:') || key.includes('/flavors')),
    },
    buildSeconds: stat(builds.map((b) => round((b.end - b.start) / 1000, 2))),
    tokens: {
      cheapJobs,
      cheapTokenRequests: cheapTokens,
      perThousandJobs: round((1000 * cheapTokens) / cheapJobs, 3),
      warmProcesses: results.length,
      allJobs,
      allTokenRequests: allTokens,
      /** The original authenticated on every job. */
      originalPerThousandJobs: 1000,
    },
    seconds: round((performance.now() - t0) / 1000, 1),
  };
  log(
    NAME,
    `Keystone tokens: ${cheapTokens} for ${cheapJobs} BUILD_IP and DELETE_IP jobs = ${out.tokens.perThousandJobs} per 1,000 (the original: 1,000); ` +
      `status polls per build ${polls.median} (${polls.min}–${polls.max})`,
  );
  log(NAME, `wrote ${writeFragment(NAME, out)} in ${out.seconds} s`);
}

await main();
