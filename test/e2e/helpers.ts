/**
 * End-to-end helpers: the fleet as the tests start it, the real `gearman` CLI
 * (gearman-tools) as the client, and the examples of the user's specification, read from
 * the file itself so they are sent exactly as written.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Fleet, FleetOptions } from '../../scripts/fleet';
import { ROOT, startFleet } from '../../scripts/fleet';
import type { GearmanCliResult } from '../helpers/gearman-cli';
import { gearmanCli } from '../helpers/gearman-cli';

export const SPEC_FILE = path.resolve(ROOT, '..', 'shared', 'spec', 'pool-manager-commands.txt');
export const FUNCTION = 'libra_pool_mgm';

/** A fleet for one test file: the simulator boots servers in 0.5 s; TEST_FLEET_LOG=1 echoes the logs. */
export function startTestFleet(options: FleetOptions = {}): Promise<Fleet> {
  return startFleet({
    cloud: { bootDelayMs: 500 },
    ...(process.env.TEST_FLEET_LOG
      ? { onLog: (service: string, line: string) => process.stderr.write(`[${service}] ${line}\n`) }
      : {}),
    ...options,
  });
}

/** The real gearman CLI against the fleet's gearmand: -f libra_pool_mgm [-u UNIQUE] PAYLOAD. */
export function gearman(
  fleet: Fleet,
  payload: string,
  options: { unique?: string; timeoutMs?: number } = {},
): Promise<GearmanCliResult> {
  return gearmanCli(fleet.gearmand, FUNCTION, payload, options);
}

export interface SpecExample {
  action: string;
  /** The example message, exactly as the specification writes it (newlines included). */
  example: string;
  /** The specification's response, parsed. */
  response: Record<string, unknown>;
}

/** Each "Example:" of the specification with the "Response:" that follows it. */
export function specExamples(): SpecExample[] {
  const lines = fs.readFileSync(SPEC_FILE, 'utf8').split(/\r?\n/);
  const block = (from: number): { text: string; end: number } => {
    let i = from;
    while (lines[i]?.trim() !== '{') i += 1;
    const start = i;
    while (lines[i]?.trim() !== '}') i += 1;
    return { text: lines.slice(start, i + 1).join('\n'), end: i };
  };
  const examples: SpecExample[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    if (lines[i]?.trim() !== 'Example:') continue;
    const example = block(i + 1);
    let j = example.end + 1;
    while (j < lines.length && lines[j]?.trim() !== 'Response:') j += 1;
    const response = block(j + 1);
    const parsedResponse = JSON.parse(response.text) as Record<string, unknown>;
    examples.push({ action: String(parsedResponse.action), example: example.text, response: parsedResponse });
    i = response.end;
  }
  return examples;
}

export const sortedKeys = (o: Record<string, unknown>): string[] => Object.keys(o).sort();
