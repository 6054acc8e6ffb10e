/**
 * Floating IPs from Neutron (`/v2.0/floatingips`), the modern path.
 */
import { OpenStackError, unlessNotFound } from '../errors';
import { asId, asNumber, asString, field, requireId } from '../json';
import type { Session } from '../identity/session';
import type { FloatingIp, FloatingIps } from '../types';
import { FloatingNetworks } from './networks';
import { associationTarget, deviceOfPort, portsOfServer } from './ports';

const FIPS = '/v2.0/floatingips';

export class NeutronFloatingIps implements FloatingIps {
  readonly backend = 'neutron' as const;
  private readonly networks: FloatingNetworks;

  constructor(private readonly session: Session) {
    this.networks = new FloatingNetworks(session);
  }

  async allocate(options: { pool?: string; description?: string }): Promise<FloatingIp> {
    const floatingip: Record<string, unknown> = { floating_network_id: await this.networks.id(options.pool) };
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

  async associate(floatingIp: FloatingIp, serverId: string, fixedIp?: string): Promise<void> {
    const target = associationTarget(await portsOfServer(this.session, serverId), fixedIp);
    if (!target) {
      const which = fixedIp ? `port with the fixed IP ${fixedIp}` : 'port with a fixed IPv4 address';
      throw new OpenStackError(`Neutron: server ${serverId} has no ${which}`, {
        service: 'Neutron',
        method: 'GET',
        path: '/v2.0/ports',
      });
    }
    await this.update(floatingIp, { port_id: target.port.id, fixed_ip_address: target.fixedIp });
  }

  async disassociate(floatingIp: FloatingIp, _serverId: string): Promise<void> {
    await this.update(floatingIp, { port_id: null });
  }

  /**
   * PUT, conditional on the revision the address was read at (If-Match: revision_number=N):
   * a write decided on a stale read is refused with 412 instead of undoing someone else's.
   * A timed-out attempt repeated by the HTTP layer carries the same condition, so it can
   * only take effect if the first attempt did not.
   */
  private async update(floatingIp: FloatingIp, fields: Record<string, unknown>): Promise<void> {
    const headers: Record<string, string> =
      floatingIp.revision === undefined ? {} : { 'If-Match': `revision_number=${floatingIp.revision}` };
    await this.session.call('network', 'PUT', `${FIPS}/${requireId('floating IP', floatingIp.id)}`, {
      headers,
      body: { floatingip: fields },
    });
  }

  async release(floatingIp: FloatingIp): Promise<'released' | 'absent'> {
    const path = `${FIPS}/${requireId('floating IP', floatingIp.id)}`;
    return unlessNotFound(
      this.session.call('network', 'DELETE', path).then(() => 'released' as const),
      'absent' as const,
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
      serverId: portId ? await deviceOfPort(this.session, portId, field(value, 'port_details')) : undefined,
      portId,
      fixedIp: asString(field(value, 'fixed_ip_address')),
      description: asString(field(value, 'description')),
      revision: asNumber(field(value, 'revision_number')),
      createdAt: asString(field(value, 'created_at')),
    };
  }
}
