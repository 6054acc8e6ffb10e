/**
 * bench/REPORT.md and bench/results.json from the JSON fragments the four benchmark scripts
 * wrote in bench/out/ (shapes in ../fragments.ts). Every figure comes from those fragments
 * (one `npm run bench`); the prose around a figure only explains it. One file per section.
 */
import type { Fragment } from '../fragments';
import { bridgeSection } from './bridge';
import { callsSection } from './calls';
import { fleetSection } from './fleet';
import { results } from './headline';
import { machineSection } from './machine';
import { missedSection } from './missed';
import { packageSection } from './package';
import { reproduceSection } from './reproduce';
import { summarySection } from './summary';

export { results };

/** The fragments there are (a script that did not run, or failed, has none). */
export interface Fragments {
  fleet?: Fragment<'fleet-builds'>;
  bridge?: Fragment<'bridge-overhead'>;
  calls?: Fragment<'openstack-calls'>;
  pkg?: Fragment<'function-package'>;
}

export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  versions: Record<string, string>;
  commit: string;
  uncommitted: number;
  command: string;
}

export interface ScriptRun {
  name: string;
  seconds: number;
  ok: boolean;
  error?: string;
}

export function renderReport(fr: Fragments, machine: Machine, scripts: ScriptRun[]): string {
  const r = results(fr);
  return [
    ...machineSection(machine, scripts),
    ...summarySection(fr, r),
    ...(fr.fleet ? fleetSection(fr.fleet) : []),
    ...(fr.bridge ? bridgeSection(fr.bridge) : []),
    ...(fr.calls ? callsSection(fr.calls) : []),
    ...(fr.pkg ? packageSection(fr.pkg) : []),
    ...missedSection(fr, r),
    ...reproduceSection(),
  ].join('\n');
}
