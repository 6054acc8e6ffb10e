/**
 * Waiting, the one way the fleet, the tests and the benchmarks do it: sleep(), until() a
 * condition holds, and within() a time limit. Every wait is bounded and says what it
 * waited for when it gives up.
 */
import { PoolManagerError } from '../../contract/errors';

export class HarnessTimeoutError extends PoolManagerError {
  override readonly code: string = 'POOL_ERR_HARNESS_TIMEOUT';
}

/** Resolves after ms, or at once when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Polls cond() every everyMs until it is true; HarnessTimeoutError naming `what` after timeoutMs. */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 20,
): Promise<void> {
  const deadline = Date.now() + Math.max(0, timeoutMs);
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new HarnessTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The promise's outcome, or HarnessTimeoutError naming `what` after ms; the timer never outlives it. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HarnessTimeoutError(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
