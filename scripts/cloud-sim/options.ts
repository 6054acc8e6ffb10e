/** Option defaults and the loopback-only rule. */
import type { CloudSimOptions, RequestRecord, SimApplicationCredential, SimUser } from './types';

export interface SimConfig {
  host: string;
  port: number;
  region: string;
  bootDelayMs: number;
  deleteDelayMs: number;
  tokenTtlSeconds: number;
  networkService: boolean;
  quotas: { instances: number; cores: number; ram: number; floatingIps: number };
  users: SimUser[];
  applicationCredentials: SimApplicationCredential[];
  securityGroups: string[];
  availabilityZones: string[];
  /** Tenant networks besides private and public. */
  networks: string[];
  seed: number;
  onRequest: ((record: RequestRecord) => void) | undefined;
}

const LOOPBACK_HOSTS: Record<string, string> = {
  '127.0.0.1': '127.0.0.1',
  localhost: '127.0.0.1',
  '::1': '::1',
  '[::1]': '::1',
};

/** The address to bind for `host`, or an Error when it is not loopback. */
export function loopbackAddress(host: string): string {
  const address = LOOPBACK_HOSTS[host];
  if (!address) throw new Error(`cloud-sim only listens on loopback (127.0.0.1 or ::1); refusing host '${host}'`);
  return address;
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number`);
  return value;
}

/** A quota limit: a non-negative integer, or -1 for unlimited. */
function quotaLimit(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < -1)
    throw new TypeError(`${name} must be a non-negative integer or -1 (unlimited)`);
  return value;
}

function nonEmpty(values: string[], name: string): string[] {
  if (values.length === 0 || values.some((v) => v.trim() === ''))
    throw new TypeError(`${name} must name at least one, none empty`);
  return values;
}

/** Extra tenant network names: distinct, not private or public, at most 200 (10.1-10.200). */
function tenantNetworks(names: string[]): string[] {
  for (const name of names) {
    if (name.trim() === '' || name !== name.trim())
      throw new TypeError('networks must be names without surrounding spaces');
    if (name === 'private' || name === 'public') throw new TypeError(`networks: '${name}' always exists`);
  }
  if (new Set(names).size !== names.length) throw new TypeError('networks must not repeat a name');
  if (names.length > 200) throw new TypeError('networks: at most 200');
  return names;
}

export function resolveOptions(options: CloudSimOptions = {}): SimConfig {
  const port = nonNegative(options.port, 0, 'port');
  if (!Number.isInteger(port) || port > 65535) throw new TypeError('port must be an integer from 0 to 65535');
  const users = options.users ?? [{ name: 'admin', password: options.password ?? 'sim-password', project: 'admin' }];
  if (users.length === 0) throw new TypeError('users must name at least one user');
  return {
    host: loopbackAddress(options.host ?? '127.0.0.1'),
    port,
    region: options.region ?? 'RegionOne',
    bootDelayMs: nonNegative(options.bootDelayMs, 1000, 'bootDelayMs'),
    deleteDelayMs: nonNegative(options.deleteDelayMs, 0, 'deleteDelayMs'),
    tokenTtlSeconds: nonNegative(options.tokenTtlSeconds, 3600, 'tokenTtlSeconds'),
    networkService: options.networkService ?? true,
    quotas: {
      instances: nonNegative(options.quotas?.instances, 100, 'quotas.instances'),
      // More generous than Nova's 20 cores / 50 GiB, so at the default 100 instances the instance
      // quota is the one that bites (the RAM stops 500 m1.small, 2 GiB each).
      cores: quotaLimit(options.quotas?.cores, 1000, 'quotas.cores'),
      ram: quotaLimit(options.quotas?.ram, 1_024_000, 'quotas.ram'),
      floatingIps: nonNegative(options.quotas?.floatingIps, 50, 'quotas.floatingIps'),
    },
    users,
    applicationCredentials: options.applicationCredentials ?? [
      { id: 'sim-appcred', name: 'sim-appcred', secret: 'sim-appcred-secret', user: users[0]?.name ?? 'admin' },
    ],
    securityGroups: options.securityGroups ?? [],
    availabilityZones: nonEmpty(options.availabilityZones ?? ['nova'], 'availabilityZones'),
    networks: tenantNetworks(options.networks ?? []),
    seed: options.seed ?? 1,
    onRequest: options.onRequest,
  };
}
