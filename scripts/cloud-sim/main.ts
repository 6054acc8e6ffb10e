/**
 * CLI: runs the cloud simulator until SIGINT/SIGTERM.
 * stdout carries only the `export OS_...=` lines (so `eval "$(npm run -s cloud)"`-style use works);
 * everything else goes to stderr.
 */
import { parseArgs } from 'node:util';
import { startCloudSim } from './index';
import { loopbackAddress } from './options';
import type { CloudSimOptions } from './types';

const HELP = `Usage: tsx scripts/cloud-sim/main.ts [options]

Runs a local OpenStack cloud simulator (Keystone v3, Nova v2.1, Neutron v2.0, Glance v2)
on loopback, prints the OS_* variables a shell needs, and serves until SIGINT/SIGTERM.

Options:
  --port N                 TCP port to listen on; 0 picks a free one (default 0)
  --host ADDR              loopback address to bind: 127.0.0.1 (default), ::1 or localhost;
                           any other address is refused
  --boot-delay-ms N        time a new server spends in BUILD before ACTIVE (default 1000)
  --delete-delay-ms N      time a deleted server stays listed as 'deleting' (default 0)
  --token-ttl-seconds N    lifetime of issued tokens (default 3600)
  --region NAME            region in the catalog and OS_REGION_NAME (default RegionOne)
  --password SECRET        password of user 'admin' (default sim-password)
  --availability-zones A,B Nova availability zones, three hosts each; servers boot in
                           the first unless the request names one (default nova)
  --networks A,B           tenant networks besides private: the n-th has the subnet
                           10.<n>.0.0/24 (servers on two networks have two ports)
  --no-network-service     leave Neutron out of the catalog; floating IPs only through
                           Nova's os-floating-ips proxy
  --quiet                  do not log each request to stderr
  --help                   show this help

Paste the printed lines into a shell and the openstack CLI works against it, e.g.
  openstack flavor list; openstack security group list; openstack server group list;
  openstack availability zone list; openstack quota show; openstack server list
(README.md, "The cloud simulator and the openstack CLI", lists the commands that work).

Control API (not subject to injected faults), under http://HOST:PORT/_sim/:
  GET /_sim/state, GET /_sim/requests, POST|GET|DELETE /_sim/faults, DELETE /_sim/faults/{id},
  POST /_sim/server-outcomes, POST /_sim/floating-ip-association, POST /_sim/expire-tokens,
  POST /_sim/reset
`;

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function nonNegativeInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new Error(`${flag} needs a non-negative integer, got '${text}'`);
  return Number(text);
}

function commaList(text: string | undefined, flag: string): string[] | undefined {
  if (text === undefined) return undefined;
  const names = text.split(',').map((name) => name.trim());
  if (names.some((name) => name === '')) throw new Error(`${flag} needs names separated by commas`);
  return names;
}

function parseOptions(argv: string[]): { options: CloudSimOptions; quiet: boolean } | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'boot-delay-ms': { type: 'string' },
      'delete-delay-ms': { type: 'string' },
      'token-ttl-seconds': { type: 'string' },
      region: { type: 'string' },
      password: { type: 'string' },
      'availability-zones': { type: 'string' },
      networks: { type: 'string' },
      'no-network-service': { type: 'boolean' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  const host = values.host ?? '127.0.0.1';
  loopbackAddress(host);
  const options: CloudSimOptions = { host, networkService: !values['no-network-service'] };
  const port = nonNegativeInteger(values.port, '--port');
  const bootDelayMs = nonNegativeInteger(values['boot-delay-ms'], '--boot-delay-ms');
  const deleteDelayMs = nonNegativeInteger(values['delete-delay-ms'], '--delete-delay-ms');
  const tokenTtlSeconds = nonNegativeInteger(values['token-ttl-seconds'], '--token-ttl-seconds');
  if (port !== undefined) options.port = port;
  if (bootDelayMs !== undefined) options.bootDelayMs = bootDelayMs;
  if (deleteDelayMs !== undefined) options.deleteDelayMs = deleteDelayMs;
  if (tokenTtlSeconds !== undefined) options.tokenTtlSeconds = tokenTtlSeconds;
  if (values.region !== undefined) options.region = values.region;
  if (values.password !== undefined) options.password = values.password;
  const availabilityZones = commaList(values['availability-zones'], '--availability-zones');
  const networks = commaList(values.networks, '--networks');
  if (availabilityZones !== undefined) options.availabilityZones = availabilityZones;
  if (networks !== undefined) options.networks = networks;
  return { options, quiet: values.quiet ?? false };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`cloud-sim: ${error instanceof Error ? error.message : String(error)}\nTry --help.\n`);
    process.exitCode = 2;
    return;
  }
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const { options, quiet } = parsed;
  if (!quiet) {
    options.onRequest = (r) =>
      process.stderr.write(`[cloud-sim] ${r.service} ${r.method} ${r.path} -> ${r.status || 'no answer'}\n`);
  }
  const sim = await startCloudSim(options);
  process.stdout.write(
    Object.entries(sim.env)
      .map(([name, value]) => `export ${name}=${shellQuote(value)}\n`)
      .join(''),
  );
  // The pid matters: `npx`/`npm run` do not pass SIGTERM on to this process, so supervisors signal it directly.
  process.stderr.write(
    `[cloud-sim] pid ${process.pid} listening on ${sim.url} (state: ${sim.url}/_sim/state); stop with Ctrl-C or SIGTERM\n`,
  );

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`[cloud-sim] ${signal}: shutting down\n`);
    sim.close().then(
      () => {
        process.stderr.write('[cloud-sim] stopped\n');
        process.exitCode = 0;
      },
      (error: unknown) => {
        process.stderr.write(`[cloud-sim] close failed: ${String(error)}\n`);
        process.exitCode = 1;
      },
    );
  };
  // `on`, not `once`: a group-wide signal can arrive twice (directly and relayed by tsx).
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`cloud-sim: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
