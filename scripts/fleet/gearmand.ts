/**
 * A real gearmand (Debian's gearman-job-server, /usr/sbin/gearmand), the one way this
 * project starts one (the local fleet, the tests, the benchmarks): started in the
 * foreground on a free loopback port, ready once it accepts connections, stopped by PID.
 * restart() brings it back on the same port; kill() simulates a crash.
 *
 *   const gd = await startGearmand();          // gd.port, gd.address ("127.0.0.1:N")
 *   await gd.restart();
 *   await gd.stop();
 *
 * By default it stays in this process's group (a signal to the group, e.g. a test runner
 * stopping a test file, reaches it too). `detached: true` (the fleet) gives it a group of
 * its own, so a Ctrl-C meant for the fleet does not stop it before the bridge has drained.
 * Every gearmand still running when this process exits is killed (by PID); a detached one
 * also when this process dies without running exit handlers (see processes.ts).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accepts, freePort, trackGroup } from './processes';

export { accepts, freePort };

export const GEARMAND = process.env.GEARMAND ?? '/usr/sbin/gearmand';

export interface GearmandOptions {
  /** Listen address (default 127.0.0.1; loopback only in tests). */
  host?: string;
  /** Port (default: a free one). */
  port?: number;
  /** I/O threads (default 2). */
  threads?: number;
  /** TLS: PEM files for gearmand's --ssl options (Debian's 1.1.20 accepts them but does not negotiate TLS; see tls-proxy.ts). */
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

const attached = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of attached) {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

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
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    const args = [
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
    ];
    let stderr = '';
    const detached = options.detached ?? false;
    const proc = spawn(GEARMAND, args, { stdio: ['ignore', 'ignore', 'pipe'], detached });
    child = proc;
    let untrack = (): unknown => attached.delete(proc);
    if (detached && proc.pid !== undefined) untrack = trackGroup(proc.pid);
    else attached.add(proc);
    proc.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    exited = new Promise<void>((resolve) => {
      proc.once('exit', () => {
        untrack();
        resolve();
      });
      proc.once('error', () => {
        untrack();
        resolve();
      });
    });
    const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) {
        const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').slice(-2000) : '';
        throw new Error(`gearmand exited before accepting connections on ${host}:${port}: ${stderr}${log}`);
      }
      if (await accepts(host, port)) return;
      if (Date.now() > deadline) {
        process.kill(proc.pid, 'SIGKILL');
        throw new Error(`gearmand did not accept connections on ${host}:${port} within the timeout: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc || proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    process.kill(proc.pid, sig);
    const timer = setTimeout(() => {
      if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null)
        process.kill(proc.pid, 'SIGKILL');
    }, 5000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    host,
    port,
    address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    get pid() {
      return child?.pid;
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
