/**
 * A real gearmand (Debian's gearman-job-server, /usr/sbin/gearmand), the one way this
 * project starts one (the local fleet, the tests, the benchmarks): started in the
 * foreground on a free loopback port, ready once it accepts connections, stopped by PID.
 * restart() brings it back on the same port; kill() simulates a crash.
 *
 *   const gd = await startGearmand();          // gd.host, gd.port, gd.address ("127.0.0.1:N")
 *   await gd.restart();
 *   await gd.stop();
 *
 * By default it stays in this process's group (a signal to the group, e.g. a test runner
 * stopping a test file, reaches it too). `detached: true` (the fleet) gives it a group of
 * its own, so a Ctrl-C meant for the fleet does not stop it before the bridge has drained.
 * Either way it is killed when this process exits (see ./children.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatServer } from '../../bridge/address';
import type { Service } from './children';
import { StartError, startService, tailFile } from './children';
import { freePort } from './net';

export const GEARMAND = process.env.GEARMAND ?? '/usr/sbin/gearmand';

export interface GearmandOptions {
  /** Listen address (default 127.0.0.1; loopback only in tests). */
  host?: string;
  /** Port (default: a free one). */
  port?: number;
  /** I/O threads (default 2). */
  threads?: number;
  /** TLS: PEM files for gearmand's --ssl options (Debian's 1.1.20 accepts them but does not negotiate TLS). */
  ssl?: { ca: string; cert: string; key: string };
  /** Extra gearmand arguments. */
  args?: string[];
  /** How long to wait for it to accept connections (default 10 s). */
  readyTimeoutMs?: number;
  /** gearmand's log file (default: in a temp directory that stop() removes). */
  logFile?: string;
  /** In a process group of its own (default false). */
  detached?: boolean;
}

export interface Gearmand {
  readonly host: string;
  readonly port: number;
  /** "host:port" */
  readonly address: string;
  readonly pid: number | undefined;
  /** gearmand's log file (by default in a temp directory, removed by stop()). */
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
  stop(): Promise<void>;
  /** SIGKILL at once (a crash); resolves once the process has exited. */
  kill(): Promise<void>;
  /** Stops it (if running) and starts it again on the same port. */
  restart(): Promise<void>;
  /** Starts it again on the same port after stop()/kill(). */
  start(): Promise<void>;
}

export async function startGearmand(options: GearmandOptions = {}): Promise<Gearmand> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const dir = options.logFile ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'gearmand-'));
  const logFile = options.logFile ?? path.join(dir ?? '', 'gearmand.log');
  let service: Service | undefined;

  const start = async (): Promise<void> => {
    service = await startService({
      name: 'gearmand',
      command: GEARMAND,
      args: [
        `--listen=${host}`,
        `--port=${port}`,
        `--log-file=${logFile}`,
        `--threads=${options.threads ?? 2}`,
        '--verbose=WARNING',
        ...(options.ssl
          ? [
              '--ssl',
              `--ssl-ca-file=${options.ssl.ca}`,
              `--ssl-certificate=${options.ssl.cert}`,
              `--ssl-key=${options.ssl.key}`,
            ]
          : []),
        ...(options.args ?? []),
      ],
      // gearmand writes its own log file; stderr says why it would not start.
      stdout: 'ignore',
      group: options.detached ?? false,
      ready: { port: { host, port } },
      readyTimeoutMs: options.readyTimeoutMs ?? 10_000,
      pollMs: 25,
    }).catch((error: unknown) => {
      // Why gearmand stopped is often in its own log file rather than on stderr.
      const log = tailFile(logFile);
      if (!(error instanceof StartError) || !log) throw error;
      throw new StartError(`${error.message}\n--- last lines of ${logFile} ---\n${log}`, { cause: error });
    });
  };

  const signal = async (sig: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    const running = service;
    if (!running?.alive()) return;
    if (sig === 'SIGKILL') {
      running.signal('SIGKILL');
      await running.exited;
    } else {
      await running.stop(5000);
    }
  };

  await start();
  return {
    host,
    port,
    address: formatServer({ host, port }),
    get pid() {
      return service?.pid;
    },
    logFile,
    stop: async () => {
      await signal('SIGTERM');
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
    kill: () => signal('SIGKILL'),
    restart: async () => {
      await signal('SIGTERM');
      await start();
    },
    start: async () => {
      fs.mkdirSync(path.dirname(logFile), { recursive: true });
      await start();
    },
  };
}
