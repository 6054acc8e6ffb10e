/**
 * Typed access to contract/deadlines.json, the one source of truth for time limits:
 * serverless.yml reads the same file (`${file(./contract/deadlines.json):...}`) for
 * each function's timeout and memory, the handlers take their build deadline and
 * cleanup reserve from here, and pool-bridge its default invoke and drain timeouts.
 *
 * - buildDevice's timeout is Lambda's maximum, 900 s. Its build deadline (how long it
 *   waits for ACTIVE, POOL_BUILD_DEADLINE_SECONDS) is that timeout minus the cleanup
 *   reserve, so a failed build can still delete its server before Lambda stops it.
 * - The handler also keeps the cleanup reserve from the time Lambda says is left, so
 *   an overridden, longer POOL_BUILD_DEADLINE_SECONDS cannot eat into the cleanup
 *   (reserveMs: a shorter function keeps a quarter of its timeout instead).
 * - The bridge waits for the longest function timeout plus a margin (invoke latency,
 *   a cold start), so a function that runs to its timeout is answered by the function's
 *   own result or Lambda's timeout error, never by the bridge giving up first.
 */
import type { FunctionName } from './actions';
import { ACTIONS } from './actions';
import deadlines from './deadlines.json';

export interface FunctionLimits {
  /** Lambda timeout, seconds. */
  timeout: number;
  /** Lambda memory, MB. */
  memorySize: number;
  /** Why this size (documentation). */
  sizing: string;
}

export const LAMBDA_MAX_TIMEOUT_SECONDS: number = deadlines.lambdaMaxTimeoutSeconds;
/** Default of POOL_BUILD_DEADLINE_SECONDS. */
export const BUILD_DEADLINE_SECONDS: number = deadlines.buildDeadlineSeconds;
/** Time kept back from Lambda's own timeout so a failed build can still delete its server. */
export const CLEANUP_RESERVE_MS: number = deadlines.cleanupReserveSeconds * 1000;
export const BRIDGE_MARGIN_SECONDS: number = deadlines.bridgeMarginSeconds;

export const FUNCTION_LIMITS: Readonly<Record<FunctionName, FunctionLimits>> = deadlines.functions;

/**
 * Time a handler keeps back from Lambda's remaining time, ms: the cleanup reserve for
 * buildDevice (900 s: 120 s), a quarter of the timeout for the shorter functions (120 s: 30 s),
 * so every action's deadline leaves room to clean up and answer.
 */
export function reserveMs(name: FunctionName): number {
  return Math.min(CLEANUP_RESERVE_MS, (FUNCTION_LIMITS[name].timeout * 1000) / 4);
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
