/** Nova os-quota-sets (show, detail, defaults, update, delete) and the usage counts behind them. */
import { ApiError } from '../errors';
import { flavorById } from '../fixtures';
import { isObject, json, noContent } from '../http';
import { NOVA_QUOTAS, NOVA_QUOTAS_REMOVED_AT_2_36, NOVA_QUOTAS_REMOVED_AT_2_57, UNLIMITED } from '../quotas';
import type { NovaQuota } from '../quotas';
import type { SimReply } from '../http';
import type { CloudState } from '../state';
import { quoted, rejectUnexpected, schemaError } from './request';
import type { ComputeRequest } from './request';

const MAX_LIMIT = 0x7fffffff;

/**
 * What Nova counts against each quota. The nova-network leftovers and the limits that are only
 * checked per request (metadata items, injected files) count nothing.
 */
export function novaUsage(state: CloudState, projectId: string): Record<NovaQuota, number> {
  const servers = state.serversOf(projectId);
  const groups = state.serverGroups.ofProject(projectId);
  const usage = Object.fromEntries(NOVA_QUOTAS.map((name) => [name, 0])) as Record<NovaQuota, number>;
  usage.instances = servers.length;
  for (const server of servers) {
    const flavor = flavorById(server.flavorId);
    usage.cores += flavor?.vcpus ?? 0;
    usage.ram += flavor?.ram ?? 0;
  }
  usage.key_pairs = 1;
  usage.server_groups = groups.length;
  usage.server_group_members = groups.reduce((sum, g) => sum + g.members.length, 0);
  return usage;
}

/** The quota names a microversion shows (2.36 drops the network ones, 2.57 the injected files). */
export function visibleNovaQuotas(cr: ComputeRequest): NovaQuota[] {
  const hidden = [
    ...(cr.atLeast('2.36') ? NOVA_QUOTAS_REMOVED_AT_2_36 : []),
    ...(cr.atLeast('2.57') ? NOVA_QUOTAS_REMOVED_AT_2_57 : []),
  ];
  return NOVA_QUOTAS.filter((name) => !hidden.includes(name));
}

/** Nova asks Keystone whether the project exists and answers 400 when it does not. */
function knownProject(cr: ComputeRequest, id: string): string {
  if (!cr.cloud.directory.projectById(id)) throw new ApiError(400, `Project ID ${id} is not a valid project.`);
  cr.cloud.state.advance(cr.now());
  return id;
}

function quotaSet(
  cr: ComputeRequest,
  id: string | undefined,
  value: (name: NovaQuota) => unknown,
): { quota_set: Record<string, unknown> } {
  const body: Record<string, unknown> = id === undefined ? {} : { id };
  for (const name of visibleNovaQuotas(cr)) body[name] = value(name);
  return { quota_set: body };
}

export function showQuotaSet(cr: ComputeRequest, id: string): SimReply {
  const limits = cr.cloud.state.quotas.novaLimits(knownProject(cr, id));
  return json(
    200,
    quotaSet(cr, id, (name) => limits[name]),
  );
}

export function showQuotaSetDetail(cr: ComputeRequest, id: string): SimReply {
  const projectId = knownProject(cr, id);
  const limits = cr.cloud.state.quotas.novaLimits(projectId);
  const usage = novaUsage(cr.cloud.state, projectId);
  return json(
    200,
    quotaSet(cr, id, (name) => ({ in_use: usage[name], limit: limits[name], reserved: 0 })),
  );
}

export function showQuotaDefaults(cr: ComputeRequest, id: string): SimReply {
  const defaults = cr.cloud.state.quotas.novaDefaults;
  return json(
    200,
    quotaSet(cr, knownProject(cr, id), (name) => defaults[name]),
  );
}

function quotaValue(name: string, value: unknown): number {
  if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) return quotaValue(name, Number(value));
  if (typeof value === 'string') throw schemaError(name, value, `${quoted(value)} does not match '^-?[0-9]+$'`);
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw schemaError(name, value, `${quoted(value)} is not of type 'integer', 'string'`);
  if (value < UNLIMITED) throw schemaError(name, value, `${value} is less than the minimum of -1`);
  if (value > MAX_LIMIT) throw schemaError(name, value, `${value} is greater than the maximum of ${MAX_LIMIT}`);
  return value;
}

function forceFlag(value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'].includes(value.toLowerCase()))
    return ['true', '1', 'yes', 'on'].includes(value.toLowerCase());
  throw schemaError(
    'force',
    value,
    `${quoted(value)} is not one of [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']`,
  );
}

/** PUT: each limit must cover what is already used unless `force` is set; the answer carries no id. */
export function updateQuotaSet(cr: ComputeRequest, id: string): SimReply {
  const body = cr.body();
  if (!isObject(body) || !('quota_set' in body)) throw new ApiError(400, "'quota_set' is a required property");
  const fields = body.quota_set;
  if (!isObject(fields)) throw schemaError('quota_set', fields, `${quoted(fields)} is not of type 'object'`);
  rejectUnexpected('quota_set', fields, ['force', ...visibleNovaQuotas(cr)]);
  const force = forceFlag(fields.force);
  const values: Partial<Record<NovaQuota, number>> = {};
  for (const [key, raw] of Object.entries(fields)) {
    if (key !== 'force') values[key as NovaQuota] = quotaValue(key, raw);
  }
  const projectId = knownProject(cr, id);
  const usage = novaUsage(cr.cloud.state, projectId);
  if (!force) {
    for (const [name, limit] of Object.entries(values) as [NovaQuota, number][]) {
      if (limit !== UNLIMITED && limit < usage[name]) {
        throw new ApiError(
          400,
          `Quota limit ${limit} for ${name} must be greater than or equal to already used and reserved ${usage[name]}.`,
        );
      }
    }
  }
  cr.cloud.state.quotas.setNova(projectId, values);
  const limits = cr.cloud.state.quotas.novaLimits(projectId);
  return json(
    200,
    quotaSet(cr, undefined, (name) => limits[name]),
  );
}

/** DELETE puts the project back on the defaults; Nova answers 202. */
export function deleteQuotaSet(cr: ComputeRequest, id: string): SimReply {
  cr.cloud.state.quotas.resetNova(id);
  return noContent(202);
}
