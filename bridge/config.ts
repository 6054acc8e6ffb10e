/**
 * Configuration of pool-bridge from four layers, the first that sets a value winning:
 * command line > environment (POOL_BRIDGE_*) > YAML file (--config) > defaults.
 * One table below drives all of them and --help, so they cannot drift apart.
 */
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
// zod/mini, as contract/messages.ts: the same checks as zod's full build for a fraction of
// the code the built bridge carries and the memory it takes at start.
import * as z from 'zod/mini';
import {
  ConfigurationError,
  DEFAULT_FUNCTION_PREFIX,
  DEFAULT_GEARMAN_PORT,
  GEARMAN_FUNCTION,
  defaultInvokeTimeoutSeconds,
  functionPrefix,
  longestFunctionTimeoutSeconds,
} from '../contract';
import type { ServerAddress } from './address';
import { parseHostPort } from './address';

export { parseHostPort };
import { isLoopback } from './health';

export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL' | 'SILENT';

export interface BridgeConfig {
  servers: ServerAddress[];
  functionName: string;
  clientId: string;
  concurrency: number;
  functionPrefix: string;
  /** A Lambda-compatible endpoint (e.g. serverless-offline); undefined: real AWS. */
  lambdaEndpoint?: string;
  /** undefined: the SDK's default chain (AWS_REGION, profile). */
  lambdaRegion?: string;
  invokeTimeoutMs: number;
  drainTimeoutMs: number;
  /** undefined: no health/metrics endpoint. */
  health?: { host: string; port: number };
  /** How often the job servers' queues are read for the metrics (admin `status`); 0: never. */
  queuePollIntervalMs: number;
  /** undefined: plain TCP to the job servers. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  keepAlive: boolean;
  keepAliveIdleMs: number;
  reconnectMaxDelayMs: number;
  /** Probe a job server connection silent this long (ECHO_REQ). */
  probeIntervalMs: number;
  /** Recycle the connection when the probe gets no answer within this. */
  probeTimeoutMs: number;
  maxPayloadBytes: number;
  throttleRetries: number;
  /** Answer every job FAIL "dry run" after parsing and routing it; invoke nothing. */
  dryRun: boolean;
  /** The functions' POOL_NODE_BASENAME, to name a device a lost BUILD_DEVICE may have made. */
  deviceBasename?: string;
  logLevel: LogLevel;
}

/** The longest function timeout and the default invoke/drain timeouts: contract/deadlines.json. */
const LONGEST_FUNCTION_TIMEOUT_S = longestFunctionTimeoutSeconds();
const DEFAULT_INVOKE_TIMEOUT_S = defaultInvokeTimeoutSeconds();

export const DEFAULTS: BridgeConfig = {
  servers: [{ host: '127.0.0.1', port: DEFAULT_GEARMAN_PORT }],
  functionName: GEARMAN_FUNCTION,
  clientId: os.hostname(),
  concurrency: 64,
  functionPrefix: DEFAULT_FUNCTION_PREFIX,
  invokeTimeoutMs: DEFAULT_INVOKE_TIMEOUT_S * 1000,
  drainTimeoutMs: DEFAULT_INVOKE_TIMEOUT_S * 1000,
  health: { host: '127.0.0.1', port: 9464 },
  queuePollIntervalMs: 15_000,
  keepAlive: true,
  keepAliveIdleMs: 60_000,
  reconnectMaxDelayMs: 30_000,
  probeIntervalMs: 10_000,
  probeTimeoutMs: 5000,
  maxPayloadBytes: 256 * 1024,
  throttleRetries: 8,
  dryRun: false,
  logLevel: 'INFO',
};

/** A complete config from defaults plus overrides (for tests and embedding). */
export function makeConfig(overrides: Partial<BridgeConfig> = {}): BridgeConfig {
  return { ...DEFAULTS, ...overrides };
}

type Raw = unknown;

interface Setting {
  /** Option name: --flag on the command line, the key in YAML, POOL_BRIDGE_FLAG in env. */
  flag: string;
  type: 'string' | 'boolean';
  arg?: string;
  help: string;
  defaultText?: string;
  schema: z.ZodMiniType;
  apply: (config: BridgeConfig, value: never) => void;
}

export function envName(flag: string): string {
  return `POOL_BRIDGE_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * A value checked and converted by `convert`, which returns the setting's value or an
 * Invalid naming what is wrong; `input` first checks the raw value's type.
 */
class Invalid {
  constructor(readonly message: string) {}
}

function rule<I, O>(input: z.ZodMiniType<I>, convert: (value: I) => O | Invalid): z.ZodMiniType<O> {
  return z.pipe(
    input,
    z.transform((value: I, ctx) => {
      const out = convert(value);
      if (out instanceof Invalid) {
        ctx.issues.push({ code: 'custom', message: out.message, input: value });
        return z.NEVER;
      }
      return out;
    }),
  ) as unknown as z.ZodMiniType<O>;
}

const stringOrNumber = z.union([z.string(), z.number()], { error: 'must be a single value, not a list or a mapping' });

const text = (what: string) =>
  rule(stringOrNumber, (v) => {
    const t = String(v).trim();
    return t.length > 0 && !t.includes('\0') ? t : new Invalid(`${what} must be a non-empty string without NUL bytes`);
  });

const pattern = (re: RegExp, message: string) =>
  rule(stringOrNumber, (v) => {
    const t = String(v).trim();
    return re.test(t) ? t : new Invalid(message);
  });

/** A number as written; a blank string is no number (Number('') would be 0). */
const toNumber = (v: string | number): number => (typeof v === 'number' ? v : v.trim() === '' ? Number.NaN : Number(v));

const seconds = (min: number, max: number) =>
  rule(stringOrNumber, (v) => {
    const n = toNumber(v);
    return Number.isFinite(n) && n >= min && n <= max
      ? Math.round(n * 1000)
      : new Invalid(`must be a number of seconds from ${min} to ${max}`);
  });

const integer = (min: number, max: number) =>
  rule(stringOrNumber, (v) => {
    const n = toNumber(v);
    return Number.isInteger(n) && n >= min && n <= max ? n : new Invalid(`must be an integer from ${min} to ${max}`);
  });

const boolean = rule(z.unknown(), (v) => {
  if (typeof v === 'boolean') return v;
  const word = typeof v === 'string' ? v.trim().toLowerCase() : '';
  if (['true', '1', 'yes', 'on'].includes(word)) return true;
  if (['false', '0', 'no', 'off'].includes(word)) return false;
  return new Invalid('must be true or false');
});

const readableFile = rule(z.string({ error: 'must be a file name' }), (path) => {
  try {
    fs.accessSync(path, fs.constants.R_OK);
    if (path.length > 0 && fs.statSync(path).isFile()) return path;
  } catch {
    // not readable: said below
  }
  return new Invalid('must be a readable file');
});

const serverList = rule(
  z.union([z.string(), z.array(stringOrNumber)], { error: 'must be host:port, or a list of them' }),
  (v) => {
    const items = (Array.isArray(v) ? v.map(String) : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
    if (items.length === 0) return new Invalid('needs at least one host:port');
    const servers: ServerAddress[] = [];
    for (const item of items) {
      try {
        servers.push(parseHostPort(item, DEFAULT_GEARMAN_PORT));
      } catch (error) {
        return new Invalid((error as Error).message);
      }
    }
    return servers;
  },
);

const listen = rule(z.union([z.string(), z.boolean()], { error: 'must be host:port or off' }), (v) => {
  if (v === false || (typeof v === 'string' && ['off', 'none', 'false', ''].includes(v.trim().toLowerCase()))) {
    return undefined;
  }
  if (v === true) return DEFAULTS.health;
  try {
    return parseHostPort(v, 9464, 0);
  } catch (error) {
    return new Invalid((error as Error).message);
  }
});

const httpUrl = rule(z.string({ error: 'must be an http:// or https:// URL' }), (v) => {
  const t = v.trim();
  try {
    if (['http:', 'https:'].includes(new URL(t).protocol)) return t;
  } catch {
    // not a URL: said below
  }
  return new Invalid('must be an http:// or https:// URL');
});

const LOG_LEVELS: LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'];

export const SETTINGS: Setting[] = [
  {
    flag: 'gearman',
    type: 'string',
    arg: 'host:port[,host:port...]',
    help: `Gearman job servers, comma-separated (a YAML list in the file). IPv6 in brackets: [::1]:${DEFAULT_GEARMAN_PORT}.`,
    defaultText: `127.0.0.1:${DEFAULT_GEARMAN_PORT}`,
    schema: serverList,
    apply: (c, v: ServerAddress[]) => (c.servers = v),
  },
  {
    flag: 'function-name',
    type: 'string',
    arg: 'name',
    help: 'Gearman function to register.',
    defaultText: DEFAULTS.functionName,
    schema: text('function name'),
    apply: (c, v: string) => (c.functionName = v),
  },
  {
    flag: 'client-id',
    type: 'string',
    arg: 'id',
    help: 'Worker id sent with SET_CLIENT_ID (shown by gearadmin --workers).',
    defaultText: 'the host name',
    schema: rule(text('client id'), (v) => (/\s/.test(v) ? new Invalid('must not contain spaces') : v)),
    apply: (c, v: string) => (c.clientId = v),
  },
  {
    flag: 'concurrency',
    type: 'string',
    arg: 'n',
    help: 'Jobs run at once, across all job servers; never more are taken.',
    defaultText: String(DEFAULTS.concurrency),
    schema: integer(1, 10_000),
    apply: (c, v: number) => (c.concurrency = v),
  },
  {
    flag: 'function-prefix',
    type: 'string',
    arg: 'prefix',
    help: 'Prepended to the Lambda function names (buildDevice, ...): serverless service-stage-.',
    defaultText: DEFAULTS.functionPrefix,
    schema: pattern(/^[A-Za-z0-9_:-]*$/, 'may contain only letters, digits, "-", "_" and ":"'),
    apply: (c, v: string) => (c.functionPrefix = v),
  },
  {
    flag: 'lambda-endpoint',
    type: 'string',
    arg: 'URL',
    help: 'Lambda-compatible endpoint, e.g. serverless-offline http://127.0.0.1:3002 (any credentials). Unset: real AWS.',
    schema: httpUrl,
    apply: (c, v: string) => (c.lambdaEndpoint = v),
  },
  {
    flag: 'lambda-region',
    type: 'string',
    arg: 'region',
    help: "AWS region of the functions. Unset: the SDK's chain (AWS_REGION, profile); us-east-1 with --lambda-endpoint.",
    schema: pattern(/^[a-z0-9-]+$/, 'must look like us-east-1'),
    apply: (c, v: string) => (c.lambdaRegion = v),
  },
  {
    flag: 'invoke-timeout',
    type: 'string',
    arg: 'seconds',
    help: `How long to wait for one function; longer than the longest function timeout (${LONGEST_FUNCTION_TIMEOUT_S} s, contract/deadlines.json).`,
    defaultText: String(DEFAULT_INVOKE_TIMEOUT_S),
    schema: seconds(0.01, 86_400),
    apply: (c, v: number) => (c.invokeTimeoutMs = v),
  },
  {
    flag: 'drain-timeout',
    type: 'string',
    arg: 'seconds',
    help: 'On SIGTERM/SIGINT, how long jobs in flight may take to finish before exiting.',
    defaultText: String(DEFAULT_INVOKE_TIMEOUT_S),
    schema: seconds(0, 86_400),
    apply: (c, v: number) => (c.drainTimeoutMs = v),
  },
  {
    flag: 'health-listen',
    type: 'string',
    arg: 'host:port|off',
    help: 'Address of /healthz and /metrics (port 0: any free port). A non-loopback address draws a warning.',
    defaultText: '127.0.0.1:9464',
    schema: listen,
    apply: (c, v: { host: string; port: number } | undefined) => (c.health = v),
  },
  {
    flag: 'queue-poll-interval',
    type: 'string',
    arg: 'seconds',
    help: 'How often to read each job server\'s queue (gearmand\'s admin "status", on a short connection of its own) for the pool_bridge_gearman_* metrics; 0 turns it off.',
    defaultText: String(DEFAULTS.queuePollIntervalMs / 1000),
    schema: rule(seconds(0, 3600), (ms) =>
      ms === 0 || ms >= 100 ? ms : new Invalid('must be 0 (off) or from 0.1 to 3600 seconds'),
    ),
    apply: (c, v: number) => (c.queuePollIntervalMs = v),
  },
  {
    flag: 'gearman-ssl',
    type: 'boolean',
    help: 'TLS to the job servers, verified against the system CAs unless --gearman-ssl-ca is given (implied by any --gearman-ssl-* file).',
    defaultText: 'off',
    schema: boolean,
    apply: (c, v: boolean) => {
      if (v) c.tls = { ...c.tls };
    },
  },
  {
    flag: 'gearman-ssl-ca',
    type: 'string',
    arg: 'file',
    help: 'CA bundle (PEM) to verify the job servers; setting any --gearman-ssl-* turns TLS on.',
    schema: readableFile,
    apply: (c, v: string) => (c.tls = { ...c.tls, caFile: v }),
  },
  {
    flag: 'gearman-ssl-cert',
    type: 'string',
    arg: 'file',
    help: 'Client certificate (PEM) for the job servers; needs --gearman-ssl-key.',
    schema: readableFile,
    apply: (c, v: string) => (c.tls = { ...c.tls, certFile: v }),
  },
  {
    flag: 'gearman-ssl-key',
    type: 'string',
    arg: 'file',
    help: 'Private key (PEM) of the client certificate.',
    schema: readableFile,
    apply: (c, v: string) => (c.tls = { ...c.tls, keyFile: v }),
  },
  {
    flag: 'keepalive',
    type: 'boolean',
    help: 'TCP keepalive on job server connections (--no-keepalive to turn off).',
    defaultText: 'on',
    schema: boolean,
    apply: (c, v: boolean) => (c.keepAlive = v),
  },
  {
    flag: 'keepalive-idle',
    type: 'string',
    arg: 'seconds',
    help: 'Idle time before the first keepalive probe.',
    defaultText: '60',
    schema: seconds(1, 86_400),
    apply: (c, v: number) => (c.keepAliveIdleMs = v),
  },
  {
    flag: 'reconnect-max-delay',
    type: 'string',
    arg: 'seconds',
    help: 'Cap of the exponential backoff (with jitter) between reconnect attempts.',
    defaultText: '30',
    schema: seconds(0.01, 3600),
    apply: (c, v: number) => (c.reconnectMaxDelayMs = v),
  },
  {
    flag: 'probe-interval',
    type: 'string',
    arg: 'seconds',
    help: 'A job server connection silent this long is probed with ECHO_REQ (a stopped or wedged gearmand keeps its connections open).',
    defaultText: String(DEFAULTS.probeIntervalMs / 1000),
    schema: seconds(0.05, 3600),
    apply: (c, v: number) => (c.probeIntervalMs = v),
  },
  {
    flag: 'probe-timeout',
    type: 'string',
    arg: 'seconds',
    help: 'A probe not answered within this recycles the connection (reconnect, register again).',
    defaultText: String(DEFAULTS.probeTimeoutMs / 1000),
    schema: seconds(0.05, 600),
    apply: (c, v: number) => (c.probeTimeoutMs = v),
  },
  {
    flag: 'max-payload-bytes',
    type: 'string',
    arg: 'n',
    help: 'Larger job payloads get a FAIL result without being parsed or even kept (dropped as they arrive); any other packet from a job server over this plus 4 KiB closes the connection.',
    defaultText: String(DEFAULTS.maxPayloadBytes),
    schema: integer(2, 6 * 1024 * 1024),
    apply: (c, v: number) => (c.maxPayloadBytes = v),
  },
  {
    flag: 'throttle-retries',
    type: 'string',
    arg: 'n',
    help: 'Retries of an invoke Lambda throttled (429: the function did not run). An invoke whose answer was lost is made again up to 3 times in all; nothing else is retried.',
    defaultText: String(DEFAULTS.throttleRetries),
    schema: integer(0, 100),
    apply: (c, v: number) => (c.throttleRetries = v),
  },
  {
    flag: 'device-basename',
    type: 'string',
    arg: 'name',
    help: 'The functions\' POOL_NODE_BASENAME (set both from one value; "" if they have none). A BUILD_DEVICE whose answer was lost is answered FAIL with the name of the device it may have made.',
    defaultText: 'unset: the FAIL gives the uuid only',
    schema: pattern(
      /^[A-Za-z0-9._-]*$/,
      'may contain only letters, digits, ".", "-" and "_" (a Nova server name prefix)',
    ),
    apply: (c, v: string) => (c.deviceBasename = v),
  },
  {
    flag: 'dry-run',
    type: 'boolean',
    help: 'Invoke nothing: every job gets the same parsing and routing as a real one, then a FAIL "dry run: no function invoked" (never a PASS). To check a new bridge against gearmand.',
    defaultText: 'off',
    schema: boolean,
    apply: (c, v: boolean) => (c.dryRun = v),
  },
  {
    flag: 'log-level',
    type: 'string',
    arg: 'level',
    help: `One of ${LOG_LEVELS.join(', ')}.`,
    defaultText: 'INFO',
    schema: rule(z.string({ error: `must be one of ${LOG_LEVELS.join(', ')}` }), (v) => {
      const level = v.trim().toUpperCase();
      return (LOG_LEVELS as string[]).includes(level)
        ? (level as LogLevel)
        : new Invalid(`must be one of ${LOG_LEVELS.join(', ')}`);
    }),
    apply: (c, v: LogLevel) => (c.logLevel = v),
  },
];

const META_OPTIONS = {
  config: { type: 'string', arg: 'file', help: `YAML file of settings (also ${envName('config')}).` },
  'device-name': {
    type: 'string',
    arg: 'unique-id',
    help: 'Print the name BUILD_DEVICE gives the device of this Gearman unique id (<device-basename>-<UUIDv5>), and exit.',
  },
  help: { type: 'boolean', short: 'h', help: 'Show this help and exit.' },
  version: { type: 'boolean', short: 'v', help: 'Show the version and exit.' },
} as const;

export type LoadResult =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'device-name'; unique: string; deviceBasename: string | undefined }
  | { kind: 'run'; config: BridgeConfig; warnings: string[]; sources: Record<string, string> };

/**
 * Reads argv, env and the YAML file into a validated config. Throws ConfigurationError, naming
 * the setting and where its value came from, for anything invalid.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): LoadResult {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const s of SETTINGS) options[s.flag] = { type: s.type };
  for (const [flag, o] of Object.entries(META_OPTIONS))
    options[flag] = { type: o.type, ...('short' in o ? { short: o.short } : {}) };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false, allowNegative: true }));
  } catch (error) {
    const message = (error as Error).message;
    const flag = /'--([a-z-]+)/.exec(message)?.[1];
    const known = flag !== undefined && options[flag] !== undefined;
    throw new ConfigurationError(`${message} (see --help)`, known ? flag : undefined);
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const known = new Set([...SETTINGS.map((s) => envName(s.flag)), envName('config')]);
  for (const name of Object.keys(env)) {
    if (name.startsWith('POOL_BRIDGE_') && !known.has(name)) {
      throw new ConfigurationError(
        `unknown environment variable ${name} (see --help for the POOL_BRIDGE_* variables)`,
        name,
      );
    }
  }

  const configPath =
    typeof values.config === 'string'
      ? values.config
      : env[envName('config')]
        ? String(env[envName('config')])
        : undefined;
  const file = configPath ? readConfigFile(configPath) : {};

  const config = makeConfig();
  const sources: Record<string, string> = {};
  for (const s of SETTINGS) {
    let raw: Raw;
    let source: string;
    const cli = values[s.flag];
    const fromEnv = env[envName(s.flag)];
    if (cli !== undefined) {
      raw = cli;
      source =
        typeof cli === 'boolean'
          ? `--${cli ? '' : 'no-'}${s.flag} on the command line`
          : `--${s.flag} on the command line`;
    } else if (fromEnv !== undefined) {
      raw = fromEnv;
      source = `${envName(s.flag)} in the environment`;
    } else if (Object.hasOwn(file, s.flag)) {
      raw = file[s.flag];
      source = `"${s.flag}" in ${configPath}`;
    } else {
      continue;
    }
    const parsed = s.schema.safeParse(raw);
    if (!parsed.success) {
      const reason = parsed.error.issues.map((i) => i.message).join('; ');
      throw new ConfigurationError(`invalid ${s.flag} (${source}): ${reason}; got ${JSON.stringify(raw)}`, s.flag);
    }
    s.apply(config, parsed.data as never);
    sources[s.flag] = source;
  }

  if (config.tls) {
    if (Boolean(config.tls.certFile) !== Boolean(config.tls.keyFile)) {
      const missing = config.tls.certFile ? 'gearman-ssl-key' : 'gearman-ssl-cert';
      throw new ConfigurationError(`invalid ${missing}: --gearman-ssl-cert and --gearman-ssl-key go together`, missing);
    }
  }
  const warnings: string[] = [];
  if (config.health && !isLoopback(config.health.host)) {
    warnings.push(
      `health-listen ${config.health.host}:${config.health.port} is not a loopback address: /metrics and /healthz are reachable from the network`,
    );
  }
  if (config.invokeTimeoutMs < LONGEST_FUNCTION_TIMEOUT_S * 1000) {
    warnings.push(
      `invoke-timeout ${config.invokeTimeoutMs / 1000} s is shorter than the longest function timeout (${LONGEST_FUNCTION_TIMEOUT_S} s): a slow BUILD_DEVICE will be answered FAIL while it still runs`,
    );
  }
  if (typeof values['device-name'] === 'string') {
    return { kind: 'device-name', unique: values['device-name'], deviceBasename: config.deviceBasename };
  }
  return { kind: 'run', config, warnings, sources };
}

function readConfigFile(path: string): Record<string, unknown> {
  let content: string;
  try {
    content = fs.readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigurationError(`cannot read config file ${path}: ${(error as Error).message}`, 'config');
  }
  let doc: unknown;
  try {
    doc = YAML.parse(content);
  } catch (error) {
    throw new ConfigurationError(`config file ${path} is not valid YAML: ${(error as Error).message}`, 'config');
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigurationError(`config file ${path} must be a YAML mapping of settings`, 'config');
  }
  const record = doc as Record<string, unknown>;
  const flags = new Set(SETTINGS.map((s) => s.flag));
  for (const key of Object.keys(record)) {
    if (!flags.has(key)) throw new ConfigurationError(`unknown setting "${key}" in ${path} (see --help)`, key);
  }
  return record;
}

export function helpText(version: string): string {
  const rows: [string, string][] = [];
  for (const s of SETTINGS) {
    const left = s.type === 'boolean' ? `--[no-]${s.flag}` : `--${s.flag} ${s.arg ?? 'value'}`;
    const extra = [s.defaultText ? `default ${s.defaultText}` : undefined, envName(s.flag)].filter(Boolean).join('; ');
    rows.push([left, `${s.help} [${extra}]`]);
  }
  for (const [flag, o] of Object.entries(META_OPTIONS)) {
    const left = `${'short' in o ? `-${o.short}, ` : ''}--${flag}${'arg' in o ? ` ${o.arg}` : ''}`;
    rows.push([left, o.help]);
  }
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  const wrap = (textValue: string): string => {
    const out: string[] = [];
    let line = '';
    for (const word of textValue.split(' ')) {
      if (line && line.length + word.length + 1 > 100 - width) {
        out.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    if (line) out.push(line);
    return out.join(`\n${' '.repeat(width + 2)}`);
  };
  return [
    `pool-bridge ${version}`,
    '',
    'Usage: pool-bridge [options]',
    '',
    `Registers the Gearman function ${GEARMAN_FUNCTION} on the job servers, takes jobs, runs each`,
    "as a synchronous invoke of the pool manager's Lambda function for its action",
    '(<prefix>buildDevice, deleteDevice, buildIp, assignIp, removeIp, deleteIp) and sends the',
    "function's JSON result back with WORK_COMPLETE.",
    '',
    'Options:',
    ...rows.map(([l, r]) => `  ${l.padEnd(width)}${wrap(r)}`),
    '',
    'Settings come from, first found wins: the command line, the environment (POOL_BRIDGE_*,',
    'e.g. POOL_BRIDGE_CONCURRENCY=32), the YAML file given by --config or POOL_BRIDGE_CONFIG',
    '(keys are the option names without "--", e.g. "concurrency: 32"; "gearman" may be a list),',
    'then the defaults. Durations are in seconds. An invalid setting exits with status 2.',
    '',
    'Example YAML:',
    `  gearman: [gearman1.example.net:${DEFAULT_GEARMAN_PORT}, gearman2.example.net:${DEFAULT_GEARMAN_PORT}]`,
    `  function-prefix: ${functionPrefix('prod')}`,
    '  lambda-region: eu-west-1',
    '  concurrency: 64',
    '',
    'Signals: SIGTERM/SIGINT stop taking jobs, let jobs in flight finish (up to --drain-timeout),',
    'answer them and exit 0; a second signal exits at once with status 128+signal.',
    'Endpoints: GET /healthz (200 while a job server is connected, else 503), GET /metrics.',
    '',
  ].join('\n');
}
