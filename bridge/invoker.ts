/**
 * What the worker needs of whatever runs a job's function: the Invoker interface and its
 * outcome, the --dry-run invoker, and the backoff rule every retry of the bridge uses. The
 * AWS one is ./lambda-invoker.ts, loaded only when the bridge invokes Lambda (it carries
 * the SDK).
 */

/** What came of one invocation. An Invoker resolves to this and never rejects. */
export type InvokeOutcome =
  | {
      status: 'returned';
      /** The function's response bytes (its JSON result, or its error document). */
      payload: Uint8Array;
      /** Set when the function failed ("Unhandled", "Handled"): payload is then its error. */
      functionError?: string;
      /** How many throttled attempts preceded the one that ran. */
      throttledAttempts?: number;
    }
  | {
      status: 'failed';
      /**
       * timeout: no answer within the invoke timeout (the function may still be running);
       * throttled: still throttled when the retries or the time ran out (it never ran);
       * lost: the answer was lost on every attempt (the function may have run);
       * aborted: the bridge is stopping; error: Lambda refused the request, or it never
       * reached Lambda (the function did not run); dry-run: --dry-run, nothing is invoked.
       */
      reason: 'timeout' | 'throttled' | 'lost' | 'aborted' | 'error' | 'dry-run';
      message: string;
      /** How many attempts lost their answer (reason lost). */
      attempts?: number;
    };

export interface Invoker {
  /**
   * Runs the function with this payload. `signal` aborts it (the bridge is stopping); the
   * invoke should give up after `timeoutMs` (the job's deadline; the caller stops waiting
   * then in any case).
   */
  invoke(functionName: string, payload: Uint8Array, signal?: AbortSignal, timeoutMs?: number): Promise<InvokeOutcome>;
}

/** The outcome of an invoke given up because the bridge is stopping. */
export const ABORTED: InvokeOutcome = {
  status: 'failed',
  reason: 'aborted',
  message: 'the bridge stopped before the function answered',
};

/** The outcome of an invoke with no answer within `ms`; `limit` names which limit that was. */
export function timedOut(ms: number, limit = 'invoke timeout'): InvokeOutcome {
  return {
    status: 'failed',
    reason: 'timeout',
    message: `no answer within the ${ms / 1000} s ${limit} (the function may still be running)`,
  };
}

/**
 * --dry-run: every job goes through the same parsing and routing as a real one, and is
 * answered with a FAIL instead of an invoke (never a PASS: nothing was done). For checking
 * a new bridge's wiring to gearmand, and for measuring the bridge without Lambda.
 */
export const dryRunInvoker: Invoker = {
  invoke: (): Promise<InvokeOutcome> => DRY_RUN_OUTCOME,
};
const DRY_RUN_OUTCOME: Promise<InvokeOutcome> = Promise.resolve({
  status: 'failed',
  reason: 'dry-run',
  message: 'dry run: no function invoked',
});

/**
 * Capped exponential backoff with jitter: a random delay between half and all of
 * min(cap, base * 2^(attempt-1)), so many throttled jobs do not retry in step.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
