/**
 * End-to-end helpers: the fleet as the tests start it, the real `gearman` CLI
 * (gearman-tools) as the client, and the examples of the user's specification, read from
 * the file itself so they are sent exactly as written.
 */
import { spawn } from 'node:child_process';
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

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command (no shell) to completion, killing it (by PID) after timeoutMs. */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
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

/** Polls until cond() holds; throws with `what` after timeoutMs. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
