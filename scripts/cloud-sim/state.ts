/**
 * The cloud's mutable resources: servers, ports, floating IPs, security groups, server groups
 * and quotas, plus their lifecycles. Lifecycles are evaluated lazily from timestamps
 * (`advance(now)` before every read), so the simulator needs no timers and stays deterministic.
 */
import { intToIpv4, ipv4ToInt, newMacAddress, newUuid } from './ids';
import { NETWORKS, PRIVATE_NETWORK } from './fixtures';
import type { NetworkFixture, SubnetFixture } from './fixtures';
import { withinLimit } from './quotas';
import type { QuotaStore } from './quotas';
import type { SecurityGroupStore } from './security-groups';
import { ServerGroupStore } from './server-groups';
import type { FloatingIpAssociationBehaviour } from './types';

export type ServerPhase = 'building' | 'active' | 'error' | 'stopped';
export type BuildOutcome = 'active' | 'error' | 'stuck-build';

export interface ServerRecord {
  id: string;
  name: string;
  description: string | null;
  projectId: string;
  userId: string;
  imageId: string;
  flavorId: string;
  keyName: string | null;
  availabilityZone: string;
  /** The zone the request named, if any (Nova 2.96's pinned_availability_zone). */
  requestedAvailabilityZone: string | null;
  /** Ids in the security-group store; Nova shows their names. */
  securityGroupIds: string[];
  metadata: Record<string, string>;
  userData: string | null;
  serverGroup: string | null;
  tags: string[];
  adminPass: string;
  host: string;
  createdAt: number;
  updatedAt: number;
  launchedAt: number | null;
  phase: ServerPhase;
  outcome: BuildOutcome;
  buildEndsAt: number;
  faultMessage: string;
  fault: { code: number; message: string; createdAt: number } | null;
  /** Set by DELETE; the server is listed (task_state 'deleting') until goneAt. */
  deletingSince: number | null;
  goneAt: number | null;
  portIds: string[];
  /** Creation order; lists are newest first, as Nova sorts by created_at desc. */
  sequence: number;
}

export interface PortRecord {
  id: string;
  networkId: string;
  subnetId: string;
  fixedIp: string;
  macAddress: string;
  deviceId: string;
  deviceOwner: string;
  projectId: string;
  securityGroupIds: string[];
  createdAt: number;
  updatedAt: number;
  revision: number;
}

export interface FloatingIpRecord {
  id: string;
  address: string;
  networkId: string;
  subnetId: string;
  projectId: string;
  description: string;
  createdAt: number;
  updatedAt: number;
  revision: number;
  /** The association reads show. */
  portId: string | null;
  fixedIp: string | null;
  /** An accepted association that reads show only from visibleAt on (Infinity: never). */
  pending: { portId: string; fixedIp: string; visibleAt: number } | null;
}

/** What a create request asks for: the record's own fields, before the cloud fills in the rest. */
export type NewServer = Pick<
  ServerRecord,
  | 'name'
  | 'description'
  | 'projectId'
  | 'userId'
  | 'imageId'
  | 'flavorId'
  | 'keyName'
  | 'availabilityZone'
  | 'requestedAvailabilityZone'
  | 'securityGroupIds'
  | 'metadata'
  | 'userData'
  | 'serverGroup'
  | 'tags'
  | 'adminPass'
  | 'outcome'
  | 'faultMessage'
  | 'host'
> & { networkIds: string[]; bootDelayMs: number };

export type FloatingIpAllocation =
  | { ok: true; floatingIp: FloatingIpRecord }
  | { ok: false; reason: 'quota' | 'exhausted' | 'address-in-use' | 'address-outside-subnet' };

const POWER_STATE = { NOSTATE: 0, RUNNING: 1, SHUTDOWN: 4 } as const;

export interface ServerStatus {
  status: string;
  vmState: string;
  taskState: string | null;
  powerState: number;
}

export function serverStatus(server: ServerRecord): ServerStatus {
  const base = statusForPhase(server.phase);
  return server.deletingSince === null ? base : { ...base, taskState: 'deleting' };
}

function statusForPhase(phase: ServerPhase): ServerStatus {
  switch (phase) {
    case 'building':
      return { status: 'BUILD', vmState: 'building', taskState: 'spawning', powerState: POWER_STATE.NOSTATE };
    case 'active':
      return { status: 'ACTIVE', vmState: 'active', taskState: null, powerState: POWER_STATE.RUNNING };
    case 'error':
      return { status: 'ERROR', vmState: 'error', taskState: null, powerState: POWER_STATE.NOSTATE };
    case 'stopped':
      return { status: 'SHUTOFF', vmState: 'stopped', taskState: null, powerState: POWER_STATE.SHUTDOWN };
  }
}

/** The names Nova shows for a server's security groups. */
export function securityGroupNames(state: CloudState, server: ServerRecord): string[] {
  return server.securityGroupIds.map((id) => state.securityGroups.groups.get(id)?.name ?? id);
}

export interface CloudStateDeps {
  quotas: QuotaStore;
  securityGroups: SecurityGroupStore;
  /** Projects whose 'default' security group exists from the start. */
  projectIds: readonly string[];
  /** The cloud's networks (fixtures.ts networkFixtures); default private and public. */
  networks?: readonly NetworkFixture[];
  deleteDelayMs: number;
  now: number;
}

export class CloudState {
  readonly servers = new Map<string, ServerRecord>();
  readonly ports = new Map<string, PortRecord>();
  readonly floatingIps = new Map<string, FloatingIpRecord>();
  readonly serverGroups = new ServerGroupStore();
  readonly quotas: QuotaStore;
  readonly securityGroups: SecurityGroupStore;
  readonly networks: readonly NetworkFixture[];
  associationBehaviour: FloatingIpAssociationBehaviour = 'immediate';
  private readonly usedAddresses = new Map<string, Set<number>>();
  private readonly projectIds: readonly string[];
  private readonly deleteDelayMs: number;
  private sequence = 0;

  constructor(deps: CloudStateDeps) {
    this.quotas = deps.quotas;
    this.securityGroups = deps.securityGroups;
    this.projectIds = deps.projectIds;
    this.deleteDelayMs = deps.deleteDelayMs;
    this.networks = deps.networks ?? NETWORKS;
    this.securityGroups.seed(this.projectIds, deps.now);
  }

  networkById(id: string): NetworkFixture | undefined {
    return this.networks.find((n) => n.id === id);
  }

  /** The creation number the next server gets (round-robin placement uses it). */
  get nextSequence(): number {
    return this.sequence + 1;
  }

  /** Applies every lifecycle step due at `now`. */
  advance(now: number): void {
    for (const server of [...this.servers.values()]) {
      if (server.phase === 'building' && now >= server.buildEndsAt) this.finishBuild(server);
      if (server.goneAt !== null && now >= server.goneAt) this.removeServer(server);
    }
    for (const fip of this.floatingIps.values()) {
      if (fip.pending && now >= fip.pending.visibleAt) {
        fip.portId = fip.pending.portId;
        fip.fixedIp = fip.pending.fixedIp;
        fip.pending = null;
        // The L3 agent reports the address ACTIVE: a status update, which bumps the revision.
        fip.revision += 1;
      }
    }
  }

  createServer(spec: NewServer, now: number): ServerRecord {
    const id = newUuid();
    this.sequence += 1;
    const server: ServerRecord = {
      id,
      name: spec.name,
      description: spec.description,
      projectId: spec.projectId,
      userId: spec.userId,
      imageId: spec.imageId,
      flavorId: spec.flavorId,
      keyName: spec.keyName,
      availabilityZone: spec.availabilityZone,
      requestedAvailabilityZone: spec.requestedAvailabilityZone,
      securityGroupIds: spec.securityGroupIds,
      metadata: spec.metadata,
      userData: spec.userData,
      serverGroup: spec.serverGroup,
      tags: spec.tags,
      adminPass: spec.adminPass,
      host: spec.host,
      createdAt: now,
      updatedAt: now,
      launchedAt: null,
      phase: 'building',
      outcome: spec.outcome,
      buildEndsAt: spec.outcome === 'stuck-build' ? Infinity : now + spec.bootDelayMs,
      faultMessage: spec.faultMessage,
      fault: null,
      deletingSince: null,
      goneAt: null,
      portIds: [],
      sequence: this.sequence,
    };
    for (const networkId of spec.networkIds) {
      const network = this.networkById(networkId) ?? PRIVATE_NETWORK;
      const owner = { deviceId: id, deviceOwner: `compute:${spec.availabilityZone}`, projectId: spec.projectId };
      server.portIds.push(this.createPort(network, owner, spec.securityGroupIds, now).id);
    }
    this.servers.set(id, server);
    if (spec.serverGroup !== null) this.serverGroups.groups.get(spec.serverGroup)?.members.push(id);
    return server;
  }

  deleteServer(server: ServerRecord, now: number): void {
    if (server.deletingSince !== null) return;
    server.deletingSince = now;
    server.goneAt = now + this.deleteDelayMs;
    server.updatedAt = now;
    this.advance(now);
  }

  setPhase(server: ServerRecord, phase: ServerPhase, now: number): void {
    server.phase = phase;
    server.updatedAt = now;
  }

  /** Servers Nova still shows, newest first. */
  visibleServers(): ServerRecord[] {
    return [...this.servers.values()].sort((a, b) => b.sequence - a.sequence);
  }

  serversOf(projectId: string): ServerRecord[] {
    return [...this.servers.values()].filter((s) => s.projectId === projectId);
  }

  floatingIpsOf(projectId: string): FloatingIpRecord[] {
    return [...this.floatingIps.values()].filter((f) => f.projectId === projectId);
  }

  /** A project's Neutron ports (portsOf: one server's). */
  portsOfProject(projectId: string): PortRecord[] {
    return [...this.ports.values()].filter((p) => p.projectId === projectId);
  }

  /** Neutron refuses to delete a security group a port still uses. */
  securityGroupInUse(groupId: string): boolean {
    return [...this.ports.values()].some((p) => p.securityGroupIds.includes(groupId));
  }

  portsOf(server: ServerRecord): PortRecord[] {
    return server.portIds.map((id) => this.ports.get(id)).filter((p): p is PortRecord => p !== undefined);
  }

  allocateFloatingIp(
    network: NetworkFixture,
    fields: { projectId: string; description: string; address?: string },
    now: number,
  ): FloatingIpAllocation {
    const limit = this.quotas.neutronLimits(fields.projectId).floatingip;
    if (!withinLimit(limit, this.floatingIpsOf(fields.projectId).length)) return { ok: false, reason: 'quota' };
    let address: string | undefined;
    if (fields.address !== undefined) {
      const outcome = this.claimAddress(network.subnet, fields.address);
      if (outcome !== 'ok') return { ok: false, reason: outcome };
      address = fields.address;
    } else {
      address = this.allocateAddress(network.subnet);
      if (address === undefined) return { ok: false, reason: 'exhausted' };
    }
    const floatingIp: FloatingIpRecord = {
      id: newUuid(),
      address,
      networkId: network.id,
      subnetId: network.subnet.id,
      projectId: fields.projectId,
      description: fields.description,
      createdAt: now,
      updatedAt: now,
      revision: 0,
      portId: null,
      fixedIp: null,
      pending: null,
    };
    this.floatingIps.set(floatingIp.id, floatingIp);
    return { ok: true, floatingIp };
  }

  /** Accepts the association; when reads see it depends on `associationBehaviour`. */
  associate(fip: FloatingIpRecord, port: PortRecord, now: number): void {
    const behaviour = this.associationBehaviour;
    const visibleAt = behaviour === 'immediate' ? now : behaviour === 'never' ? Infinity : now + behaviour.delayMs;
    if (visibleAt <= now) {
      fip.portId = port.id;
      fip.fixedIp = port.fixedIp;
      fip.pending = null;
    } else {
      fip.pending = { portId: port.id, fixedIp: port.fixedIp, visibleAt };
    }
    this.touch(fip, now);
  }

  disassociate(fip: FloatingIpRecord, now: number): void {
    fip.portId = null;
    fip.fixedIp = null;
    fip.pending = null;
    this.touch(fip, now);
  }

  releaseFloatingIp(fip: FloatingIpRecord): void {
    this.floatingIps.delete(fip.id);
    this.usedAddresses.get(fip.subnetId)?.delete(ipv4ToInt(fip.address));
  }

  /** Floating IPs bound, or about to be bound, to the port. */
  floatingIpsClaimingPort(portId: string): FloatingIpRecord[] {
    return [...this.floatingIps.values()].filter((f) => f.portId === portId || f.pending?.portId === portId);
  }

  floatingIpByAddress(address: string): FloatingIpRecord | undefined {
    return [...this.floatingIps.values()].find((f) => f.address === address);
  }

  serverOfPort(portId: string | null): ServerRecord | undefined {
    if (portId === null) return undefined;
    const port = this.ports.get(portId);
    return port ? this.servers.get(port.deviceId) : undefined;
  }

  reset(now: number): void {
    this.servers.clear();
    this.ports.clear();
    this.floatingIps.clear();
    this.usedAddresses.clear();
    this.serverGroups.clear();
    this.quotas.clear();
    this.securityGroups.seed(this.projectIds, now);
    this.associationBehaviour = 'immediate';
  }

  private finishBuild(server: ServerRecord): void {
    const at = server.buildEndsAt;
    server.updatedAt = at;
    if (server.outcome === 'error') {
      server.phase = 'error';
      server.fault = { code: 500, message: server.faultMessage, createdAt: at };
      // A build that fails scheduling never gets its network: Nova deallocates the ports.
      for (const portId of server.portIds) this.deletePort(portId, at);
      server.portIds = [];
      return;
    }
    server.phase = 'active';
    server.launchedAt = at;
  }

  private removeServer(server: ServerRecord): void {
    const at = server.goneAt ?? server.updatedAt;
    for (const portId of server.portIds) this.deletePort(portId, at);
    this.servers.delete(server.id);
    this.serverGroups.removeMember(server.id);
  }

  private createPort(
    network: NetworkFixture,
    owner: { deviceId: string; deviceOwner: string; projectId: string },
    securityGroupIds: string[],
    now: number,
  ): PortRecord {
    // A full subnet would make Nova fail the boot; 254 ports is far beyond what tests need.
    const fixedIp = this.allocateAddress(network.subnet) ?? network.subnet.allocationEnd;
    const port: PortRecord = {
      id: newUuid(),
      networkId: network.id,
      subnetId: network.subnet.id,
      fixedIp,
      macAddress: newMacAddress(),
      ...owner,
      securityGroupIds: [...securityGroupIds],
      createdAt: now,
      updatedAt: now,
      revision: 1,
    };
    this.ports.set(port.id, port);
    return port;
  }

  private deletePort(portId: string, now: number): void {
    const port = this.ports.get(portId);
    if (!port) return;
    for (const fip of this.floatingIpsClaimingPort(portId)) this.disassociate(fip, now);
    this.usedAddresses.get(port.subnetId)?.delete(ipv4ToInt(port.fixedIp));
    this.ports.delete(portId);
  }

  private touch(fip: FloatingIpRecord, now: number): void {
    fip.updatedAt = now;
    fip.revision += 1;
  }

  private usedIn(subnet: SubnetFixture): Set<number> {
    let used = this.usedAddresses.get(subnet.id);
    if (!used) {
      used = new Set();
      this.usedAddresses.set(subnet.id, used);
    }
    return used;
  }

  private allocateAddress(subnet: SubnetFixture): string | undefined {
    const used = this.usedIn(subnet);
    for (let value = ipv4ToInt(subnet.allocationStart); value <= ipv4ToInt(subnet.allocationEnd); value += 1) {
      if (!used.has(value)) {
        used.add(value);
        return intToIpv4(value);
      }
    }
    return undefined;
  }

  private claimAddress(subnet: SubnetFixture, address: string): 'ok' | 'address-in-use' | 'address-outside-subnet' {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) return 'address-outside-subnet';
    const value = ipv4ToInt(address);
    if (value < ipv4ToInt(subnet.allocationStart) || value > ipv4ToInt(subnet.allocationEnd))
      return 'address-outside-subnet';
    const used = this.usedIn(subnet);
    if (used.has(value)) return 'address-in-use';
    used.add(value);
    return 'ok';
  }
}
