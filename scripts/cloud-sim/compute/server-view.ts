/** Nova's server representations, per microversion. */
import { flavorById } from '../fixtures';
import { hostIdFor } from '../ids';
import { securityGroupNames, serverStatus } from '../state';
import type { CloudState, ServerRecord } from '../state';
import { isoSeconds, naiveMicros } from '../time-format';
import type { ComputeRequest } from './request';

interface AddressEntry {
  version: 4;
  addr: string;
  'OS-EXT-IPS:type': 'fixed' | 'floating';
  'OS-EXT-IPS-MAC:mac_addr': string;
}

/** network name -> fixed address, then the floating addresses visibly bound to that port. */
export function serverAddresses(state: CloudState, server: ServerRecord): Record<string, AddressEntry[]> {
  const addresses: Record<string, AddressEntry[]> = {};
  for (const port of state.portsOf(server)) {
    const name = state.networkById(port.networkId)?.name ?? port.networkId;
    const entries = (addresses[name] ??= []);
    entries.push({
      version: 4,
      addr: port.fixedIp,
      'OS-EXT-IPS:type': 'fixed',
      'OS-EXT-IPS-MAC:mac_addr': port.macAddress,
    });
    for (const fip of state.floatingIps.values()) {
      if (fip.portId === port.id) {
        entries.push({
          version: 4,
          addr: fip.address,
          'OS-EXT-IPS:type': 'floating',
          'OS-EXT-IPS-MAC:mac_addr': port.macAddress,
        });
      }
    }
  }
  return addresses;
}

export function serverSummary(cr: ComputeRequest, server: ServerRecord): Record<string, unknown> {
  return { id: server.id, links: cr.links('servers', server.id), name: server.name };
}

function flavorView(cr: ComputeRequest, flavorId: string): Record<string, unknown> {
  if (!cr.atLeast('2.47')) return { id: flavorId, links: cr.bookmark('flavors', flavorId) };
  const flavor = flavorById(flavorId);
  return {
    vcpus: flavor?.vcpus ?? 1,
    ram: flavor?.ram ?? 512,
    disk: flavor?.disk ?? 1,
    ephemeral: 0,
    swap: 0,
    original_name: flavor?.name ?? flavorId,
    extra_specs: { ...flavor?.extraSpecs },
  };
}

export function serverDetail(cr: ComputeRequest, server: ServerRecord): Record<string, unknown> {
  const state = cr.cloud.state;
  const status = serverStatus(server);
  const scheduled = server.phase !== 'error';
  const view: Record<string, unknown> = {
    id: server.id,
    name: server.name,
    status: status.status,
    tenant_id: server.projectId,
    user_id: server.userId,
    metadata: server.metadata,
    hostId: scheduled ? hostIdFor(server.projectId, server.host) : '',
    image: { id: server.imageId, links: cr.bookmark('images', server.imageId) },
    flavor: flavorView(cr, server.flavorId),
    created: isoSeconds(server.createdAt),
    updated: isoSeconds(server.updatedAt),
    addresses: serverAddresses(state, server),
    accessIPv4: '',
    accessIPv6: '',
    links: cr.links('servers', server.id),
    'OS-DCF:diskConfig': 'MANUAL',
    'OS-EXT-AZ:availability_zone': scheduled ? server.availabilityZone : '',
    config_drive: '',
    key_name: server.keyName,
    'OS-SRV-USG:launched_at': server.launchedAt === null ? null : naiveMicros(server.launchedAt),
    'OS-SRV-USG:terminated_at': null,
    'OS-EXT-STS:task_state': status.taskState,
    'OS-EXT-STS:vm_state': status.vmState,
    'OS-EXT-STS:power_state': status.powerState,
    'os-extended-volumes:volumes_attached': [],
  };
  if (status.status === 'BUILD' || status.status === 'ACTIVE') view.progress = 0;
  if (server.fault && (status.status === 'ERROR' || status.status === 'DELETED')) {
    view.fault = {
      code: server.fault.code,
      created: isoSeconds(server.fault.createdAt),
      message: server.fault.message,
    };
  }
  if (state.portsOf(server).length > 0)
    view.security_groups = [...new Set(securityGroupNames(state, server))].map((name) => ({ name }));
  if (cr.atLeast('2.9')) view.locked = false;
  if (cr.atLeast('2.19')) view.description = server.description;
  if (cr.atLeast('2.26')) view.tags = server.tags;
  if (cr.atLeast('2.63')) view.trusted_image_certificates = null;
  if (cr.atLeast('2.73')) view.locked_reason = null;
  if (cr.atLeast('2.90'))
    view['OS-EXT-SRV-ATTR:hostname'] = server.name
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .slice(0, 63);
  if (cr.atLeast('2.96')) view.pinned_availability_zone = server.requestedAvailabilityZone;
  return view;
}
