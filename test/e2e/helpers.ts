/**
 * End-to-end helpers: the fleet as the tests start it and the real `gearman` CLI
 * (gearman-tools) as the client. The messages the tests send come from contract/examples/
 * (test/helpers/contract-examples.ts).
 */
import type { Fleet, FleetOptions } from '../../scripts/fleet';
import { startFleet } from '../../scripts/fleet';
import type { GearmanCliResult } from '../helpers/gearman-cli';
import { gearmanCli } from '../helpers/gearman-cli';
import { GEARMAN_FUNCTION } from '../../contract';

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
  return gearmanCli(fleet.gearmand, GEARMAN_FUNCTION, payload, options);
}

/** A newcomer's shell: this environment less every cloud, AWS, pool and fleet setting (OS_*, AWS_*, POOL_*, FLEET_*). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(OS_|POOL_|FLEET_|AWS_)/.test(name)),
  );
  return { ...env, ...extra };
}

export const sortedKeys = (o: Record<string, unknown>): string[] => Object.keys(o).sort();
