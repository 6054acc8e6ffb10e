/**
 * The local fleet: the whole pool manager on loopback, on free ports.
 *
 *   gearmand  <-- pool-bridge --> serverless offline (the six bundled functions) --> cloud
 *
 * - gearmand: Debian's /usr/sbin/gearmand (../harness/gearmand.ts).
 * - functions: `serverless offline` from serverless.yml, so serverless-esbuild bundles the
 *   handlers exactly as `serverless deploy` would ship them, served on a Lambda-compatible
 *   endpoint. It runs in a private staging directory (a copy of serverless.yml, symlinks to
 *   the code) so its .esbuild work folder never collides with `npm run package` or another
 *   fleet. FLEET_LAMBDA=aws skips it: the bridge then invokes the deployed functions in AWS.
 * - cloud: the OpenStack simulator, in this process, unless OS_CLOUD or OS_AUTH_URL is set
 *   (then the functions get the user's OS_* and POOL_* settings and talk to that cloud).
 * - bridge: dist/pool-bridge.mjs, the built file that ships (`npm run build`), pointed at
 *   gearmand and the functions.
 * - prometheus: Debian's prometheus, when it is installed, scraping the bridge with the alert
 *   rules of ops/prometheus/alerts.yml (./prometheus.ts); without it the fleet says how to get
 *   it and runs the rest.
 *
 * Child processes are started directly with process.execPath (no shell, no npx), each in a
 * process group of its own, and stopped by group id (../harness/). startFleet() is what
 * `npm start` (./main.ts) and the end-to-end tests both run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_FUNCTION_PREFIX, DEFAULT_GEARMAN_PORT, GEARMAN_FUNCTION } from '../../contract';
import type { CloudSim, CloudSimOptions } from '../cloud-sim';
import { startCloudSim } from '../cloud-sim';
import type { Gearmand, Service } from '../harness';
import { GEARMAND, StartError, accepts, answers, onFreePorts, startGearmand, startService } from '../harness';
import type { Prometheus } from './prometheus';
import { findPrometheus, startPrometheus } from './prometheus';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const SERVERLESS_BIN = path.join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
/** The built bridge (`npm run build`): what ships is what runs here and in the tests. */
export const BRIDGE_BIN = path.join(ROOT, 'dist', 'pool-bridge.mjs');
export const ALERT_RULES = path.join(ROOT, 'ops', 'prometheus', 'alerts.yml');
const HOST = '127.0.0.1';

/** Pool settings the functions get for the simulator, unless the environment sets them. */
const SIMULATOR_POOL_DEFAULTS: Readonly<Record<string, string>> = {
  POOL_IMAGE: 'haproxy-lb',
  POOL_FLAVOR: 'm1.small',
  POOL_NODE_BASENAME: 'libra-stg-haproxy',
  POOL_AZ_LABEL: '3',
  // The simulator boots in seconds, not minutes: poll accordingly.
  POOL_POLL_INITIAL_MS: '250',
  POOL_POLL_MAX_MS: '1000',
  POOL_ASSIGN_CONFIRM_INTERVAL_MS: '250',
};

export type CloudPlan =
  | { kind: 'simulator' }
  | { kind: 'external'; via: 'OS_CLOUD' | 'OS_AUTH_URL'; describe: string }
  /** FLEET_LAMBDA=aws: the deployed functions have their own cloud settings. */
  | { kind: 'deployed' };

export interface FleetPlan {
  cloud: CloudPlan;
  /** 'offline': serverless offline on loopback; 'aws': the functions deployed in AWS Lambda. */
  lambda: 'offline' | 'aws';
  /** Problems that stop the fleet from starting (a configuration the user must fix). */
  errors: string[];
}

const set = (env: NodeJS.ProcessEnv, name: string): boolean => (env[name] ?? '').trim() !== '';

/** What the fleet runs, decided from the environment alone. */
export function planFleet(env: NodeJS.ProcessEnv): FleetPlan {
  const errors: string[] = [];
  const lambdaSetting = (env.FLEET_LAMBDA ?? '').trim().toLowerCase();
  let lambda: FleetPlan['lambda'] = 'offline';
  if (lambdaSetting === 'aws') lambda = 'aws';
  else if (lambdaSetting !== '' && lambdaSetting !== 'offline') {
    errors.push(
      `FLEET_LAMBDA=${env.FLEET_LAMBDA}: expected "offline" (the default: serverless offline on loopback) or "aws" (the deployed functions)`,
    );
  }
  let cloud: CloudPlan;
  if (lambda === 'aws') cloud = { kind: 'deployed' };
  else if (set(env, 'OS_CLOUD')) cloud = { kind: 'external', via: 'OS_CLOUD', describe: `OS_CLOUD=${env.OS_CLOUD}` };
  else if (set(env, 'OS_AUTH_URL'))
    cloud = { kind: 'external', via: 'OS_AUTH_URL', describe: `OS_AUTH_URL=${env.OS_AUTH_URL}` };
  else cloud = { kind: 'simulator' };
  if (cloud.kind === 'external') {
    const missing = ['POOL_IMAGE', 'POOL_FLAVOR'].filter((name) => !set(env, name));
    if (missing.length > 0) {
      errors.push(
        `${missing.join(' and ')} must be set to use a real cloud (${cloud.describe}): the image and flavor to boot devices from (ID or name)`,
      );
    }
  }
  return { cloud, lambda, errors };
}

/**
 * The environment of serverless offline, which its handlers inherit: the user's, with, for
 * the simulator, its OS_* lines instead of any OS_* of the user's and POOL_* defaults.
 */
export function functionsEnv(env: NodeJS.ProcessEnv, simEnv: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  if (simEnv) {
    for (const name of Object.keys(out)) if (name.startsWith('OS_')) delete out[name];
    Object.assign(out, simEnv);
    for (const [name, value] of Object.entries(SIMULATOR_POOL_DEFAULTS)) if (!set(env, name)) out[name] = value;
  }
  // serverless offline wants AWS credentials to exist; any value does for a local endpoint.
  if (!set(env, 'AWS_ACCESS_KEY_ID')) {
    out.AWS_ACCESS_KEY_ID = 'local';
    out.AWS_SECRET_ACCESS_KEY = 'local';
  }
  out.SLS_TELEMETRY_DISABLED ??= '1';
  out.SLS_NOTIFICATIONS_MODE ??= 'off';
  return out;
}

export interface FleetOptions {
  /** Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** gearmand's port (default: a free one). */
  gearmanPort?: number;
  /** Where each service's log goes (default: a temp directory, removed by stop() unless keepLogs). */
  logDir?: string;
  keepLogs?: boolean;
  /** Simulator options (default boot delay 3 s). */
  cloud?: CloudSimOptions;
  /** How long serverless offline may take to bundle and listen (default 120 s). */
  functionsReadyTimeoutMs?: number;
  /** Run Prometheus with the alert rules when it is installed (default true). */
  prometheus?: boolean;
  /** Each line a service logs, as it comes (e.g. to echo it). */
  onLog?: (service: string, line: string) => void;
  /** Progress while starting ("starting gearmand"). */
  onProgress?: (message: string) => void;
}

/** A service of the fleet: a child in a process group of its own, its output in a log file. */
export type FleetService = Service & { logFile: string };

export interface FleetProcess {
  name: string;
  pid: number;
}

export interface Fleet {
  plan: FleetPlan;
  gearmand: Gearmand;
  /** "127.0.0.1:PORT" of gearmand. */
  gearman: string;
  /** The simulator, when the fleet runs one. */
  cloud: CloudSim | undefined;
  /** serverless offline, unless FLEET_LAMBDA=aws. */
  functions: (FleetService & { url: string }) | undefined;
  bridge: FleetService & { healthUrl: string };
  /**
   * Prometheus scraping the bridge with the alert rules; 'not installed' when there is no
   * prometheus binary, 'failed' when it would not start (its log says why), 'off' when not asked for.
   */
  prometheus: Prometheus | 'not installed' | 'failed' | 'off';
  logDir: string;
  /** Every child process (the PID is also its process-group id). */
  processes(): FleetProcess[];
  banner: string;
  /** Stops everything it started, bridge first; idempotent. */
  stop(): Promise<void>;
}

export class FleetConfigError extends Error {
  override readonly name = 'FleetConfigError';
}

export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  const env = options.env ?? process.env;
  const plan = planFleet(env);
  if (plan.errors.length > 0) throw new FleetConfigError(plan.errors.join('\n'));
  const progress = options.onProgress ?? (() => undefined);
  const logDir = options.logDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pool-fleet-'));
  fs.mkdirSync(logDir, { recursive: true });

  const cleanups: (() => Promise<unknown> | void)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // keep stopping the rest
      }
    }
  };
  if (!options.logDir && !options.keepLogs) cleanups.push(() => fs.rmSync(logDir, { recursive: true, force: true }));

  try {
    progress('starting gearmand');
    if (!fs.existsSync(GEARMAND)) {
      throw new StartError(
        `gearmand failed to start: ${GEARMAND} does not exist; install Debian's gearman-job-server (bash scripts/setup.sh) or set GEARMAND to its path`,
      );
    }
    if (options.gearmanPort !== undefined && (await accepts(HOST, options.gearmanPort))) {
      throw new StartError(
        `gearmand failed to start: ${HOST}:${options.gearmanPort} is already in use (Debian's gearman-job-server service listens on ${DEFAULT_GEARMAN_PORT}: ` +
          'sudo systemctl stop gearman-job-server, or leave --gearman-port out to use a free port)',
      );
    }
    const gearmand = await startGearmand({
      host: HOST,
      ...(options.gearmanPort !== undefined ? { port: options.gearmanPort } : {}),
      logFile: path.join(logDir, 'gearmand.log'),
      detached: true,
    });
    cleanups.push(() => gearmand.stop());

    let cloud: CloudSim | undefined;
    if (plan.cloud.kind === 'simulator') {
      progress('starting the cloud simulator');
      const cloudLog = fs.createWriteStream(path.join(logDir, 'cloud.log'), { flags: 'a' });
      cloud = await startCloudSim({
        host: HOST,
        port: 0,
        bootDelayMs: 3000,
        ...options.cloud,
        onRequest: (r) => {
          const line = `${new Date(r.at).toISOString()} ${r.service} ${r.method} ${r.path} -> ${r.status || 'no answer'}`;
          cloudLog.write(`${line}\n`);
          options.onLog?.('cloud', line);
          options.cloud?.onRequest?.(r);
        },
      });
      const sim = cloud;
      cleanups.push(async () => {
        await sim.close();
        await new Promise<void>((resolve) => cloudLog.end(resolve));
      });
    }

    let functions: Fleet['functions'];
    // The functions' POOL_NODE_BASENAME is also the bridge's --device-basename (one value for both).
    let basename = env.POOL_NODE_BASENAME;
    if (plan.lambda === 'offline') {
      progress('starting the functions (serverless offline bundles them first: a few seconds)');
      const staging = stageService();
      cleanups.push(() => fs.rmSync(staging, { recursive: true, force: true }));
      const fnEnv = functionsEnv(env, cloud?.env);
      basename = fnEnv.POOL_NODE_BASENAME;
      functions = await startOffline({
        staging,
        env: fnEnv,
        logFile: path.join(logDir, 'functions.log'),
        ...(options.functionsReadyTimeoutMs !== undefined ? { readyTimeoutMs: options.functionsReadyTimeoutMs } : {}),
        ...(options.onLog ? { onLine: (line: string) => options.onLog?.('functions', line) } : {}),
      });
      cleanups.push(() => functions?.stop());
    }

    progress('starting the bridge');
    const bridge = await startPoolBridge(
      gearmand.address,
      functions?.url,
      basename,
      env,
      path.join(logDir, 'bridge.log'),
      options,
    );
    cleanups.push(() => bridge.stop());

    const prometheus = await startFleetPrometheus(bridge.healthUrl, env, logDir, options);
    if (typeof prometheus !== 'string') cleanups.push(() => prometheus.stop());

    let stopping: Promise<void> | undefined;
    const fleet: Fleet = {
      plan,
      gearmand,
      gearman: gearmand.address,
      cloud,
      functions,
      bridge,
      prometheus,
      logDir,
      processes: () => [
        { name: 'gearmand', pid: gearmand.pid ?? 0 },
        ...(functions ? [{ name: 'functions', pid: functions.pid }] : []),
        { name: 'bridge', pid: bridge.pid },
        ...(typeof prometheus !== 'string' ? [{ name: 'prometheus', pid: prometheus.pid }] : []),
      ],
      banner: '',
      stop: () => (stopping ??= cleanup()),
    };
    fleet.banner = fleetBanner(fleet, env);
    return fleet;
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** What serverless needs from the project besides node_modules: its config, the function sources, the alarms' helper. */
export const SERVICE_FILES = [
  'serverless.yml',
  'package.json',
  'tsconfig.json',
  'contract',
  'functions',
  'ops/cloudwatch',
] as const;

/**
 * A private directory serverless can run in: serverless.yml copied, the code symlinked, so its
 * .esbuild folder never collides with `npm run package` or another fleet (the benchmarks use it too).
 */
export function stageService(prefix = 'pool-fleet-service-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const name of [...SERVICE_FILES, 'node_modules']) {
    const target = path.join(dir, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    // osls does not accept a symlinked serverless.yml; a copy is the same file.
    if (name === 'serverless.yml') fs.copyFileSync(path.join(ROOT, name), target);
    else fs.symlinkSync(path.join(ROOT, name), target);
  }
  // The functions read ./clouds.yaml relative to their working directory: keep the user's.
  for (const name of ['clouds.yaml', 'secure.yaml']) {
    const file = path.resolve(name);
    if (fs.existsSync(file)) fs.symlinkSync(file, path.join(dir, name));
  }
  return dir;
}

export interface OfflineOptions {
  /** The service directory it runs in (stageService()). */
  staging: string;
  /** Its environment, which the handlers inherit. */
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** More serverless offline arguments (the benchmarks add --useInProcess). */
  extraArgs?: string[];
  /** How long it may take to bundle and listen (default 120 s). */
  readyTimeoutMs?: number;
  onLine?: (line: string) => void;
}

/** serverless offline on free loopback ports, ready once its Lambda endpoint accepts connections. */
export async function startOffline(options: OfflineOptions): Promise<FleetService & { url: string }> {
  const { staging, env, logFile } = options;
  return onFreePorts(
    HOST,
    2,
    async (lambdaPort, httpPort) => {
      const service = await startService({
        name: 'functions (serverless offline)',
        command: process.execPath,
        // --localEnvironment: without it serverless offline hands its handlers only AWS_* and
        // the variables serverless.yml lists, so the OS_* settings would not reach them.
        args: [
          SERVERLESS_BIN,
          'offline',
          '--host',
          HOST,
          '--lambdaPort',
          String(lambdaPort),
          '--httpPort',
          String(httpPort),
          '--localEnvironment',
          ...(options.extraArgs ?? []),
        ],
        cwd: staging,
        env,
        group: true,
        logFile,
        ready: {
          line: /Offline \[http for lambda\] listening on (https?:\/\/\S+)/,
          port: { host: HOST, port: lambdaPort },
        },
        readyTimeoutMs: options.readyTimeoutMs ?? 120_000,
        ...(options.onLine ? { onLine: options.onLine } : {}),
      });
      return Object.assign(service, { url: `http://${HOST}:${lambdaPort}`, logFile });
    },
    (error) => error instanceof StartError && /EADDRINUSE/.test(error.message),
  );
}

async function startPoolBridge(
  gearman: string,
  lambdaEndpoint: string | undefined,
  deviceBasename: string | undefined,
  env: NodeJS.ProcessEnv,
  logFile: string,
  options: FleetOptions,
): Promise<FleetService & { healthUrl: string }> {
  if (!fs.existsSync(BRIDGE_BIN)) {
    throw new StartError(
      `bridge (pool-bridge) failed to start: ${path.relative(process.cwd(), BRIDGE_BIN)} does not exist; run npm run build (npm start and npm test do)`,
    );
  }
  const level = (env.POOL_BRIDGE_LOG_LEVEL ?? '').trim().toUpperCase();
  const args = [
    BRIDGE_BIN,
    '--gearman',
    gearman,
    '--health-listen',
    `${HOST}:0`,
    // On Ctrl-C, jobs in flight get a few seconds to finish (gearmand re-queues the rest).
    '--drain-timeout',
    '5',
    // The bridge's "health endpoint listening" line is INFO: keep at least that.
    '--log-level',
    level === 'TRACE' || level === 'DEBUG' ? level : 'INFO',
    ...(lambdaEndpoint ? ['--lambda-endpoint', lambdaEndpoint, '--function-prefix', DEFAULT_FUNCTION_PREFIX] : []),
    ...(deviceBasename !== undefined && env.POOL_BRIDGE_DEVICE_BASENAME === undefined
      ? ['--device-basename', deviceBasename]
      : []),
  ];
  let healthUrl = '';
  const service = await startService({
    name: 'bridge (pool-bridge)',
    command: process.execPath,
    args,
    cwd: ROOT,
    env,
    group: true,
    logFile,
    ready: {
      line: /^\{.*"health endpoint listening".*\}$/,
      // Ready once /healthz says 200: connected to gearmand.
      check: (match) => {
        healthUrl ||= `${String((JSON.parse(match?.[0] ?? '{}') as { url?: unknown }).url)}/healthz`;
        return answers(healthUrl, (status) => status === 200);
      },
    },
    readyTimeoutMs: 30_000,
    // Drain (5 s) plus time to exit.
    graceMs: 8000,
    ...(options.onLog ? { onLine: (line: string) => options.onLog?.('bridge', line) } : {}),
  });
  return Object.assign(service, { healthUrl, logFile });
}

/**
 * Prometheus for the fleet, when the binary is there: the bridge as its one target, the
 * project's alert rules. It is an extra: missing or failing, the fleet runs without it.
 */
async function startFleetPrometheus(
  bridgeHealthUrl: string,
  env: NodeJS.ProcessEnv,
  logDir: string,
  options: FleetOptions,
): Promise<Fleet['prometheus']> {
  if (options.prometheus === false) return 'off';
  const progress = options.onProgress ?? (() => undefined);
  const binary = findPrometheus(env);
  if (!binary) {
    progress(
      'Prometheus is not installed: `sudo apt-get install prometheus` (or bash scripts/setup.sh) to watch the fleet with the alert rules; starting without it',
    );
    return 'not installed';
  }
  progress('starting Prometheus with the alert rules');
  const logFile = path.join(logDir, 'prometheus.log');
  try {
    return await startPrometheus({
      binary,
      host: HOST,
      targets: [new URL(bridgeHealthUrl).host],
      ruleFiles: [ALERT_RULES],
      scrapeInterval: '5s',
      evaluationInterval: '5s',
      logFile,
      ...(options.onLog ? { onLine: (line: string) => options.onLog?.('prometheus', line) } : {}),
    });
  } catch (error) {
    progress(`Prometheus failed to start (${(error as Error).message.split('\n')[0]}); starting without it`);
    return 'failed';
  }
}

/** The short text `npm start` prints once everything is up. */
function fleetBanner(fleet: Fleet, env: NodeJS.ProcessEnv = process.env): string {
  const { gearmand, functions, cloud, bridge, plan } = fleet;
  const pad = (label: string): string => `  ${label.padEnd(17)}`;
  const lines = [
    'pool manager fleet is up (Ctrl-C stops it)',
    `${pad('gearmand')}${gearmand.address} (pid ${gearmand.pid})`,
  ];
  if (functions) {
    lines.push(`${pad('functions')}${functions.url} (serverless offline, pid ${functions.pid})`);
  } else {
    const prefix = env.POOL_BRIDGE_FUNCTION_PREFIX || DEFAULT_FUNCTION_PREFIX;
    const region = env.POOL_BRIDGE_LAMBDA_REGION || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'the default region';
    lines.push(`${pad('functions')}AWS Lambda ${prefix}* in ${region} (FLEET_LAMBDA=aws)`);
  }
  if (cloud) lines.push(`${pad('cloud simulator')}${cloud.url} (OS_AUTH_URL=${cloud.authUrl})`);
  else if (plan.cloud.kind === 'external') lines.push(`${pad('cloud')}${plan.cloud.describe}`);
  else lines.push(`${pad('cloud')}as configured on the deployed functions`);
  lines.push(`${pad('bridge')}pid ${bridge.pid}, health ${bridge.healthUrl}`);
  const shown = path.relative(process.cwd(), fleet.logDir);
  const logs = shown && !shown.startsWith('..') && !path.isAbsolute(shown) ? shown : fleet.logDir;
  const { prometheus } = fleet;
  if (prometheus === 'not installed') {
    lines.push(
      `${pad('prometheus')}not installed: sudo apt-get install prometheus (alert rules: ops/prometheus/alerts.yml)`,
    );
  } else if (prometheus === 'failed') {
    lines.push(`${pad('prometheus')}failed to start: see ${path.join(logs, 'prometheus.log')}`);
  } else if (prometheus !== 'off') {
    lines.push(`${pad('prometheus')}${prometheus.url} (pid ${prometheus.pid}, alerts at ${prometheus.url}/alerts)`);
  }
  lines.push(`${pad('logs')}${logs}`);
  const [host, port] = [gearmand.host, gearmand.port];
  lines.push(
    'try:',
    `  gearman -h ${host} -p ${port} -f ${GEARMAN_FUNCTION} '{"action":"BUILD_DEVICE"}'`,
    `  npm run job -- --gearman ${gearmand.address} BUILD_DEVICE`,
    `  export POOL_GEARMAN=${gearmand.address}    # then: npm run job -- BUILD_IP`,
  );
  return `${lines.join('\n')}\n`;
}
