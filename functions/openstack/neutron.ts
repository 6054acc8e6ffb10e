/**
 * Floating IPs from Neutron (`/v2.0/floatingips`), the modern path.
 */
import { ConfigurationError } from '../../contract/errors';
import { AmbiguousNameError, NotFoundError, OpenStackError, unlessNotFound } from './errors';
import { asArray, asId, asString, field, looksLikeUuid, segment } from './json';
import { pickByName } from './names';
import { requireId } from './nova';
import type { Session } from './session';
import type { FloatingIp, FloatingIps } from './types';

const FIPS = '/v2.0/floatingips';

interface Port {
  id: string;
  fixedIps: string[];
}

function isIpv4(addr: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(addr);
}

function mapPort(value: unknown): Port | undefined {
  const id = asId(field(value, 'id'));
  if (!id) return undefined;
  const fixedIps = asArray(field(value, 'fixed_ips')).flatMap((entry) => {
    const ip = asString(field(entry, 'ip_address'));
    return ip ? [ip] : [];
  });
  return { id, fixedIps };
}

export class NeutronFloatingIps implements FloatingIps {
  readonly backend = 'neutron' as const;
  /** Pool name or id (or '' for "the one external network") -> network id. */
  private readonly networks = new Map<string, string>();

  constructor(private readonly session: Session) {}

  async allocate(options: { pool?: string; description?: string }): Promise<FloatingIp> {
    const floatingip: Record<string, unknown> = { floating_network_id: await this.networkId(options.pool) };
    if (options.description !== undefined) floatingip.description = options.description;
    const res = await this.session.call('network', 'POST', FIPS, { body: { floatingip } });
    return this.toFloatingIp(field(res.body, 'floatingip'), 'POST', FIPS);
  }

  async findByDescription(description: string): Promise<FloatingIp[]> {
    const items = await this.session.list(
      'network',
      `${FIPS}?description=${encodeURIComponent(description)}`,
      'floatingips',
      'floatingips_links',
    );
    const exact = items.filter((item) => asString(field(item, 'description')) === description);
    return Promise.all(exact.map((item) => this.toFloatingIp(item, 'GET', FIPS)));
  }

  async findByAddress(ip: string): Promise<FloatingIp | undefined> {
    const items = await this.session.list(
      'network',
      `${FIPS}?floating_ip_address=${encodeURIComponent(ip)}`,
      'floatingips',
      'floatingips_links',
    );
    const match = items.find((item) => asString(field(item, 'floating_ip_address')) === ip);
    return match === undefined ? undefined : this.toFloatingIp(match, 'GET', FIPS);
  }

  async get(id: string): Promise<FloatingIp | undefined> {
    const path = `${FIPS}/${requireId('floating IP', id)}`;
    const res = await unlessNotFound(this.session.call('network', 'GET', path), undefined);
    return res && this.toFloatingIp(field(res.body, 'floatingip'), 'GET', path);
  }

  async associate(floatingIp: FloatingIp, serverId: string): Promise<void> {
    const portsPath = `/v2.0/ports?device_id=${requireId('server', serverId)}`;
    const ports = (await this.session.list('network', portsPath, 'ports', 'ports_links')).flatMap((p) => {
      const port = mapPort(p);
      return port ? [port] : [];
    });
    // The port already holding the address's fixed IP, else the first port with a fixed IPv4.
    const current = floatingIp.fixedIp;
    const port =
      (current ? ports.find((p) => p.fixedIps.includes(current)) : undefined) ??
      ports.find((p) => p.fixedIps.some(isIpv4));
    const fixedIp = port && (current && port.fixedIps.includes(current) ? current : port.fixedIps.find(isIpv4));
    if (!port || !fixedIp) {
      throw new OpenStackError(`Neutron: server ${serverId} has no port with a fixed IPv4 address`, {
        service: 'Neutron',
        method: 'GET',
        path: '/v2.0/ports',
      });
    }
    await this.session.call('network', 'PUT', `${FIPS}/${requireId('floating IP', floatingIp.id)}`, {
      body: { floatingip: { port_id: port.id, fixed_ip_address: fixedIp } },
    });
  }

  async disassociate(floatingIp: FloatingIp, _serverId: string): Promise<void> {
    await this.session.call('network', 'PUT', `${FIPS}/${requireId('floating IP', floatingIp.id)}`, {
      body: { floatingip: { port_id: null } },
    });
  }

  async release(floatingIp: FloatingIp): Promise<'released' | 'absent'> {
    const path = `${FIPS}/${requireId('floating IP', floatingIp.id)}`;
    return unlessNotFound(
      this.session.call('network', 'DELETE', path).then(() => 'released' as const),
      'absent' as const,
    );
  }

  /** The external network to allocate from: the pool by id or name, else the only external one. */
  private async networkId(pool: string | undefined): Promise<string> {
    const key = pool ?? '';
    const known = this.networks.get(key);
    if (known) return known;
    const id = pool ? await this.networkByIdOrName(pool) : await this.onlyExternalNetwork();
    this.networks.set(key, id);
    return id;
  }

  private async networkByIdOrName(pool: string): Promise<string> {
    if (looksLikeUuid(pool)) {
      try {
        const res = await this.session.call('network', 'GET', `/v2.0/networks/${segment(pool)}`);
        const id = asId(field(field(res.body, 'network'), 'id'));
        if (id) return id;
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    const path = `/v2.0/networks?name=${encodeURIComponent(pool)}`;
    const networks = await this.session.list('network', path, 'networks', 'networks_links');
    return pickByName('network', pool, networks, { service: 'Neutron', method: 'GET', path: '/v2.0/networks' });
  }

  private async onlyExternalNetwork(): Promise<string> {
    const path = '/v2.0/networks?router:external=true';
    const where = { service: 'Neutron' as const, method: 'GET', path: '/v2.0/networks' };
    const networks = (await this.session.list('network', path, 'networks', 'networks_links')).filter(
      (n) => field(n, 'router:external') !== false,
    );
    const ids = networks.flatMap((n) => {
      const id = asId(field(n, 'id'));
      return id ? [id] : [];
    });
    if (ids.length === 1 && ids[0] !== undefined) return ids[0];
    if (ids.length === 0) {
      throw new ConfigurationError('no external network (router:external=true): configure a floating IP pool');
    }
    const names = networks.map((n) => asString(field(n, 'name')) ?? asId(field(n, 'id'))).join(', ');
    throw new AmbiguousNameError(
      `${ids.length} external networks (${names}): configure a floating IP pool`,
      'router:external=true',
      ids.length,
      where,
    );
  }

  private async toFloatingIp(value: unknown, method: string, path: string): Promise<FloatingIp> {
    const id = asId(field(value, 'id'));
    const ip = asString(field(value, 'floating_ip_address'));
    if (!id || !ip) {
      throw new OpenStackError(`Neutron ${method} ${path} answered without a floating IP id and address`, {
        service: 'Neutron',
        method,
        path,
      });
    }
    const portId = asId(field(value, 'port_id'));
    return {
      id,
      ip,
      serverId: portId ? await this.deviceOf(portId, field(value, 'port_details')) : undefined,
      portId,
      fixedIp: asString(field(value, 'fixed_ip_address')),
      description: asString(field(value, 'description')),
    };
  }

  /** The server a port belongs to: `port_details.device_id` when the cloud sends it, else the port. */
  private async deviceOf(portId: string, portDetails: unknown): Promise<string | undefined> {
    const fromDetails = asString(field(portDetails, 'device_id'));
    if (fromDetails !== undefined) return fromDetails || undefined;
    const res = await unlessNotFound(this.session.call('network', 'GET', `/v2.0/ports/${segment(portId)}`), undefined);
    return (res && asString(field(field(res.body, 'port'), 'device_id'))) || undefined;
  }
}
