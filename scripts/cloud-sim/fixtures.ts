/** The fixed resources every simulated cloud starts with. Ids are stable so tests can name them. */
import { stableHexId } from './ids';

export interface ImageFixture {
  id: string;
  name: string;
  size: number;
  minRam: number;
  minDisk: number;
  diskFormat: string;
  createdAt: string;
}

export const IMAGES: readonly ImageFixture[] = [
  {
    id: '7d3c5e0a-5b43-4a8e-9b1f-2c6f0e8d1a01',
    name: 'ubuntu-22.04',
    size: 688_914_432,
    minRam: 0,
    minDisk: 0,
    diskFormat: 'qcow2',
    createdAt: '2024-01-10T09:00:00Z',
  },
  {
    id: 'a4b7c2d1-8e6f-4f3a-b5c9-0d2e4f6a8b02',
    name: 'haproxy-lb',
    size: 734_003_200,
    minRam: 512,
    minDisk: 5,
    diskFormat: 'qcow2',
    createdAt: '2024-01-11T09:00:00Z',
  },
  {
    id: 'c0ffee00-1111-4222-8333-444455556603',
    name: 'duplicate-name',
    size: 12_716_032,
    minRam: 0,
    minDisk: 0,
    diskFormat: 'raw',
    createdAt: '2024-01-12T09:00:00Z',
  },
  {
    id: 'c0ffee00-1111-4222-8333-444455556604',
    name: 'duplicate-name',
    size: 12_716_032,
    minRam: 0,
    minDisk: 0,
    diskFormat: 'raw',
    createdAt: '2024-01-13T09:00:00Z',
  },
];

export const IMAGE_IDS = {
  ubuntu: '7d3c5e0a-5b43-4a8e-9b1f-2c6f0e8d1a01',
  haproxy: 'a4b7c2d1-8e6f-4f3a-b5c9-0d2e4f6a8b02',
  duplicateA: 'c0ffee00-1111-4222-8333-444455556603',
  duplicateB: 'c0ffee00-1111-4222-8333-444455556604',
} as const;

export interface FlavorFixture {
  id: string;
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
  description: string | null;
  /** os-extra_specs; shown in the flavor body from microversion 2.61. */
  extraSpecs: Readonly<Record<string, string>>;
}

export const FLAVORS: readonly FlavorFixture[] = [
  { id: '1', name: 'm1.tiny', ram: 512, vcpus: 1, disk: 1, description: null, extraSpecs: {} },
  { id: '2', name: 'm1.small', ram: 2048, vcpus: 1, disk: 20, description: null, extraSpecs: {} },
  { id: '3', name: 'm1.medium', ram: 4096, vcpus: 2, disk: 40, description: null, extraSpecs: {} },
  {
    id: 'b1e2c3d4-5f60-4a7b-8c9d-0e1f2a3b4c5d',
    name: 'lb.small',
    ram: 1024,
    vcpus: 1,
    disk: 10,
    description: 'Load-balancer node',
    extraSpecs: { 'hw:cpu_policy': 'shared', 'hw_rng:allowed': 'True' },
  },
];

export function flavorById(id: string): FlavorFixture | undefined {
  return FLAVORS.find((flavor) => flavor.id === id);
}

export interface SubnetFixture {
  id: string;
  name: string;
  networkId: string;
  cidr: string;
  gatewayIp: string;
  /** First and last address handed out to ports / floating IPs. */
  allocationStart: string;
  allocationEnd: string;
}

export interface NetworkFixture {
  id: string;
  name: string;
  external: boolean;
  shared: boolean;
  subnet: SubnetFixture;
}

export const PRIVATE_NETWORK: NetworkFixture = {
  id: 'f1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f601',
  name: 'private',
  external: false,
  shared: false,
  subnet: {
    id: 'e1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f6a1',
    name: 'private-subnet',
    networkId: 'f1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f601',
    cidr: '10.0.0.0/24',
    gatewayIp: '10.0.0.1',
    allocationStart: '10.0.0.3',
    allocationEnd: '10.0.0.254',
  },
};

/** Floating IPs come from a loopback range so any TCP check against them stays on this host. */
export const PUBLIC_NETWORK: NetworkFixture = {
  id: 'f1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f602',
  name: 'public',
  external: true,
  shared: false,
  subnet: {
    id: 'e1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f6a2',
    name: 'public-subnet',
    networkId: 'f1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f602',
    cidr: '127.0.100.0/24',
    gatewayIp: '127.0.100.1',
    allocationStart: '127.0.100.3',
    allocationEnd: '127.0.100.254',
  },
};

export const NETWORKS: readonly NetworkFixture[] = [PRIVATE_NETWORK, PUBLIC_NETWORK];

/**
 * The cloud's networks: private and public, plus a tenant network per extra name (the
 * `networks` option), each with its subnet 10.<n>.0.0/24, n counting from 1. Their ids are
 * derived from the name, so they are the same on every run.
 */
export function networkFixtures(extraNames: readonly string[]): NetworkFixture[] {
  const extra = extraNames.map((name, index): NetworkFixture => {
    const id = uuidFrom(`network:${name}`);
    const prefix = `10.${index + 1}.0`;
    return {
      id,
      name,
      external: false,
      shared: false,
      subnet: {
        id: uuidFrom(`subnet:${name}`),
        name: `${name}-subnet`,
        networkId: id,
        cidr: `${prefix}.0/24`,
        gatewayIp: `${prefix}.1`,
        allocationStart: `${prefix}.3`,
        allocationEnd: `${prefix}.254`,
      },
    };
  });
  return [...NETWORKS, ...extra];
}

/** A version-4-shaped uuid that is the same for the same text. */
function uuidFrom(text: string): string {
  const hex = stableHexId(text);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The router joining 'private' to 'public'; floating IPs report it as router_id once associated. */
export const ROUTER_ID = 'd1a2b3c4-d5e6-4f70-8a91-b2c3d4e5f6b1';

export const KEYPAIR = {
  name: 'sim-key',
  type: 'ssh',
  fingerprint: '7e:eb:ab:24:ba:d1:e1:88:ae:9a:fb:66:53:df:d3:bd',
  publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFuYcW0Jq2YJ0x4pT5Hk0n0c1mZsbDGm0dQk3m8bqk7N sim-key@cloud-sim',
  createdAt: '2024-01-10T09:00:00.000000',
} as const;

export const NOVA_MAX_MICROVERSION = '2.96';
export const NOVA_MIN_MICROVERSION = '2.1';
/** os-floating-ips, os-floating-ip-pools and the images proxy are gone from this version on. */
export const NOVA_PROXY_APIS_REMOVED_AT = '2.36';
/** addFloatingIp / removeFloatingIp server actions are gone from this version on. */
export const NOVA_FLOATING_IP_ACTIONS_REMOVED_AT = '2.44';

export const DEFAULT_FAULT_MESSAGE = 'No valid host was found. There are not enough hosts available.';
