/** Nova /servers: create, list (regex name filter), show, delete and a few actions. */
import { ApiError } from '../errors';
import { NOVA_FLOATING_IP_ACTIONS_REMOVED_AT } from '../fixtures';
import { isObject, json, noContent } from '../http';
import type { SimReply } from '../http';
import { serverStatus } from '../state';
import type { ServerRecord } from '../state';
import { addFloatingIpAction, removeFloatingIpAction } from './floating-ips';
import { parseCreateServer } from './server-create';
import { serverAddresses, serverDetail, serverSummary } from './server-view';
import { markerStart, nextLinks, queryInteger } from './request';
import type { ComputeRequest } from './request';

const MAX_LIMIT = 1000;
const KNOWN_STATUSES = new Set([
  'ACTIVE',
  'BUILD',
  'DELETED',
  'ERROR',
  'HARD_REBOOT',
  'MIGRATING',
  'PASSWORD',
  'PAUSED',
  'REBOOT',
  'REBUILD',
  'RESCUE',
  'RESIZE',
  'REVERT_RESIZE',
  'SHELVED',
  'SHELVED_OFFLOADED',
  'SHUTOFF',
  'SOFT_DELETED',
  'SUSPENDED',
  'UNKNOWN',
  'VERIFY_RESIZE',
]);

function findServer(cr: ComputeRequest, id: string): ServerRecord {
  cr.cloud.state.advance(cr.now());
  const server = cr.cloud.state.servers.get(id);
  if (!server) throw new ApiError(404, `Instance ${id} could not be found.`);
  return server;
}

export function createServer(cr: ComputeRequest): SimReply {
  const spec = parseCreateServer(cr);
  const server = cr.cloud.state.createServer(spec, cr.now());
  const body = {
    server: {
      id: server.id,
      links: cr.links('servers', server.id),
      'OS-DCF:diskConfig': 'MANUAL',
      // Nova echoes the groups as the request named them (names or ids).
      security_groups: spec.requestedSecurityGroups.map((name) => ({ name })),
      adminPass: server.adminPass,
    },
  };
  return json(202, body, { Location: `${cr.apiUrl}/servers/${server.id}` });
}

/**
 * Nova hands `name` to the database as a regular expression (MySQL REGEXP): unanchored, and
 * case-insensitive under MySQL's default collation, so 'libra-1' also matches 'LIBRA-10'.
 * JavaScript RegExp syntax stands in for MySQL's. An invalid expression is answered with
 * 400 badRequest here (a real cloud's answer depends on its database).
 */
function nameFilter(name: string): RegExp {
  try {
    return new RegExp(name, 'i');
  } catch {
    throw new ApiError(400, `Invalid regular expression in name filter: ${name}`);
  }
}

function filteredServers(cr: ComputeRequest): ServerRecord[] | 'no-valid-status' {
  const query = cr.request.query;
  let servers = cr.cloud.state.visibleServers();
  const name = query.get('name');
  if (name !== null && name !== '') {
    const pattern = nameFilter(name);
    servers = servers.filter((s) => pattern.test(s.name));
  }
  const statuses = query.getAll('status').map((s) => s.trim().toUpperCase());
  if (statuses.length > 0) {
    const valid = statuses.filter((s) => KNOWN_STATUSES.has(s));
    if (valid.length === 0) return 'no-valid-status';
    servers = servers.filter((s) => valid.includes(serverStatus(s).status));
  }
  return servers;
}

export function listServers(cr: ComputeRequest, detailed: boolean): SimReply {
  cr.cloud.state.advance(cr.now());
  const filtered = filteredServers(cr);
  if (filtered === 'no-valid-status') {
    if (cr.atLeast('2.38')) throw new ApiError(400, 'Invalid status value');
    return json(200, { servers: [] });
  }
  const limit = Math.min(queryInteger(cr, 'limit') ?? MAX_LIMIT, MAX_LIMIT);
  const start = markerStart(cr, filtered);
  const page = filtered.slice(start, start + limit);
  const body: Record<string, unknown> = {
    servers: page.map((s) => (detailed ? serverDetail(cr, s) : serverSummary(cr, s))),
  };
  const links = nextLinks(
    cr,
    detailed ? 'servers/detail' : 'servers',
    page,
    cr.request.query.has('limit') ? limit : undefined,
  );
  if (links) body.servers_links = links;
  return json(200, body);
}

export function showServer(cr: ComputeRequest, id: string): SimReply {
  return json(200, { server: serverDetail(cr, findServer(cr, id)) });
}

export function showServerIps(cr: ComputeRequest, id: string): SimReply {
  return json(200, { addresses: serverAddresses(cr.cloud.state, findServer(cr, id)) });
}

export function deleteServer(cr: ComputeRequest, id: string): SimReply {
  const server = findServer(cr, id);
  cr.cloud.state.deleteServer(server, cr.now());
  return noContent(204);
}

function invalidState(action: string, server: ServerRecord): ApiError {
  const status = serverStatus(server);
  const [attr, state] = status.taskState !== null ? ['task_state', status.taskState] : ['vm_state', status.vmState];
  return new ApiError(409, `Cannot '${action}' instance ${server.id} while it is in ${attr} ${state}`);
}

function requireSteadyPhase(action: string, server: ServerRecord, phases: readonly ServerRecord['phase'][]): void {
  if (server.deletingSince !== null || !phases.includes(server.phase)) throw invalidState(action, server);
}

export function serverAction(cr: ComputeRequest, id: string): SimReply {
  const body = cr.body();
  if (!isObject(body) || Object.keys(body).length !== 1) throw new ApiError(400, 'Malformed request body');
  const action = Object.keys(body)[0] ?? '';
  const floatingIpActionsGone = cr.atLeast(NOVA_FLOATING_IP_ACTIONS_REMOVED_AT);
  switch (action) {
    case 'addFloatingIp':
      if (floatingIpActionsGone) throw new ApiError(404, 'The resource could not be found.');
      return addFloatingIpAction(cr, findServer(cr, id), body.addFloatingIp);
    case 'removeFloatingIp':
      if (floatingIpActionsGone) throw new ApiError(404, 'The resource could not be found.');
      return removeFloatingIpAction(cr, findServer(cr, id), body.removeFloatingIp);
    case 'os-stop': {
      const server = findServer(cr, id);
      requireSteadyPhase('stop', server, ['active', 'error']);
      cr.cloud.state.setPhase(server, 'stopped', cr.now());
      return noContent(202);
    }
    case 'os-start': {
      const server = findServer(cr, id);
      requireSteadyPhase('start', server, ['stopped']);
      cr.cloud.state.setPhase(server, 'active', cr.now());
      return noContent(202);
    }
    case 'reboot': {
      const reboot = body.reboot;
      if (!isObject(reboot) || (reboot.type !== 'SOFT' && reboot.type !== 'HARD')) {
        throw new ApiError(
          400,
          `Invalid input for field/attribute type. Value: ${isObject(reboot) ? String(reboot.type) : 'None'}. 'type' is a required property`,
        );
      }
      const server = findServer(cr, id);
      requireSteadyPhase('reboot', server, reboot.type === 'HARD' ? ['active', 'stopped', 'error'] : ['active']);
      cr.cloud.state.setPhase(server, 'active', cr.now());
      return noContent(202);
    }
    default:
      throw new ApiError(400, `There is no such action: ${action}`);
  }
}
