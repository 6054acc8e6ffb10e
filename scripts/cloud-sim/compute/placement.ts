/** Where Nova's scheduler puts a new server: a host of its zone, as its server group's policy allows. */
import type { ServerGroupRecord } from '../server-groups';
import type { CloudState } from '../state';

const HOSTS_PER_ZONE = 3;

/** Each zone has three compute hosts: 'nova' (the first zone) has sim-compute-1..3, the second 4..6, ... */
export function zoneHosts(zones: readonly string[], zone: string): string[] {
  const index = Math.max(0, zones.indexOf(zone));
  return Array.from({ length: HOSTS_PER_ZONE }, (_, n) => `sim-compute-${index * HOSTS_PER_ZONE + n + 1}`);
}

/** Hosts of the group's members that still hold a place (not failed, not being deleted). */
function memberHosts(state: CloudState, group: ServerGroupRecord): string[] {
  return group.members
    .map((id) => state.servers.get(id))
    .filter((s) => s !== undefined && s.phase !== 'error' && s.deletingSince === null)
    .map((s) => s?.host ?? '');
}

function countOn(hosts: string[], host: string): number {
  return hosts.filter((h) => h === host).length;
}

/**
 * Hosts are used round-robin (`sequence`); a server group narrows the choice. undefined: no
 * host satisfies a hard policy, which Nova reports as a build that ends in ERROR with
 * "No valid host was found".
 */
export function placeServer(
  state: CloudState,
  hosts: readonly string[],
  group: ServerGroupRecord | undefined,
  sequence: number,
): string | undefined {
  const preferred = hosts[sequence % hosts.length] ?? hosts[0];
  if (!group) return preferred;
  const taken = memberHosts(state, group);
  switch (group.policy) {
    case 'affinity': {
      const host = taken[0];
      if (host === undefined) return preferred;
      return hosts.includes(host) ? host : undefined;
    }
    case 'soft-affinity': {
      const host = taken[0];
      return host !== undefined && hosts.includes(host) ? host : preferred;
    }
    case 'anti-affinity': {
      const max = group.rules.max_server_per_host ?? 1;
      const free = hosts.filter((h) => countOn(taken, h) < max);
      return preferred !== undefined && free.includes(preferred) ? preferred : free[0];
    }
    case 'soft-anti-affinity': {
      const fewest = Math.min(...hosts.map((h) => countOn(taken, h)));
      if (preferred !== undefined && countOn(taken, preferred) === fewest) return preferred;
      return hosts.find((h) => countOn(taken, h) === fewest) ?? preferred;
    }
  }
}
