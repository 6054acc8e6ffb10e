/** One line an operator can act on, from anything an action may throw. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** Transient errors (5xx, timeouts, resets) the client already retried; a poll may go on after one. */
export function isTransient(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true;
}
