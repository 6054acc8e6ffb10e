/** Test fixtures around the cloud simulator: a running cloud and pool settings for it. */
import { uniqueBytes } from '../../contract';
import type { PoolSettings } from '../../functions/config';
import { loadCloudSettings, loadPoolSettings } from '../../functions/config';
import type { LogSink } from '../../contract/logger';
import type { ActionContext } from '../../functions/core/context';
import { systemClock } from '../../functions/core/context';
import { createOpenStack } from '../../functions/openstack';
import type { CloudSim, CloudSimOptions } from '../../scripts/cloud-sim';
import { captureLogger } from '../openstack/helpers';
import { startCloudSim } from '../../scripts/cloud-sim';

export const POOL_ENV = {
  POOL_IMAGE: 'haproxy-lb',
  POOL_FLAVOR: 'm1.small',
  POOL_NODE_BASENAME: 'libra_stg_haproxy',
  POOL_AZ_LABEL: '3',
  POOL_POLL_INITIAL_MS: '20',
  POOL_POLL_MAX_MS: '100',
  POOL_ASSIGN_CONFIRM_INTERVAL_MS: '20',
  POOL_ASSIGN_CONFIRM_ATTEMPTS: '5',
  OS_REQUEST_TIMEOUT_MS: '5000',
};

export async function startCloud(options: CloudSimOptions = {}): Promise<CloudSim> {
  return startCloudSim({ bootDelayMs: 100, ...options });
}

/** The environment a function would see: the simulator's OS_* lines plus pool settings. */
export function functionEnv(sim: CloudSim, extra: Record<string, string> = {}): Record<string, string> {
  return { ...sim.env, ...POOL_ENV, ...extra };
}

/** An action context wired to the simulator through the real OpenStack client. */
export function actionContext(
  sim: CloudSim,
  options: {
    unique?: string | Uint8Array;
    pool?: Partial<PoolSettings>;
    env?: Record<string, string>;
    logger?: LogSink;
  } = {},
): ActionContext {
  const env = functionEnv(sim, options.env);
  const pool = { ...loadPoolSettings(env), ...options.pool };
  const logger = options.logger ?? captureLogger();
  return {
    openstack: createOpenStack(loadCloudSettings(env), { logger, retryBaseDelayMs: 1 }),
    pool,
    logger,
    unique: options.unique === undefined ? undefined : uniqueBytes(options.unique),
    deadlineAt: Date.now() + pool.buildDeadlineMs,
    clock: systemClock,
  };
}
