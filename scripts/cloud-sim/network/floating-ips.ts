/** Neutron /v2.0/floatingips. */
import { ApiError } from '../errors';
import { isObject, json, noContent } from '../http';
import type { SimReply } from '../http';
import type { FloatingIpRecord, PortRecord } from '../state';
import { listCollection } from './listing';
import { floatingIpView } from './views';
import type { NetworkRequest } from './request';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CREATE_ATTRIBUTES = new Set([
  'floating_network_id',
  'port_id',
  'fixed_ip_address',
  'floating_ip_address',
  'subnet_id',
  'description',
  'tenant_id',
  'project_id',
  'dns_name',
  'dns_domain',
  'qos_policy_id',
  'tags',
]);
const UPDATABLE_ATTRIBUTES = new Set(['port_id', 'fixed_ip_address', 'description', 'qos_policy_id']);

const FILTERS = [
  'id',
  'floating_ip_address',
  'floating_network_id',
  'router_id',
  'port_id',
  'fixed_ip_address',
  'status',
  'description',
  'tenant_id',
  'project_id',
  'revision_number',
  'dns_name',
  'dns_domain',
  'qos_policy_id',
] as const;

function notFound(id: string): ApiError {
  return new ApiError(404, `Floating IP ${id} could not be found`, 'FloatingIPNotFound');
}

function findFloatingIp(nr: NetworkRequest, id: string): FloatingIpRecord {
  nr.cloud.state.advance(nr.now());
  const fip = nr.cloud.state.floatingIps.get(id);
  if (!fip || fip.projectId !== nr.token.projectId) throw notFound(id);
  return fip;
}

/** The `floatingip` object of a POST/PUT body, with Neutron's checks on unknown attributes. */
function resourceBody(nr: NetworkRequest, allowed: ReadonlySet<string>, isCreate: boolean): Record<string, unknown> {
  const body = nr.body();
  if (!isObject(body)) throw new ApiError(400, 'Body contains invalid data', 'HTTPBadRequest');
  if (!('floatingip' in body)) throw new ApiError(400, "Unable to find 'floatingip' in request body", 'HTTPBadRequest');
  const fields = body.floatingip;
  if (!isObject(fields)) throw new ApiError(400, "Object 'floatingip' contains invalid data", 'HTTPBadRequest');
  const unknown = Object.keys(fields).filter((k) => !CREATE_ATTRIBUTES.has(k));
  if (unknown.length > 0)
    throw new ApiError(400, `Unrecognized attribute(s) '${unknown.join(', ')}'`, 'HTTPBadRequest');
  if (!isCreate) {
    const readOnly = Object.keys(fields).find((k) => !allowed.has(k));
    if (readOnly) throw new ApiError(400, `Cannot update read-only attribute ${readOnly}`, 'HTTPBadRequest');
  }
  const description = fields.description;
  if (description !== undefined && (typeof description !== 'string' || description.length > 255)) {
    throw new ApiError(
      400,
      `Invalid input for description. Reason: '${String(description)}' is not a valid string.`,
      'HTTPBadRequest',
    );
  }
  return fields;
}

function uuidAttribute(fields: Record<string, unknown>, name: string): string | null | undefined {
  const value = fields[name];
  if (value === undefined || value === null) return value;
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw new ApiError(
      400,
      `Invalid input for ${name}. Reason: '${String(value)}' is not a valid UUID.`,
      'HTTPBadRequest',
    );
  }
  return value;
}

/** The port to bind; 404 if unknown, 409 if another floating IP on the same network holds it. */
function bindablePort(
  nr: NetworkRequest,
  fip: { id?: string; address?: string; networkId: string },
  portId: string,
  fixedIp: unknown,
): PortRecord {
  const state = nr.cloud.state;
  const port = state.ports.get(portId);
  if (!port) throw new ApiError(404, `Port ${portId} could not be found.`, 'PortNotFound');
  if (fixedIp !== undefined && fixedIp !== null && fixedIp !== port.fixedIp) {
    throw new ApiError(
      400,
      `Bad floatingip request: Port ${port.id} does not have fixed ip ${String(fixedIp)}.`,
      'BadRequest',
    );
  }
  const holder = state
    .floatingIpsClaimingPort(port.id)
    .find((other) => other.id !== fip.id && other.networkId === fip.networkId);
  if (holder) {
    throw new ApiError(
      409,
      `Cannot associate floating IP ${fip.address ?? holder.address} (${fip.id ?? holder.id}) with port ${port.id} using fixed IP ${port.fixedIp}, as that fixed IP already has a floating IP on external network ${fip.networkId}.`,
      'FloatingIPPortAlreadyAssociated',
    );
  }
  return port;
}

export function listFloatingIps(nr: NetworkRequest): SimReply {
  const state = nr.cloud.state;
  state.advance(nr.now());
  const mine = state.floatingIpsOf(nr.token.projectId);
  return listCollection(
    nr.request,
    mine.map((f) => floatingIpView(state, f)),
    { collection: 'floatingips', filters: FILTERS },
  );
}

export function showFloatingIp(nr: NetworkRequest, id: string): SimReply {
  const fip = findFloatingIp(nr, id);
  return json(200, { floatingip: floatingIpView(nr.cloud.state, fip) });
}

export function createFloatingIp(nr: NetworkRequest): SimReply {
  const fields = resourceBody(nr, CREATE_ATTRIBUTES, true);
  const networkId = uuidAttribute(fields, 'floating_network_id');
  if (networkId === undefined || networkId === null) {
    throw new ApiError(
      400,
      "Failed to parse request. Required attribute 'floating_network_id' not specified",
      'HTTPBadRequest',
    );
  }
  const network = nr.cloud.state.networkById(networkId);
  if (!network) throw new ApiError(404, `Network ${networkId} could not be found.`, 'NetworkNotFound');
  if (!network.external)
    throw new ApiError(
      400,
      `Bad floatingip request: Network ${networkId} is not a valid external network.`,
      'BadRequest',
    );
  const portId = uuidAttribute(fields, 'port_id');
  const state = nr.cloud.state;
  state.advance(nr.now());
  const port = portId ? bindablePort(nr, { networkId: network.id }, portId, fields.fixed_ip_address) : undefined;
  const requestedAddress = fields.floating_ip_address;
  const result = state.allocateFloatingIp(
    network,
    {
      projectId: nr.token.projectId,
      description: typeof fields.description === 'string' ? fields.description : '',
      ...(typeof requestedAddress === 'string' ? { address: requestedAddress } : {}),
    },
    nr.now(),
  );
  if (!result.ok) {
    switch (result.reason) {
      case 'quota':
        throw new ApiError(409, "Quota exceeded for resources: ['floatingip'].", 'OverQuota');
      case 'exhausted':
        throw new ApiError(
          409,
          `No more IP addresses available on network ${network.id}.`,
          'IpAddressGenerationFailure',
        );
      case 'address-in-use':
        throw new ApiError(
          409,
          `IP address ${String(requestedAddress)} already allocated in subnet ${network.subnet.id}`,
          'IpAddressAlreadyAllocated',
        );
      case 'address-outside-subnet':
        throw new ApiError(
          400,
          `IP address ${String(requestedAddress)} is not a valid IP for any of the subnets on the specified network.`,
          'InvalidIpForNetwork',
        );
    }
  }
  if (port) state.associate(result.floatingIp, port, nr.now());
  return json(201, { floatingip: floatingIpView(state, result.floatingIp, true) });
}

export function updateFloatingIp(nr: NetworkRequest, id: string): SimReply {
  const fields = resourceBody(nr, UPDATABLE_ATTRIBUTES, false);
  const fip = findFloatingIp(nr, id);
  nr.enforceRevision(fip.revision);
  const state = nr.cloud.state;
  if ('port_id' in fields) {
    const portId = uuidAttribute(fields, 'port_id');
    if (portId) {
      const port = bindablePort(nr, fip, portId, fields.fixed_ip_address);
      state.associate(fip, port, nr.now());
    } else {
      state.disassociate(fip, nr.now());
    }
  }
  if (typeof fields.description === 'string') {
    fip.description = fields.description;
    fip.updatedAt = nr.now();
    fip.revision += 1;
  }
  return json(200, { floatingip: floatingIpView(state, fip, true) });
}

export function deleteFloatingIp(nr: NetworkRequest, id: string): SimReply {
  const fip = findFloatingIp(nr, id);
  nr.enforceRevision(fip.revision);
  nr.cloud.state.releaseFloatingIp(fip);
  return noContent(204);
}
