/**
 * Shared pieces of the benchmarks: statistics, JSON fragments in bench/out/, child
 * processes tracked by PID (and killed by PID if the benchmark dies), /proc memory readings.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.join(import.meta.dirname, '..', '..');
export const OUT_DIR = path.join(ROOT, 'bench', 'out');
export const LOG_DIR = path.join(OUT_DIR, 'logs');

/** bench/out/logs/<name>, the directory created. */
export function logFile(name: string): string {
  fs.mkdirSync(LOG_DIR, { recursive: true });
  return path.join(LOG_DIR, name);
}

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
  samples: number[];
}

export function stat(samples: number[]): Stat {
  if (samples.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0, samples: [] };
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, n: sorted.length, samples };
}

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** "median (min–max)" with the given digits. */
export function fmtStat(s: Stat, digits = 2, unit = ''): string {
  const f = (n: number): string => n.toFixed(digits);
  return s.n === 1 ? `${f(s.median)}${unit} (1 run)` : `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)})`;
}

export function log(name: string, line: string): void {
  process.stderr.write(`[${name}] ${line}\n`);
}

/** The 1-minute load average when this script started (other work on the machine skews timings). */
const loadAtStart = round(os.loadavg()[0] ?? 0, 2);
const startedAt = new Date().toISOString();

/** Writes bench/out/<name>.json: the data plus when it ran and the machine's load average then. */
export function writeFragment(name: string, data: object): string {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const file = path.join(OUT_DIR, `${name}.json`);
  const meta = {
    startedAt,
    finishedAt: new Date().toISOString(),
    loadAvg1mAtStart: loadAtStart,
    loadAvg1mAtEnd: round(os.loadavg()[0] ?? 0, 2),
  };
  fs.writeFileSync(file, `${JSON.stringify({ ...data, meta }, null, 2)}\n`);
  return file;
}

export function readFragment<T>(name: string): T | undefined {
  const file = path.join(OUT_DIR, `${name}.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as T) : undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------- child processes

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) killPid(child.pid, 'SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(130));
}

function killPid(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** stdout + stderr so far (bounded to the last 200 kB). */
  output(): string;
  /** Resolves with the first match of `re` in the output. */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** SIGTERM, then SIGKILL after graceMs; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  readonly exited: Promise<void>;
}

/**
 * Spawns a tracked child (killed by PID if this process exits first). With `logFile`, its
 * output is also appended there.
 */
export function startChild(command: string, args: string[], options: SpawnOptions & { logFile?: string } = {}): Child {
  const { logFile, ...spawnOptions } = options;
  const proc = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
  if (proc.pid === undefined) throw new Error(`could not start ${command}`);
  children.add(proc);
  let text = '';
  const listeners = new Set<() => void>();
  let logFd = logFile ? fs.openSync(logFile, 'a') : undefined;
  const onData = (d: Buffer): void => {
    if (logFd !== undefined) fs.writeSync(logFd, d);
    text += d.toString();
    if (text.length > 200_000) text = text.slice(-200_000);
    for (const l of listeners) l();
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => {
    const done = (): void => {
      children.delete(proc);
      proc.once('close', () => {
        if (logFd !== undefined) fs.closeSync(logFd);
        logFd = undefined;
      });
      for (const l of listeners) l();
      resolve();
    };
    if (proc.exitCode !== null || proc.signalCode !== null) done();
    else proc.once('exit', done);
  });
  const alive = (): boolean => proc.exitCode === null && proc.signalCode === null;
  const pid = proc.pid;
  return {
    proc,
    pid,
    output: () => text,
    exited,
    waitFor: (re, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(text);
          if (m) {
            cleanup();
            resolve(m);
          } else if (!alive()) {
            cleanup();
            reject(
              new Error(
                `${command} exited (${proc.exitCode ?? proc.signalCode}) before printing ${re}:\n${text.slice(-3000)}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${command} did not print ${re} within ${timeoutMs} ms:\n${text.slice(-3000)}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
    stop: async (graceMs = 10_000) => {
      if (!alive()) return exited;
      killPid(pid, 'SIGTERM');
      const timer = setTimeout(() => killPid(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a command to completion (bounded by timeoutMs) and returns its output. */
export async function run(
  command: string,
  args: string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<{ code: number | null; output: string; stdout: string }> {
  const { timeoutMs = 300_000, ...spawnOptions } = options;
  const proc = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
  children.add(proc);
  let output = '';
  let stdout = '';
  proc.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
    stdout += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => killPid(proc.pid, 'SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => {
    proc.once('error', () => resolve(null));
    proc.once('close', (c) => resolve(c));
  });
  clearTimeout(timer);
  children.delete(proc);
  return { code, output, stdout };
}

/** VmRSS and VmHWM (peak RSS) of a process, in bytes. */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

export const MiB = (bytes: number): number => round(bytes / 1024 / 1024, 1);

/** The environment without the variables that would point a child at real services. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('AWS_') || k.startsWith('OS_') || k.startsWith('POOL_') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}
