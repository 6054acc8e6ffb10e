/**
 * The root of every error the pool manager defines, in the functions and the bridge alike.
 * Each class carries a stable `code` (as undici's errors do) that logs, tests and callers
 * match on; a message may be reworded, a code is never changed once released.
 */
export class PoolManagerError extends Error {
  readonly code: string = 'POOL_ERR';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A setting the operator must fix: missing, malformed, or naming something that does not
 * exist. `setting` names it as the operator wrote it (an environment variable, an option).
 */
export class ConfigurationError extends PoolManagerError {
  override readonly code: string = 'POOL_ERR_CONFIGURATION';

  constructor(
    message: string,
    readonly setting?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
