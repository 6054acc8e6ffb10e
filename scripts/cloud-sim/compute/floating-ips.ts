/**
 * Nova's deprecated floating-IP proxy (os-floating-ips, os-floating-ip-pools and the
 * addFloatingIp/removeFloatingIp server actions). It fronts the same store Neutron serves.
 */
import { ApiError } from '../errors';
import { PUBLIC_NETWORK } from '../fixtures';
import { isObject, json, noContent } from '../http';
import type { SimReply } from '../http';
import type { FloatingIpRecord, ServerRecord } from '../state';
import { schemaError } from './request';
import type { ComputeRequest } from './request';

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function legacyView(cr: ComputeRequest, fip: FloatingIpRecord): Record<string, unknown> {
  const server = cr.cloud.state.serverOfPort(fip.portId);
  return {
    id: fip.id,
    ip: fip.address,
    pool: cr.cloud.state.networkById(fip.networkId)?.name ?? PUBLIC_NETWORK.name,
    fixed_ip: fip.fixedIp,
    instance_id: server?.id ?? null,
  };
}

function findById(cr: ComputeRequest, id: string): FloatingIpRecord {
  cr.cloud.state.advance(cr.now());
  const fip = cr.cloud.state.floatingIps.get(id);
  if (!fip) throw new ApiError(404, `Floating IP not found for ID ${id}`);
  return fip;
}

export function listFloatingIps(cr: ComputeRequest): SimReply {
  cr.cloud.state.advance(cr.now());
  const mine = cr.cloud.state.floatingIpsOf(cr.token.projectId);
  return json(200, { floating_ips: mine.map((f) => legacyView(cr, f)) });
}

export function showFloatingIp(cr: ComputeRequest, id: string): SimReply {
  return json(200, { floating_ip: legacyView(cr, findById(cr, id)) });
}

/**
 * Real Nova falls back to its `default_floating_pool` option ('nova' unless configured);
 * the simulator behaves as a cloud configured with 'public'.
 */
export function allocateFloatingIp(cr: ComputeRequest): SimReply {
  const body = cr.body();
  if (body !== undefined && body !== null && !isObject(body))
    throw schemaError('body', body, "is not of type 'object', 'null'");
  const requested = isObject(body) ? body.pool : undefined;
  if (requested !== undefined && requested !== null && typeof requested !== 'string')
    throw schemaError('pool', requested, "is not of type 'string', 'null'");
  const poolName = typeof requested === 'string' ? requested : undefined;
  const pool = poolName ?? PUBLIC_NETWORK.name;
  if (pool !== PUBLIC_NETWORK.name && pool !== PUBLIC_NETWORK.id)
    throw new ApiError(404, 'Floating IP pool not found.');
  const result = cr.cloud.state.allocateFloatingIp(
    PUBLIC_NETWORK,
    { projectId: cr.token.projectId, description: '' },
    cr.now(),
  );
  if (!result.ok) {
    if (result.reason === 'quota')
      throw new ApiError(403, poolName ? `IP allocation over quota in pool ${poolName}.` : 'IP allocation over quota.');
    throw new ApiError(404, poolName ? `No more floating IPs in pool ${poolName}.` : 'No more floating IPs available.');
  }
  return json(200, { floating_ip: legacyView(cr, result.floatingIp) });
}

export function releaseFloatingIp(cr: ComputeRequest, id: string): SimReply {
  const fip = findById(cr, id);
  cr.cloud.state.releaseFloatingIp(fip);
  return noContent(202);
}

export function listPools(): SimReply {
  return json(200, { floating_ip_pools: [{ name: PUBLIC_NETWORK.name }] });
}

function actionAddress(action: string, args: unknown): { address: string; fixedAddress: string | undefined } {
  if (!isObject(args)) throw schemaError(action, args, "'address' is a required property");
  const { address, fixed_address: fixedAddress } = args;
  if (address === undefined) throw schemaError(action, args, "'address' is a required property");
  if (typeof address !== 'string' || !IPV4.test(address))
    throw schemaError('address', address, `'${String(address)}' is not a 'ipv4'`);
  if (fixedAddress !== undefined && (typeof fixedAddress !== 'string' || !IPV4.test(fixedAddress))) {
    throw schemaError('fixed_address', fixedAddress, `'${String(fixedAddress)}' is not a 'ipv4'`);
  }
  return { address, fixedAddress: fixedAddress as string | undefined };
}

export function addFloatingIpAction(cr: ComputeRequest, server: ServerRecord, args: unknown): SimReply {
  const { address, fixedAddress } = actionAddress('addFloatingIp', args);
  const state = cr.cloud.state;
  const ports = state.portsOf(server);
  if (ports.length === 0) throw new ApiError(400, 'Instance network is not ready yet');
  const port = fixedAddress === undefined ? ports[0] : ports.find((p) => p.fixedIp === fixedAddress);
  if (!port) throw new ApiError(400, 'Specified fixed address not assigned to instance');
  const fip = state.floatingIpByAddress(address);
  if (!fip) throw new ApiError(404, 'floating IP not found');
  const holder = state
    .floatingIpsClaimingPort(port.id)
    .find((other) => other.id !== fip.id && other.networkId === fip.networkId);
  if (holder) {
    throw new ApiError(
      400,
      `Unable to associate floating IP ${address} to fixed IP ${port.fixedIp} for instance ${server.id}. Error: Cannot associate floating IP ${address} (${fip.id}) with port ${port.id} using fixed IP ${port.fixedIp}, as that fixed IP already has a floating IP on external network ${fip.networkId}.`,
    );
  }
  state.associate(fip, port, cr.now());
  return noContent(202);
}

export function removeFloatingIpAction(cr: ComputeRequest, server: ServerRecord, args: unknown): SimReply {
  const { address } = actionAddress('removeFloatingIp', args);
  const state = cr.cloud.state;
  const fip = state.floatingIpByAddress(address);
  if (!fip) throw new ApiError(404, 'floating IP not found');
  const boundPort = fip.pending?.portId ?? fip.portId;
  if (boundPort === null || !server.portIds.includes(boundPort)) {
    throw new ApiError(409, `Floating IP ${address} is not associated with instance ${server.id}.`);
  }
  state.disassociate(fip, cr.now());
  return noContent(202);
}
