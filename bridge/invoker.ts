/**
 * Runs one pool-manager action as a synchronous Lambda invocation.
 *
 * The SDK's defaults do not fit a job that may run for 15 minutes and must not run twice:
 * - its HTTP handler keeps no request timeout of its own choosing and its agent allows 50
 *   sockets: here the request timeout is the invoke timeout (longer than the longest
 *   function's 900 s) and the agent allows as many sockets as jobs may run at once;
 * - it retries, and a retried Invoke whose first attempt reached the function boots a
 *   second server: maxAttempts is 1 and only throttling (429 TooManyRequestsException, the
 *   function never ran) is retried here, with capped exponential backoff and jitter;
 * - an invoke connection sits idle for minutes while the function works, and NAT gateways
 *   drop connections idle for 350 s: the agents send TCP keepalives every 30 s.
 */
import http from 'node:http';
import https from 'node:https';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { LambdaClientConfig } from '@aws-sdk/client-lambda';
import { NodeHttpHandler } from '@smithy/node-http-handler';

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
       * aborted: the bridge is stopping; error: anything else (the function may have run).
       */
      reason: 'timeout' | 'throttled' | 'aborted' | 'error';
      message: string;
    };

export interface Invoker {
  invoke(functionName: string, payload: Uint8Array, signal?: AbortSignal): Promise<InvokeOutcome>;
}

export interface ThrottleRetryOptions {
  /** Retries after the first throttled attempt (default 8). */
  maxRetries?: number;
  /** First backoff (default 200 ms); doubles per retry. */
  baseDelayMs?: number;
  /** Cap of one backoff (default 20 s). */
  maxDelayMs?: number;
}

export interface LambdaInvokerOptions {
  /** Region; undefined: the SDK's default chain (AWS_REGION, profile, ...). */
  region?: string;
  /** A Lambda-compatible endpoint, e.g. serverless-offline's http://127.0.0.1:3002. */
  endpoint?: string;
  /** Explicit credentials; undefined: the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** How long to wait for one function to answer (default 960 s). */
  invokeTimeoutMs?: number;
  /** TCP connect timeout to the endpoint (default 10 s; the function cannot have started). */
  connectTimeoutMs?: number;
  /** Sockets per agent: at least the number of jobs run at once (default 64). */
  maxSockets?: number;
  /** TCP keepalive initial delay on invoke connections (default 30 s). */
  keepAliveMsecs?: number;
  throttle?: ThrottleRetryOptions;
  /** Called before each throttle retry, for logs and metrics. */
  onThrottle?: (info: { functionName: string; attempt: number; delayMs: number }) => void;
}

const DEFAULT_INVOKE_TIMEOUT_MS = 960_000;

export class LambdaInvoker implements Invoker {
  readonly client: LambdaClient;
  private readonly invokeTimeoutMs: number;
  private readonly throttle: Required<ThrottleRetryOptions>;
  private readonly onThrottle: LambdaInvokerOptions['onThrottle'];

  constructor(options: LambdaInvokerOptions = {}) {
    this.invokeTimeoutMs = options.invokeTimeoutMs ?? DEFAULT_INVOKE_TIMEOUT_MS;
    this.throttle = {
      maxRetries: options.throttle?.maxRetries ?? 8,
      baseDelayMs: options.throttle?.baseDelayMs ?? 200,
      maxDelayMs: options.throttle?.maxDelayMs ?? 20_000,
    };
    this.onThrottle = options.onThrottle;
    const agentOptions = {
      keepAlive: true,
      keepAliveMsecs: options.keepAliveMsecs ?? 30_000,
      maxSockets: Math.max(1, options.maxSockets ?? 64),
    };
    const requestHandler = new NodeHttpHandler({
      connectionTimeout: options.connectTimeoutMs ?? 10_000,
      requestTimeout: this.invokeTimeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: this.invokeTimeoutMs,
      httpAgent: new http.Agent(agentOptions),
      httpsAgent: new https.Agent(agentOptions),
    });
    const config: LambdaClientConfig = { maxAttempts: 1, requestHandler };
    if (options.region) config.region = options.region;
    if (options.endpoint) config.endpoint = options.endpoint;
    if (options.credentials) config.credentials = options.credentials;
    this.client = new LambdaClient(config);
  }

  /** Resolves the region now, so a missing one is a startup error rather than a FAIL per job. */
  async region(): Promise<string> {
    return this.client.config.region();
  }

  async invoke(functionName: string, payload: Uint8Array, signal?: AbortSignal): Promise<InvokeOutcome> {
    const deadline = Date.now() + this.invokeTimeoutMs;
    // One controller for this invoke: aborted by the caller's signal or the deadline,
    // and its timer and listener released as soon as the invoke ends.
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) controller.abort();
    const timer = setTimeout(() => controller.abort(), this.invokeTimeoutMs);
    const ended = (): InvokeOutcome =>
      signal?.aborted
        ? { status: 'failed', reason: 'aborted', message: 'the bridge stopped before the function answered' }
        : timedOut(this.invokeTimeoutMs);
    let throttled = 0;
    try {
      for (;;) {
        try {
          const out = await this.client.send(
            new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: payload }),
            { abortSignal: controller.signal },
          );
          return {
            status: 'returned',
            payload: out.Payload ?? new Uint8Array(),
            ...(out.FunctionError ? { functionError: out.FunctionError } : {}),
            ...(throttled ? { throttledAttempts: throttled } : {}),
          };
        } catch (error) {
          if (controller.signal.aborted) return ended();
          if (isTimeout(error)) return timedOut(this.invokeTimeoutMs);
          if (!isThrottle(error))
            return { status: 'failed', reason: 'error', message: await this.redact(describe(error)) };
          throttled += 1;
          const delayMs = Math.max(
            backoffDelay(throttled, this.throttle.baseDelayMs, this.throttle.maxDelayMs),
            retryAfterMs(error, this.throttle.maxDelayMs),
          );
          if (throttled > this.throttle.maxRetries || Date.now() + delayMs >= deadline) {
            return {
              status: 'failed',
              reason: 'throttled',
              message: await this.redact(`throttled by Lambda ${throttled} time(s), giving up: ${describe(error)}`),
            };
          }
          this.onThrottle?.({ functionName, attempt: throttled, delayMs });
          if (!(await sleep(delayMs, controller.signal))) return ended();
        }
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  destroy(): void {
    this.client.destroy();
  }

  /**
   * An error text goes into the job's result and log line: take the secret access key and
   * the session token out of it, whatever the endpoint quoted back (a proxy or a local
   * stand-in may echo the request's headers).
   */
  private async redact(text: string): Promise<string> {
    let identity: { secretAccessKey?: string; sessionToken?: string } | undefined;
    try {
      identity = await this.client.config.credentials();
    } catch {
      return text;
    }
    let out = text;
    for (const secret of [identity?.secretAccessKey, identity?.sessionToken]) {
      if (secret && secret.length >= 8) out = out.split(secret).join('***');
    }
    return out;
  }
}

function timedOut(ms: number): InvokeOutcome {
  return {
    status: 'failed',
    reason: 'timeout',
    message: `no answer within the ${ms / 1000} s invoke timeout (the function may still be running)`,
  };
}

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

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  retryAfterSeconds?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

function shape(error: unknown): ErrorShape {
  return typeof error === 'object' && error !== null ? (error as ErrorShape) : {};
}

function isThrottle(error: unknown): boolean {
  const e = shape(error);
  return e.name === 'TooManyRequestsException' || e.$metadata?.httpStatusCode === 429;
}

/** The SDK's HTTP handler also names a dropped connection (ECONNRESET, EPIPE) "TimeoutError". */
function isDropped(error: unknown): boolean {
  const e = shape(error);
  return e.code === 'ECONNRESET' || e.code === 'EPIPE';
}

function isTimeout(error: unknown): boolean {
  const e = shape(error);
  return !isDropped(error) && (e.name === 'TimeoutError' || e.code === 'ETIMEDOUT');
}

function retryAfterMs(error: unknown, capMs: number): number {
  const seconds = Number(shape(error).retryAfterSeconds);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(capMs, seconds * 1000) : 0;
}

function describe(error: unknown): string {
  const e = shape(error);
  const name = isDropped(error)
    ? `connection dropped (${String(e.code)})`
    : typeof e.name === 'string'
      ? e.name
      : 'Error';
  const message = typeof e.message === 'string' && e.message ? e.message : String(error);
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
  return `${name}: ${message}${status}`;
}

/** Resolves true after ms, or false as soon as the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve(false);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
