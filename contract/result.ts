/**
 * Result objects of the contract: the original message, every field as sent, plus the
 * fields an action adds, plus `response`. A FAIL also carries a one-line `error`.
 */
export type Message = Record<string, unknown>;

export type PassResult = Message & { response: 'PASS' };
export type FailResult = Message & { response: 'FAIL'; error: string };
export type Result = PassResult | FailResult;

export function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function pass(message: Message, added: Message = {}): PassResult {
  return { ...message, ...added, response: 'PASS' };
}

/** `error` is flattened to one line: operators read it in a log or a database column. */
export function fail(message: Message | undefined, error: string, added: Message = {}): FailResult {
  return { ...(message ?? {}), ...added, response: 'FAIL', error: oneLine(error) };
}

export function oneLine(text: string, maxLength = 1000): string {
  // Most errors are one line already: test before rewriting (this runs for every FAIL).
  const flat = /\s\s|[^\S ]|^\s|\s$/.test(text) ? text.replace(/\s+/g, ' ').trim() : text;
  return flat.length > maxLength ? `${flat.slice(0, maxLength - 1)}…` : flat;
}
