/** The report's opening: what wrote it, the machine it ran on, and how long each script took. */
import { collect, fixed } from './format';
import type { Machine, ScriptRun } from './index';

export function machineSection(machine: Machine, scripts: ScriptRun[]): string[] {
  const [out, p] = collect();
  p(
    '# Benchmarks',
    '',
    `Written by \`${machine.command}\` on ${machine.date}. Every figure below comes from that one run; each is the`,
    'median with the min–max over the runs stated, and every speed claim is a ratio against a reference',
    'measured in the same run (or, for the original pool manager, computed from its design for the same N).',
    'The raw figures are in `bench/out/*.json` (not committed) and the headline ones in `bench/results.json`.',
    '',
    '## Machine',
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${machine.cpu}, ${machine.cores} cores |`,
    `| memory | ${machine.memoryGiB} GiB |`,
    `| OS | ${machine.os}, Linux ${machine.kernel} |`,
    ...Object.entries(machine.versions).map(([k, v]) => `| ${k} | ${v} |`),
    `| commit | ${machine.commit}${machine.uncommitted > 0 ? ` plus ${machine.uncommitted} uncommitted changes in the work tree (others were editing)` : ''} |`,
    '',
    'The machine was shared: other work ran on it at the same time, so absolute timings carry that noise;',
    'the load average around each script is given with its section. The configurations compared within a',
    'question ran in the same stretch of time (the bridge-overhead ones take turns within each run).',
    '',
  );
  if (scripts.length > 0) {
    const total = scripts.reduce((n, s) => n + s.seconds, 0);
    const scriptLine = scripts
      .map((s) => `${s.name} ${s.ok ? `${fixed(s.seconds, 0)} s` : `FAILED (${s.error ?? 'see the log'})`}`)
      .join(', ');
    p(`Time taken: ${scriptLine}; ${fixed(total / 60, 1)} minutes in all.`, '');
  }
  return out;
}
