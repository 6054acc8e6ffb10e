/**
 * What a function receives. From a hand-typed `invoke local` it is the plain contract
 * message. From the bridge it is an envelope carrying the message unchanged plus the
 * Gearman job's unique id and handle, which the message itself has no place for.
 */
import type { Message } from './result';
import { isMessage } from './result';

export const ENVELOPE_VERSION = 'libra-pool-manager/v1';

export interface Envelope {
  envelope: typeof ENVELOPE_VERSION;
  /** The Gearman unique id the client sent (absent when the client sent none). */
  unique?: string;
  /** The Gearman job handle, e.g. `H:host:42`: for correlating logs with gearmand's. */
  handle?: string;
  message: Message;
}

export interface JobContext {
  message: Message;
  unique: string | undefined;
  handle: string | undefined;
}

export function wrap(message: Message, unique?: string, handle?: string): Envelope {
  const envelope: Envelope = { envelope: ENVELOPE_VERSION, message };
  if (unique) envelope.unique = unique;
  if (handle) envelope.handle = handle;
  return envelope;
}

/**
 * Accepts an envelope or a plain message. Returns undefined when the event is neither
 * (not a JSON object); callers turn that into a FAIL result.
 */
export function unwrap(event: unknown): JobContext | undefined {
  if (!isMessage(event)) return undefined;
  if (event.envelope === ENVELOPE_VERSION) {
    if (!isMessage(event.message)) return undefined;
    return {
      message: event.message,
      unique: typeof event.unique === 'string' && event.unique !== '' ? event.unique : undefined,
      handle: typeof event.handle === 'string' && event.handle !== '' ? event.handle : undefined,
    };
  }
  return { message: event, unique: undefined, handle: undefined };
}
