/** Neutron resource representations. */
import { ROUTER_ID } from '../fixtures';
import type { NetworkFixture } from '../fixtures';
import { serverStatus } from '../state';
import type { CloudState, FloatingIpRecord, PortRecord } from '../state';
import { isoSeconds } from '../time-format';

const FIXTURE_CREATED = '2024-01-10T09:00:00Z';

export function networkView(network: NetworkFixture, projectId: string): Record<string, unknown> {
  return {
    id: network.id,
    name: network.name,
    status: 'ACTIVE',
    admin_state_up: true,
    subnets: [network.subnet.id],
    shared: network.shared,
    'router:external': network.external,
    is_default: network.external,
    mtu: 1450,
    port_security_enabled: true,
    availability_zone_hints: [],
    availability_zones: ['nova'],
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    l2_adjacency: true,
    dns_domain: '',
    description: '',
    tags: [],
    tenant_id: projectId,
    project_id: projectId,
    created_at: FIXTURE_CREATED,
    updated_at: FIXTURE_CREATED,
    revision_number: 1,
  };
}

export function subnetView(network: NetworkFixture, projectId: string): Record<string, unknown> {
  const subnet = network.subnet;
  return {
    id: subnet.id,
    name: subnet.name,
    network_id: network.id,
    ip_version: 4,
    cidr: subnet.cidr,
    gateway_ip: subnet.gatewayIp,
    allocation_pools: [{ start: subnet.allocationStart, end: subnet.allocationEnd }],
    enable_dhcp: !network.external,
    dns_nameservers: [],
    host_routes: [],
    ipv6_address_mode: null,
    ipv6_ra_mode: null,
    subnetpool_id: null,
    service_types: [],
    description: '',
    tags: [],
    tenant_id: projectId,
    project_id: projectId,
    created_at: FIXTURE_CREATED,
    updated_at: FIXTURE_CREATED,
    revision_number: 0,
  };
}

/** A port is ACTIVE once its server runs, DOWN while it builds or is stopped. */
function portStatus(state: CloudState, port: PortRecord): 'ACTIVE' | 'DOWN' {
  const server = state.servers.get(port.deviceId);
  return server && serverStatus(server).status === 'ACTIVE' ? 'ACTIVE' : 'DOWN';
}

export function portView(state: CloudState, port: PortRecord): Record<string, unknown> {
  return {
    id: port.id,
    name: '',
    network_id: port.networkId,
    mac_address: port.macAddress,
    admin_state_up: true,
    status: portStatus(state, port),
    device_id: port.deviceId,
    device_owner: port.deviceOwner,
    fixed_ips: [{ subnet_id: port.subnetId, ip_address: port.fixedIp }],
    allowed_address_pairs: [],
    extra_dhcp_opts: [],
    security_groups: [...port.securityGroupIds],
    port_security_enabled: true,
    'binding:vnic_type': 'normal',
    dns_name: '',
    description: '',
    tags: [],
    tenant_id: port.projectId,
    project_id: port.projectId,
    created_at: isoSeconds(port.createdAt),
    updated_at: isoSeconds(port.updatedAt),
    revision_number: port.revision,
  };
}

/** The fip-port-details extension: a floating IP shows these fields of its port. */
const PORT_DETAIL_FIELDS = [
  'name',
  'network_id',
  'mac_address',
  'admin_state_up',
  'status',
  'device_id',
  'device_owner',
] as const;

function portDetails(state: CloudState, port: PortRecord): Record<string, unknown> {
  const view = portView(state, port);
  return Object.fromEntries(PORT_DETAIL_FIELDS.map((field) => [field, view[field]]));
}

/**
 * `includePending`: answer for the request that made an association, which Neutron reflects
 * at once; later reads follow the configured association behaviour.
 */
export function floatingIpView(
  state: CloudState,
  fip: FloatingIpRecord,
  includePending = false,
): Record<string, unknown> {
  const portId = includePending && fip.pending ? fip.pending.portId : fip.portId;
  const fixedIp = includePending && fip.pending ? fip.pending.fixedIp : fip.fixedIp;
  const port = portId === null ? undefined : state.ports.get(portId);
  const visible = fip.portId !== null;
  return {
    id: fip.id,
    floating_ip_address: fip.address,
    floating_network_id: fip.networkId,
    router_id: port ? ROUTER_ID : null,
    port_id: port ? port.id : null,
    fixed_ip_address: port ? fixedIp : null,
    status: visible ? 'ACTIVE' : 'DOWN',
    description: fip.description,
    dns_domain: '',
    dns_name: '',
    port_details: port ? portDetails(state, port) : null,
    port_forwardings: [],
    qos_policy_id: null,
    tags: [],
    tenant_id: fip.projectId,
    project_id: fip.projectId,
    created_at: isoSeconds(fip.createdAt),
    updated_at: isoSeconds(fip.updatedAt),
    revision_number: fip.revision,
  };
}
