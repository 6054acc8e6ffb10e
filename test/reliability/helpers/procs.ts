/**
 * Child processes of the reliability tests: spawned with the loopback guard preloaded,
 * every byte of their output kept (for secret scans), stopped by PID only, and killed by
 * PID when the test process exits whatever happened.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BRIDGE_BIN, ROOT } from '../../../scripts/fleet';
import { freePort } from '../../../scripts/fleet/gearmand';
import { GUARD_PATH } from './loopback';

export { BRIDGE_BIN, ROOT };

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Proc {
  readonly name: string;
  readonly pid: number;
  /** stdout and stderr, interleaved as received. */
  output(): string;
  /** The stdout lines that are JSON objects (structured logs). */
  logs(): Record<string, unknown>[];
  readonly exited: Promise<Exit>;
  alive(): boolean;
  signal(sig: NodeJS.Signals): void;
  /** Resident set size in KiB, from /proc/<pid>/status. */
  rssKb(): number;
  /** SIGTERM, SIGKILL after graceMs; resolves on exit. */
  stop(graceMs?: number): Promise<Exit>;
}

/** The environment of a child: PATH and friends, nothing of AWS, the bridge or Powertools from ours. */
export function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[key] !== undefined) env[key] = process.env[key];
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', NODE_NO_WARNINGS: '1', ...extra };
}

export const GC_HOOK = path.join(import.meta.dirname, 'gc-on-signal.mjs');

export function spawnNode(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { guardFile?: string; nodeArgs?: string[] } = {},
): Proc {
  const proc = spawn(process.execPath, ['--import', GUARD_PATH, ...(options.nodeArgs ?? []), ...args], {
    cwd: ROOT,
    env: { ...env, ...(options.guardFile ? { LOOPBACK_GUARD_FILE: options.guardFile } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid === undefined) throw new Error(`could not start ${name}`);
  const pid = proc.pid;
  running.add(proc);
  const chunks: string[] = [];
  let parsedUpTo = 0;
  let partial = '';
  const parsed: Record<string, unknown>[] = [];
  proc.stdout.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  const exited = new Promise<Exit>((resolve) => {
    proc.once('close', (code, signal) => {
      running.delete(proc);
      resolve({ code, signal });
    });
  });
  const output = (): string => chunks.join('');
  const logs = (): Record<string, unknown>[] => {
    // Incremental: logs() is polled while thousands of lines arrive.
    for (; parsedUpTo < chunks.length; parsedUpTo += 1) {
      const text = partial + (chunks[parsedUpTo] ?? '');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        try {
          parsed.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      }
    }
    return parsed;
  };
  const alive = (): boolean => proc.exitCode === null && proc.signalCode === null;
  return {
    name,
    pid,
    output,
    logs,
    exited,
    alive,
    signal: (sig) => {
      if (alive()) process.kill(pid, sig);
    },
    rssKb: () => {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
      if (!match) throw new Error(`no VmRSS for ${name} (${pid})`);
      return Number(match[1]);
    },
    stop: async (graceMs = 10_000) => {
      if (!alive()) return exited;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (alive()) process.kill(pid, 'SIGKILL');
      }, graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

export interface BridgeProc extends Proc {
  /** http://127.0.0.1:N of its /healthz and /metrics. */
  readonly healthUrl: string;
  health(): Promise<{ status: number; body: HealthBody }>;
  metrics(): Promise<string>;
}

export interface HealthBody {
  status: string;
  inFlight: number;
  draining: boolean;
  servers: { server: string; state: string; reconnects: number; lastError?: string }[];
}

/**
 * The pool-bridge command as a child process, pointed at job servers and a Lambda
 * endpoint; resolves once its health endpoint is up (and, unless `waitConnected` is
 * false, once every job server is registered).
 */
export async function startBridgeProcess(options: {
  servers: string[];
  lambdaUrl: string;
  clientId?: string;
  args?: string[];
  env?: Record<string, string>;
  guardFile?: string;
  waitConnected?: boolean | 'any';
  timeoutMs?: number;
  /** Extra node options, e.g. ['--expose-gc', '--import', GC_HOOK]. */
  nodeArgs?: string[];
}): Promise<BridgeProc> {
  // A known port: the 'health endpoint listening' line is not logged below INFO.
  const healthPort = await freePort();
  const args = [
    BRIDGE_BIN,
    '--gearman',
    options.servers.join(','),
    '--lambda-endpoint',
    options.lambdaUrl,
    '--health-listen',
    `127.0.0.1:${healthPort}`,
    '--client-id',
    options.clientId ?? 'reliability',
    '--reconnect-max-delay',
    '0.5',
    ...(options.args ?? []),
  ];
  const child = spawnNode(`bridge ${options.clientId ?? ''}`, args, baseEnv(options.env), {
    guardFile: options.guardFile,
    nodeArgs: options.nodeArgs,
  });
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  try {
    await waitUntil(
      async () => {
        if (!child.alive()) throw new Error(`bridge exited at startup:\n${child.output()}`);
        return fetch(`${healthUrl}/healthz`).then(
          () => true,
          () => false,
        );
      },
      `the bridge's health endpoint (${child.output().slice(-500)})`,
      timeoutMs,
      50,
    );
  } catch (error) {
    child.signal('SIGKILL');
    throw error;
  }
  const health = async (): Promise<{ status: number; body: HealthBody }> => {
    const res = await fetch(`${healthUrl}/healthz`);
    return { status: res.status, body: (await res.json()) as HealthBody };
  };
  const bridge: BridgeProc = {
    ...child,
    healthUrl,
    health,
    metrics: async () => (await fetch(`${healthUrl}/metrics`)).text(),
  };
  const want = options.waitConnected ?? true;
  if (want) {
    try {
      await waitUntil(
        async () => {
          const { body } = await health();
          return want === 'any'
            ? body.servers.some((s) => s.state === 'connected')
            : body.servers.every((s) => s.state === 'connected');
        },
        'the bridge to register',
        deadline - Date.now(),
      );
    } catch (error) {
      child.signal('SIGKILL');
      throw error;
    }
  }
  return bridge;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls cond() until true; throws naming `what` after timeoutMs. */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + Math.max(0, timeoutMs);
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Races p against a timer. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
