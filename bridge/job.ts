/**
 * One job, from payload bytes to result bytes. Pure: no sockets, no clocks, no SDK.
 *
 *   prepareJob(payload, unique, handle)  -> an invocation to make, or an answer already
 *   finishJob(prepared, invokeOutcome)   -> the answer
 *
 * Every answer is a JSON object sent with WORK_COMPLETE, PASS or FAIL alike: clients read
 * its `response`. WORK_FAIL is kept for the case where no JSON can be produced at all.
 */
import type { Action, FunctionName, Message } from '../contract';
import {
  ACTIONS,
  deviceName,
  deviceUuid,
  fail,
  functionNameFor,
  isMessage,
  normaliseAction,
  oneLine,
  utf8Text,
  wrap,
} from '../contract';
import type { InvokeOutcome } from './invoker';

/** Label for metrics and logs: one of the six actions, or why there is none. */
export type ActionLabel = Action | 'unknown' | 'invalid';

export type Outcome = 'pass' | 'fail' | 'work_fail';

export interface JobAnswer {
  /** The Gearman packet to answer with. */
  packet: 'WORK_COMPLETE' | 'WORK_FAIL';
  /** The result bytes (JSON), empty for WORK_FAIL. */
  data: Buffer;
  outcome: Outcome;
  action: ActionLabel;
  /** The FAIL result's error, for the log line. */
  error?: string;
}

export type PreparedJob =
  | { kind: 'answer'; answer: JobAnswer }
  | {
      kind: 'invoke';
      action: Action;
      /** Deployed function name: prefix + the action's function. */
      functionName: string;
      baseName: FunctionName;
      message: Message;
      /** The Gearman unique id (undefined when the client sent none): names a BUILD_DEVICE's device. */
      unique: string | Uint8Array | undefined;
      /** The Lambda payload: the envelope carrying message, unique id and handle. */
      payload: Buffer;
    };

export interface JobOptions {
  /** Prepended to the action's function name, e.g. "pool-manager-dev-". */
  functionPrefix: string;
  /** Larger payloads get a FAIL without being parsed. */
  maxPayloadBytes: number;
  /**
   * The functions' POOL_NODE_BASENAME (--device-basename): with it, a BUILD_DEVICE whose
   * function may have run is answered with the name of the device that run would have
   * made. Undefined: not configured (the FAIL gives the uuid only).
   */
  deviceBasename?: string;
}

const KNOWN_ACTIONS = Object.keys(ACTIONS).join(', ');
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `declaredBytes`: the payload's size as the job server sent it, when the connection
 * dropped an oversized payload as it streamed in (`payload` is then empty).
 */
export function prepareJob(
  payload: Uint8Array,
  unique: string | Uint8Array | undefined,
  handle: string | undefined,
  options: JobOptions,
  declaredBytes = payload.length,
): PreparedJob {
  const limit = options.maxPayloadBytes;
  const answer = (message: Message | undefined, error: string, action: ActionLabel): PreparedJob => ({
    kind: 'answer',
    answer: failAnswer(message, error, action),
  });
  if (declaredBytes > limit) {
    // Not parsed (nor, when the connection streamed it past, even kept).
    return answer(
      undefined,
      `payload is ${declaredBytes} bytes, ${declaredBytes - limit} over the ${limit}-byte limit (max-payload-bytes); send one JSON object`,
      'invalid',
    );
  }
  if (payload.length === 0) return answer(undefined, 'payload is empty; send one JSON object', 'invalid');
  const decoded = utf8Text(payload);
  if (decoded === undefined) return answer(undefined, 'payload is not UTF-8 text; send one JSON object', 'invalid');
  // A leading byte order mark is dropped, as TextDecoder does.
  const text = decoded.charCodeAt(0) === 0xfeff ? decoded.slice(1) : decoded;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return answer(undefined, `payload is not valid JSON (${errorText(error)}); send one JSON object`, 'invalid');
  }
  if (!isMessage(parsed)) {
    return answer(undefined, `payload is JSON ${jsonKind(parsed)}, not an object; send one JSON object`, 'invalid');
  }
  const message = parsed;
  if (message.action === undefined) {
    return answer(message, `message has no "action"; expected one of ${KNOWN_ACTIONS}`, 'unknown');
  }
  const action = normaliseAction(message.action);
  if (!action) {
    const shown = typeof message.action === 'string' ? `"${message.action}"` : `of type ${jsonKind(message.action)}`;
    return answer(message, `unknown action ${shown}; expected one of ${KNOWN_ACTIONS}`, 'unknown');
  }
  const baseName = functionNameFor(action);
  let envelope: string;
  try {
    envelope = JSON.stringify(wrap(message, unique, handle));
  } catch (error) {
    // JSON.parse takes nesting that JSON.stringify cannot write back (it recurses): tens of
    // thousands of levels fit in a small payload. Such a message cannot be forwarded.
    return answer(
      message,
      `message is nested too deeply to forward (${errorText(error)}); send one flat JSON object`,
      action,
    );
  }
  return {
    kind: 'invoke',
    action,
    baseName,
    functionName: `${options.functionPrefix}${baseName}`,
    message,
    unique,
    payload: Buffer.from(envelope, 'utf8'),
  };
}

export function finishJob(
  job: Extract<PreparedJob, { kind: 'invoke' }>,
  outcome: InvokeOutcome,
  options: Pick<JobOptions, 'deviceBasename'> = {},
): JobAnswer {
  const { message, action, functionName } = job;
  if (outcome.status === 'failed') {
    if (outcome.reason === 'timeout' || outcome.reason === 'lost') {
      // The function may have run to the end: say so, and name what it would have made.
      const what =
        outcome.reason === 'timeout'
          ? `${functionName} timed out: ${outcome.message}`
          : `invoking ${functionName} failed and the function may have run: ${outcome.message}`;
      if (action !== 'BUILD_DEVICE') return failAnswer(message, what, action);
      const device = mayHaveBuilt(job.unique, options.deviceBasename);
      return failAnswer(message, `${what}; ${device.text}`, action, device.fields);
    }
    const text =
      outcome.reason === 'throttled'
        ? `${functionName} was not run: ${outcome.message}`
        : outcome.reason === 'dry-run'
          ? `${outcome.message} (pool-bridge --dry-run; a real run invokes ${functionName})`
          : outcome.reason === 'aborted'
            ? `${functionName} was abandoned: ${outcome.message}`
            : `invoking ${functionName} failed: ${outcome.message}`;
    return failAnswer(message, text, action);
  }
  const bytes = Buffer.from(outcome.payload.buffer, outcome.payload.byteOffset, outcome.payload.byteLength);
  if (outcome.functionError) {
    return failAnswer(
      message,
      `${functionName} failed (${outcome.functionError}): ${functionErrorText(bytes)}`,
      action,
    );
  }
  let result: unknown;
  try {
    result = JSON.parse(utf8.decode(bytes));
  } catch {
    return failAnswer(message, `${functionName} returned something that is not JSON: ${preview(bytes)}`, action);
  }
  if (!isMessage(result)) {
    return failAnswer(
      message,
      `${functionName} returned JSON ${jsonKind(result)}, not an object: ${preview(bytes)}`,
      action,
    );
  }
  if (result.response !== 'PASS' && result.response !== 'FAIL') {
    return failAnswer(message, `${functionName} returned an object without "response": "PASS" or "FAIL"`, action);
  }
  // The function's own bytes go back verbatim: it already built the contract's result.
  return {
    packet: 'WORK_COMPLETE',
    data: Buffer.from(bytes),
    outcome: result.response === 'PASS' ? 'pass' : 'fail',
    action,
    ...(result.response === 'FAIL' && typeof result.error === 'string' ? { error: result.error } : {}),
  };
}

/**
 * The device a BUILD_DEVICE run that may have happened would have booted: its name is
 * `<basename>-<UUIDv5 of the unique id>` (contract/naming.ts), and the FAIL carries the
 * contract's fields of a failed build (name, addr "", type and az, which the bridge does not
 * know, empty) so the admin side can record it and delete it by name.
 */
function mayHaveBuilt(
  unique: string | Uint8Array | undefined,
  basename: string | undefined,
): { text: string; fields?: Message } {
  if (unique === undefined || unique.length === 0) {
    return { text: 'the job had no unique id, so the name of the device it may have made cannot be known' };
  }
  const uuid = deviceUuid(unique);
  if (basename === undefined) {
    return {
      text: `the device it may have made is named <POOL_NODE_BASENAME>-${uuid} (set --device-basename for the full name)`,
    };
  }
  const name = deviceName(basename, uuid);
  return {
    text: `it may have made device ${name}: look it up by that exact name, and delete it if the job is not resubmitted`,
    fields: { name, addr: '', type: '', az: '' },
  };
}

/**
 * A FAIL result object with WORK_COMPLETE. A message parsed from JSON that is nested too
 * deeply to write back (RangeError) is left out of the result, except its action if that
 * is a string; WORK_FAIL only if no JSON can be produced.
 */
export function failAnswer(
  message: Message | undefined,
  error: string,
  action: ActionLabel,
  added: Message = {},
): JobAnswer {
  const result = fail(message, error, added);
  try {
    return {
      packet: 'WORK_COMPLETE',
      data: Buffer.from(JSON.stringify(result), 'utf8'),
      outcome: 'fail',
      action,
      error: result.error,
    };
  } catch (cause) {
    if (!(cause instanceof RangeError)) {
      return {
        packet: 'WORK_FAIL',
        data: Buffer.alloc(0),
        outcome: 'work_fail',
        action,
        error: `${result.error} (and no JSON: ${errorText(cause)})`,
      };
    }
    // Only strings left: this always stringifies.
    const shown = typeof message?.action === 'string' ? { action: message.action } : undefined;
    const bare = fail(shown, `${error} (the message is too deeply nested to echo)`);
    return {
      packet: 'WORK_COMPLETE',
      data: Buffer.from(JSON.stringify(bare), 'utf8'),
      outcome: 'fail',
      action,
      error: bare.error,
    };
  }
}

function functionErrorText(bytes: Buffer): string {
  try {
    const doc: unknown = JSON.parse(bytes.toString('utf8'));
    if (isMessage(doc)) {
      const type = typeof doc.errorType === 'string' ? doc.errorType : 'Error';
      const message = typeof doc.errorMessage === 'string' ? doc.errorMessage : JSON.stringify(doc);
      return `${type}: ${message}`;
    }
  } catch {
    // not JSON: show the bytes
  }
  return preview(bytes);
}

function preview(bytes: Buffer, max = 200): string {
  if (bytes.length === 0) return '(empty)';
  const text = oneLine(bytes.subarray(0, max).toString('utf8'), max);
  return bytes.length > max ? `${text}… (${bytes.length} bytes)` : text;
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' ? typeof value : 'value';
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
