import type { Server } from '../openstack';

/**
 * The address reported as a device's `addr`: an IPv4 on the configured network first,
 * else the first public (not private, shared or link-local) IPv4, else the first IPv4.
 * Floating addresses are left out: a rerun of BUILD_DEVICE after ASSIGN_IP answers with the
 * address the first run did, and ASSIGN_IP puts a floating IP on the port that holds it.
 * The original took the first address not starting with "10.", which picked 172.16/12 and
 * 192.168/16 addresses as if they were public.
 */
export function selectAddress(server: Pick<Server, 'addresses'>, preferredNetwork?: string): string | undefined {
  const ipv4ByNetwork = Object.entries(server.addresses).map(
    ([network, addresses]) =>
      [network, addresses.filter((address) => address.version === 4 && address.type !== 'floating')] as const,
  );
  if (preferredNetwork) {
    const preferred = ipv4ByNetwork.find(([network]) => network === preferredNetwork)?.[1][0];
    if (preferred) return preferred.addr;
  }
  const all = ipv4ByNetwork.flatMap(([, addresses]) => addresses);
  return (all.find((address) => !isPrivateIpv4(address.addr)) ?? all[0])?.addr;
}

export function isPrivateIpv4(ip: string): boolean {
  const octets = ip.split('.').map(Number);
  const [a = -1, b = -1] = octets;
  return (
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127) || // shared address space (RFC 6598)
    (a === 169 && b === 254) // link-local
  );
}

export function hasIpv4(server: Pick<Server, 'addresses'>): boolean {
  return Object.values(server.addresses).some((addresses) => addresses.some((address) => address.version === 4));
}
