import { POLL_GROWTH } from '../../contract';
import { OpenStackError, TimeoutError } from '../openstack';
import type { ActionContext } from './context';
import { describeError, isTransient } from './errors';

/**
 * Calls `probe` at growing intervals (POOL_POLL_INITIAL_MS, ×POLL_GROWTH, up to POOL_POLL_MAX_MS) until
 * it returns a value, or returns undefined once the deadline has passed. A transient error
 * (already retried by the client) is logged and polling goes on; any other is thrown.
 */
export async function pollUntilDeadline<T>(
  ctx: ActionContext,
  subject: Record<string, unknown>,
  probe: () => Promise<T | undefined>,
): Promise<T | undefined> {
  let interval = ctx.pool.pollInitialMs;
  for (let poll = 1; ; poll += 1) {
    try {
      const done = await probe();
      if (done !== undefined) return done;
    } catch (error) {
      if (!isTransient(error)) throw error;
      ctx.logger.warn('status poll failed; polling on', { ...subject, poll, error: describeError(error) });
    }
    const remaining = ctx.deadlineAt - ctx.clock.now();
    if (remaining <= 0) return undefined;
    await ctx.clock.sleep(Math.min(interval, remaining));
    interval = Math.min(Math.round(interval * POLL_GROWTH), ctx.pool.pollMaxMs);
  }
}

/**
 * The answer to a create request was lost (it timed out, or a gateway gave up on it): the cloud
 * may still create the resource, so the caller must look for it rather than report nothing.
 */
export function answerLost(error: unknown): boolean {
  return error instanceof TimeoutError || (error instanceof OpenStackError && error.status === 504);
}
