/**
 * The one logger of the project, for the functions and the bridge alike: Powertools'
 * structured JSON Logger. Secrets are never passed to it; `redact` is a second line of
 * defence for values that must never appear in a line even by mistake.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export type { Logger };

export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}
