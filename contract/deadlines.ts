/**
 * Typed access to contract/deadlines.json, the one source of truth for time limits:
 * serverless.yml reads the same file (`${file(./contract/deadlines.json):...}`) for
 * each function's timeout and memory, the handlers take their build deadline and
 * cleanup reserve from here, the OpenStack client its request policy, and pool-bridge its
 * default invoke and drain timeouts.
 *
 * - A request to OpenStack is tried up to 1 + retries times, each attempt bounded by the
 *   request timeout, with a backoff of at most retryMaxDelay between attempts (a cloud's
 *   Retry-After is honoured up to that cap). `requestWorstCaseMs` is how long one request
 *   can take under that policy.
 * - The cleanup reserve is what a failed build needs after its deadline to delete its
 *   server: `cleanupRequests` requests at their worst (a Keystone token, the DELETE; the
 *   status poll in flight at the deadline is abandoned, not waited for), plus a margin to
 *   answer. It is derived from the policy actually configured (OS_REQUEST_TIMEOUT_MS,
 *   OS_REQUEST_RETRIES), so a slower policy keeps a larger reserve.
 * - buildDevice's timeout is Lambda's maximum, 900 s. Its build deadline (how long it
 *   waits for ACTIVE, POOL_BUILD_DEADLINE_SECONDS) defaults to that timeout minus the
 *   reserve of the default policy. The handler also keeps the reserve from the time
 *   Lambda says is left, so a longer POOL_BUILD_DEADLINE_SECONDS cannot eat into it
 *   (reserveMs: a shorter function keeps at most a quarter of its timeout instead).
 * - The bridge waits for the longest function timeout plus a margin (invoke latency,
 *   a cold start), so a function that runs to its timeout is answered by the function's
 *   own result or Lambda's timeout error, never by the bridge giving up first.
 */
import type { FunctionName } from './actions';
import { ACTIONS } from './actions';
import deadlines from './deadlines.json';

interface FunctionLimits {
  /** Lambda timeout, seconds. */
  timeout: number;
  /** Lambda memory, MB. */
  memorySize: number;
  /** Why this size (documentation). */
  sizing: string;
}

/** How the OpenStack client repeats a request (http.ts). */
export interface RequestPolicy {
  /** Each attempt's timeout, ms (OS_REQUEST_TIMEOUT_MS). */
  timeoutMs: number;
  /** Attempts after the first (OS_REQUEST_RETRIES). */
  retries: number;
  /** The longest pause between two attempts, ms. */
  retryMaxDelayMs: number;
}

export const LAMBDA_MAX_TIMEOUT_SECONDS: number = deadlines.lambdaMaxTimeoutSeconds;
export const BRIDGE_MARGIN_SECONDS: number = deadlines.bridgeMarginSeconds;

/** The request policy's defaults: OS_REQUEST_TIMEOUT_MS, OS_REQUEST_RETRIES, the backoff. */
export const DEFAULT_REQUEST_POLICY: Readonly<RequestPolicy> = Object.freeze({
  timeoutMs: deadlines.request.timeoutSeconds * 1000,
  retries: deadlines.request.retries,
  retryMaxDelayMs: deadlines.request.retryMaxDelaySeconds * 1000,
});
/** The first backoff's ceiling; each later one doubles, up to retryMaxDelayMs. */
export const RETRY_BASE_DELAY_MS: number = deadlines.request.retryBaseDelayMilliseconds;

/** The longest one request can take under the policy: every attempt timing out, every pause at its cap. */
function requestWorstCaseMs(policy: RequestPolicy): number {
  return (policy.retries + 1) * policy.timeoutMs + policy.retries * policy.retryMaxDelayMs;
}

/** Time kept back after a build's deadline so that a failed build can still delete its server and answer. */
export function cleanupReserveMs(policy: RequestPolicy = DEFAULT_REQUEST_POLICY): number {
  return deadlines.cleanupRequests * requestWorstCaseMs(policy) + deadlines.answerMarginSeconds * 1000;
}

/** The cleanup reserve under the default request policy (275 s). */
export const CLEANUP_RESERVE_MS: number = cleanupReserveMs();
/** Default of POOL_BUILD_DEADLINE_SECONDS: buildDevice's timeout less the default reserve. */
export const BUILD_DEADLINE_SECONDS: number = deadlines.buildDeadlineSeconds;

/**
 * Within this window a rerun of a job (same Gearman unique id) returns the first run's
 * device or address; after it, a reuse of the unique id is refused (POOL_IDEMPOTENCY_WINDOW_SECONDS).
 */
export const IDEMPOTENCY_WINDOW_SECONDS: number = deadlines.idempotencyWindowSeconds;

export const FUNCTION_LIMITS: Readonly<Record<FunctionName, FunctionLimits>> = deadlines.functions;

/**
 * Time a handler keeps back from Lambda's remaining time, ms: the whole cleanup reserve for
 * buildDevice (the one function that leaves a server behind if it cannot clean up), at
 * most a quarter of the timeout for the shorter functions, so every action's deadline
 * leaves room to clean up and answer.
 */
export function reserveMs(name: FunctionName, policy: RequestPolicy = DEFAULT_REQUEST_POLICY): number {
  const reserve = cleanupReserveMs(policy);
  return name === ACTIONS.BUILD_DEVICE ? reserve : Math.min(reserve, (FUNCTION_LIMITS[name].timeout * 1000) / 4);
}

/**
 * Each status poll waits this many times longer than the one before (from
 * POOL_POLL_INITIAL_MS up to POOL_POLL_MAX_MS): a fast boot is seen soon, a slow one costs
 * few requests.
 */
export const POLL_GROWTH = 1.5;

/** The longest of the six function timeouts, seconds. */
export function longestFunctionTimeoutSeconds(): number {
  return Math.max(...Object.values(ACTIONS).map((name) => FUNCTION_LIMITS[name].timeout));
}

/** pool-bridge's default --invoke-timeout (and --drain-timeout), seconds. */
export function defaultInvokeTimeoutSeconds(): number {
  return longestFunctionTimeoutSeconds() + BRIDGE_MARGIN_SECONDS;
}
