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
  /** The Gearman unique id of the job, the key that makes a rerun idempotent. */
  unique: string | undefined;
  /** Epoch ms by which the action must be done, cleanup included. */
  deadlineAt: number;
  clock: Clock;
  /** Called with how long a build waited for ACTIVE (ms), for metrics. */
  onBuildWait?: (ms: number) => void;
}
