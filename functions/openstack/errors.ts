/**
 * Typed errors of the OpenStack client. Every message names the request (service, method,
 * path without its query string) and the cloud's own fault text; none ever carries a token,
 * a password or an application-credential secret (the HTTP layer redacts them).
 */

export type ServiceName = 'Keystone' | 'Nova' | 'Neutron' | 'Glance';

export interface OpenStackErrorDetails {
  service?: ServiceName;
  method?: string;
  path?: string;
  status?: number;
  /** Whether repeating the same request later may succeed (5xx, connection errors, timeouts). */
  retryable?: boolean;
  /** The fault text the service returned, already redacted. */
  fault?: string;
  cause?: unknown;
}

export class OpenStackError extends Error {
  readonly service: ServiceName | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly fault: string | undefined;

  constructor(message: string, details: OpenStackErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.service = details.service;
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.retryable = details.retryable ?? false;
    this.fault = details.fault;
  }
}

/** 404, or a name that matches nothing ("no image named X"). */
export class NotFoundError extends OpenStackError {}

/** 401 from a service twice in a row, or Keystone refusing the credentials. */
export class AuthenticationError extends OpenStackError {}

/** 403/413 with quota text, or Neutron's 409 OverQuota. */
export class QuotaError extends OpenStackError {}

/** 409 that is not a quota error. */
export class ConflictError extends OpenStackError {}

/** No headers, or no body progress, within the request timeout. */
export class TimeoutError extends OpenStackError {}

/** The connection failed (refused, reset, closed, DNS). */
export class ConnectionError extends OpenStackError {}

/** Something the operator must fix in the settings: a missing endpoint, an incomplete auth block. */
export class ConfigurationError extends OpenStackError {}

/** A name that matches several resources: the operator must give an id. */
export class AmbiguousNameError extends OpenStackError {
  readonly resourceName: string;
  readonly count: number;

  constructor(message: string, resourceName: string, count: number, details: OpenStackErrorDetails = {}) {
    super(message, details);
    this.resourceName = resourceName;
    this.count = count;
  }
}

/** The call's result, or `absent` when the service answers 404 (the resource is not there). */
export async function unlessNotFound<T, A>(call: Promise<T>, absent: A): Promise<T | A> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof NotFoundError) return absent;
    throw error;
  }
}
