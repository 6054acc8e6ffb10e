/**
 * Per-project quota limits of Nova and Neutron: defaults plus what `openstack quota set` changed.
 * The limits read here are the ones server create, floating-IP allocation, security-group and
 * server-group creation enforce, and the ones os-quota-sets, /v2.0/quotas and /limits show.
 */

/** Nova's quota resources, in the order Nova reports them (alphabetical). */
export const NOVA_QUOTAS = [
  'cores',
  'fixed_ips',
  'floating_ips',
  'injected_file_content_bytes',
  'injected_file_path_bytes',
  'injected_files',
  'instances',
  'key_pairs',
  'metadata_items',
  'ram',
  'security_group_rules',
  'security_groups',
  'server_group_members',
  'server_groups',
] as const;
export type NovaQuota = (typeof NOVA_QUOTAS)[number];

/** Removed from os-quota-sets and /limits at microversion 2.36 (nova-network leftovers). */
export const NOVA_QUOTAS_REMOVED_AT_2_36: readonly NovaQuota[] = [
  'fixed_ips',
  'floating_ips',
  'security_group_rules',
  'security_groups',
];
/** Removed at 2.57 (personality files went away). */
export const NOVA_QUOTAS_REMOVED_AT_2_57: readonly NovaQuota[] = [
  'injected_file_content_bytes',
  'injected_file_path_bytes',
  'injected_files',
];

export const NEUTRON_QUOTAS = [
  'floatingip',
  'network',
  'port',
  'rbac_policy',
  'router',
  'security_group',
  'security_group_rule',
  'subnet',
  'subnetpool',
] as const;
export type NeutronQuota = (typeof NEUTRON_QUOTAS)[number];

/** -1 is "unlimited" in both services. */
export const UNLIMITED = -1;

/** Nova's defaults; instances, cores and ram (MB) come from the simulator's options. */
export function novaQuotaDefaults({
  instances,
  cores,
  ram,
}: {
  instances: number;
  cores: number;
  ram: number;
}): Record<NovaQuota, number> {
  return {
    instances,
    cores,
    ram,
    key_pairs: 100,
    metadata_items: 128,
    injected_files: 5,
    injected_file_content_bytes: 10240,
    injected_file_path_bytes: 255,
    server_groups: 10,
    server_group_members: 10,
    // Kept in the API for old microversions but neither counted nor enforced (Neutron owns these).
    fixed_ips: UNLIMITED,
    floating_ips: UNLIMITED,
    security_groups: UNLIMITED,
    security_group_rules: UNLIMITED,
  };
}

export function neutronQuotaDefaults(floatingIps: number): Record<NeutronQuota, number> {
  return {
    floatingip: floatingIps,
    network: 100,
    subnet: 100,
    port: 500,
    router: 10,
    security_group: 10,
    security_group_rule: 100,
    rbac_policy: 10,
    subnetpool: UNLIMITED,
  };
}

/** True when `used + requested` stays within `limit` (-1: no limit). */
export function withinLimit(limit: number, used: number, requested = 1): boolean {
  return limit === UNLIMITED || used + requested <= limit;
}

export class QuotaStore {
  private readonly nova = new Map<string, Partial<Record<NovaQuota, number>>>();
  private readonly neutron = new Map<string, Partial<Record<NeutronQuota, number>>>();

  constructor(
    readonly novaDefaults: Readonly<Record<NovaQuota, number>>,
    readonly neutronDefaults: Readonly<Record<NeutronQuota, number>>,
  ) {}

  novaLimits(projectId: string): Record<NovaQuota, number> {
    return { ...this.novaDefaults, ...this.nova.get(projectId) };
  }

  neutronLimits(projectId: string): Record<NeutronQuota, number> {
    return { ...this.neutronDefaults, ...this.neutron.get(projectId) };
  }

  setNova(projectId: string, values: Partial<Record<NovaQuota, number>>): void {
    this.nova.set(projectId, { ...this.nova.get(projectId), ...values });
  }

  setNeutron(projectId: string, values: Partial<Record<NeutronQuota, number>>): void {
    this.neutron.set(projectId, { ...this.neutron.get(projectId), ...values });
  }

  resetNova(projectId: string): void {
    this.nova.delete(projectId);
  }

  resetNeutron(projectId: string): void {
    this.neutron.delete(projectId);
  }

  /** Projects with a Neutron limit that differs from the defaults (GET /v2.0/quotas). */
  neutronProjects(): string[] {
    return [...this.neutron.keys()];
  }

  clear(): void {
    this.nova.clear();
    this.neutron.clear();
  }
}
