/** Validation of POST /servers bodies, in the order and wording Nova uses. */
import { ApiError } from '../errors';
import { DEFAULT_FAULT_MESSAGE, IMAGES, KEYPAIR, PRIVATE_NETWORK, flavorById } from '../fixtures';
import type { FlavorFixture } from '../fixtures';
import { isObject } from '../http';
import { newAdminPass } from '../ids';
import { withinLimit } from '../quotas';
import type { ServerGroupRecord } from '../server-groups';
import type { NewServer } from '../state';
import { placeServer, zoneHosts } from './placement';
import { novaUsage } from './quota-sets';
import { nameField, quoted, schemaError } from './request';
import type { ComputeRequest } from './request';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_USER_DATA = 65535;

/** Image and flavor references may be bare ids or full URLs ending in the id. */
function lastSegment(ref: string): string {
  return ref.replace(/\/+$/, '').split('/').pop() ?? ref;
}

function requiredProperty(server: Record<string, unknown>, name: string): ApiError {
  return schemaError('server', server, `'${name}' is a required property`);
}

function optionalString(server: Record<string, unknown>, field: string, max = 255): string | null {
  const value = server[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw schemaError(field, value, `${quoted(value)} is not of type 'string'`);
  if (value.length > max) throw schemaError(field, value, `${quoted(value)} is too long`);
  return value;
}

function parseImage(server: Record<string, unknown>): string {
  const ref = server.imageRef;
  if (ref === undefined || ref === '' || ref === null) throw new ApiError(400, 'Missing imageRef attribute');
  if (typeof ref !== 'string') throw schemaError('imageRef', ref, `${quoted(ref)} is not of type 'string'`);
  const id = lastSegment(ref);
  if (!UUID.test(id)) throw schemaError('imageRef', ref, `${quoted(ref)} is not a 'uuid'`);
  if (!IMAGES.some((image) => image.id === id)) throw new ApiError(400, 'Can not find requested image');
  return id;
}

function parseFlavor(server: Record<string, unknown>): FlavorFixture {
  const ref = server.flavorRef;
  if (ref === undefined) throw requiredProperty(server, 'flavorRef');
  if (typeof ref !== 'string' && typeof ref !== 'number')
    throw schemaError('flavorRef', ref, `${quoted(ref)} is not of type 'string', 'integer'`);
  const id = lastSegment(String(ref));
  const flavor = flavorById(id);
  if (!flavor) throw new ApiError(400, `Flavor ${id} could not be found.`);
  return flavor;
}

function parseKeyName(server: Record<string, unknown>): string | null {
  const keyName = optionalString(server, 'key_name');
  if (keyName !== null && keyName !== KEYPAIR.name) throw new ApiError(400, 'Invalid key_name provided.');
  return keyName;
}

/** Network ids to give ports on. Nova 2.37+ requires `networks` and also takes 'auto' / 'none'. */
function parseNetworks(cr: ComputeRequest, server: Record<string, unknown>): string[] {
  const networks = server.networks;
  if (networks === undefined) {
    if (cr.atLeast('2.37')) throw requiredProperty(server, 'networks');
    return [PRIVATE_NETWORK.id];
  }
  if (typeof networks === 'string') {
    if (!cr.atLeast('2.37') || (networks !== 'auto' && networks !== 'none')) {
      throw schemaError('networks', networks, `${quoted(networks)} is not of type 'array'`);
    }
    return networks === 'none' ? [] : [PRIVATE_NETWORK.id];
  }
  if (!Array.isArray(networks)) throw schemaError('networks', networks, `${quoted(networks)} is not of type 'array'`);
  return networks.map((entry: unknown) => {
    if (!isObject(entry)) throw new ApiError(400, 'Bad networks format');
    if (typeof entry.port === 'string') throw new ApiError(400, `Port ${entry.port} could not be found.`);
    if (typeof entry.uuid !== 'string') throw new ApiError(400, "Bad network format: missing 'uuid'");
    if (!UUID.test(entry.uuid))
      throw new ApiError(400, `Bad networks format: network uuid is not in proper format (${entry.uuid})`);
    const network = cr.cloud.state.networkById(entry.uuid);
    if (!network) throw new ApiError(400, `Network ${entry.uuid} could not be found.`);
    if (network.external)
      throw new ApiError(403, `It is not allowed to create an interface on external network ${network.id}`);
    return network.id;
  });
}

/**
 * Names or ids, resolved among the project's Neutron security groups as Nova does: an unknown
 * one is 400, a name two groups share is 409.
 */
function parseSecurityGroups(
  cr: ComputeRequest,
  server: Record<string, unknown>,
): { requested: string[]; ids: string[] } {
  const groups = server.security_groups;
  let names: string[];
  if (groups === undefined) {
    names = ['default'];
  } else if (!Array.isArray(groups)) {
    throw schemaError('security_groups', groups, `${quoted(groups)} is not of type 'array'`);
  } else {
    names = groups.map((group: unknown) => {
      if (!isObject(group) || !('name' in group))
        throw schemaError('security_groups', groups, "'name' is a required property");
      if (typeof group.name !== 'string')
        throw schemaError('name', group.name, `${quoted(group.name)} is not of type 'string'`);
      return group.name;
    });
  }
  const store = cr.cloud.state.securityGroups;
  const ids = [...new Set(names)].map((ref) => {
    const found = store.resolve(cr.token.projectId, ref);
    if (found.kind === 'missing') throw new ApiError(400, `Security group ${ref} not found.`);
    if (found.kind === 'ambiguous')
      throw new ApiError(409, `Multiple security groups found matching '${ref}'. Use an ID to be more specific.`);
    return found.group.id;
  });
  return { requested: names, ids };
}

function parseMetadata(server: Record<string, unknown>): Record<string, string> {
  const metadata = server.metadata;
  if (metadata === undefined) return {};
  if (!isObject(metadata)) throw schemaError('metadata', metadata, `${quoted(metadata)} is not of type 'object'`);
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    if (key.length === 0 || key.length > 255)
      throw schemaError(
        'metadata',
        metadata,
        `'${key}' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'`,
      );
    if (typeof value !== 'string') throw schemaError(key, value, `${quoted(value)} is not of type 'string'`);
    if (value.length > 255) throw schemaError(key, value, `${quoted(value)} is too long`);
    result[key] = value;
  }
  return result;
}

function parseUserData(server: Record<string, unknown>): string | null {
  const userData = server.user_data;
  if (userData === undefined || userData === null) return null;
  if (typeof userData !== 'string')
    throw schemaError('user_data', userData, `${quoted(userData)} is not of type 'string'`);
  if (userData.length > MAX_USER_DATA || !BASE64.test(userData.replace(/\s+/g, ''))) {
    throw schemaError('user_data', userData, `${quoted(userData)} is not a 'base64'`);
  }
  return userData;
}

/** `os:scheduler_hints.group` must name one of the project's server groups (POOL_SERVER_GROUP_ID). */
function parseServerGroup(cr: ComputeRequest, body: Record<string, unknown>): ServerGroupRecord | undefined {
  const hints = body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints'];
  if (hints === undefined) return undefined;
  if (!isObject(hints)) throw schemaError('os:scheduler_hints', hints, `${quoted(hints)} is not of type 'object'`);
  const group = hints.group;
  if (group === undefined) return undefined;
  if (typeof group !== 'string' || !UUID.test(group))
    throw schemaError('group', group, `${quoted(group)} is not a 'uuid'`);
  const record = cr.cloud.state.serverGroups.visible(group, cr.token.projectId);
  if (!record) throw new ApiError(400, `Instance group ${group} could not be found.`);
  return record;
}

function parseAvailabilityZone(cr: ComputeRequest, server: Record<string, unknown>): string | null {
  const zone = optionalString(server, 'availability_zone');
  if (zone !== null && !cr.cloud.config.availabilityZones.includes(zone))
    throw new ApiError(400, 'The requested availability zone is not available');
  return zone;
}

function parseTags(cr: ComputeRequest, server: Record<string, unknown>): string[] {
  const tags = server.tags;
  if (tags === undefined || !cr.atLeast('2.52')) return [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string'))
    throw schemaError('tags', tags, `${quoted(tags)} is not of type 'array'`);
  return tags as string[];
}

/** Nova's instance, cores and ram check: every resource over its limit is named, in this order. */
function checkInstanceQuota(cr: ComputeRequest, flavor: FlavorFixture): void {
  const { state } = cr.cloud;
  const projectId = cr.token.projectId;
  const limits = state.quotas.novaLimits(projectId);
  const used = novaUsage(state, projectId);
  const requested = { instances: 1, cores: flavor.vcpus, ram: flavor.ram };
  const overs = (['instances', 'cores', 'ram'] as const).filter(
    (resource) => !withinLimit(limits[resource], used[resource], requested[resource]),
  );
  if (overs.length === 0) return;
  const list = (pick: (resource: (typeof overs)[number]) => number): string =>
    overs.map((r) => String(pick(r))).join(', ');
  const names = overs.join(', ');
  throw new ApiError(
    403,
    `Quota exceeded for ${names}: Requested ${list((r) => requested[r])}, but already used ${list((r) => used[r])} of ${list((r) => limits[r])} ${names}`,
  );
}

function checkGroupMembersQuota(cr: ComputeRequest, group: ServerGroupRecord | undefined): void {
  if (!group) return;
  const limit = cr.cloud.state.quotas.novaLimits(cr.token.projectId).server_group_members;
  if (!withinLimit(limit, group.members.length)) throw new ApiError(403, 'Quota exceeded, too many servers in group');
}

/** Validates the body and checks quotas; the outcome rule and the group's policy decide how the build ends. */
export function parseCreateServer(cr: ComputeRequest): NewServer & { requestedSecurityGroups: string[] } {
  const body = cr.body();
  if (!isObject(body) || !('server' in body)) throw new ApiError(400, "'server' is a required property");
  const server = body.server;
  if (!isObject(server)) throw schemaError('server', server, `${quoted(server)} is not of type 'object'`);

  const name = nameField('server', server);
  const requestedZone = parseAvailabilityZone(cr, server);
  const imageId = parseImage(server);
  const networkIds = parseNetworks(cr, server);
  const flavor = parseFlavor(server);
  const keyName = parseKeyName(server);
  const securityGroups = parseSecurityGroups(cr, server);
  const metadata = parseMetadata(server);
  const userData = parseUserData(server);
  const group = parseServerGroup(cr, body);
  const description = cr.atLeast('2.19') ? optionalString(server, 'description') : null;
  const tags = parseTags(cr, server);
  checkInstanceQuota(cr, flavor);
  checkGroupMembersQuota(cr, group);

  const { config, state, faults } = cr.cloud;
  const zone = requestedZone ?? config.availabilityZones[0] ?? 'nova';
  const hosts = zoneHosts(config.availabilityZones, zone);
  const host = placeServer(state, hosts, group, state.nextSequence);
  const rule = faults.outcomeFor(name);
  return {
    name,
    description,
    projectId: cr.token.projectId,
    userId: cr.token.userId,
    imageId,
    flavorId: flavor.id,
    keyName,
    availabilityZone: zone,
    requestedAvailabilityZone: requestedZone,
    securityGroupIds: securityGroups.ids,
    requestedSecurityGroups: securityGroups.requested,
    metadata,
    userData,
    serverGroup: group?.id ?? null,
    tags,
    adminPass: newAdminPass(),
    networkIds,
    host: host ?? hosts[0] ?? 'sim-compute-1',
    // A hard group policy no host can satisfy fails the build the way the scheduler does.
    outcome: host === undefined ? 'error' : (rule?.outcome ?? 'active'),
    bootDelayMs: rule?.bootDelayMs ?? config.bootDelayMs,
    faultMessage: host === undefined ? DEFAULT_FAULT_MESSAGE : (rule?.faultMessage ?? DEFAULT_FAULT_MESSAGE),
  };
}
