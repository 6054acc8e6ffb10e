/**
 * Floating IPs through Nova's deprecated proxy (`/os-floating-ips` and the
 * `addFloatingIp` / `removeFloatingIp` server actions), for clouds without a network service.
 * Only available up to compute microversion 2.43; we send 2.1.
 */
import { OpenStackError, unlessNotFound } from '../errors';
import { asId, asString, field, requireId } from '../json';
import type { Session } from '../identity/session';
import type { FloatingIp, FloatingIps } from '../types';
import { novaCall, novaList } from './request';

const FIPS = '/os-floating-ips';

function mapFloatingIp(value: unknown, method: string, path: string): FloatingIp {
  const id = asId(field(value, 'id'));
  const ip = asString(field(value, 'ip'));
  if (!id || !ip) {
    throw new OpenStackError(`Nova ${method} ${path} answered without a floating IP id and address`, {
      service: 'Nova',
      method,
      path,
    });
  }
  return {
    id,
    ip,
    serverId: asId(field(value, 'instance_id')),
    portId: undefined,
    fixedIp: asString(field(value, 'fixed_ip')) || undefined,
    description: undefined,
    revision: undefined,
    createdAt: undefined,
  };
}

export class NovaLegacyFloatingIps implements FloatingIps {
  readonly backend = 'nova-legacy' as const;

  constructor(private readonly session: Session) {}

  private call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) {
    return novaCall(this.session, method, path, body);
  }

  async allocate(options: { pool?: string; description?: string }): Promise<FloatingIp> {
    // The proxy has no description: a retried BUILD_IP cannot find its address again here.
    const res = await this.call('POST', FIPS, options.pool ? { pool: options.pool } : {});
    return mapFloatingIp(field(res.body, 'floating_ip'), 'POST', FIPS);
  }

  async findByDescription(_description: string): Promise<FloatingIp[]> {
    return [];
  }

  async findByAddress(ip: string): Promise<FloatingIp | undefined> {
    const list = await novaList(this.session, FIPS, 'floating_ips');
    const match = list.find((item) => asString(field(item, 'ip')) === ip);
    return match === undefined ? undefined : mapFloatingIp(match, 'GET', FIPS);
  }

  async get(id: string): Promise<FloatingIp | undefined> {
    const path = `${FIPS}/${requireId('floating IP', id)}`;
    const res = await unlessNotFound(this.call('GET', path), undefined);
    return res && mapFloatingIp(field(res.body, 'floating_ip'), 'GET', path);
  }

  /** Unconditional: the proxy has no revision to make the write depend on. */
  async associate(floatingIp: FloatingIp, serverId: string, fixedIp?: string): Promise<void> {
    await this.call('POST', `/servers/${requireId('server', serverId)}/action`, {
      addFloatingIp: { address: floatingIp.ip, ...(fixedIp ? { fixed_address: fixedIp } : {}) },
    });
  }

  async disassociate(floatingIp: FloatingIp, serverId: string): Promise<void> {
    await this.call('POST', `/servers/${requireId('server', serverId)}/action`, {
      removeFloatingIp: { address: floatingIp.ip },
    });
  }

  async release(floatingIp: FloatingIp): Promise<'released' | 'absent'> {
    const path = `${FIPS}/${requireId('floating IP', floatingIp.id)}`;
    return unlessNotFound(
      this.call('DELETE', path).then(() => 'released' as const),
      'absent' as const,
    );
  }
}
