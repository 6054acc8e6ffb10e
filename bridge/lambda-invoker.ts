/**
 * Runs one pool-manager action as a synchronous Lambda invocation.
 *
 * The SDK's defaults do not fit a job that may run for 15 minutes and must not run twice:
 * - its HTTP handler keeps no request timeout of its own choosing and its agent allows 50
 *   sockets: here the request timeout is the invoke timeout (longer than the longest
 *   function's 900 s) and the agent allows as many sockets as jobs may run at once;
 * - it retries blindly; here maxAttempts is 1 and the retries are the bridge's own, each for a
 *   reason: throttling (429 TooManyRequestsException: the function never ran) with capped
 *   exponential backoff and jitter, and a lost answer (the connection reset or closed after
 *   the request went out, or a 5xx from Lambda's front end that is not a function error):
 *   the function may have run, and every action is safe to rerun with the same envelope
 *   (same unique id), so it is invoked again, a bounded number of times, before the job is
 *   answered FAIL saying it may have run;
 * - an invoke connection sits idle for minutes while the function works, and NAT gateways
 *   drop connections idle for 350 s: the agents send TCP keepalives every 30 s.
 */
import http from 'node:http';
import https from 'node:https';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { LambdaClientConfig } from '@aws-sdk/client-lambda';
import { NodeHttpHandler } from '@smithy/node-http-handler';
// From the module itself, not the contract's index: this file is loaded by a dynamic import,
// and pulling the whole index into that lazily loaded graph made esbuild wrap it there,
// 9 KB more evaluated at start-up and +2.5 MiB of idle RSS (bench, bridge idle RSS).
import { defaultInvokeTimeoutSeconds } from '../contract/deadlines';

import type { Invoker, InvokeOutcome } from './invoker';
import { ABORTED, backoffDelay, timedOut } from './invoker';

export interface ThrottleRetryOptions {
  /** Retries after the first throttled attempt (default 8). */
  maxRetries?: number;
  /** First backoff (default 200 ms); doubles per retry. */
  baseDelayMs?: number;
  /** Cap of one backoff (default 20 s). */
  maxDelayMs?: number;
}

export interface LostAnswerRetryOptions {
  /** Attempts in all, the first included, while answers are lost (default 3). */
  maxAttempts?: number;
  /** First backoff (default 500 ms); doubles per retry. */
  baseDelayMs?: number;
  /** Cap of one backoff (default 5 s). */
  maxDelayMs?: number;
}

export interface LambdaInvokerOptions {
  /** Region; undefined: the SDK's default chain (AWS_REGION, profile, ...). */
  region?: string;
  /** A Lambda-compatible endpoint, e.g. serverless-offline's http://127.0.0.1:3002. */
  endpoint?: string;
  /** Explicit credentials; undefined: the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** How long to wait for one function to answer (default: the longest function timeout plus the bridge margin, defaultInvokeTimeoutSeconds()). */
  invokeTimeoutMs?: number;
  /** TCP connect timeout to the endpoint (default 10 s; the function cannot have started). */
  connectTimeoutMs?: number;
  /** Sockets per agent: at least the number of jobs run at once (default 64). */
  maxSockets?: number;
  /** TCP keepalive initial delay on invoke connections (default 30 s). */
  keepAliveMsecs?: number;
  throttle?: ThrottleRetryOptions;
  lostAnswer?: LostAnswerRetryOptions;
  /** Called before each throttle retry, for logs and metrics. */
  onThrottle?: (info: { functionName: string; attempt: number; delayMs: number }) => void;
  /** Called before each invoke made again because the last one's answer was lost. */
  onLostAnswer?: (info: { functionName: string; attempt: number; delayMs: number; error: string }) => void;
}

export class LambdaInvoker implements Invoker {
  readonly client: LambdaClient;
  private readonly invokeTimeoutMs: number;
  private readonly throttle: Required<ThrottleRetryOptions>;
  private readonly lostAnswer: Required<LostAnswerRetryOptions>;
  private readonly onThrottle: LambdaInvokerOptions['onThrottle'];
  private readonly onLostAnswer: LambdaInvokerOptions['onLostAnswer'];

  constructor(options: LambdaInvokerOptions = {}) {
    this.invokeTimeoutMs = options.invokeTimeoutMs ?? defaultInvokeTimeoutSeconds() * 1000;
    this.throttle = {
      maxRetries: options.throttle?.maxRetries ?? 8,
      baseDelayMs: options.throttle?.baseDelayMs ?? 200,
      maxDelayMs: options.throttle?.maxDelayMs ?? 20_000,
    };
    this.lostAnswer = {
      maxAttempts: Math.max(1, options.lostAnswer?.maxAttempts ?? 3),
      baseDelayMs: options.lostAnswer?.baseDelayMs ?? 500,
      maxDelayMs: options.lostAnswer?.maxDelayMs ?? 5000,
    };
    this.onThrottle = options.onThrottle;
    this.onLostAnswer = options.onLostAnswer;
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

  async invoke(
    functionName: string,
    payload: Uint8Array,
    signal?: AbortSignal,
    timeoutMs = this.invokeTimeoutMs,
  ): Promise<InvokeOutcome> {
    const limitMs = Math.min(timeoutMs, this.invokeTimeoutMs);
    const deadline = Date.now() + limitMs;
    // One controller for this invoke: aborted by the caller's signal or the deadline,
    // and its timer and listener released as soon as the invoke ends.
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) controller.abort();
    const timer = setTimeout(() => controller.abort(), limitMs);
    const ended = (): InvokeOutcome => (signal?.aborted ? ABORTED : timedOut(limitMs));
    let throttled = 0;
    let lost = 0;
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
          if (isTimeout(error)) return timedOut(limitMs);
          if (!isThrottle(error)) {
            if (neverRan(error))
              return { status: 'failed', reason: 'error', message: await this.redact(describe(error)) };
            lost += 1;
            const delayMs = backoffDelay(lost, this.lostAnswer.baseDelayMs, this.lostAnswer.maxDelayMs);
            if (lost >= this.lostAnswer.maxAttempts || Date.now() + delayMs >= deadline) {
              return {
                status: 'failed',
                reason: 'lost',
                attempts: lost,
                message: await this.redact(`the answer was lost ${lost} time(s), last: ${describe(error)}`),
              };
            }
            this.onLostAnswer?.({ functionName, attempt: lost, delayMs, error: await this.redact(describe(error)) });
            if (!(await sleep(delayMs, controller.signal))) return ended();
            continue;
          }
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

/**
 * Errors that say the request never reached the function: Lambda refused it (a 4xx other
 * than throttling: permissions, no such function, a bad request), or it never left this
 * host (no route, no such host, nothing listening, no credentials). Anything else may have
 * lost the answer of a function that ran.
 */
function neverRan(error: unknown): boolean {
  const e = shape(error);
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return true;
  if (typeof e.code === 'string' && CONNECT_ERRORS.has(e.code)) return true;
  if (e.name === 'CredentialsProviderError') return true;
  // The HTTP handler's connect timeout: the request was never sent.
  return typeof e.message === 'string' && e.message.includes('without establishing a connection');
}

const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_INVALID_URL',
]);

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
