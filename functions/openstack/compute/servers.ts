/**
 * Nova servers: create, show, find by exact name, delete.
 */
import { InvalidArgumentError, OpenStackError, unlessNotFound } from '../errors';
import { asArray, asId, asNumber, asObject, asString, field, requireId } from '../json';
import { exactNameRegex } from '../names';
import type { Session } from '../identity/session';
import type { Address, CreateServerRequest, Server } from '../types';
import { novaCall, novaList } from './request';

function mapAddresses(value: unknown): Record<string, Address[]> {
  const out: Record<string, Address[]> = {};
  for (const [network, list] of Object.entries(asObject(value) ?? {})) {
    out[network] = asArray(list).flatMap((entry) => {
      const addr = asString(field(entry, 'addr'));
      if (!addr) return [];
      const type = asString(field(entry, 'OS-EXT-IPS:type'));
      return [
        {
          addr,
          version: asNumber(field(entry, 'version')) === 6 || addr.includes(':') ? 6 : 4,
          type: type === 'fixed' || type === 'floating' ? type : undefined,
        },
      ];
    });
  }
  return out;
}

function mapMetadata(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(asObject(value) ?? {})) {
    if (typeof item === 'string') out[key] = item;
  }
  return out;
}

/** Nova's server body as the core sees it; undefined when it has no id. */
function mapServer(value: unknown): Server | undefined {
  const id = asId(field(value, 'id'));
  if (!id) return undefined;
  const server: Server = {
    id,
    name: asString(field(value, 'name')) ?? '',
    status: asString(field(value, 'status')) ?? 'UNKNOWN',
    addresses: mapAddresses(field(value, 'addresses')),
    metadata: mapMetadata(field(value, 'metadata')),
  };
  const fault = asObject(field(value, 'fault'));
  const faultMessage = asString(fault?.message);
  if (fault && faultMessage !== undefined) {
    server.fault = { message: faultMessage };
    const code = asNumber(fault.code);
    if (code !== undefined) server.fault.code = code;
    const details = asString(fault.details);
    if (details !== undefined) server.fault.details = details;
  }
  const az = asString(field(value, 'OS-EXT-AZ:availability_zone'));
  if (az) server.availabilityZone = az;
  const created = asString(field(value, 'created'));
  if (created) server.created = created;
  return server;
}

function createServerBody(request: CreateServerRequest): Record<string, unknown> {
  const server: Record<string, unknown> = {
    name: request.name,
    imageRef: request.imageRef,
    flavorRef: request.flavorRef,
  };
  if (request.keyName) server.key_name = request.keyName;
  if (request.securityGroups?.length) server.security_groups = request.securityGroups.map((name) => ({ name }));
  if (request.availabilityZone) server.availability_zone = request.availabilityZone;
  if (request.networkIds?.length) server.networks = request.networkIds.map((uuid) => ({ uuid }));
  if (request.userData !== undefined) server.user_data = Buffer.from(request.userData, 'utf8').toString('base64');
  if (request.metadata && Object.keys(request.metadata).length > 0) server.metadata = { ...request.metadata };
  const body: Record<string, unknown> = { server };
  if (request.serverGroupId) body['os:scheduler_hints'] = { group: request.serverGroupId };
  return body;
}

export async function createServer(session: Session, request: CreateServerRequest): Promise<{ id: string }> {
  const res = await novaCall(session, 'POST', '/servers', createServerBody(request));
  const id = asId(field(field(res.body, 'server'), 'id'));
  if (!id) {
    throw new OpenStackError(`Nova POST /servers answered ${res.status} without a server id`, {
      service: 'Nova',
      method: 'POST',
      path: '/servers',
      status: res.status,
    });
  }
  return { id };
}

/** undefined when Nova answers 404. */
export async function getServer(session: Session, id: string): Promise<Server | undefined> {
  const path = `/servers/${requireId('server', id)}`;
  const res = await unlessNotFound(novaCall(session, 'GET', path), undefined);
  if (!res) return undefined;
  const server = mapServer(field(res.body, 'server'));
  if (!server) {
    throw new OpenStackError(`Nova GET ${path} answered without a server`, { service: 'Nova', method: 'GET', path });
  }
  return server;
}

export async function findServersByName(session: Session, name: string): Promise<Server[]> {
  if (!name) throw new InvalidArgumentError('server name is empty');
  const items = await novaList(session, `/servers/detail?name=${encodeURIComponent(exactNameRegex(name))}`, 'servers');
  const byId = new Map<string, Server>();
  for (const item of items) {
    const server = mapServer(item);
    // The filter is a regex on the server side: only an exact name is a match.
    if (server && server.name === name) byId.set(server.id, server);
  }
  return [...byId.values()];
}

/** 'absent' when it was already gone (404). */
export async function deleteServer(session: Session, id: string): Promise<'deleted' | 'absent'> {
  const path = `/servers/${requireId('server', id)}`;
  return unlessNotFound(
    novaCall(session, 'DELETE', path).then(() => 'deleted' as const),
    'absent' as const,
  );
}
