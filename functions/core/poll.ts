import { POLL_GROWTH } from '../../contract';
import { ConnectionError, OpenStackError, TimeoutError } from '../openstack';
import type { ActionContext } from './context';
import { describeError, isTransient } from './errors';

/**
 * Calls `probe` at growing intervals (POOL_POLL_INITIAL_MS, ×POLL_GROWTH, up to POOL_POLL_MAX_MS) until
 * it returns a value, or returns undefined once the deadline has passed. A transient error
 * (already retried by the client) is logged and polling goes on; any other is thrown.
 *
 * A probe still running at the deadline is not waited for (its request may take several
 * timed-out attempts): the cleanup reserve after the deadline is for the cleanup alone.
 */
export async function pollUntilDeadline<T>(
  ctx: ActionContext,
  subject: Record<string, unknown>,
  probe: () => Promise<T | undefined>,
): Promise<T | undefined> {
  let interval = ctx.pool.pollInitialMs;
  for (let poll = 1; ; poll += 1) {
    try {
      const done = await beforeDeadline(ctx, probe());
      if (!done.finished) {
        ctx.logger.warn('the deadline passed with a status poll still in flight; not waiting for it', subject);
        return undefined;
      }
      if (done.value !== undefined) return done.value;
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

/** Polls `list` (as pollUntilDeadline) until it holds something; undefined if the deadline passes first. */
export function pollUntilAny<T>(
  ctx: ActionContext,
  subject: Record<string, unknown>,
  list: () => Promise<T[]>,
): Promise<T[] | undefined> {
  return pollUntilDeadline(ctx, subject, async () => {
    const items = await list();
    return items.length > 0 ? items : undefined;
  });
}

/**
 * The work's outcome if it settles before the action's deadline, else `finished: false`
 * (the work goes on unobserved; its failure is swallowed). A real timer, not ctx.clock:
 * it must be cancelled when the work wins, or it would hold the process up to the deadline.
 */
async function beforeDeadline<T>(
  ctx: ActionContext,
  work: Promise<T>,
): Promise<{ finished: true; value: T } | { finished: false }> {
  work.catch(() => undefined);
  const remaining = Math.max(ctx.deadlineAt - ctx.clock.now(), 0);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<{ finished: false }>((resolve) => {
    timer = setTimeout(() => resolve({ finished: false }), remaining);
  });
  try {
    return await Promise.race([work.then((value) => ({ finished: true as const, value })), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The answer to a create request was lost (it timed out, or a gateway gave up on it): the cloud
 * may still create the resource, so the caller must look for it rather than report nothing.
 */
export function answerLost(error: unknown): boolean {
  return error instanceof TimeoutError || (error instanceof OpenStackError && error.status === 504);
}

/**
 * The request may have been carried out although it failed: the connection dropped after it
 * was sent (a reset, a closed socket), or the service or a gateway in front of it answered 5xx.
 * What the cloud made then can be found at once (Nova and Neutron store a resource before they
 * answer). A refused connection, an unknown host or a failed TLS handshake sent nothing (the
 * client records which as `requestSent`).
 */
export function mayHaveBeenCarriedOut(error: unknown): boolean {
  if (error instanceof ConnectionError) return error.requestSent !== false;
  return error instanceof OpenStackError && error.status !== undefined && error.status >= 500;
}
