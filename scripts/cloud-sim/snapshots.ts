/** Plain snapshots of the cloud for test assertions and GET /_sim/state. */
import { securityGroupNames, serverStatus } from './state';
import type { CloudState } from './state';
import { isoSeconds } from './time-format';
import type { SimFloatingIp, SimServer } from './types';

export function serverSnapshots(state: CloudState): SimServer[] {
  return state.visibleServers().map((server) => {
    const status = serverStatus(server);
    const ports = state.portsOf(server);
    return {
      id: server.id,
      name: server.name,
      status: status.status,
      vmState: status.vmState,
      taskState: status.taskState,
      powerState: status.powerState,
      imageId: server.imageId,
      flavorId: server.flavorId,
      keyName: server.keyName,
      availabilityZone: server.availabilityZone,
      host: server.host,
      securityGroups: securityGroupNames(state, server),
      metadata: { ...server.metadata },
      userData: server.userData,
      serverGroup: server.serverGroup,
      networks: ports.map((port) => ({
        networkId: port.networkId,
        networkName: state.networkById(port.networkId)?.name ?? port.networkId,
        portId: port.id,
        fixedIp: port.fixedIp,
        macAddress: port.macAddress,
      })),
      floatingIps: [...state.floatingIps.values()]
        .filter((f) => f.portId !== null && server.portIds.includes(f.portId))
        .map((f) => f.address),
      fault: server.fault
        ? { code: server.fault.code, message: server.fault.message, created: isoSeconds(server.fault.createdAt) }
        : null,
      created: isoSeconds(server.createdAt),
    };
  });
}

export function floatingIpSnapshots(state: CloudState): SimFloatingIp[] {
  return [...state.floatingIps.values()].map((fip) => ({
    id: fip.id,
    address: fip.address,
    networkId: fip.networkId,
    description: fip.description,
    portId: fip.portId,
    port_id: fip.portId,
    serverId: state.serverOfPort(fip.portId)?.id ?? null,
    fixedIp: fip.fixedIp,
    pendingPortId: fip.pending?.portId ?? null,
    status: fip.portId !== null ? 'ACTIVE' : 'DOWN',
  }));
}
