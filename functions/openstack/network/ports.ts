/**
 * Neutron ports, as floating-IP association needs them: a server's ports and the server a
 * port belongs to.
 */
import { unlessNotFound } from '../errors';
import { asArray, asId, asString, field, requireId, segment } from '../json';
import type { Session } from '../identity/session';

export interface Port {
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

/** The ports whose device is the server. */
export async function portsOfServer(session: Session, serverId: string): Promise<Port[]> {
  const path = `/v2.0/ports?device_id=${requireId('server', serverId)}`;
  return (await session.list('network', path, 'ports', 'ports_links')).flatMap((p) => {
    const port = mapPort(p);
    return port ? [port] : [];
  });
}

/**
 * The port and fixed IPv4 to associate a floating IP with: the port holding `fixedIp` when
 * one is asked for (undefined if no port holds it), else the first port with a fixed IPv4.
 */
export function associationTarget(
  ports: readonly Port[],
  fixedIp: string | undefined,
): { port: Port; fixedIp: string } | undefined {
  if (fixedIp) {
    const holding = ports.find((p) => p.fixedIps.includes(fixedIp));
    return holding ? { port: holding, fixedIp } : undefined;
  }
  for (const port of ports) {
    const fixedIp = port.fixedIps.find(isIpv4);
    if (fixedIp) return { port, fixedIp };
  }
  return undefined;
}

/** The server a port belongs to: `port_details.device_id` when the cloud sends it, else the port's own. */
export async function deviceOfPort(
  session: Session,
  portId: string,
  portDetails: unknown,
): Promise<string | undefined> {
  const fromDetails = asString(field(portDetails, 'device_id'));
  if (fromDetails !== undefined) return fromDetails || undefined;
  const res = await unlessNotFound(session.call('network', 'GET', `/v2.0/ports/${segment(portId)}`), undefined);
  return (res && asString(field(field(res.body, 'port'), 'device_id'))) || undefined;
}
