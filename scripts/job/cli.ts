/**
 * `npm run job -- ACTION [field=value ...]`: submits one pool-manager message to a Gearman
 * job server, waits for the result and prints it. See HELP.
 *
 * Exit status: 0 when the result says PASS, 1 on FAIL or when no result came (connection
 * refused, timeout, WORK_FAIL), 2 for a usage error (nothing was sent).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { formatServer, parseHostPort } from '../../bridge/address';
import type { Action } from '../../contract';
import {
  ACTIONS,
  DEFAULT_GEARMAN_PORT,
  GEARMAN_FUNCTION,
  INPUT_FIELDS,
  PASS_FIELDS,
  defaultInvokeTimeoutSeconds,
  normaliseAction,
} from '../../contract';
import type { JobResult } from '../../bridge/gearman';
import { GearmanClientError, gearmanStatus, submitJob } from '../../bridge/gearman';

const DEFAULT_GEARMAN = `127.0.0.1:${DEFAULT_GEARMAN_PORT}`;
/** The job server to use when --gearman is not given (the fleet's banner prints it). */
const GEARMAN_ENV = 'POOL_GEARMAN';
/** As long as pool-bridge waits for a function: the longest function timeout plus a margin. */
const DEFAULT_TIMEOUT_SECONDS = defaultInvokeTimeoutSeconds();

const WHAT: Record<Action, string> = {
  BUILD_DEVICE: 'boot a device',
  DELETE_DEVICE: 'delete a device',
  BUILD_IP: 'allocate a floating IP',
  ASSIGN_IP: 'associate a floating IP with a device',
  REMOVE_IP: 'disassociate it, keeping it allocated',
  DELETE_IP: 'release a floating IP',
};

/** "ASSIGN_IP ip=IP name=NAME   associate ...": the command line each action needs. */
function actionHelp(action: Action): string {
  const usage = [action, ...INPUT_FIELDS[action].map((field) => `${field}=${field.toUpperCase()}`)].join(' ');
  const prints = PASS_FIELDS[action].length > 0 ? `; prints ${PASS_FIELDS[action].join(', ')}` : '';
  return `  ${usage.padEnd(38)}${WHAT[action]}${prints}`;
}

const HELP = `Usage: npm run job -- [options] ACTION [field=value ...]
       npm run job -- [options] --data '{"action": "...", ...}'

Submits one pool-manager message to a Gearman job server (function ${GEARMAN_FUNCTION}), waits
for the result and prints it. Exit status: 0 PASS, 1 FAIL or no result, 2 usage error.

Actions and their fields:
${(Object.keys(ACTIONS) as Action[]).map(actionHelp).join('\n')}

Options:
  --gearman HOST:PORT   job server (default: $${GEARMAN_ENV}, else ${DEFAULT_GEARMAN});
                        IPv6 in brackets: [::1]:${DEFAULT_GEARMAN_PORT}
  --data JSON           the message as a JSON object (ACTION and field=value add to it)
  --unique ID           Gearman unique id (default: a new UUID). Resubmitting with the same
                        id is safe: a rerun returns the first run's device or IP
  --timeout SECONDS     stop waiting after this long (default ${DEFAULT_TIMEOUT_SECONDS})
  --function NAME       Gearman function (default ${GEARMAN_FUNCTION})
  --json                print only the result, as one line of JSON
  --help                show this help

Examples:
  npm run job -- BUILD_DEVICE
  npm run job -- --gearman ${DEFAULT_GEARMAN} ASSIGN_IP ip=203.0.113.7 name=libra-stg-haproxy-0c1f...
  npm run job -- --unique retry-42 --data '{"action": "BUILD_IP"}'
`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface JobRequest {
  host: string;
  port: number;
  address: string;
  functionName: string;
  unique: string;
  message: Record<string, unknown>;
  timeoutMs: number;
  json: boolean;
}

/** Parses the command line into a request; throws UsageError. 'help' for --help. */
function parseJobArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): JobRequest | 'help' {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        gearman: { type: 'string' },
        data: { type: 'string' },
        unique: { type: 'string' },
        timeout: { type: 'string' },
        function: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    const text = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    const hint = /'-h'/.test(text) ? ' (the job server is --gearman HOST:PORT)' : '';
    throw new UsageError(`${text}${hint}`);
  }
  if (values.help) return 'help';

  const address = String(values.gearman ?? (env[GEARMAN_ENV] || DEFAULT_GEARMAN));
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseHostPort(address, DEFAULT_GEARMAN_PORT));
  } catch (error) {
    throw new UsageError(`--gearman ${(error as Error).message}`);
  }

  let message: Record<string, unknown> = {};
  let verbatim = false;
  const args = [...positionals];
  const jsonText =
    typeof values.data === 'string' ? values.data : args[0]?.trimStart().startsWith('{') ? args.shift() : undefined;
  if (jsonText !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(jsonText);
    } catch (error) {
      throw new UsageError(`--data is not valid JSON: ${(error as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new UsageError('--data must be a JSON object, e.g. {"action": "BUILD_IP"}');
    message = parsed as Record<string, unknown>;
    verbatim = true;
  }
  if (args[0] !== undefined && !args[0].includes('=')) {
    const word = args.shift() ?? '';
    const action = normaliseAction(word);
    if (!action) throw new UsageError(`unknown action "${word}"; expected one of ${Object.keys(ACTIONS).join(', ')}`);
    message.action = action;
  }
  for (const arg of args) {
    const i = arg.indexOf('=');
    const key = arg.slice(0, i);
    if (i <= 0 || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key))
      throw new UsageError(`"${arg}": expected field=value after the action (e.g. name=libra-stg-haproxy-...)`);
    message[key] = arg.slice(i + 1);
  }
  if (message.action === undefined) {
    throw new UsageError(
      `no action given; expected one of ${Object.keys(ACTIONS).join(', ')} (or --data with an "action")`,
    );
  }
  const action = normaliseAction(message.action);
  if (!verbatim) {
    const missing = (action ? INPUT_FIELDS[action] : []).filter(
      (field) => typeof message[field] !== 'string' || message[field] === '',
    );
    if (missing.length > 0)
      throw new UsageError(`${String(message.action)} needs ${missing.map((f) => `${f}=...`).join(' and ')}`);
  }

  let timeoutMs = DEFAULT_TIMEOUT_SECONDS * 1000;
  if (values.timeout !== undefined) {
    const seconds = Number(values.timeout);
    if (!Number.isFinite(seconds) || seconds <= 0)
      throw new UsageError(`--timeout needs a positive number of seconds, got "${String(values.timeout)}"`);
    timeoutMs = Math.round(seconds * 1000);
  }
  const functionName = String(values.function ?? GEARMAN_FUNCTION);
  if (functionName === '' || functionName.includes('\0')) throw new UsageError('--function needs a non-empty name');
  const unique = values.unique === undefined ? randomUUID() : String(values.unique);
  if (unique.includes('\0') || Buffer.byteLength(unique) > 64)
    throw new UsageError('--unique must be at most 64 bytes, without NUL bytes (gearmand limit)');
  return {
    host,
    port,
    address: formatServer({ host, port }),
    functionName,
    unique,
    message,
    timeoutMs,
    json: values.json === true,
  };
}

export interface Terminal {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** Colours when stdout is a terminal and NO_COLOR is not set. */
function palette(term: Terminal): {
  green: (s: string) => string;
  red: (s: string) => string;
  dim: (s: string) => string;
  bold: (s: string) => string;
} {
  const on = Boolean(term.out.isTTY) && !term.env.NO_COLOR;
  const wrap = (open: number, close: number) => (s: string) => (on ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return { green: wrap(32, 39), red: wrap(31, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

/** The result, for a human: PASS/FAIL line, then the fields (error first), then the job. */
function formatResult(
  request: JobRequest,
  outcome: JobResult,
  elapsedMs: number,
  term: Terminal,
): { text: string; pass: boolean } {
  const c = palette(term);
  const action = typeof request.message.action === 'string' ? request.message.action : '(no action)';
  const footer = c.dim(`job ${outcome.handle} on ${request.address}, unique ${request.unique}`);
  const raw = outcome.data.toString('utf8');
  if (outcome.packet !== 'WORK_COMPLETE') {
    const what =
      outcome.packet === 'WORK_FAIL'
        ? 'the worker sent WORK_FAIL (no result)'
        : `the worker sent WORK_EXCEPTION: ${raw}`;
    return {
      text: `${c.red(c.bold('FAIL'))}  ${action}  (${seconds(elapsedMs)})\n  ${what}\n${footer}\n`,
      pass: false,
    };
  }
  let result: unknown;
  try {
    result = JSON.parse(raw);
  } catch {
    result = undefined;
  }
  if (result === null || typeof result !== 'object' || Array.isArray(result)) {
    return {
      text: `${c.red(c.bold('FAIL'))}  ${action}  (${seconds(elapsedMs)})\n  the result is not a JSON object: ${raw}\n${footer}\n`,
      pass: false,
    };
  }
  const fields = result as Record<string, unknown>;
  const pass = fields.response === 'PASS';
  const verdict = pass
    ? c.green(c.bold('PASS'))
    : c.red(c.bold(typeof fields.response === 'string' ? fields.response : 'FAIL (no "response")'));
  const shownAction = typeof fields.action === 'string' ? fields.action : action;
  const keys = Object.keys(fields).filter((k) => k !== 'action' && k !== 'response');
  keys.sort((a, b) => Number(b === 'error') - Number(a === 'error'));
  const width = Math.max(6, ...keys.map((k) => k.length)) + 2;
  const lines = keys.map((k) => {
    const value = fields[k];
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return `  ${k.padEnd(width)}${k === 'error' ? c.red(text) : text}`;
  });
  return {
    text: `${verdict}  ${shownAction}  (${seconds(elapsedMs)})\n${lines.join('\n')}${lines.length ? '\n' : ''}${footer}\n`,
    pass,
  };
}

/** Runs the CLI; resolves with the exit status. */
export async function runJobCli(
  argv: string[],
  term: Terminal = { out: process.stdout, err: process.stderr, env: process.env },
): Promise<number> {
  let request: JobRequest | 'help';
  try {
    request = parseJobArgs(argv, term.env);
  } catch (error) {
    if (error instanceof UsageError) {
      term.err.write(`job: ${error.message}\nTry: npm run job -- --help\n`);
      return 2;
    }
    throw error;
  }
  if (request === 'help') {
    term.out.write(HELP);
    return 0;
  }
  const req = request;
  const action = String(req.message.action);

  // Unlisted: no worker ever registered the function and no job of it is queued. No answer:
  // say nothing here, the submission reports why.
  const status = await gearmanStatus(req, { timeoutMs: 1500 }).then(
    (functions) => functions.find((f) => f.function === req.functionName) ?? 'unlisted',
    () => 'unreachable' as const,
  );
  if (status === 'unlisted' || (status !== 'unreachable' && status.availableWorkers === 0)) {
    term.err.write(
      `job: no worker has registered ${req.functionName} on ${req.address}: the job waits until one does (is pool-bridge running?)\n`,
    );
  }

  const started = Date.now();
  let handle: string | undefined;
  const spinning = Boolean(term.out.isTTY);
  const ticking = !spinning && Boolean(term.err.isTTY) && !req.json;
  let frame = 0;
  const draw = (): void => {
    const where = handle ? `job ${handle} on ${req.address}` : `submitting to ${req.address}`;
    term.out.write(
      `\r\x1b[2K${SPINNER[frame++ % SPINNER.length]} ${action} ${where} · ${seconds(Date.now() - started)}`,
    );
  };
  const timer = spinning
    ? setInterval(draw, 100)
    : ticking
      ? setInterval(
          () =>
            term.err.write(
              `job: waiting for ${action} (${handle ?? 'not queued yet'}): ${seconds(Date.now() - started)}\n`,
            ),
          10_000,
        )
      : undefined;
  const clear = (): void => {
    if (timer) clearInterval(timer);
    if (spinning) term.out.write('\r\x1b[2K');
  };
  if (spinning) draw();

  const abort = new AbortController();
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
    abort.abort();
  };
  process.once('SIGINT', onSigint);
  const timeout = setTimeout(() => abort.abort(), req.timeoutMs);
  let outcome: JobResult;
  try {
    outcome = await submitJob({
      server: req,
      functionName: req.functionName,
      unique: req.unique,
      payload: JSON.stringify(req.message),
      signal: abort.signal,
      onCreated: (h) => (handle = h),
      onWarning: (text) => {
        clear();
        term.err.write(`job: warning from the worker: ${text}\n`);
      },
    });
  } catch (error) {
    clear();
    const again = `resubmit with --unique ${req.unique} to wait for it again (it will not run twice)`;
    if (interrupted) {
      term.err.write(`job: interrupted; job ${handle ?? '(not queued)'} may still run on ${req.address}; ${again}\n`);
      return 130;
    }
    if (abort.signal.aborted) {
      term.err.write(
        `job: no result within ${seconds(req.timeoutMs)}; job ${handle ?? '(not queued)'} may still be running; ${again}\n`,
      );
      return 1;
    }
    term.err.write(`job: ${error instanceof GearmanClientError ? error.message : String(error)}\n`);
    return 1;
  } finally {
    clearTimeout(timeout);
    process.off('SIGINT', onSigint);
  }
  clear();
  const elapsed = Date.now() - started;
  if (req.json) {
    term.out.write(`${outcome.data.toString('utf8')}\n`);
    try {
      return (JSON.parse(outcome.data.toString('utf8')) as { response?: unknown }).response === 'PASS' &&
        outcome.packet === 'WORK_COMPLETE'
        ? 0
        : 1;
    } catch {
      return 1;
    }
  }
  const { text, pass } = formatResult(req, outcome, elapsed, term);
  term.out.write(text);
  return pass ? 0 : 1;
}
