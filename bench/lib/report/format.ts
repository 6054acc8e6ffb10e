/** Formatting shared by the report's sections: numbers, targets, load averages. */
import type { Stat } from '../common';
import type { Meta } from '../fragments';

/** Collects a section's lines: p(...lines) appends. */
export type Put = (...lines: string[]) => void;

export function collect(): [string[], Put] {
  const out: string[] = [];
  return [
    out,
    (...lines: string[]): void => {
      out.push(...lines);
    },
  ];
}

/** n with d decimals, or "n/a". */
export const fixed = (n: number, d = 2): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
/** "median (min–max)" */
export function spread(s: Stat | undefined, d = 2, unit = ''): string {
  if (!s || s.n === 0) return 'n/a';
  if (s.n === 1) return `${fixed(s.median, d)}${unit} (1 run)`;
  return `${fixed(s.median, d)}${unit} (${fixed(s.min, d)}–${fixed(s.max, d)})`;
}
export const met = (ok: boolean): string => (ok ? '**met**' : '**missed**');
export const kb = (bytes: number): string => `${fixed(bytes / 1000, 0)} KB`;
export function load(m: Meta | undefined): string {
  return m
    ? `Load average (1 min) ${m.loadAvg1mAtStart} when the script started, ${m.loadAvg1mAtEnd} when it ended`
    : '';
}

/** The status polls until a server that takes bootMs is seen ACTIVE, and when that poll happens. */
export function polls(
  bootMs: number,
  initialMs: number,
  growth: number,
  maxMs = Number.POSITIVE_INFINITY,
): { count: number; seenAtMs: number } {
  let t = 0;
  let interval = initialMs;
  let count = 1;
  while (t < bootMs) {
    t += interval;
    interval = Math.min(Math.round(interval * growth), maxMs);
    count += 1;
  }
  return { count, seenAtMs: t };
}
