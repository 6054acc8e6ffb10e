import { describeUnique } from '../../contract';
import type { ActionContext } from './context';

/**
 * The idempotency window (POOL_IDEMPOTENCY_WINDOW_SECONDS, 24 h by default): within it a
 * rerun of a job (same unique id) answers with what the first run made; after it, the same
 * unique id is refused, because what the first run made may be in service by now and must
 * not be handed out again as if it were new.
 */

/**
 * The FAIL text when what the cloud created at `createdAt` (ISO 8601) is older than the
 * window, else undefined (the rerun may answer with it); `what` names the earlier device or address.
 */
export function reuseRefusal(ctx: ActionContext, what: string, createdAt: string | undefined): string | undefined {
  const created = createdAt === undefined ? Number.NaN : Date.parse(createdAt);
  if (!Number.isFinite(created) || ctx.clock.now() - created <= ctx.pool.idempotencyWindowMs) return undefined;
  const unique = ctx.unique ? describeUnique(ctx.unique) : '';
  const seconds = Math.round(ctx.pool.idempotencyWindowMs / 1000);
  return (
    `the unique id ${unique} was already used, at ${createdAt ?? 'an unknown time'}, by the job that made ${what}; ` +
    `that is longer ago than the ${seconds} s idempotency window (POOL_IDEMPOTENCY_WINDOW_SECONDS), so it is not handed out again: ` +
    'send a new job with a fresh unique id'
  );
}
