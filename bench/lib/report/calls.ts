/** "3. OpenStack calls per job": requests by service and operation, Keystone tokens, status polls. */
import type { Fragment } from '../fragments';
import { collect, fixed, load, spread, polls } from './format';

export function callsSection(c: Fragment<'openstack-calls'>): string[] {
  const [out, p] = collect();
  const svc = (x: Record<string, number>, s: string): string =>
    fixed(x[s] ?? 0, x[s] !== undefined && !Number.isInteger(x[s]) ? 2 : 0);
  const fl = polls(c.bootMs, c.pollDefaults.initialMs, c.pollDefaults.growth, c.pollDefaults.maxMs);
  p(
    '## 3. OpenStack calls per job',
    '',
    'Each function bundled as serverless.yml says (scripts/lambda/bundle.ts) and kept warm in one Node process (a warm',
    "Lambda), its events sent in batches; every event is the bridge's envelope with a fresh Gearman unique id. Requests",
    "counted from the simulator's log, split per invocation exactly (the runner marks the end of each invocation with a",
    `request of its own). Default pool settings (status polls from ${c.pollDefaults.initialMs / 1000} s, ×${c.pollDefaults.growth}, up to ${c.pollDefaults.maxMs / 1000} s), ${c.bootMs / 1000} s boot.`,
    `BUILD_DEVICE ×${c.actions.find((a) => a.action === 'BUILD_DEVICE')?.jobs ?? '?'}, then BUILD_IP and DELETE_IP in batches of 100 (allocate, release) to ${c.tokens.cheapJobs / 2} each, then`,
    `ASSIGN_IP, REMOVE_IP, DELETE_IP and DELETE_DEVICE on the devices built. ${load(c.meta)}.`,
    '',
    "| action | jobs (PASS) | first job: Keystone / Nova / Neutron / Glance | each later job: Keystone / Nova / Neutron / Glance | a later job's requests |",
    '|---|---|---|---|---|',
  );
  for (const a of c.actions) {
    const ops = Object.entries(a.warmPerJob)
      .filter(([k]) => k.includes(':'))
      .map(([k, v]) => `${k.replace(/^(\w+):/, '$1 ')} ×${fixed(v, Number.isInteger(v) ? 0 : 2)}`)
      .join('; ');
    p(
      `| ${a.action} | ${a.jobs} (${a.pass}) | ${['identity', 'compute', 'network', 'image'].map((s) => svc(a.cold, s)).join(' / ')} | ${['identity', 'compute', 'network', 'image'].map((s) => svc(a.warmPerJob, s)).join(' / ')} | ${ops} |`,
    );
  }
  const t = c.tokens;
  p(
    '',
    `**Keystone tokens.** ${t.cheapTokenRequests} token requests for ${t.cheapJobs} BUILD_IP and DELETE_IP jobs = **${fixed(t.perThousandJobs)} per 1,000 jobs** (the original: one per`,
    `job, 1,000 per 1,000). Over the whole script, ${t.allTokenRequests} token requests for ${t.allJobs} jobs in ${t.warmProcesses} warm functions: one per warm function`,
    'instance, reused until shortly before it expires (an hour on the simulator), so the figure per 1,000 jobs is',
    "1,000 ÷ (jobs an instance serves within a token's lifetime): 1 here with 1,000 jobs per instance, lower with more.",
    '',
    `**Status polls per build** at the default settings: ${spread(c.statusPollsPerBuild, 0)} (${c.actions.find((a) => a.action === 'BUILD_DEVICE')?.jobs ?? '?'} builds); a ${c.bootMs / 1000} s boot is seen`,
    `by poll ${fl.count} at ${fixed(fl.seenAtMs / 1000, 2)} s, and a build took ${spread(c.buildSeconds)} s. The original polled once a minute: 1 poll, but 60 s per build.`,
    '',
    `**A warm build** (every BUILD_DEVICE after a process's first) made ${fixed(c.warmBuild.requests)} requests: ${fixed(c.warmBuild.creates)} create,`,
    `${fixed(c.warmBuild.statusPolls)} status polls, ${fixed(c.warmBuild.lookupsByName)} lookups by name (before the create, for a rerun of the job to find its`,
    `server; after ACTIVE, for a twin another run of it booted), and **${fixed(c.warmBuild.setUp)} token, image or flavor requests**:`,
    'the function keeps its token, and the image and flavor ids it looked up for its first build',
    '(functions/openstack/lookups.ts: again after 5 minutes, or at once when Nova says an id is gone).',
    '',
  );
  return out;
}
