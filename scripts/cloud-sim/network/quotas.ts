/** Neutron /v2.0/quotas: list, show, default, details (the quota_details extension), update, reset. */
import { ApiError } from '../errors';
import { json, noContent } from '../http';
import type { SimReply } from '../http';
import { NEUTRON_QUOTAS, UNLIMITED } from '../quotas';
import type { NeutronQuota } from '../quotas';
import type { CloudState } from '../state';
import { invalidInput, pythonRepr, resourceFields } from './request';
import type { AttributeRule, NetworkRequest } from './request';

const MAX_LIMIT = 2147483647;

/** What Neutron counts for a project. The fixture networks, their subnets and the router are the project's own. */
export function neutronUsage(state: CloudState, projectId: string): Record<NeutronQuota, number> {
  return {
    floatingip: state.floatingIpsOf(projectId).length,
    network: state.networks.length,
    subnet: state.networks.length,
    port: state.portsOfProject(projectId).length,
    router: 1,
    security_group: state.securityGroups.ofProject(projectId).length,
    security_group_rule: state.securityGroups.rulesOfProject(projectId).length,
    rbac_policy: 0,
    subnetpool: 0,
  };
}

export function listQuotas(nr: NetworkRequest): SimReply {
  const quotas = nr.cloud.state.quotas;
  return json(200, {
    quotas: quotas
      .neutronProjects()
      .map((projectId) => ({ ...quotas.neutronLimits(projectId), project_id: projectId, tenant_id: projectId })),
  });
}

export function showQuota(nr: NetworkRequest, projectId: string): SimReply {
  return json(200, { quota: nr.cloud.state.quotas.neutronLimits(projectId) });
}

export function showQuotaDefault(nr: NetworkRequest): SimReply {
  return json(200, { quota: { ...nr.cloud.state.quotas.neutronDefaults } });
}

export function showQuotaDetails(nr: NetworkRequest, projectId: string): SimReply {
  const state = nr.cloud.state;
  state.advance(nr.now());
  const limits = state.quotas.neutronLimits(projectId);
  const used = neutronUsage(state, projectId);
  return json(200, {
    quota: Object.fromEntries(
      NEUTRON_QUOTAS.map((name) => [name, { limit: limits[name], used: used[name], reserved: 0 }]),
    ),
  });
}

const QUOTA_ATTRIBUTES: Record<string, AttributeRule> = Object.fromEntries([
  ...NEUTRON_QUOTAS.map((name) => [name, { post: false, put: true }]),
  ['force', { post: false, put: true }],
  ['check_limit', { post: false, put: true }],
]);

function limitValue(name: string, value: unknown): number {
  const number = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number))
    throw new ApiError(400, `Invalid input for operation: '${pythonRepr(value)}' is not an integer.`, 'InvalidInput');
  if (number < UNLIMITED) throw invalidInput(name, `'${number}' is too small - must be at least '${UNLIMITED}'`);
  if (number > MAX_LIMIT) throw invalidInput(name, `'${number}' is too large - must be no larger than '${MAX_LIMIT}'`);
  return number;
}

/** PUT: a limit below what is already used is refused unless `force` is true. */
export function updateQuota(nr: NetworkRequest, projectId: string): SimReply {
  const fields = resourceFields(nr, 'quota', QUOTA_ATTRIBUTES, false);
  const force = fields.force === true || fields.force === 'true' || fields.force === 'True';
  const values: Partial<Record<NeutronQuota, number>> = {};
  for (const name of NEUTRON_QUOTAS) {
    if (name in fields) values[name] = limitValue(name, fields[name]);
  }
  const state = nr.cloud.state;
  state.advance(nr.now());
  if (!force) {
    const used = neutronUsage(state, projectId);
    for (const [name, limit] of Object.entries(values) as [NeutronQuota, number][]) {
      if (limit !== UNLIMITED && used[name] > limit) {
        throw new ApiError(
          400,
          `Quota limit ${limit} for ${name} must be greater than or equal to already used ${used[name]}`,
          'HTTPBadRequest',
        );
      }
    }
  }
  state.quotas.setNeutron(projectId, values);
  return json(200, { quota: state.quotas.neutronLimits(projectId) });
}

export function deleteQuota(nr: NetworkRequest, projectId: string): SimReply {
  nr.cloud.state.quotas.resetNeutron(projectId);
  return noContent(204);
}
