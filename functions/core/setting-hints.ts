import type { PoolSettings } from '../config';
import { AmbiguousNameError, NotFoundError, OpenStackError, QuotaError, redactValues } from '../openstack';
import { describeError } from './errors';

/**
 * When the cloud refuses to boot a device because of a pool setting (an unknown key pair,
 * zone, security group, server group, network, image or flavor), the FAIL keeps the cloud's
 * own words and names the setting at fault with its value, e.g.
 * `Nova POST /servers failed: 400 Invalid key_name provided. (POOL_KEY_NAME=foo)`.
 * POOL_USER_DATA is secret: it is named, never shown, and removed from the cloud's text
 * (Nova quotes a value its schema refuses).
 */
interface Hint {
  setting: string;
  /** The cloud's text that points at the setting. */
  pattern: RegExp;
  value: (pool: PoolSettings) => string | undefined;
  secret?: boolean;
}

const list = (values: readonly string[]): string | undefined => (values.length > 0 ? values.join(',') : undefined);

/** In this order: the first whose pattern the fault text matches names the setting. */
const HINTS: readonly Hint[] = [
  { setting: 'POOL_USER_DATA', pattern: /user_data/i, value: (p) => p.userData, secret: true },
  { setting: 'POOL_KEY_NAME', pattern: /key_name|key ?pair/i, value: (p) => p.keyName },
  { setting: 'POOL_AVAILABILITY_ZONE', pattern: /availability.?zone/i, value: (p) => p.availabilityZone },
  { setting: 'POOL_SECURITY_GROUPS', pattern: /security.?group/i, value: (p) => list(p.securityGroups) },
  {
    setting: 'POOL_SERVER_GROUP_ID',
    pattern: /instance group|server.?group|scheduler_hints|attribute\/?\s*group\b/i,
    value: (p) => p.serverGroupId,
  },
  { setting: 'POOL_NETWORK_IDS', pattern: /network|\bport\b/i, value: (p) => list(p.networkIds) },
  { setting: 'POOL_IMAGE', pattern: /image/i, value: (p) => p.image },
  { setting: 'POOL_FLAVOR', pattern: /flavor/i, value: (p) => p.flavor },
  { setting: 'POOL_METADATA', pattern: /metadata/i, value: (p) => JSON.stringify(p.metadata) },
];

/**
 * The error of a failed boot (or of resolving POOL_IMAGE / POOL_FLAVOR) as one line: the
 * cloud's text, the setting at fault appended when the cloud refused a setting, and the user
 * data never shown.
 */
export function describeBootError(error: unknown, pool: PoolSettings): string {
  const { userData } = pool;
  // Nova quotes the user data back as the base64 it was sent as.
  const userDataBase64 = userData && Buffer.from(userData, 'utf8').toString('base64');
  const text = redactValues(describeError(error), [userDataBase64, userData]);
  const hint = refusedSetting(error);
  if (!hint) return text;
  const value = hint.value(pool);
  const shown = hint.secret
    ? `${hint.setting}, value not shown`
    : value === undefined
      ? `${hint.setting} unset`
      : `${hint.setting}=${value}`;
  return `${text} (${shown})`;
}

function refusedSetting(error: unknown): Hint | undefined {
  if (!(error instanceof OpenStackError) || error instanceof QuotaError) return undefined;
  // A name the lookups did not find (or found twice): only POOL_IMAGE and POOL_FLAVOR are looked up
  // by name. pickByName names the list request it searched and sets no status (the list answered).
  if ((error instanceof NotFoundError || error instanceof AmbiguousNameError) && error.status === undefined) {
    if (error.service === 'Glance' && error.path === '/v2/images') return HINTS.find((h) => h.setting === 'POOL_IMAGE');
    if (error.service === 'Nova' && error.path === '/flavors/detail')
      return HINTS.find((h) => h.setting === 'POOL_FLAVOR');
  }
  const refusedCreate =
    error.service === 'Nova' &&
    error.method === 'POST' &&
    /\/servers$/.test(error.path ?? '') &&
    error.status !== undefined &&
    [400, 403, 404, 409].includes(error.status);
  if (!refusedCreate) return undefined;
  const fault = error.fault ?? error.message;
  return HINTS.find((hint) => hint.pattern.test(fault));
}
