/**
 * End-to-end helpers: the fleet as the tests start it and the real `gearman` CLI
 * (gearman-tools) as the client. The messages the tests send come from contract/examples/
 * (test/helpers/contract-examples.ts).
 */
import { spawn } from 'node:child_process';
import { GEARMAN_FUNCTION } from '../../contract';
import type { Fleet, FleetOptions } from '../../scripts/fleet';
import { ROOT, startFleet } from '../../scripts/fleet';

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

export interface GearmanResult extends RunResult {
  /** stdout parsed as JSON (undefined when it is not JSON). */
  json: Record<string, unknown> | undefined;
}

/**
 * The real gearman CLI as a client: gearman -h HOST -p PORT -f libra_pool_mgm [-u UNIQUE] PAYLOAD.
 * It prints the job's result on stdout.
 */
export async function gearman(
  fleet: Fleet,
  payload: string,
  options: { unique?: string; timeoutMs?: number } = {},
): Promise<GearmanResult> {
  const args = ['-h', fleet.gearmand.host, '-p', String(fleet.gearmand.port), '-f', GEARMAN_FUNCTION];
  if (options.unique !== undefined) args.push('-u', options.unique);
  args.push(payload);
  const result = await run('gearman', args, { timeoutMs: options.timeoutMs ?? 30_000 });
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(result.stdout);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
      json = parsed as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { ...result, json };
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
