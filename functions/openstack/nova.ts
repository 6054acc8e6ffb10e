/**
 * Nova (compute API at a fixed microversion) and the Glance v2 image lookup that
 * `resolveImage` needs.
 */
import { InvalidArgumentError, NotFoundError, OpenStackError, unlessNotFound } from './errors';
import { asArray, asId, asNumber, asObject, asString, field, looksLikeUuid, segment } from './json';
import { exactNameRegex, pickByName } from './names';
import type { Session } from './session';
import type { Address, Compute, CreateServerRequest, Server } from './types';

/**
 * The compute microversion sent on every call. 2.1 is the base of v2.1: it still has the
 * floating-IP proxies (gone at 2.44) and the optional `networks` list (required from 2.37).
 */
export const COMPUTE_MICROVERSION = '2.1';

export const COMPUTE_VERSION_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'OpenStack-API-Version': `compute ${COMPUTE_MICROVERSION}`,
  'X-OpenStack-Nova-API-Version': COMPUTE_MICROVERSION,
});

export function requireId(kind: string, id: string): string {
  if (!id) throw new InvalidArgumentError(`${kind} id is empty`);
  return segment(id);
}

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

/** Nova's server body as the core sees it; undefined when it has no id. */
export function mapServer(value: unknown): Server | undefined {
  const id = asId(field(value, 'id'));
  if (!id) return undefined;
  const server: Server = {
    id,
    name: asString(field(value, 'name')) ?? '',
    status: asString(field(value, 'status')) ?? 'UNKNOWN',
    addresses: mapAddresses(field(value, 'addresses')),
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
  return server;
}

export function createServerBody(request: CreateServerRequest): Record<string, unknown> {
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

export class NovaCompute implements Compute {
  constructor(private readonly session: Session) {}

  private call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) {
    return this.session.call('compute', method, path, { headers: { ...COMPUTE_VERSION_HEADERS }, body });
  }

  async createServer(request: CreateServerRequest): Promise<{ id: string }> {
    const res = await this.call('POST', '/servers', createServerBody(request));
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

  async getServer(id: string): Promise<Server | undefined> {
    const path = `/servers/${requireId('server', id)}`;
    const res = await unlessNotFound(this.call('GET', path), undefined);
    if (!res) return undefined;
    const server = mapServer(field(res.body, 'server'));
    if (!server) {
      throw new OpenStackError(`Nova GET ${path} answered without a server`, { service: 'Nova', method: 'GET', path });
    }
    return server;
  }

  async findServersByName(name: string): Promise<Server[]> {
    if (!name) throw new InvalidArgumentError('server name is empty');
    const path = `/servers/detail?name=${encodeURIComponent(exactNameRegex(name))}`;
    const items = await this.session.list('compute', path, 'servers', 'servers_links', {
      headers: { ...COMPUTE_VERSION_HEADERS },
    });
    const byId = new Map<string, Server>();
    for (const item of items) {
      const server = mapServer(item);
      // The filter is a regex on the server side: only an exact name is a match.
      if (server && server.name === name) byId.set(server.id, server);
    }
    return [...byId.values()];
  }

  async deleteServer(id: string): Promise<'deleted' | 'absent'> {
    const path = `/servers/${requireId('server', id)}`;
    return unlessNotFound(
      this.call('DELETE', path).then(() => 'deleted' as const),
      'absent' as const,
    );
  }

  async resolveImage(idOrName: string): Promise<string> {
    if (!idOrName) throw new InvalidArgumentError('image is empty');
    if (looksLikeUuid(idOrName)) {
      try {
        const res = await this.session.call('image', 'GET', `/v2/images/${segment(idOrName)}`);
        return asId(field(res.body, 'id')) ?? idOrName;
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    const path = `/v2/images?name=${encodeURIComponent(idOrName)}`;
    const images = await this.session.list('image', path, 'images', 'next');
    return pickByName('image', idOrName, images, { service: 'Glance', method: 'GET', path: '/v2/images' });
  }

  async resolveFlavor(idOrName: string): Promise<string> {
    if (!idOrName) throw new InvalidArgumentError('flavor is empty');
    try {
      const res = await this.call('GET', `/flavors/${segment(idOrName)}`);
      return asId(field(field(res.body, 'flavor'), 'id')) ?? idOrName;
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    const flavors = await this.session.list('compute', '/flavors/detail', 'flavors', 'flavors_links', {
      headers: { ...COMPUTE_VERSION_HEADERS },
    });
    return pickByName('flavor', idOrName, flavors, { service: 'Nova', method: 'GET', path: '/flavors/detail' });
  }
}
