/**
 * Typed errors of the OpenStack client, each a PoolManagerError with its own stable `code`.
 * Every message names the request (service, method, path without its query string) and the
 * cloud's own fault text; none ever carries a token, a password or an application-credential
 * secret (the HTTP layer redacts them). A setting the operator must fix (a missing endpoint,
 * an incomplete auth block) is the contract's ConfigurationError, not one of these.
 */
import { PoolManagerError } from '../../contract/errors';

export type ServiceName = 'Keystone' | 'Nova' | 'Neutron' | 'Glance';

export interface OpenStackErrorDetails {
  service?: ServiceName;
  method?: string;
  path?: string;
  status?: number;
  /** Whether repeating the same request later may succeed: see `isRetryable` in http.ts. */
  retryable?: boolean;
  /** The fault text the service returned, already redacted. */
  fault?: string;
  /**
   * A connection failure only: false when the request cannot have reached the service (the
   * connection was refused, the host unknown, TLS failed), true when it may have (a reset, a
   * closed socket after it was sent). See `transportError` in http.ts.
   */
  requestSent?: boolean;
  cause?: unknown;
}

/** A request to the cloud failed; the subclasses below say how. */
export class OpenStackError extends PoolManagerError {
  override readonly code: string = 'POOL_ERR_OPENSTACK';
  readonly service: ServiceName | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly fault: string | undefined;
  readonly requestSent: boolean | undefined;

  constructor(message: string, details: OpenStackErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.service = details.service;
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.retryable = details.retryable ?? false;
    this.fault = details.fault;
    this.requestSent = details.requestSent;
  }
}

/** 404, or a name that matches nothing ("no image named X"). */
export class NotFoundError extends OpenStackError {
  override readonly code: string = 'POOL_ERR_OPENSTACK_NOT_FOUND';
}

/** 401 from a service twice in a row, or Keystone refusing the credentials. */
export class AuthenticationError extends OpenStackError {
  override readonly code: string = 'POOL_ERR_OPENSTACK_AUTHENTICATION';
}

/** 403/413 with quota text, or Neutron's 409 OverQuota. */
export class QuotaError extends OpenStackError {
  override readonly code: string = 'POOL_ERR_OPENSTACK_QUOTA';
}

/** 409 that is not a quota error. */
export class ConflictError extends OpenStackError {
  override readonly code: string = 'POOL_ERR_OPENSTACK_CONFLICT';
}

/**
 * 412: a conditional write (Neutron's `If-Match: revision_number=N`) found the resource
 * changed since it was read. Nothing was written; never repeated as it is: read again.
 */
export class PreconditionFailedError extends OpenStackError {
  override readonly code: string = 'POOL_ERR_OPENSTACK_PRECONDITION_FAILED';
}

/** No headers, or no body progress, within the request timeout. */
export class TimeoutError extends OpenStackError {
  override readonly code: string = 'POOL_ERR_OPENSTACK_TIMEOUT';
}

/** The connection failed (refused, reset, closed, DNS, TLS). */
export class ConnectionError extends OpenStackError {
  override readonly code: string = 'POOL_ERR_OPENSTACK_CONNECTION';
}

/** A name that matches several resources: the operator must give an id. */
export class AmbiguousNameError extends OpenStackError {
  override readonly code: string = 'POOL_ERR_OPENSTACK_AMBIGUOUS_NAME';
  readonly resourceName: string;
  readonly count: number;

  constructor(message: string, resourceName: string, count: number, details: OpenStackErrorDetails = {}) {
    super(message, details);
    this.resourceName = resourceName;
    this.count = count;
  }
}

/**
 * The client was called with an empty id or name: a bug in the caller, neither the cloud's
 * answer nor a setting. Nothing was sent.
 */
export class InvalidArgumentError extends PoolManagerError {
  override readonly code: string = 'POOL_ERR_INVALID_ARGUMENT';
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
