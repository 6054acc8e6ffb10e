/** Nova os-server-groups: list, show, create and delete, shaped per microversion (2.13, 2.15, 2.64). */
import { ApiError } from '../errors';
import { isObject, json, noContent } from '../http';
import type { SimReply } from '../http';
import { withinLimit } from '../quotas';
import { SERVER_GROUP_POLICIES } from '../server-groups';
import type { ServerGroupPolicy, ServerGroupRecord } from '../server-groups';
import { nameField, queryInteger, quoted, rejectUnexpected, schemaError } from './request';
import type { ComputeRequest } from './request';

/** 2.64 replaced the one-item `policies` list (and an always-empty `metadata`) with `policy` and `rules`. */
function groupView(cr: ComputeRequest, group: ServerGroupRecord): Record<string, unknown> {
  const view: Record<string, unknown> = { id: group.id, name: group.name };
  if (cr.atLeast('2.64')) {
    view.policy = group.policy;
    view.rules = group.rules;
  } else {
    view.policies = [group.policy];
    view.metadata = {};
  }
  view.members = group.members;
  if (cr.atLeast('2.13')) {
    view.project_id = group.projectId;
    view.user_id = group.userId;
  }
  return view;
}

function findGroup(cr: ComputeRequest, id: string): ServerGroupRecord {
  cr.cloud.state.advance(cr.now());
  const group = cr.cloud.state.serverGroups.visible(id, cr.token.projectId);
  if (!group) throw new ApiError(404, `Instance group ${id} could not be found.`);
  return group;
}

export function listServerGroups(cr: ComputeRequest): SimReply {
  const state = cr.cloud.state;
  state.advance(cr.now());
  // Every simulated user holds the admin role, so all_projects shows every project's groups.
  const groups = cr.request.query.has('all_projects')
    ? [...state.serverGroups.groups.values()]
    : state.serverGroups.ofProject(cr.token.projectId);
  const offset = queryInteger(cr, 'offset') ?? 0;
  const limit = queryInteger(cr, 'limit');
  const page = groups.slice(offset, limit === undefined ? undefined : offset + limit);
  return json(200, { server_groups: page.map((g) => groupView(cr, g)) });
}

export function showServerGroup(cr: ComputeRequest, id: string): SimReply {
  return json(200, { server_group: groupView(cr, findGroup(cr, id)) });
}

export function deleteServerGroup(cr: ComputeRequest, id: string): SimReply {
  cr.cloud.state.serverGroups.delete(findGroup(cr, id).id);
  return noContent(204);
}

function policyChoice(cr: ComputeRequest, field: string, value: unknown): ServerGroupPolicy {
  // 2.15 added the soft policies.
  const allowed: readonly string[] = cr.atLeast('2.15') ? SERVER_GROUP_POLICIES : SERVER_GROUP_POLICIES.slice(0, 2);
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw schemaError(field, value, `${quoted(value)} is not one of [${allowed.map((p) => `'${p}'`).join(', ')}]`);
  }
  return value as ServerGroupPolicy;
}

function parsePolicy(cr: ComputeRequest, fields: Record<string, unknown>): Pick<ServerGroupRecord, 'policy' | 'rules'> {
  rejectUnexpected('server_group', fields, cr.atLeast('2.64') ? ['name', 'policy', 'rules'] : ['name', 'policies']);
  if (!cr.atLeast('2.64')) {
    const policies = fields.policies;
    if (policies === undefined) throw schemaError('server_group', fields, "'policies' is a required property");
    if (!Array.isArray(policies)) throw schemaError('policies', policies, `${quoted(policies)} is not of type 'array'`);
    if (policies.length !== 1) {
      const reason = policies.length === 0 ? '[] should be non-empty' : `${quoted(policies)} is too long`;
      throw schemaError('policies', policies, reason);
    }
    return { policy: policyChoice(cr, 'policies', policies[0]), rules: {} };
  }
  if (fields.policy === undefined) throw schemaError('server_group', fields, "'policy' is a required property");
  const policy = policyChoice(cr, 'policy', fields.policy);
  const rules = fields.rules ?? {};
  if (!isObject(rules)) throw schemaError('rules', rules, `${quoted(rules)} is not of type 'object'`);
  const unknownRule = Object.keys(rules).find((key) => key !== 'max_server_per_host');
  if (unknownRule !== undefined)
    throw schemaError('rules', rules, `Additional properties are not allowed ('${unknownRule}' was unexpected)`);
  const max = rules.max_server_per_host;
  let parsed: number | undefined;
  if (max !== undefined) {
    const number = typeof max === 'string' && /^[0-9]+$/.test(max) ? Number(max) : max;
    if (typeof number !== 'number' || !Number.isInteger(number))
      throw schemaError('max_server_per_host', max, `${quoted(max)} is not of type 'integer', 'string'`);
    if (number < 1) throw schemaError('max_server_per_host', max, `${number} is less than the minimum of 1`);
    parsed = number;
  }
  if (policy !== 'anti-affinity' && Object.keys(rules).length > 0)
    throw new ApiError(400, 'Only anti-affinity policy supports rules.');
  return { policy, rules: parsed === undefined ? {} : { max_server_per_host: parsed } };
}

export function createServerGroup(cr: ComputeRequest): SimReply {
  const body = cr.body();
  if (!isObject(body) || !('server_group' in body)) throw new ApiError(400, "'server_group' is a required property");
  const fields = body.server_group;
  if (!isObject(fields)) throw schemaError('server_group', fields, `${quoted(fields)} is not of type 'object'`);
  const name = nameField('server_group', fields);
  const { policy, rules } = parsePolicy(cr, fields);
  const state = cr.cloud.state;
  const projectId = cr.token.projectId;
  const limit = state.quotas.novaLimits(projectId).server_groups;
  if (!withinLimit(limit, state.serverGroups.ofProject(projectId).length))
    throw new ApiError(403, 'Quota exceeded, too many server groups.');
  const group = state.serverGroups.create({ name, policy, rules, projectId, userId: cr.token.userId });
  return json(200, { server_group: groupView(cr, group) });
}
