/**
 * Loopback guard: records every outbound TCP connection this process opens and refuses
 * any that is not to a loopback address. Loaded into child processes with
 * `node --import <this file>` (the bridge, the local Lambda) and imported by the
 * reliability tests themselves. With LOOPBACK_GUARD_FILE set, each connection is also
 * appended to that file as one JSON line: {"pid", "host", "port", "allowed"}.
 */
import fs from 'node:fs';
import net from 'node:net';
import process from 'node:process';

const file = process.env.LOOPBACK_GUARD_FILE;
const seen = [];

/** 127.0.0.0/8, ::1 (any spelling), ::ffff:127.x, and the name localhost. */
export function isLoopbackHost(host) {
  if (host === undefined || host === null || host === '') return true; // net's default is localhost
  const h = String(host)
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) {
    const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    if (mapped) return mapped[1].startsWith('127.');
    return /^(?:0{0,4}:){2,7}0{0,3}1$|^::1$/.test(h);
  }
  return false;
}

/** The host and port (or IPC path) a Socket#connect call was given, in any of its forms. */
function target(args) {
  let first = args[0];
  if (Array.isArray(first)) first = first[0]; // net.connect passes its normalised [options, cb]
  if (first !== null && typeof first === 'object') {
    if (first.path !== undefined) return { path: String(first.path) };
    return { host: first.host ?? 'localhost', port: first.port };
  }
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: first };
  }
  if (typeof first === 'string') return { path: first };
  return { host: 'localhost' };
}

const original = net.Socket.prototype.connect;
if (!original.__loopbackGuard) {
  const guarded = function connect(...args) {
    const t = target(args);
    if (t.path !== undefined) return original.apply(this, args);
    const allowed = isLoopbackHost(t.host);
    const record = { pid: process.pid, host: String(t.host), port: Number(t.port), allowed };
    seen.push(record);
    if (file) {
      try {
        fs.appendFileSync(file, `${JSON.stringify(record)}\n`);
      } catch {
        // the record in memory still counts
      }
    }
    if (!allowed) {
      const error = new Error(`loopback guard: refused a connection to ${t.host}:${t.port}`);
      error.code = 'ELOOPBACKGUARD';
      process.nextTick(() => this.destroy(error));
      return this;
    }
    return original.apply(this, args);
  };
  guarded.__loopbackGuard = true;
  net.Socket.prototype.connect = guarded;
}

/** Connections recorded in this process. */
export function connections() {
  return seen.slice();
}
