/**
 * `npm start`: runs the local fleet (see ./index.ts) until Ctrl-C (SIGINT), SIGTERM or
 * SIGHUP, then stops every process it started, by process group, and exits 0.
 * stdout carries the banner only; progress and errors go to stderr.
 * Exit status: 0 after a clean stop, 1 when something failed to start, 2 for a usage or
 * configuration error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Fleet, FleetOptions } from './index';
import { FleetConfigError, ROOT, startFleet } from './index';
import { pidAlive } from '../harness';

const HELP = `Usage: npm start [-- options]

Starts the whole pool manager on loopback, on free ports: gearmand, the six functions
behind serverless offline (bundled as \`serverless deploy\` ships them), the OpenStack
simulator and pool-bridge, and Prometheus with the alert rules (ops/prometheus/alerts.yml)
when it is installed (apt-get install prometheus). Prints where each runs and a command to
try; Ctrl-C stops it all.

Options:
  --gearman-port N    gearmand's port (default: a free one)
  --boot-delay-ms N   simulator: time a new server spends in BUILD (default 3000)
  --no-prometheus     do not run Prometheus even when it is installed
  --verbose           echo every service's log lines to stderr
  --help              show this help

Environment:
  OS_CLOUD or OS_AUTH_URL (with the other OS_* of an openrc file)
                      use that cloud instead of the simulator; POOL_IMAGE and
                      POOL_FLAVOR are then required (other POOL_* as in the README)
  FLEET_LAMBDA=aws    do not run serverless offline: the bridge invokes the functions
                      deployed with \`serverless deploy\` (AWS_REGION / AWS_PROFILE or
                      AWS_ACCESS_KEY_ID..., POOL_BRIDGE_FUNCTION_PREFIX for another stage)
  PROMETHEUS=path     the prometheus binary (default: prometheus on the PATH)
  POOL_*              function settings; for the simulator they default to
                      POOL_IMAGE=haproxy-lb POOL_FLAVOR=m1.small
                      POOL_NODE_BASENAME=libra-stg-haproxy POOL_AZ_LABEL=3

Logs of each service are written to .fleet/run-<pid>/ (kept after exit).
`;

function fail(message: string, code: number): never {
  process.stderr.write(`fleet: ${message}\n`);
  process.exit(code);
}

function parseOptions(argv: string[]): { options: FleetOptions; verbose: boolean } | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    allowNegative: true,
    options: {
      'gearman-port': { type: 'string' },
      prometheus: { type: 'boolean' },
      'boot-delay-ms': { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  const options: FleetOptions = {};
  if (values.prometheus === false) options.prometheus = false;
  const port = values['gearman-port'];
  if (port !== undefined) {
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)
      throw new Error(`--gearman-port needs a port number, got "${port}"`);
    options.gearmanPort = Number(port);
  }
  const delay = values['boot-delay-ms'];
  if (delay !== undefined) {
    if (!/^\d+$/.test(delay)) throw new Error(`--boot-delay-ms needs a number of milliseconds, got "${delay}"`);
    options.cloud = { bootDelayMs: Number(delay) };
  }
  return { options, verbose: values.verbose ?? false };
}

/** .fleet/run-<pid>/ for this run; run directories of fleets no longer running are removed. */
function runLogDir(): string {
  const base = path.join(ROOT, '.fleet');
  fs.mkdirSync(base, { recursive: true });
  for (const entry of fs.readdirSync(base)) {
    const m = /^run-(\d+)$/.exec(entry);
    if (m && !pidAlive(Number(m[1]))) fs.rmSync(path.join(base, entry), { recursive: true, force: true });
  }
  const dir = path.join(base, `run-${process.pid}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(process.argv.slice(2));
  } catch (error) {
    fail(
      `${(error as Error).message.replace(/\. To specify a positional argument.*$/s, '')}\nTry: npm start -- --help`,
      2,
    );
  }
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const { options, verbose } = parsed;
  const logDir = runLogDir();

  let fleet: Fleet | undefined;
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    const now = Date.now();
    // One Ctrl-C can arrive more than once (the terminal signals the whole foreground
    // group, and npm passes it on): only a signal well after the first forces an exit.
    if (firstSignalAt !== 0) {
      if (now - firstSignalAt < 2000) return;
      process.stderr.write(`fleet: ${signal} again: killing everything now\n`);
      process.exit(1); // the exit handler SIGKILLs every process group still running
    }
    firstSignalAt = now;
    if (!fleet) {
      process.stderr.write(`fleet: ${signal} while starting: stopping what was started\n`);
      process.exit(130); // the exit handler SIGKILLs every process group started so far
    }
    process.stderr.write(`fleet: ${signal}: stopping (prometheus, bridge, functions, gearmand, simulator)\n`);
    const started = fleet;
    void started.stop().then(
      () => {
        const left = started.processes().filter((p) => pidAlive(p.pid));
        if (left.length > 0)
          fail(`still running after stop: ${left.map((p) => `${p.name} pid ${p.pid}`).join(', ')}`, 1);
        process.stderr.write(`fleet: stopped; logs kept in ${path.relative(process.cwd(), logDir) || logDir}\n`);
        process.exit(0);
      },
      (error: unknown) => fail(`stop failed: ${String(error)}`, 1),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  const echo = verbose ? (service: string, line: string) => process.stderr.write(`[${service}] ${line}\n`) : undefined;
  try {
    fleet = await startFleet({
      ...options,
      logDir,
      keepLogs: true,
      onProgress: (message) => process.stderr.write(`fleet: ${message}\n`),
      ...(echo ? { onLog: echo } : {}),
    });
  } catch (error) {
    // Logs that say why something failed stay; an empty run directory does not.
    if (fs.readdirSync(logDir).every((f) => fs.statSync(path.join(logDir, f)).size === 0))
      fs.rmSync(logDir, { recursive: true, force: true });
    if (error instanceof FleetConfigError) fail(error.message, 2);
    fail(error instanceof Error ? error.message : String(error), 1);
  }
  process.stdout.write(fleet.banner);

  // A service that dies on its own takes the fleet down with it, rather than leaving half a system.
  const watched = [fleet.bridge, ...(fleet.functions ? [fleet.functions] : [])];
  for (const service of watched) {
    void service.exited.then((info) => {
      if (firstSignalAt !== 0) return;
      process.stderr.write(
        `fleet: ${service.name} exited on its own (${info.signal ?? `exit code ${info.code}`}); see ${service.logFile}. Stopping the rest.\n`,
      );
      void fleet?.stop().finally(() => process.exit(1));
    });
  }
}

process.on('uncaughtException', (error) => {
  process.stderr.write(`fleet: unexpected error: ${error.stack ?? String(error)}\n`);
  process.exit(1);
});

void main();
