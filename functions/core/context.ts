import type { PoolSettings } from '../config';
import type { LogSink } from '../../contract/logger';
import type { OpenStack } from '../openstack';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Everything an action needs; handlers build it, tests build it by hand. */
export interface ActionContext {
  openstack: OpenStack;
  pool: PoolSettings;
  logger: LogSink;
  /** The Gearman unique id of the job (its bytes), the key that makes a rerun idempotent. */
  unique: Uint8Array | undefined;
  /** Epoch ms after which the action waits no more (for ACTIVE, for an address): it cleans up and answers. */
  deadlineAt: number;
  clock: Clock;
  /** Called with how long a build waited for ACTIVE (ms), for metrics. */
  onBuildWait?: (ms: number) => void;
}
