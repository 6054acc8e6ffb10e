/** Neutron /v2.0/security-groups and /v2.0/security-group-rules. */
import ipaddr from 'ipaddr.js';
import { ApiError } from '../errors';
import { json, noContent } from '../http';
import type { SimReply } from '../http';
import { withinLimit } from '../quotas';
import type {
  Direction,
  Ethertype,
  NewSecurityGroupRule,
  SecurityGroupRecord,
  SecurityGroupRuleRecord,
} from '../security-groups';
import { isoSeconds } from '../time-format';
import { listCollection } from './listing';
import { booleanAttribute, invalidInput, pythonRepr, resourceFields, stringAttribute } from './request';
import type { AttributeRule, NetworkRequest } from './request';

const NAME_MAX = 255;
const DESCRIPTION_MAX = 255;

const GROUP_ATTRIBUTES: Record<string, AttributeRule> = {
  name: { post: true, put: true },
  description: { post: true, put: true },
  stateful: { post: true, put: true },
};

const RULE_ATTRIBUTES: Record<string, AttributeRule> = {
  security_group_id: { post: true, put: false, required: true },
  direction: { post: true, put: false, required: true },
  ethertype: { post: true, put: false },
  protocol: { post: true, put: false },
  port_range_min: { post: true, put: false },
  port_range_max: { post: true, put: false },
  remote_ip_prefix: { post: true, put: false },
  remote_group_id: { post: true, put: false },
  remote_address_group_id: { post: true, put: false },
  description: { post: true, put: false },
};

const GROUP_FILTERS = [
  'id',
  'name',
  'description',
  'stateful',
  'shared',
  'tenant_id',
  'project_id',
  'revision_number',
  'created_at',
  'updated_at',
];

const RULE_FILTERS = [
  'id',
  'security_group_id',
  'direction',
  'ethertype',
  'protocol',
  'port_range_min',
  'port_range_max',
  'remote_ip_prefix',
  'remote_group_id',
  'remote_address_group_id',
  'normalized_cidr',
  'belongs_to_default_sg',
  'description',
  'tenant_id',
  'project_id',
  'revision_number',
  'created_at',
  'updated_at',
];

/** Protocol names Neutron accepts in a rule, besides 'any' and the numbers 0..255. */
const PROTOCOLS = [
  'ah',
  'dccp',
  'egp',
  'esp',
  'gre',
  'hopopt',
  'icmp',
  'igmp',
  'ip',
  'ipip',
  'ipv6-encap',
  'ipv6-frag',
  'ipv6-icmp',
  'icmpv6',
  'ipv6-nonxt',
  'ipv6-opts',
  'ipv6-route',
  'ospf',
  'pgm',
  'rsvp',
  'sctp',
  'tcp',
  'udp',
  'udplite',
  'vrrp',
];
const PORT_PROTOCOLS = new Set(['dccp', 'sctp', 'tcp', 'udp', '33', '132', '6', '17']);
const ICMP_PROTOCOLS = new Set(['icmp', 'ipv6-icmp', 'icmpv6', '1', '58']);
const IPV6_ONLY_PROTOCOLS = new Set([
  'ipv6-encap',
  'ipv6-frag',
  'ipv6-icmp',
  'icmpv6',
  'ipv6-nonxt',
  'ipv6-opts',
  'ipv6-route',
]);

function groupNotFound(id: string): ApiError {
  return new ApiError(404, `Security group ${id} does not exist`, 'SecurityGroupNotFound');
}

function overQuota(resource: string): ApiError {
  return new ApiError(409, `Quota exceeded for resources: ['${resource}'].`, 'OverQuota');
}

function ruleView(nr: NetworkRequest, rule: SecurityGroupRuleRecord): Record<string, unknown> {
  const group = nr.cloud.state.securityGroups.groups.get(rule.securityGroupId);
  return {
    id: rule.id,
    tenant_id: rule.projectId,
    project_id: rule.projectId,
    security_group_id: rule.securityGroupId,
    ethertype: rule.ethertype,
    direction: rule.direction,
    protocol: rule.protocol,
    port_range_min: rule.portRangeMin,
    port_range_max: rule.portRangeMax,
    remote_ip_prefix: rule.remoteIpPrefix,
    remote_address_group_id: null,
    normalized_cidr: normalizedCidr(rule.remoteIpPrefix),
    remote_group_id: rule.remoteGroupId,
    belongs_to_default_sg: group?.isDefault ?? false,
    description: rule.description,
    tags: [],
    created_at: isoSeconds(rule.createdAt),
    updated_at: isoSeconds(rule.updatedAt),
    revision_number: rule.revision,
  };
}

function groupView(nr: NetworkRequest, group: SecurityGroupRecord): Record<string, unknown> {
  const store = nr.cloud.state.securityGroups;
  return {
    id: group.id,
    name: group.name,
    description: group.description,
    stateful: group.stateful,
    shared: false,
    tenant_id: group.projectId,
    project_id: group.projectId,
    security_group_rules: store.rulesOf(group.id).map((rule) => ruleView(nr, rule)),
    tags: [],
    created_at: isoSeconds(group.createdAt),
    updated_at: isoSeconds(group.updatedAt),
    revision_number: group.revision,
  };
}

function findGroup(nr: NetworkRequest, id: string): SecurityGroupRecord {
  const group = nr.cloud.state.securityGroups.groups.get(id);
  if (!group || group.projectId !== nr.token.projectId) throw groupNotFound(id);
  return group;
}

export function listSecurityGroups(nr: NetworkRequest): SimReply {
  const groups = nr.cloud.state.securityGroups.ofProject(nr.token.projectId);
  return listCollection(
    nr.request,
    groups.map((g) => groupView(nr, g)),
    { collection: 'security_groups', filters: GROUP_FILTERS },
  );
}

export function showSecurityGroup(nr: NetworkRequest, id: string): SimReply {
  return json(200, { security_group: groupView(nr, findGroup(nr, id)) });
}

/** A group may not be called 'default' (any case): that name is the project's own group. */
function groupName(fields: Record<string, unknown>): string | undefined {
  const name = stringAttribute(fields, 'name', NAME_MAX);
  if (name !== undefined && name.toLowerCase() === 'default')
    throw new ApiError(409, 'Default security group already exists.', 'SecurityGroupDefaultAlreadyExists');
  return name;
}

export function createSecurityGroup(nr: NetworkRequest): SimReply {
  const fields = resourceFields(nr, 'security_group', GROUP_ATTRIBUTES, true);
  const name = groupName(fields) ?? '';
  const description = stringAttribute(fields, 'description', DESCRIPTION_MAX) ?? '';
  const stateful = booleanAttribute(fields, 'stateful') ?? true;
  const state = nr.cloud.state;
  const projectId = nr.token.projectId;
  const limit = state.quotas.neutronLimits(projectId).security_group;
  if (!withinLimit(limit, state.securityGroups.ofProject(projectId).length)) throw overQuota('security_group');
  const group = state.securityGroups.create({ name, description, projectId, stateful }, nr.now());
  return json(201, { security_group: groupView(nr, group) });
}

export function updateSecurityGroup(nr: NetworkRequest, id: string): SimReply {
  const fields = resourceFields(nr, 'security_group', GROUP_ATTRIBUTES, false);
  const group = findGroup(nr, id);
  const name = stringAttribute(fields, 'name', NAME_MAX);
  const description = stringAttribute(fields, 'description', DESCRIPTION_MAX);
  const stateful = booleanAttribute(fields, 'stateful');
  if (group.isDefault && name !== undefined && name !== group.name)
    throw new ApiError(409, 'Updating default security group not allowed.', 'SecurityGroupCannotUpdateDefault');
  if (!group.isDefault && name !== undefined && name.toLowerCase() === 'default')
    throw new ApiError(409, 'Default security group already exists.', 'SecurityGroupDefaultAlreadyExists');
  if (stateful !== undefined && stateful !== group.stateful && nr.cloud.state.securityGroupInUse(group.id)) {
    throw new ApiError(409, `Security Group ${group.id} in use.`, 'SecurityGroupInUse');
  }
  nr.cloud.state.securityGroups.update(group, { name, description, stateful }, nr.now());
  return json(200, { security_group: groupView(nr, group) });
}

export function deleteSecurityGroup(nr: NetworkRequest, id: string): SimReply {
  const state = nr.cloud.state;
  state.advance(nr.now());
  const group = findGroup(nr, id);
  if (group.isDefault)
    throw new ApiError(
      409,
      'Insufficient rights for removing default security group.',
      'SecurityGroupCannotRemoveDefault',
    );
  if (state.securityGroupInUse(group.id))
    throw new ApiError(409, `Security Group ${group.id} in use.`, 'SecurityGroupInUse');
  state.securityGroups.delete(group);
  return noContent(204);
}

export function listSecurityGroupRules(nr: NetworkRequest): SimReply {
  const rules = nr.cloud.state.securityGroups.rulesOfProject(nr.token.projectId);
  return listCollection(
    nr.request,
    rules.map((r) => ruleView(nr, r)),
    { collection: 'security_group_rules', filters: RULE_FILTERS },
  );
}

function findRule(nr: NetworkRequest, id: string): SecurityGroupRuleRecord {
  const rule = nr.cloud.state.securityGroups.rules.get(id);
  if (!rule || rule.projectId !== nr.token.projectId)
    throw new ApiError(404, `Security group rule ${id} does not exist`, 'SecurityGroupRuleNotFound');
  return rule;
}

export function showSecurityGroupRule(nr: NetworkRequest, id: string): SimReply {
  return json(200, { security_group_rule: ruleView(nr, findRule(nr, id)) });
}

export function deleteSecurityGroupRule(nr: NetworkRequest, id: string): SimReply {
  nr.cloud.state.securityGroups.deleteRule(findRule(nr, id), nr.now());
  return noContent(204);
}

function protocolValue(value: unknown): string | null {
  if (value === undefined || value === null || value === 'any') return null;
  const invalid = (): ApiError =>
    new ApiError(
      400,
      `Security group rule protocol ${pythonRepr(value)} not supported. Only protocol values [None, 'any', ${PROTOCOLS.map((p) => `'${p}'`).join(', ')}] and integer representations [0 to 255] are supported.`,
      'SecurityGroupRuleInvalidProtocol',
    );
  if (typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value))) {
    const number = Number(value);
    if (!Number.isInteger(number) || number < 0 || number > 255) throw invalid();
    return String(number);
  }
  if (typeof value !== 'string' || !PROTOCOLS.includes(value.toLowerCase())) throw invalid();
  return value.toLowerCase();
}

function portValue(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 0 || number > 65535)
    throw new ApiError(400, `Invalid value for port ${pythonRepr(value)}`, 'SecurityGroupInvalidPortValue');
  return number;
}

function ethertypeValue(value: unknown): Ethertype {
  if (value === undefined) return 'IPv4';
  const match =
    typeof value === 'string'
      ? (['IPv4', 'IPv6'] as const).find((e) => e.toLowerCase() === value.toLowerCase())
      : undefined;
  if (!match) {
    throw new ApiError(
      400,
      `Security group rule for ethertype '${pythonRepr(value)}' not supported. Allowed values are ['IPv4', 'IPv6'].`,
      'SecurityGroupRuleInvalidEtherType',
    );
  }
  return match;
}

function directionValue(value: unknown): Direction {
  if (value !== 'ingress' && value !== 'egress')
    throw invalidInput('direction', `'${pythonRepr(value)}' is not in ['ingress', 'egress']`);
  return value;
}

/** A prefix as Neutron stores it: the address as given plus its mask ('10.0.0.5' becomes '10.0.0.5/32'). */
function prefixValue(value: unknown): { prefix: string; version: 4 | 6 } | null {
  if (value === undefined || value === null || value === '') return null;
  const invalid = new ApiError(400, `Invalid CIDR ${pythonRepr(value)} given as IP prefix.`, 'InvalidCIDR');
  if (typeof value !== 'string') throw invalid;
  try {
    if (value.includes('/')) {
      const [address, length] = ipaddr.parseCIDR(value);
      return { prefix: `${address.toString()}/${length}`, version: address.kind() === 'ipv4' ? 4 : 6 };
    }
    const address = ipaddr.parse(value);
    return address.kind() === 'ipv4'
      ? { prefix: `${address.toString()}/32`, version: 4 }
      : { prefix: `${address.toString()}/128`, version: 6 };
  } catch {
    throw invalid;
  }
}

function normalizedCidr(prefix: string | null): string | null {
  if (prefix === null) return null;
  const [address, length] = ipaddr.parseCIDR(prefix);
  const network =
    address.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(prefix) : ipaddr.IPv6.networkAddressFromCIDR(prefix);
  return `${network.toString()}/${length}`;
}

function uuidAttribute(fields: Record<string, unknown>, name: string): string | null {
  const value = fields[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalidInput(name, `'${pythonRepr(value)}' is not a valid string`);
  return value;
}

/** Neutron's port-range rules per protocol family. */
function checkPorts(protocol: string | null, min: number | null, max: number | null): void {
  if (min === null && max === null) return;
  if (protocol === null)
    throw new ApiError(
      400,
      'Must also specify protocol if port range is given.',
      'SecurityGroupProtocolRequiredWithPorts',
    );
  if (PORT_PROTOCOLS.has(protocol)) {
    if (min === 0 || max === 0) throw new ApiError(400, 'Invalid value for port 0', 'SecurityGroupInvalidPortValue');
    if (min === null || max === null || min > max)
      throw new ApiError(
        400,
        'For TCP/UDP protocols, port_range_min must be <= port_range_max',
        'SecurityGroupInvalidPortRange',
      );
    return;
  }
  if (ICMP_PROTOCOLS.has(protocol)) {
    for (const [attr, field, value] of [
      ['port_range_min', 'type', min],
      ['port_range_max', 'code', max],
    ] as const) {
      if (value !== null && value > 255) {
        throw new ApiError(
          400,
          `Invalid value for ICMP ${field} (${attr}) ${value}. It must be 0 to 255.`,
          'SecurityGroupInvalidIcmpValue',
        );
      }
    }
    if (min === null && max !== null) {
      throw new ApiError(
        400,
        `ICMP code (port-range-max) ${max} is provided but ICMP type (port-range-min) is missing.`,
        'SecurityGroupMissingIcmpType',
      );
    }
    return;
  }
  throw new ApiError(
    400,
    `Ports cannot be specified for protocol ${protocol}. Ports are only supported for DCCP, SCTP, TCP, UDP.`,
    'SecurityGroupInvalidProtocolForPort',
  );
}

function parseRule(nr: NetworkRequest): NewSecurityGroupRule {
  const fields = resourceFields(nr, 'security_group_rule', RULE_ATTRIBUTES, true);
  const direction = directionValue(fields.direction);
  const ethertype = ethertypeValue(fields.ethertype);
  let protocol = protocolValue(fields.protocol);
  let portRangeMin = portValue(fields.port_range_min);
  let portRangeMax = portValue(fields.port_range_max);
  const prefix = prefixValue(fields.remote_ip_prefix);
  const description = stringAttribute(fields, 'description', DESCRIPTION_MAX) ?? '';
  const securityGroupId = uuidAttribute(fields, 'security_group_id') ?? '';
  const remoteGroupId = uuidAttribute(fields, 'remote_group_id');
  if (fields.remote_address_group_id !== undefined && fields.remote_address_group_id !== null)
    throw new ApiError(
      404,
      `Address group ${pythonRepr(fields.remote_address_group_id)} could not be found.`,
      'AddressGroupNotFound',
    );

  if (ethertype === 'IPv6' && protocol === 'icmp') protocol = 'ipv6-icmp';
  // The whole range is stored as "any port".
  if (portRangeMin === 1 && portRangeMax === 65535 && protocol !== null && PORT_PROTOCOLS.has(protocol)) {
    portRangeMin = null;
    portRangeMax = null;
  }
  checkPorts(protocol, portRangeMin, portRangeMax);
  if (prefix && `IPv${prefix.version}` !== ethertype) {
    throw new ApiError(
      400,
      `Conflicting value ethertype ${ethertype} for CIDR ${String(fields.remote_ip_prefix)}`,
      'SecurityGroupRuleParameterConflict',
    );
  }
  if (ethertype === 'IPv4' && protocol !== null && IPV6_ONLY_PROTOCOLS.has(protocol))
    throw new ApiError(
      400,
      `Invalid ethertype IPv4 for protocol ${protocol}.`,
      'SecurityGroupEthertypeConflictWithProtocol',
    );
  if (prefix && remoteGroupId !== null) {
    throw new ApiError(
      400,
      'Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided.',
      'SecurityGroupMultipleRemoteEntites',
    );
  }
  if (remoteGroupId !== null) findGroup(nr, remoteGroupId);
  findGroup(nr, securityGroupId);
  return {
    securityGroupId,
    projectId: nr.token.projectId,
    direction,
    ethertype,
    protocol,
    portRangeMin,
    portRangeMax,
    // 0.0.0.0/0 and ::/0 mean "anywhere", which Neutron treats like no prefix when comparing rules.
    remoteIpPrefix: prefix?.prefix ?? null,
    remoteGroupId,
    description,
  };
}

export function createSecurityGroupRule(nr: NetworkRequest): SimReply {
  const rule = parseRule(nr);
  const store = nr.cloud.state.securityGroups;
  const anywhere = rule.remoteIpPrefix === '0.0.0.0/0' || rule.remoteIpPrefix === '::/0';
  const duplicate =
    store.duplicateOf(rule) ?? (anywhere ? store.duplicateOf({ ...rule, remoteIpPrefix: null }) : undefined);
  if (duplicate)
    throw new ApiError(
      409,
      `Security group rule already exists. Rule id is ${duplicate.id}.`,
      'SecurityGroupRuleExists',
    );
  const limit = nr.cloud.state.quotas.neutronLimits(rule.projectId).security_group_rule;
  const used = store.rulesOfProject(rule.projectId).length;
  if (!withinLimit(limit, used)) throw overQuota('security_group_rule');
  return json(201, { security_group_rule: ruleView(nr, store.addRule(rule, nr.now())) });
}
