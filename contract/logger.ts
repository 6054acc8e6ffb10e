/**
 * The one logger of the project, for the functions and the bridge alike: Powertools'
 * structured JSON Logger. Secrets are never passed to it; `redact` is a second line of
 * defence for values that must never appear in a line even by mistake.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export type { Logger };

/**
 * What code that logs needs from a logger, and all it may assume: the OpenStack client,
 * the functions' core and the bridge take one of these. Powertools' Logger (from
 * createLogger) satisfies it; tests pass a capturing fake.
 */
export interface LogSink {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}
