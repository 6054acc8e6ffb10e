/**
 * One HTTP exchange with an OpenStack service, over undici with an explicit dispatcher:
 * timeouts, retries of idempotent requests, mapping of failures to typed errors, and
 * redaction of secrets from every message.
 */
import { STATUS_CODES } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { DEFAULT_REQUEST_POLICY, RETRY_BASE_DELAY_MS } from '../../contract/deadlines';
import type { LogSink } from '../../contract/logger';
import {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  NotFoundError,
  OpenStackError,
  PreconditionFailedError,
  QuotaError,
  TimeoutError,
} from './errors';
import type { OpenStackErrorDetails, ServiceName } from './errors';
import { asObject, asString } from './json';
import { Agent, request } from './undici';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/** Retry delays default to contract/deadlines.json's request policy: the cleanup reserve is sized from the same numbers. */
export const DEFAULT_RETRY_MAX_DELAY_MS = DEFAULT_REQUEST_POLICY.retryMaxDelayMs;

const IDEMPOTENT: ReadonlySet<HttpMethod> = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
/**
 * 429: rate limited (RFC 6585), as the rate-limiting middleware in front of Nova and Neutron
 * answers, with a Retry-After to wait for. 500/502/503/504: the service or a gateway in front
 * of it failed. Either way only idempotent requests are repeated (see `send`).
 */
const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);
const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
]);
const RETRYABLE_CONNECTION_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
/** Connection failures that sent nothing: the service cannot have acted on the request. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);
/** A certificate or TLS failure (by its code): the handshake failed, so nothing was sent either. */
const TLS_CODE = /CERT|SELF_SIGNED|TLS|SSL/i;

/** How one attempt failed, for `isRetryable`. */
export type Failure = { kind: 'status'; status: number } | { kind: 'timeout' } | { kind: 'connection'; code: string };

/**
 * The one rule of what is worth repeating: it marks every error `retryable`, and `send`
 * repeats an idempotent request exactly when its error is retryable (waiting for a
 * Retry-After, capped by retryMaxDelayMs). A status in RETRY_STATUSES, a timeout, or a
 * connection that failed or dropped; not a 4xx other than 429 (it would be refused again),
 * nor a TLS failure or an unknown host (they do not heal by themselves).
 */
export function isRetryable(failure: Failure): boolean {
  switch (failure.kind) {
    case 'status':
      return RETRY_STATUSES.has(failure.status);
    case 'timeout':
      return true;
    case 'connection':
      return RETRYABLE_CONNECTION_CODES.has(failure.code);
  }
}

export interface HttpClientOptions {
  dispatcher: Dispatcher;
  timeoutMs: number;
  retries: number;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  logger?: LogSink;
  /** Values that must never appear in a message: tokens, the password, the secret. */
  secrets: () => Iterable<string>;
  random?: () => number;
}

export interface HttpRequest {
  service: ServiceName;
  method: HttpMethod;
  /** The service's base URL, without a trailing slash. */
  baseUrl: string;
  /** Path under baseUrl, with its query string; messages and logs show it without the query. */
  path: string;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Overrides the idempotency rule (Keystone's token POST may safely be repeated). */
  retry?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or undefined for an empty or non-JSON body. */
  body: unknown;
}

export class HttpClient {
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;

  constructor(private readonly options: HttpClientOptions) {
    this.baseDelayMs = options.retryBaseDelayMs ?? RETRY_BASE_DELAY_MS;
    this.maxDelayMs = options.retryMaxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS;
    this.random = options.random ?? Math.random;
  }

  /**
   * The 2xx response, or the typed error of the last attempt. An idempotent request (or one
   * marked `retry`) is repeated up to `retries` more times while its error is retryable,
   * after a jittered backoff or the service's Retry-After.
   */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const canRetry = req.retry ?? IDEMPOTENT.has(req.method);
    const maxAttempts = 1 + (canRetry ? Math.max(0, Math.floor(this.options.retries)) : 0);
    const shownPath = stripQuery(req.path);
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.once(req, shownPath, attempt);
      if ('response' in outcome) {
        const { response, text } = outcome;
        if (response.status >= 200 && response.status < 300) return response;
        const error = this.statusError(req, shownPath, response, text, attempt);
        if (attempt >= maxAttempts || !error.retryable) throw error;
        await this.pause(req, shownPath, attempt, `status ${response.status}`, retryAfterMs(response.headers));
      } else {
        const { error } = outcome;
        if (attempt >= maxAttempts || !error.retryable) throw attempt > 1 ? withAttempts(error, attempt) : error;
        await this.pause(req, shownPath, attempt, error.code, undefined);
      }
    }
  }

  private async once(
    req: HttpRequest,
    shownPath: string,
    attempt: number,
  ): Promise<{ response: HttpResponse; text: string } | { error: OpenStackError }> {
    const { timeoutMs, dispatcher } = this.options;
    const headers: Record<string, string> = { Accept: 'application/json', ...req.headers };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['Content-Type'] = 'application/json';
    }
    const started = performance.now();
    try {
      const res = await request(req.baseUrl + req.path, {
        dispatcher,
        method: req.method,
        headers,
        body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.body.text();
      this.options.logger?.debug('openstack request', {
        service: req.service,
        method: req.method,
        path: shownPath,
        status: res.statusCode,
        durationMs: Math.round(performance.now() - started),
        attempt,
      });
      return { response: { status: res.statusCode, headers: res.headers, body: parseJson(text) }, text };
    } catch (cause) {
      const error = this.transportError(req, shownPath, cause);
      this.options.logger?.debug('openstack request', {
        service: req.service,
        method: req.method,
        path: shownPath,
        status: 0,
        error: error.code,
        durationMs: Math.round(performance.now() - started),
        attempt,
      });
      return { error };
    }
  }

  private async pause(
    req: HttpRequest,
    shownPath: string,
    attempt: number,
    reason: string,
    retryAfter: number | undefined,
  ): Promise<void> {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    const delayMs =
      retryAfter !== undefined ? Math.min(retryAfter, this.maxDelayMs) : Math.round(this.random() * ceiling);
    this.options.logger?.debug('openstack request retry', {
      service: req.service,
      method: req.method,
      path: shownPath,
      attempt,
      reason,
      delayMs,
    });
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  }

  /** Redacts every secret (and the given extra values) from a text bound for a message. */
  redact(text: string, extra: readonly (string | undefined)[] = []): string {
    return redactValues(text, [...this.options.secrets(), ...extra]);
  }

  private redactFor(req: HttpRequest, text: string): string {
    return this.redact(text, [req.headers?.['X-Auth-Token']]);
  }

  private statusError(
    req: HttpRequest,
    shownPath: string,
    res: HttpResponse,
    text: string,
    attempts: number,
  ): OpenStackError {
    const { message: rawFault, kind } = extractFault(res.body, text);
    const fault = this.redactFor(req, rawFault || STATUS_CODES[res.status] || 'error');
    const suffix = attempts > 1 ? ` (after ${attempts} attempts)` : '';
    const message = this.redactFor(
      req,
      `${req.service} ${req.method} ${shownPath} failed: ${res.status} ${fault}${suffix}`,
    );
    const details: OpenStackErrorDetails = {
      service: req.service,
      method: req.method,
      path: shownPath,
      status: res.status,
      fault,
      retryable: isRetryable({ kind: 'status', status: res.status }),
    };
    const quotaText = /quota|over.?limit/i.test(`${kind ?? ''} ${fault}`);
    switch (res.status) {
      case 401:
        return new AuthenticationError(message, details);
      case 404:
        return new NotFoundError(message, details);
      case 409:
        return quotaText ? new QuotaError(message, details) : new ConflictError(message, details);
      case 412:
        return new PreconditionFailedError(message, details);
      case 403:
      case 413:
        return quotaText ? new QuotaError(message, details) : new OpenStackError(message, details);
      default:
        return new OpenStackError(message, details);
    }
  }

  private transportError(req: HttpRequest, shownPath: string, cause: unknown): OpenStackError {
    const code = errorCode(cause);
    const name = cause instanceof Error ? cause.name : '';
    const details: OpenStackErrorDetails = { service: req.service, method: req.method, path: shownPath };
    const prefix = `${req.service} ${req.method} ${shownPath} failed`;
    if (TIMEOUT_CODES.has(code) || name === 'TimeoutError' || name === 'AbortError') {
      const what = code === 'UND_ERR_CONNECT_TIMEOUT' ? 'no connection' : 'no complete response';
      return new TimeoutError(this.redactFor(req, `${prefix}: ${what} within ${this.options.timeoutMs} ms`), {
        ...details,
        retryable: isRetryable({ kind: 'timeout' }),
      });
    }
    const text = cause instanceof Error ? cause.message : String(cause);
    const retryable = isRetryable({ kind: 'connection', code });
    const tls = TLS_CODE.test(code);
    const hint = tls ? ' (TLS: set the CA bundle, OS_CACERT)' : '';
    return new ConnectionError(this.redactFor(req, `${prefix}: ${code ? `${code} ` : ''}${text}${hint}`), {
      ...details,
      retryable,
      requestSent: !tls && !NOT_SENT_CODES.has(code),
    });
  }
}

/** `text` with every occurrence of each non-empty value replaced by `***`. */
export function redactValues(text: string, values: Iterable<string | undefined>): string {
  let out = text;
  for (const value of values) {
    if (value) out = out.split(value).join('***');
  }
  return out;
}

function withAttempts(error: OpenStackError, attempts: number): OpenStackError {
  const Ctor = error.constructor as new (message: string, details: OpenStackErrorDetails) => OpenStackError;
  return new Ctor(`${error.message} (after ${attempts} attempts)`, {
    service: error.service,
    method: error.method,
    path: error.path,
    status: error.status,
    retryable: error.retryable,
    fault: error.fault,
    requestSent: error.requestSent,
  });
}

export function stripQuery(path: string): string {
  const q = path.search(/[?#]/);
  return q === -1 ? path : path.slice(0, q);
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function errorCode(cause: unknown): string {
  if (typeof cause !== 'object' || cause === null) return '';
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Happy Eyeballs reports an AggregateError whose members carry the codes.
  const errors = (cause as { errors?: unknown }).errors;
  if (Array.isArray(errors) && errors.length > 0) return errorCode(errors[0]);
  const inner = (cause as { cause?: unknown }).cause;
  return inner === undefined ? '' : errorCode(inner);
}

/**
 * The service's own fault text: Nova `{"<kind>": {"message", "code"}}`, Neutron
 * `{"NeutronError": {"type", "message"}}`, Keystone `{"error": {"message"}}`, else the
 * first 200 characters of the text, tags stripped.
 */
export function extractFault(body: unknown, text: string): { message: string; kind?: string } {
  const obj = asObject(body);
  if (obj) {
    const neutron = asObject(obj.NeutronError);
    if (neutron) return { message: asString(neutron.message) ?? '', kind: asString(neutron.type) };
    if (typeof obj.NeutronError === 'string') return { message: obj.NeutronError };
    const keystone = asObject(obj.error);
    if (keystone && asString(keystone.message)) {
      return { message: asString(keystone.message) ?? '', kind: asString(keystone.title) };
    }
    for (const [kind, value] of Object.entries(obj)) {
      const message = asString(asObject(value)?.message);
      if (message) return { message, kind };
    }
    const message = asString(obj.message) ?? asString(obj.faultstring);
    if (message) return { message };
  }
  const plain = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return { message: plain.slice(0, 200) };
}

/** Retry-After in seconds or as an HTTP date, in milliseconds; undefined when absent or bad. */
export function retryAfterMs(headers: IncomingHttpHeaders, now: number = Date.now()): number | undefined {
  const raw = headers['retry-after'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.max(0, Math.round(Number(value) * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

let insecureWarned = false;

/** The per-client agent: timeouts, CA bundle, and (only when asked) no TLS verification. */
export function createAgent(
  settings: { requestTimeoutMs: number; caCertPem?: string; insecure: boolean },
  logger: LogSink | undefined,
): Agent {
  if (settings.insecure && !insecureWarned) {
    insecureWarned = true;
    const message = 'OpenStack TLS certificate verification is disabled (insecure): use a CA bundle instead';
    if (logger) logger.warn(message);
    else console.warn(message);
  }
  return new Agent({
    headersTimeout: settings.requestTimeoutMs,
    bodyTimeout: settings.requestTimeoutMs,
    connect: {
      timeout: settings.requestTimeoutMs,
      ...(settings.caCertPem ? { ca: settings.caCertPem } : {}),
      ...(settings.insecure ? { rejectUnauthorized: false } : {}),
    },
  });
}

/** For tests: let the next insecure client warn again. */
export function resetInsecureWarning(): void {
  insecureWarned = false;
}
