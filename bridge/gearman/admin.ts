/**
 * gearmand's text admin protocol ("Administrative Protocol" in gearmand's PROTOCOL document),
 * spoken on the job port: a command line in, text lines out. Two parts, kept apart:
 *
 * - pure parsers of the replies (parseStatus, parseWorkers), no sockets;
 * - adminCommand(), one command on a connection of its own (TCP, or TLS when asked), bounded
 *   by an explicit timeout, and the shorthands gearmanStatus(), gearmanWorkers(), gearmanVersion().
 *
 *   const functions = await gearmanStatus('127.0.0.1:4730');
 *   functions.find((f) => f.function === 'libra_pool_mgm')?.availableWorkers;
 */
import net from 'node:net';
import tls from 'node:tls';
import { PoolManagerError } from '../../contract/errors';
import type { ServerAddress } from '../address';
import { formatServer, tlsServerName, toServerAddress } from '../address';

const DEFAULT_TIMEOUT_MS = 2000;

/** Commands whose reply is a list of lines ended by a line holding a single "."; the others answer one line. */
const LIST_COMMANDS = new Set(['status', 'workers', 'prioritystatus', 'show']);

export type GearmanAdminErrorCode =
  /** No connection, or it broke before the reply was complete. */
  | 'POOL_ERR_GEARMAN_ADMIN_UNREACHABLE'
  /** No complete reply within the timeout. */
  | 'POOL_ERR_GEARMAN_ADMIN_TIMEOUT'
  /** gearmand answered "ERR <code> <text>" (an unknown command, say). */
  | 'POOL_ERR_GEARMAN_ADMIN_REFUSED'
  /** A reply line that does not have the documented shape. */
  | 'POOL_ERR_GEARMAN_ADMIN_REPLY';

export class GearmanAdminError extends PoolManagerError {
  constructor(
    message: string,
    override readonly code: GearmanAdminErrorCode,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** One line of the `status` reply. */
export interface FunctionStatus {
  function: string;
  /** Jobs of this function on the server: gearmand's TOTAL column, which counts the running ones too. */
  queued: number;
  /** Jobs a worker is running now. */
  running: number;
  /** Workers that registered the function (CAN_DO), busy or not. */
  availableWorkers: number;
}

/**
 * The `status` reply: "FUNCTION\tTOTAL\tRUNNING\tAVAILABLE_WORKERS" per registered function
 * (the terminating "." already removed, as adminCommand returns it).
 */
export function parseStatus(lines: readonly string[]): FunctionStatus[] {
  return lines
    .filter((line) => line !== '')
    .map((line) => {
      // The three counts are the last columns; the name is whatever comes before them.
      const columns = line.split('\t');
      const counts = columns.slice(-3);
      const name = columns.slice(0, -3).join('\t');
      if (columns.length < 4 || name === '' || !counts.every((c) => /^\d+$/.test(c))) {
        throw new GearmanAdminError(
          `not a status line (expected FUNCTION<tab>TOTAL<tab>RUNNING<tab>AVAILABLE_WORKERS): ${JSON.stringify(line)}`,
          'POOL_ERR_GEARMAN_ADMIN_REPLY',
        );
      }
      const [queued, running, availableWorkers] = counts.map(Number) as [number, number, number];
      return { function: name, queued, running, availableWorkers };
    });
}

/** One line of the `workers` reply: a connection of the job server (clients too, with no functions). */
export interface WorkerConnection {
  fd: number;
  /** The peer's IP address. */
  address: string;
  /** What SET_CLIENT_ID set, "-" when nothing did. */
  clientId: string;
  /** Functions registered on this connection (CAN_DO). */
  functions: string[];
}

/** The `workers` reply: "FD IP-ADDRESS CLIENT-ID : FUNCTION ..." per connection. */
export function parseWorkers(lines: readonly string[]): WorkerConnection[] {
  return lines
    .filter((line) => line !== '')
    .map((line) => {
      const m = /^(\d+) (\S+) (.*?) :(?: (.*))?$/.exec(line);
      if (!m) {
        throw new GearmanAdminError(
          `not a workers line (expected FD IP-ADDRESS CLIENT-ID : FUNCTION ...): ${JSON.stringify(line)}`,
          'POOL_ERR_GEARMAN_ADMIN_REPLY',
        );
      }
      return {
        fd: Number(m[1]),
        address: m[2] ?? '',
        clientId: m[3] ?? '',
        functions: (m[4] ?? '').split(' ').filter(Boolean),
      };
    });
}

export interface AdminOptions {
  /** The whole exchange, connecting included (default 2 s). */
  timeoutMs?: number;
  /** Over TLS with these options (a TLS terminator in front of gearmand, as the worker reaches it). */
  tls?: tls.ConnectionOptions;
}

/**
 * Sends one admin command ("status", "workers", "version", ...) and resolves with the reply's
 * lines (without the terminating "."). Rejects with GearmanAdminError.
 */
export function adminCommand(
  server: string | ServerAddress,
  command: string,
  options: AdminOptions = {},
): Promise<string[]> {
  if (/[\r\n]/.test(command)) throw new RangeError(`an admin command is one line: ${JSON.stringify(command)}`);
  const { host, port } = toServerAddress(server);
  const where = formatServer({ host, port });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const list = LIST_COMMANDS.has(command.trim().split(/\s+/)[0] ?? '');
  return new Promise((resolve, reject) => {
    const send = (): void => void socket.write(`${command}\n`);
    const socket = options.tls
      ? tls.connect({ host, port, ...tlsServerName(host), ...options.tls }, send)
      : net.connect({ host, port }, send);
    let text = '';
    let settled = false;
    const finish = (error: GearmanAdminError | undefined, lines?: string[]): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(lines ?? []);
    };
    const timer = setTimeout(
      () =>
        finish(
          new GearmanAdminError(
            `gearmand at ${where} did not answer "${command}" within ${timeoutMs} ms`,
            'POOL_ERR_GEARMAN_ADMIN_TIMEOUT',
          ),
        ),
      timeoutMs,
    );
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const lines = text.split('\n').map((line) => line.replace(/\r$/, ''));
      const first = lines[0] ?? '';
      if (lines.length > 1 && first.startsWith('ERR ')) {
        finish(
          new GearmanAdminError(
            `gearmand at ${where} refused "${command}": ${first}`,
            'POOL_ERR_GEARMAN_ADMIN_REFUSED',
          ),
        );
      } else if (!list && lines.length > 1) {
        finish(undefined, [first]);
      } else if (list) {
        const end = lines.indexOf('.');
        if (end >= 0) finish(undefined, lines.slice(0, end));
      }
    });
    socket.on('error', (error) =>
      finish(
        new GearmanAdminError(
          `cannot ask gearmand at ${where} "${command}": ${error.message}`,
          'POOL_ERR_GEARMAN_ADMIN_UNREACHABLE',
          {
            cause: error,
          },
        ),
      ),
    );
    socket.on('close', () =>
      finish(
        new GearmanAdminError(
          `gearmand at ${where} closed the connection before answering "${command}"`,
          'POOL_ERR_GEARMAN_ADMIN_UNREACHABLE',
        ),
      ),
    );
  });
}

/** Every function the job server knows, with its queue and workers (`status`). */
export async function gearmanStatus(server: string | ServerAddress, options?: AdminOptions): Promise<FunctionStatus[]> {
  return parseStatus(await adminCommand(server, 'status', options));
}

/** Every connection of the job server with its client id and functions (`workers`). */
export async function gearmanWorkers(
  server: string | ServerAddress,
  options?: AdminOptions,
): Promise<WorkerConnection[]> {
  return parseWorkers(await adminCommand(server, 'workers', options));
}

/** The job server's version line (`version`), e.g. "OK 1.1.20". */
export async function gearmanVersion(server: string | ServerAddress, options?: AdminOptions): Promise<string> {
  return (await adminCommand(server, 'version', options))[0] ?? '';
}
