/**
 * The one configuration loader: OpenStack connection settings from the OS_* variables
 * of an openrc file and/or clouds.yaml (OS_CLOUD), and the pool manager's own settings
 * from POOL_* variables. Every problem names the setting to fix; no value of a secret
 * ever appears in an error.
 *
 * The yaml package is imported only when OS_CLOUD is set, and serverless.yml leaves it out
 * of the function bundles (a deployed function takes its OS_* variables from the SSM
 * parameter, functions/secrets.ts): it would be 115 KB of every 230 KB bundle. Locally
 * (tests, `serverless invoke local`, serverless-offline) it loads from node_modules.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BUILD_DEADLINE_SECONDS, DEFAULT_REQUEST_POLICY, IDEMPOTENCY_WINDOW_SECONDS } from '../contract/deadlines';
import { ConfigurationError } from '../contract/errors';
import { nodeBasename } from '../contract/naming';
import type { AuthSettings, CloudSettings, Interface } from './openstack';

export interface PoolSettings {
  /** Prefix of device names; underscores become dashes. Empty: the name is the uuid alone. */
  nodeBasename: string;
  image: string;
  flavor: string;
  keyName: string | undefined;
  securityGroups: string[];
  availabilityZone: string | undefined;
  networkIds: string[];
  /** Network whose address is reported as `addr`, when the server has one there. */
  addrNetwork: string | undefined;
  /** The `az` string reported in BUILD_DEVICE results. */
  azLabel: string;
  userData: string | undefined;
  serverGroupId: string | undefined;
  metadata: Record<string, string>;
  /** Network (name or id) floating IPs are allocated from; unset: the one external network. */
  floatingIpPool: string | undefined;
  buildDeadlineMs: number;
  pollInitialMs: number;
  pollMaxMs: number;
  assignConfirmAttempts: number;
  assignConfirmIntervalMs: number;
  tcpCheckPort: number | undefined;
  tcpCheckTimeoutMs: number;
  ignore500OnRemove: boolean;
  /** Within it a rerun returns the first result; after it a reused unique id is a FAIL. */
  idempotencyWindowMs: number;
  /** Accept servers built before the pool manager marked its servers (by name alone). */
  acceptUntaggedServers: boolean;
}

export interface Settings {
  cloud: CloudSettings;
  pool: PoolSettings;
}

export type Env = Record<string, string | undefined>;

/** POOL_* settings: name, what it is (for errors and docs), default. */
export const POOL_SETTINGS_HELP: Record<string, string> = {
  POOL_NODE_BASENAME: 'prefix of device names, e.g. libra-stg-haproxy',
  POOL_IMAGE: 'image to boot devices from (ID or name); required',
  POOL_FLAVOR: 'flavor of devices (ID or name); required',
  POOL_KEY_NAME: 'Nova key pair to inject',
  POOL_SECURITY_GROUPS: 'comma-separated security group names',
  POOL_AVAILABILITY_ZONE: 'Nova availability zone to boot in',
  POOL_NETWORK_IDS: 'comma-separated network UUIDs to attach',
  POOL_ADDR_NETWORK: 'network name whose address is reported as addr',
  POOL_AZ_LABEL: 'the az string reported in BUILD_DEVICE results',
  POOL_USER_DATA: 'user data (plain text) for new devices',
  POOL_SERVER_GROUP_ID: 'server group (e.g. anti-affinity) for new devices',
  POOL_METADATA: 'JSON object of string metadata for new devices',
  POOL_FLOATING_IP_POOL: 'external network (name or ID) for floating IPs',
  POOL_BUILD_DEADLINE_SECONDS: `how long BUILD_DEVICE waits for ACTIVE (default ${BUILD_DEADLINE_SECONDS}, contract/deadlines.json)`,
  POOL_POLL_INITIAL_MS: 'first status poll interval (default 1000)',
  POOL_POLL_MAX_MS: 'longest status poll interval (default 15000)',
  POOL_ASSIGN_CONFIRM_ATTEMPTS: 'reads of a floating IP to confirm an association (default 10)',
  POOL_ASSIGN_CONFIRM_INTERVAL_MS: 'pause between those reads (default 1000)',
  POOL_TCP_CHECK_PORT: 'port to TCP-connect to after ASSIGN_IP (unset: no check)',
  POOL_TCP_CHECK_TIMEOUT_MS: 'how long the TCP check may take (default 30000)',
  POOL_IGNORE_500_ON_REMOVE: 'treat a 500 from the cloud on REMOVE_IP as done (default false)',
  POOL_IDEMPOTENCY_WINDOW_SECONDS: `how long a rerun of a job returns its first result; later, a reused unique id is refused (default ${IDEMPOTENCY_WINDOW_SECONDS})`,
  POOL_ACCEPT_UNTAGGED_SERVERS:
    'DELETE_DEVICE, ASSIGN_IP and REMOVE_IP also act on servers without the pool manager mark, by name alone (default false)',
  OS_REQUEST_TIMEOUT_MS: `timeout of each OpenStack request (default ${DEFAULT_REQUEST_POLICY.timeoutMs})`,
  OS_REQUEST_RETRIES: `retries of idempotent OpenStack requests on 429, 5xx, timeouts and resets (default ${DEFAULT_REQUEST_POLICY.retries})`,
};

/** Every setting; when OS_CLOUD is set, its clouds.yaml entry is read first (readCloudsYaml). */
export async function loadSettings(env: Env = process.env): Promise<Settings> {
  const cloudName = nonEmpty(env.OS_CLOUD);
  const cloudsYaml = cloudName === undefined ? undefined : await readCloudsYaml(cloudName, env);
  return { cloud: loadCloudSettings(env, cloudsYaml), pool: loadPoolSettings(env) };
}

// ---------------------------------------------------------------------------- pool

export function loadPoolSettings(env: Env): PoolSettings {
  const read = reader(env);
  return {
    nodeBasename: nodeBasename(read.string('POOL_NODE_BASENAME') ?? ''),
    image: read.required('POOL_IMAGE'),
    flavor: read.required('POOL_FLAVOR'),
    keyName: read.string('POOL_KEY_NAME'),
    securityGroups: read.list('POOL_SECURITY_GROUPS'),
    availabilityZone: read.string('POOL_AVAILABILITY_ZONE'),
    networkIds: read.list('POOL_NETWORK_IDS'),
    addrNetwork: read.string('POOL_ADDR_NETWORK'),
    azLabel: read.string('POOL_AZ_LABEL') ?? '',
    userData: read.string('POOL_USER_DATA'),
    serverGroupId: read.string('POOL_SERVER_GROUP_ID'),
    metadata: read.stringMap('POOL_METADATA'),
    floatingIpPool: read.string('POOL_FLOATING_IP_POOL'),
    buildDeadlineMs: read.number('POOL_BUILD_DEADLINE_SECONDS', BUILD_DEADLINE_SECONDS, { min: 1, max: 3600 }) * 1000,
    pollInitialMs: read.number('POOL_POLL_INITIAL_MS', 1000, { min: 10, max: 60_000 }),
    pollMaxMs: read.number('POOL_POLL_MAX_MS', 15_000, { min: 10, max: 300_000 }),
    assignConfirmAttempts: read.number('POOL_ASSIGN_CONFIRM_ATTEMPTS', 10, { min: 1, max: 100 }),
    assignConfirmIntervalMs: read.number('POOL_ASSIGN_CONFIRM_INTERVAL_MS', 1000, { min: 0, max: 60_000 }),
    tcpCheckPort: read.optionalNumber('POOL_TCP_CHECK_PORT', { min: 1, max: 65535 }),
    tcpCheckTimeoutMs: read.number('POOL_TCP_CHECK_TIMEOUT_MS', 30_000, { min: 100, max: 600_000 }),
    ignore500OnRemove: read.boolean('POOL_IGNORE_500_ON_REMOVE', false),
    idempotencyWindowMs:
      read.number('POOL_IDEMPOTENCY_WINDOW_SECONDS', IDEMPOTENCY_WINDOW_SECONDS, { min: 60, max: 31_536_000 }) * 1000,
    acceptUntaggedServers: read.boolean('POOL_ACCEPT_UNTAGGED_SERVERS', false),
  };
}

// --------------------------------------------------------------------------- cloud

/** clouds.yaml keys this loader understands, as openstacksdk spells them. */
export interface CloudsYamlEntry {
  auth?: Record<string, unknown>;
  auth_type?: string;
  region_name?: string;
  interface?: string;
  cacert?: string;
  verify?: boolean;
  compute_endpoint_override?: string;
  network_endpoint_override?: string;
  image_endpoint_override?: string;
}

/**
 * The OpenStack settings from the OS_* variables over `cloudsYaml`, the OS_CLOUD entry of
 * clouds.yaml (readCloudsYaml; loadSettings does both).
 */
export function loadCloudSettings(env: Env, cloudsYaml?: CloudsYamlEntry): CloudSettings {
  const cloudName = nonEmpty(env.OS_CLOUD);
  if (cloudName !== undefined && cloudsYaml === undefined) {
    // A caller's mistake, not the operator's: the entry is read asynchronously, by loadSettings.
    throw new Error(`OS_CLOUD is '${cloudName}': read its clouds.yaml entry first (loadSettings does)`);
  }
  const entry = cloudsYaml ?? {};
  const auth = entry.auth ?? {};
  const fromYaml = (key: string): string | undefined => {
    const value = auth[key];
    return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;
  };
  // An OS_* variable wins over the clouds.yaml entry, as with the openstack CLI.
  const pick = (envName: string, yamlKey: string) => nonEmpty(env[envName]) ?? fromYaml(yamlKey);
  const read = reader(env);

  const authUrl = pick('OS_AUTH_URL', 'auth_url');
  if (!authUrl) {
    throw new ConfigurationError(
      cloudName
        ? `cloud '${cloudName}' in clouds.yaml has no auth.auth_url and OS_AUTH_URL is not set`
        : 'OS_AUTH_URL is not set (nor OS_CLOUD): source an openrc file or name a clouds.yaml entry with OS_CLOUD',
      'OS_AUTH_URL',
    );
  }
  const appCredentialId = pick('OS_APPLICATION_CREDENTIAL_ID', 'application_credential_id');
  const appCredentialName = pick('OS_APPLICATION_CREDENTIAL_NAME', 'application_credential_name');
  const appCredentialSecret = pick('OS_APPLICATION_CREDENTIAL_SECRET', 'application_credential_secret');
  const authType = nonEmpty(env.OS_AUTH_TYPE) ?? entry.auth_type;
  const useAppCredential =
    authType === 'v3applicationcredential' ||
    (authType === undefined && (appCredentialId ?? appCredentialName) !== undefined);

  let authSettings: AuthSettings;
  if (useAppCredential) {
    if (!appCredentialSecret)
      throw new ConfigurationError('OS_APPLICATION_CREDENTIAL_SECRET is not set', 'OS_APPLICATION_CREDENTIAL_SECRET');
    if (!appCredentialId && !appCredentialName) {
      throw new ConfigurationError(
        'OS_APPLICATION_CREDENTIAL_ID (or OS_APPLICATION_CREDENTIAL_NAME) is not set',
        'OS_APPLICATION_CREDENTIAL_ID',
      );
    }
    authSettings = {
      method: 'applicationCredential',
      authUrl,
      applicationCredentialId: appCredentialId,
      applicationCredentialName: appCredentialName,
      applicationCredentialSecret: appCredentialSecret,
      username: pick('OS_USERNAME', 'username'),
      userDomainName: pick('OS_USER_DOMAIN_NAME', 'user_domain_name'),
    };
  } else {
    const password = pick('OS_PASSWORD', 'password');
    const username = pick('OS_USERNAME', 'username');
    const userId = pick('OS_USER_ID', 'user_id');
    const projectName = pick('OS_PROJECT_NAME', 'project_name') ?? nonEmpty(env.OS_TENANT_NAME);
    const projectId = pick('OS_PROJECT_ID', 'project_id') ?? nonEmpty(env.OS_TENANT_ID);
    if (!username && !userId) throw new ConfigurationError('OS_USERNAME (or OS_USER_ID) is not set', 'OS_USERNAME');
    if (!password) throw new ConfigurationError('OS_PASSWORD is not set', 'OS_PASSWORD');
    if (!projectName && !projectId)
      throw new ConfigurationError('OS_PROJECT_NAME (or OS_PROJECT_ID) is not set', 'OS_PROJECT_NAME');
    authSettings = {
      method: 'password',
      authUrl,
      username,
      userId,
      password,
      userDomainName: pick('OS_USER_DOMAIN_NAME', 'user_domain_name') ?? (userId ? undefined : defaultDomain(env)),
      userDomainId: pick('OS_USER_DOMAIN_ID', 'user_domain_id'),
      projectName,
      projectId,
      projectDomainName:
        pick('OS_PROJECT_DOMAIN_NAME', 'project_domain_name') ?? (projectId ? undefined : defaultDomain(env)),
      projectDomainId: pick('OS_PROJECT_DOMAIN_ID', 'project_domain_id'),
    };
  }

  const iface = (nonEmpty(env.OS_INTERFACE) ?? nonEmpty(env.OS_ENDPOINT_TYPE) ?? entry.interface ?? 'public')
    .toLowerCase()
    .replace(/url$/, '');
  if (!['public', 'internal', 'admin'].includes(iface)) {
    throw new ConfigurationError(`OS_INTERFACE must be public, internal or admin (got '${iface}')`, 'OS_INTERFACE');
  }
  const caCertPath = nonEmpty(env.OS_CACERT) ?? entry.cacert;
  const insecure = read.boolean('OS_INSECURE', entry.verify === false);

  const endpointOverrides: CloudSettings['endpointOverrides'] = {};
  const compute = nonEmpty(env.OS_COMPUTE_ENDPOINT_OVERRIDE) ?? entry.compute_endpoint_override;
  const network = nonEmpty(env.OS_NETWORK_ENDPOINT_OVERRIDE) ?? entry.network_endpoint_override;
  const image = nonEmpty(env.OS_IMAGE_ENDPOINT_OVERRIDE) ?? entry.image_endpoint_override;
  if (compute) endpointOverrides.compute = validUrl('OS_COMPUTE_ENDPOINT_OVERRIDE', compute);
  if (network) endpointOverrides.network = validUrl('OS_NETWORK_ENDPOINT_OVERRIDE', network);
  if (image) endpointOverrides.image = validUrl('OS_IMAGE_ENDPOINT_OVERRIDE', image);

  return {
    auth: { ...authSettings, authUrl: validUrl('OS_AUTH_URL', authUrl) },
    regionName: nonEmpty(env.OS_REGION_NAME) ?? entry.region_name,
    interface: iface as Interface,
    endpointOverrides,
    caCertPem: caCertPath ? readCaBundle(caCertPath) : undefined,
    insecure,
    requestTimeoutMs: read.number('OS_REQUEST_TIMEOUT_MS', DEFAULT_REQUEST_POLICY.timeoutMs, {
      min: 100,
      max: 900_000,
    }),
    retries: read.number('OS_REQUEST_RETRIES', DEFAULT_REQUEST_POLICY.retries, { min: 0, max: 10 }),
  };
}

function defaultDomain(env: Env): string {
  return nonEmpty(env.OS_DEFAULT_DOMAIN) ?? 'Default';
}

/** The places openstacksdk looks for clouds.yaml, in its order. */
export function cloudsYamlPaths(env: Env): string[] {
  const explicit = nonEmpty(env.OS_CLIENT_CONFIG_FILE);
  if (explicit) return [explicit];
  return [
    join(process.cwd(), 'clouds.yaml'),
    join(homedir(), '.config', 'openstack', 'clouds.yaml'),
    '/etc/openstack/clouds.yaml',
  ];
}

/** The `cloudName` (OS_CLOUD) entry of the first clouds.yaml found (cloudsYamlPaths). */
async function readCloudsYaml(cloudName: string, env: Env): Promise<CloudsYamlEntry> {
  let parseYaml: ((text: string) => unknown) | undefined;
  for (const path of cloudsYamlPaths(env)) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    parseYaml ??= await yamlParser();
    let document: unknown;
    try {
      document = parseYaml(text);
    } catch (error) {
      throw new ConfigurationError(`${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
    }
    const clouds = (document as { clouds?: Record<string, unknown> } | null)?.clouds;
    const entry = clouds?.[cloudName];
    if (entry === undefined) {
      throw new ConfigurationError(
        `OS_CLOUD is '${cloudName}' but ${path} has no such cloud (it has: ${Object.keys(clouds ?? {}).join(', ') || 'none'})`,
        'OS_CLOUD',
      );
    }
    if (typeof entry !== 'object' || entry === null)
      throw new ConfigurationError(`cloud '${cloudName}' in ${path} is not a mapping`, 'OS_CLOUD');
    return entry as CloudsYamlEntry;
  }
  throw new ConfigurationError(
    `OS_CLOUD is '${cloudName}' but no clouds.yaml was found (looked in ${cloudsYamlPaths(env).join(', ')})`,
    'OS_CLOUD',
  );
}

/** The yaml package's parser, imported on first use (see the top of this file). */
async function yamlParser(): Promise<(text: string) => unknown> {
  try {
    return (await import('yaml')).parse;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new ConfigurationError(
      'OS_CLOUD is set, but this function was packaged without a clouds.yaml reader (the yaml package): ' +
        'a deployed function takes its OS_* variables from the SSM parameter of OS_CREDENTIALS_PARAMETER; unset OS_CLOUD',
      'OS_CLOUD',
    );
  }
}

/** OS_CACERT is a file path, or (where there is no file to point at, as in Lambda) the PEM itself. */
function readCaBundle(path: string): string {
  if (path.startsWith('-----BEGIN ')) return path;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigurationError(
      `OS_CACERT: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      'OS_CACERT',
    );
  }
}

function validUrl(setting: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(`${setting} is not a URL`, setting);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigurationError(`${setting} must be an http(s) URL`, setting);
  return value.replace(/\/+$/, '');
}

// ------------------------------------------------------------------------- helpers

/** The value, trimmed, or undefined when it is unset or blank (an empty variable means unset). */
export function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** Typed reads of settings from `env`; each problem is a ConfigurationError naming the variable. */
export function reader(env: Env) {
  const string = (name: string) => nonEmpty(env[name]);
  return {
    string,
    required(name: string): string {
      const value = string(name);
      if (value === undefined)
        throw new ConfigurationError(`${name} is not set: ${POOL_SETTINGS_HELP[name] ?? 'required'}`, name);
      return value;
    },
    list(name: string): string[] {
      return (string(name) ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean);
    },
    optionalNumber(name: string, range: { min: number; max: number }): number | undefined {
      const raw = string(name);
      if (raw === undefined) return undefined;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < range.min || value > range.max) {
        throw new ConfigurationError(
          `${name} must be a whole number from ${range.min} to ${range.max} (got '${raw}')`,
          name,
        );
      }
      return value;
    },
    number(name: string, fallback: number, range: { min: number; max: number }): number {
      return this.optionalNumber(name, range) ?? fallback;
    },
    boolean(name: string, fallback: boolean): boolean {
      const raw = string(name)?.toLowerCase();
      if (raw === undefined) return fallback;
      if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
      if (['0', 'false', 'no', 'off'].includes(raw)) return false;
      throw new ConfigurationError(`${name} must be true or false (got '${raw}')`, name);
    },
    stringMap(name: string): Record<string, string> {
      const raw = string(name);
      if (raw === undefined) return {};
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new ConfigurationError(`${name} must be a JSON object of strings`, name);
      }
      if (
        typeof parsed !== 'object' ||
        parsed === null ||
        Array.isArray(parsed) ||
        Object.values(parsed).some((v) => typeof v !== 'string')
      ) {
        throw new ConfigurationError(`${name} must be a JSON object of strings`, name);
      }
      return parsed as Record<string, string>;
    },
  };
}
