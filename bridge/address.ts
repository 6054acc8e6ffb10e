/**
 * Job server addresses as the command lines take them. Kept apart from config.ts (zod, YAML)
 * so the operator's job CLI can use it without loading the bridge's whole configuration.
 */
import net from 'node:net';
import { DEFAULT_GEARMAN_PORT } from '../contract/gearman';

/** A job server's host and port. */
export interface ServerAddress {
  host: string;
  port: number;
}

/** "host:port" for messages and metric labels, an IPv6 host in brackets. */
export function formatServer(server: ServerAddress): string {
  return server.host.includes(':') ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/** tls.connect's server name for a host: SNI names a DNS host, never an IP address (RFC 6066). */
export function tlsServerName(host: string): { servername?: string } {
  return net.isIP(host) ? {} : { servername: host };
}

/** A job server given as "host:port" ("[v6]:port"; the port defaults to gearmand's 4730) or as an address. */
export function toServerAddress(server: string | ServerAddress): ServerAddress {
  return typeof server === 'string' ? parseHostPort(server, DEFAULT_GEARMAN_PORT) : server;
}

/** "host:port", "[v6]:port" or "host" (port defaults to defaultPort). */
export function parseHostPort(value: string, defaultPort: number, minPort = 1): ServerAddress {
  const v = value.trim();
  let host: string;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::([^:]*))?$/.exec(v);
  if (bracketed) {
    host = bracketed[1] ?? '';
    port = bracketed[2];
  } else if ((v.match(/:/g) ?? []).length > 1) {
    throw new Error(`"${v}": write an IPv6 address in brackets, e.g. [::1]:${defaultPort}`);
  } else {
    const i = v.lastIndexOf(':');
    host = i < 0 ? v : v.slice(0, i);
    port = i < 0 ? undefined : v.slice(i + 1);
  }
  if (!host || /[\s/]/.test(host)) throw new Error(`"${v}": missing or invalid host`);
  const n = port === undefined ? defaultPort : Number(port);
  if (port !== undefined && !/^\d+$/.test(port)) throw new Error(`"${v}": port must be a number`);
  if (!Number.isInteger(n) || n < minPort || n > 65535)
    throw new Error(`"${v}": port must be from ${minPort} to 65535`);
  return { host, port: n };
}
