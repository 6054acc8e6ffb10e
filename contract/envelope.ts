/**
 * What a function receives. From a hand-typed `invoke local` it is the plain contract
 * message. From the bridge it is an envelope carrying the message unchanged plus the
 * Gearman job's unique id and handle, which the message itself has no place for.
 *
 * A Gearman unique id is bytes: gearmand keeps `6a ff` and `6a fe` apart, so the envelope
 * carries them losslessly. Bytes that are valid UTF-8 travel as the string `unique` (as
 * every envelope did before, so the names derived from them do not change); other bytes
 * travel as `uniqueBase64`, which a function older than this field ignores (it then sees no
 * unique id: upgrade the functions before the bridges).
 */
import { isUtf8 } from 'node:buffer';
import type { Message } from './result';
import { isMessage } from './result';

export const ENVELOPE_VERSION = 'libra-pool-manager/v1';

export interface Envelope {
  envelope: typeof ENVELOPE_VERSION;
  /** The Gearman unique id the client sent, when its bytes are valid UTF-8 (absent when it sent none). */
  unique?: string;
  /** The unique id's bytes in base64, when they are not valid UTF-8. */
  uniqueBase64?: string;
  /** The Gearman job handle, e.g. `H:host:42`: for correlating logs with gearmand's. */
  handle?: string;
  message: Message;
}

export interface JobContext {
  message: Message;
  /** The unique id's bytes, undefined when the job had none. */
  unique: Uint8Array | undefined;
  handle: string | undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A unique id given as text is its UTF-8 bytes (what a Gearman client sends for it). */
export function uniqueBytes(unique: string | Uint8Array): Uint8Array {
  return typeof unique === 'string' ? new TextEncoder().encode(unique) : unique;
}

/** The bytes as text when they are valid UTF-8, else undefined (a unique id, a job payload). */
export function utf8Text(bytes: Uint8Array): string | undefined {
  // isUtf8 and toString rather than a fatal TextDecoder: one native pass with no exception
  // thrown for other bytes (the bridge does this for every job), and a leading byte order
  // mark kept, so a unique id's text encodes back to the very bytes the device name is
  // derived from.
  return isUtf8(bytes) ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : undefined;
}

/** The unique id for log lines and messages: its text, or `base64:<bytes>` when it is not UTF-8. */
export function describeUnique(unique: Uint8Array): string {
  return utf8Text(unique) ?? `base64:${Buffer.from(unique).toString('base64')}`;
}

/**
 * describeUnique's inverse, for a unique id copied from a log line: the bytes of a
 * `base64:<bytes>` text, any other text as it is. Padding may be left out (Buffer's base64
 * decoder reads what is there).
 */
export function uniqueFromDescription(text: string): string | Uint8Array {
  const base64 = /^base64:([A-Za-z0-9+/]*={0,2})$/.exec(text)?.[1];
  return base64 !== undefined ? new Uint8Array(Buffer.from(base64, 'base64')) : text;
}

export function wrap(message: Message, unique?: string | Uint8Array, handle?: string): Envelope {
  const envelope: Envelope = { envelope: ENVELOPE_VERSION, message };
  if (unique !== undefined && unique.length > 0) {
    const bytes = uniqueBytes(unique);
    const text = utf8Text(bytes);
    if (text !== undefined) envelope.unique = text;
    else envelope.uniqueBase64 = Buffer.from(bytes).toString('base64');
  }
  if (handle) envelope.handle = handle;
  return envelope;
}

/** Why `unwrap` refused an event, for the FAIL result. */
export function unwrapFailure(event: unknown): string {
  return isMessage(event) && event.envelope === ENVELOPE_VERSION && isMessage(event.message)
    ? "the envelope's uniqueBase64 is not base64"
    : 'the job payload is not a JSON object';
}

/**
 * Accepts an envelope or a plain message. Returns undefined when the event is neither
 * (not a JSON object, or an envelope whose uniqueBase64 is not base64); callers turn that
 * into a FAIL result.
 */
export function unwrap(event: unknown): JobContext | undefined {
  if (!isMessage(event)) return undefined;
  if (event.envelope === ENVELOPE_VERSION) {
    if (!isMessage(event.message)) return undefined;
    let unique: Uint8Array | undefined;
    if (typeof event.uniqueBase64 === 'string' && event.uniqueBase64 !== '') {
      if (!BASE64.test(event.uniqueBase64)) return undefined;
      unique = new Uint8Array(Buffer.from(event.uniqueBase64, 'base64'));
    } else if (typeof event.unique === 'string' && event.unique !== '') {
      unique = uniqueBytes(event.unique);
    }
    return {
      message: event.message,
      unique,
      handle: typeof event.handle === 'string' && event.handle !== '' ? event.handle : undefined,
    };
  }
  return { message: event, unique: undefined, handle: undefined };
}
