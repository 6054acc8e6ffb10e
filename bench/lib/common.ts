/**
 * Shared pieces of the benchmarks: paths, statistics, log files, the git state. The JSON fragments the
 * scripts write are in ./fragments.ts.
 * Child processes, waiting and memory readings come from the harness (scripts/harness).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
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

export function log(name: string, line: string): void {
  process.stderr.write(`[${name}] ${line}\n`);
}

// ---------------------------------------------------------------- child processes

// Child processes are the harness's (scripts/harness): killed by PID when this process
// exits. A Ctrl-C or SIGTERM exits through that handler too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(130));
}

/** The commit measured, and how many files differ from it. */
export function gitState(): { commit: string; uncommitted: number } {
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', timeout: 30_000 }).trim();
    } catch {
      return '';
    }
  };
  const status = git('status', '--porcelain');
  return {
    commit: git('rev-parse', '--short=12', 'HEAD') || 'unknown',
    uncommitted: status ? status.split('\n').length : 0,
  };
}

export const MiB = (bytes: number): number => round(bytes / 1024 / 1024, 1);
