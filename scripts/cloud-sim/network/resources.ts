/** Neutron networks, subnets, ports and the extension list. */
import { ApiError } from '../errors';
import { json } from '../http';
import type { SimReply } from '../http';
import { listCollection } from './listing';
import { networkView, portView, subnetView } from './views';
import type { NetworkRequest } from './request';

const NETWORK_FILTERS = [
  'id',
  'name',
  'status',
  'admin_state_up',
  'shared',
  'router:external',
  'is_default',
  'mtu',
  'description',
  'tenant_id',
  'project_id',
  'revision_number',
  'port_security_enabled',
];
const SUBNET_FILTERS = [
  'id',
  'name',
  'network_id',
  'ip_version',
  'cidr',
  'gateway_ip',
  'enable_dhcp',
  'description',
  'tenant_id',
  'project_id',
  'subnetpool_id',
];
const PORT_FILTERS = [
  'id',
  'name',
  'network_id',
  'mac_address',
  'admin_state_up',
  'status',
  'device_id',
  'device_owner',
  'fixed_ips',
  'description',
  'tenant_id',
  'project_id',
  'revision_number',
  'dns_name',
  'binding:vnic_type',
  'security_groups',
];

const EXTENSIONS: readonly [string, string][] = [
  ['availability_zone', 'Availability Zone'],
  ['network_availability_zone', 'Network Availability Zone'],
  ['quota_details', 'Quota details management support'],
  ['stateful-security-group', 'Stateful security group'],
  ['external-net', 'Neutron external network'],
  ['router', 'Neutron L3 Router'],
  ['fip-port-details', 'Floating IP Port Details Extension'],
  ['standard-attr-description', 'standard-attr-description'],
  ['standard-attr-revisions', 'Resource revision numbers'],
  ['revision-if-match', 'If-Match constraints based on revision_number'],
  ['standard-attr-timestamp', 'Resource timestamps'],
  ['filter-validation', 'Filter parameters validation'],
  ['quotas', 'Quota management support'],
  ['security-group', 'security-group'],
  ['port-security', 'Port Security'],
  ['binding', 'Port Binding'],
];

/** The zones Neutron's agents report: the simulator's network and L3 services run in 'nova'. */
const NETWORK_ZONES = [
  { name: 'nova', resource: 'network', state: 'available' },
  { name: 'nova', resource: 'router', state: 'available' },
];

/** security_groups=<id>: ports in any of the given groups. */
function matchesSecurityGroups(item: Record<string, unknown>, values: string[]): boolean {
  const groups = Array.isArray(item.security_groups) ? (item.security_groups as string[]) : [];
  return values.some((v) => groups.includes(v));
}

/** fixed_ips=ip_address=10.0.0.3 / fixed_ips=subnet_id=<id>; every given condition must hold. */
function matchesFixedIps(item: Record<string, unknown>, values: string[]): boolean {
  const fixedIps = Array.isArray(item.fixed_ips) ? (item.fixed_ips as Record<string, unknown>[]) : [];
  return values.every((condition) => {
    const [key, ...rest] = condition.split('=');
    const wanted = rest.join('=');
    if (key === 'ip_address_substr') return fixedIps.some((f) => String(f.ip_address).includes(wanted));
    return fixedIps.some((f) => key !== undefined && String(f[key]) === wanted);
  });
}

export function listNetworks(nr: NetworkRequest): SimReply {
  const items = nr.cloud.state.networks.map((n) => networkView(n, nr.token.projectId));
  return listCollection(nr.request, items, { collection: 'networks', filters: NETWORK_FILTERS });
}

export function showNetwork(nr: NetworkRequest, id: string): SimReply {
  const network = nr.cloud.state.networkById(id);
  if (!network) throw new ApiError(404, `Network ${id} could not be found.`, 'NetworkNotFound');
  return json(200, { network: networkView(network, nr.token.projectId) });
}

export function listSubnets(nr: NetworkRequest): SimReply {
  const items = nr.cloud.state.networks.map((n) => subnetView(n, nr.token.projectId));
  return listCollection(nr.request, items, { collection: 'subnets', filters: SUBNET_FILTERS });
}

export function showSubnet(nr: NetworkRequest, id: string): SimReply {
  const network = nr.cloud.state.networks.find((n) => n.subnet.id === id);
  if (!network) throw new ApiError(404, `Subnet ${id} could not be found.`, 'SubnetNotFound');
  return json(200, { subnet: subnetView(network, nr.token.projectId) });
}

export function listPorts(nr: NetworkRequest): SimReply {
  const state = nr.cloud.state;
  state.advance(nr.now());
  const items = state.portsOfProject(nr.token.projectId).map((p) => portView(state, p));
  return listCollection(nr.request, items, {
    collection: 'ports',
    filters: PORT_FILTERS,
    matchers: { fixed_ips: matchesFixedIps, security_groups: matchesSecurityGroups },
  });
}

export function showPort(nr: NetworkRequest, id: string): SimReply {
  const state = nr.cloud.state;
  state.advance(nr.now());
  const port = state.ports.get(id);
  if (!port || port.projectId !== nr.token.projectId)
    throw new ApiError(404, `Port ${id} could not be found.`, 'PortNotFound');
  return json(200, { port: portView(state, port) });
}

function extensionView([alias, name]: readonly [string, string]): Record<string, unknown> {
  return { alias, name, description: name, updated: '2024-01-01T00:00:00-00:00', links: [] };
}

export function listExtensions(): SimReply {
  return json(200, { extensions: EXTENSIONS.map(extensionView) });
}

export function showExtension(_nr: NetworkRequest, alias: string): SimReply {
  const extension = EXTENSIONS.find(([candidate]) => candidate === alias);
  if (!extension) throw new ApiError(404, `Extension with alias ${alias} does not exist`, 'HTTPNotFound');
  return json(200, { extension: extensionView(extension) });
}

export function listAvailabilityZones(nr: NetworkRequest): SimReply {
  return listCollection(nr.request, NETWORK_ZONES, {
    collection: 'availability_zones',
    filters: ['name', 'resource', 'state'],
  });
}
