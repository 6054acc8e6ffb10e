/**
 * Child processes, the one way this project starts them (the local fleet, the tests, the
 * benchmarks): each started directly (no shell, no npx, so the PID held is the real
 * process), its output split into lines (kept in memory, bounded unless asked otherwise,
 * and appended to a log file when given), stopped by PID, or by process group when it has
 * one: SIGTERM, then SIGKILL after a grace period.
 *
 *   const bridge = spawnChild({ name: 'bridge', command: process.execPath, args: [BRIDGE_BIN, ...],
 *     group: true, logFile, loopbackGuard: { file } });
 *   await bridge.waitForLine(/health endpoint listening/, 20_000);
 *   await bridge.stop();
 *
 * `group: true` puts the child in a process group of its own (everything it starts goes with
 * it when it is stopped, and a Ctrl-C meant for this process does not reach it first);
 * otherwise it shares this process's group, so a signal to the group (a test runner stopping
 * a test file) reaches it too.
 *
 * If this process ends without stopping them, an 'exit' handler SIGKILLs every child still
 * running (by PID, or by group); and for the deaths no handler sees (SIGKILL, a signal
 * without a handler) the reaper (./reaper.mjs), a small process reading a pipe from this
 * one, stops every process group it was told about when the pipe closes.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, StdioNull, StdioPipe } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PoolManagerError } from '../../contract/errors';
import { GUARD_PATH } from './loopback';
import { accepts, answers } from './net';
import { HarnessTimeoutError, sleep, until, within } from './wait';

const REAPER_PATH = path.join(import.meta.dirname, 'reaper.mjs');
/** Output kept in memory per child unless the caller says otherwise: the tail, enough for error messages. */
const DEFAULT_KEEP_CHARS = 256 * 1024;

export class StartError extends PoolManagerError {
  override readonly code: string = 'POOL_ERR_HARNESS_START';
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Where a child's stdout or stderr goes: captured ('pipe', the default), or not seen here. */
export type OutputTarget = StdioPipe | StdioNull | number;

export interface ChildOptions {
  /** Short name for messages ("bridge", "functions"); default: the command's file name. */
  name?: string;
  command: string;
  args?: string[];
  cwd?: string;
  /** Default: this process's environment. */
  env?: NodeJS.ProcessEnv;
  stdin?: StdioPipe | StdioNull;
  stdout?: OutputTarget;
  stderr?: OutputTarget;
  /** A process group of its own, stopped as a group (default false: see the module comment). */
  group?: boolean;
  /**
   * Node only: preload the loopback guard (./loopback-guard.mjs), which refuses any outbound
   * connection that is not to loopback; with `file`, the child records its connections there.
   */
  loopbackGuard?: boolean | { file: string };
  /** Captured output is also appended to this file. */
  logFile?: string;
  /** Characters of captured output kept in memory (default 256 KiB, the latest); 'all' keeps every line. */
  keepOutput?: number | 'all';
  /** Each line of captured output as it arrives. */
  onLine?: (line: string) => void;
  /** SIGTERM-to-SIGKILL grace of stop() (default 5 s). */
  graceMs?: number;
}

export interface Child {
  readonly name: string;
  /** The child's PID (also its process-group id when it has a group of its own). */
  readonly pid: number;
  readonly process: ChildProcess;
  readonly logFile: string | undefined;
  /** Resolves once it has exited and its output is read (at most 1 s after the exit). */
  readonly exited: Promise<Exit>;
  alive(): boolean;
  /** Captured output kept so far: lines of stdout and stderr in the order they completed, or of one stream. */
  output(stream?: 'stdout' | 'stderr'): string;
  /** The lines of output that are JSON objects (structured logs), parsed. */
  logs(): Record<string, unknown>[];
  /** The first line of output (kept or to come) that matches; rejects when it exits first or after timeoutMs. */
  waitForLine(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** Sends a signal to the child's PID (not its group); nothing once it has exited. */
  signal(signal: NodeJS.Signals): void;
  /** VmRSS and VmHWM (peak RSS) in bytes, from /proc/<pid>/status. */
  memory(): { rss: number; hwm: number };
  /** SIGTERM (to the group, if it has one), SIGKILL after graceMs; resolves once it (and its group) is gone. */
  stop(graceMs?: number): Promise<Exit>;
}

// ------------------------------------------------------------------ what is still running

/** Children started here and not seen to exit: PIDs, and process groups by id. */
const livePids = new Set<number>();
const liveGroups = new Set<number>();
let exitHookInstalled = false;
let reaper: ChildProcess | undefined;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of livePids) killQuietly(pid, 'SIGKILL');
    for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  });
}

function tellReaper(line: string): void {
  if (!reaper) {
    reaper = spawn(process.execPath, [REAPER_PATH], { stdio: ['pipe', 'ignore', 'ignore'] });
    reaper.on('error', () => undefined);
    reaper.stdin?.on('error', () => undefined);
    // Neither the reaper nor its pipe keeps this process alive.
    reaper.unref();
    (reaper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }
  reaper.stdin?.write(`${line}\n`);
}

function trackPid(pid: number): () => void {
  installExitHook();
  livePids.add(pid);
  return () => livePids.delete(pid);
}

/** Registers a process group for the exit-time SIGKILL and the reaper; returns the function that unregisters it. */
function trackGroup(pgid: number): () => void {
  installExitHook();
  liveGroups.add(pgid);
  tellReaper(`+${pgid}`);
  return () => {
    if (liveGroups.delete(pgid)) tellReaper(`-${pgid}`);
  };
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Sends a signal to a whole process group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** True while a process with this PID exists (a zombie counts until it is reaped). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True while any process is left in the group. */
export function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0);
}

/** Polls until the group is empty or the time is up; true when it is empty. */
function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  return until(() => !groupAlive(pgid), `process group ${pgid} to empty`, timeoutMs, 25).then(
    () => true,
    () => false,
  );
}

/**
 * Stops a process group: SIGTERM, up to graceMs for the leader to exit and the group to
 * empty, then SIGKILL to whatever is left. `exited` resolves when the leader has exited.
 */
async function stopGroup(pgid: number, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  const leaderGone = await within(exited, graceMs, 'the leader to exit').then(
    () => true,
    () => false,
  );
  if (leaderGone) await waitGroupGone(pgid, Math.max(200, deadline - Date.now()));
  if (groupAlive(pgid)) {
    signalGroup(pgid, 'SIGKILL');
    await exited;
    await waitGroupGone(pgid, 2000);
  }
}

/** VmRSS and VmHWM (peak RSS) of a process, in bytes. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** The last `lines` lines of a log file ('' when it does not exist). */
export function tailFile(file: string, lines = 20): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  return tailLines(text, lines);
}

function tailLines(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function describeExit(info: Exit): string {
  if (info.signal) return `signal ${info.signal}`;
  if (info.code === null) return 'could not run';
  return `exit code ${info.code}`;
}

// ------------------------------------------------------------------ one child

type Stream = 'stdout' | 'stderr';

/** The captured lines: the latest within a character budget, with absolute indexes for readers. */
class LineStore {
  private readonly lines: { stream: Stream; text: string }[] = [];
  /** Absolute index of lines[0]. */
  private first = 0;
  private chars = 0;

  constructor(private readonly keep: number) {}

  push(stream: Stream, text: string): void {
    this.lines.push({ stream, text });
    this.chars += text.length + 1;
    while (this.chars > this.keep && this.lines.length > 0) {
      this.chars -= (this.lines.shift()?.text ?? '').length + 1;
      this.first += 1;
    }
  }

  /** Absolute index of the next line to come. */
  get end(): number {
    return this.first + this.lines.length;
  }

  /** Lines from absolute index `from` (or the oldest kept) on. */
  since(from: number): string[] {
    return this.lines.slice(Math.max(0, from - this.first)).map((line) => line.text);
  }

  text(stream?: Stream): string {
    return this.lines
      .filter((line) => stream === undefined || line.stream === stream)
      .map((line) => line.text)
      .join('\n');
  }
}

/** Starts a child process. Throws StartError when it cannot be spawned at all. */
export function spawnChild(options: ChildOptions): Child {
  const name = options.name ?? path.basename(options.command);
  const guard = options.loopbackGuard;
  const args = [...(guard ? ['--import', GUARD_PATH] : []), ...(options.args ?? [])];
  const env =
    typeof guard === 'object'
      ? { ...(options.env ?? process.env), LOOPBACK_GUARD_FILE: guard.file }
      : (options.env ?? process.env);
  const group = options.group ?? false;
  const proc = spawn(options.command, args, {
    cwd: options.cwd,
    env,
    detached: group,
    stdio: [options.stdin ?? 'ignore', options.stdout ?? 'pipe', options.stderr ?? 'pipe'],
  });
  const pid = proc.pid;
  if (pid === undefined) {
    proc.once('error', () => undefined);
    throw new StartError(`${name} could not be started: ${options.command} is missing or not executable`);
  }
  const untrack = group ? trackGroup(pid) : trackPid(pid);

  const log = options.logFile ? fs.createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  log?.on('error', () => undefined);
  let logEnded: Promise<void> | undefined;
  const endLog = (): Promise<void> =>
    (logEnded ??= new Promise<void>((resolve) => (log && !log.writableEnded ? log.end(resolve) : resolve())));
  const store = new LineStore(
    options.keepOutput === 'all' ? Number.POSITIVE_INFINITY : (options.keepOutput ?? DEFAULT_KEEP_CHARS),
  );
  const partials = { stdout: '', stderr: '' };
  /** Waiters of waitForLine: each line as it completes, and undefined once the child has exited. */
  const lineListeners = new Set<(line: string | undefined) => void>();
  const tell = (line: string | undefined): void => {
    for (const listener of [...lineListeners]) listener(line);
  };
  // One line splitter per stream, so a partial line of stdout never merges with stderr's.
  const reader =
    (stream: Stream) =>
    (chunk: Buffer): void => {
      if (log && !log.writableEnded) log.write(chunk);
      const lines = (partials[stream] + chunk.toString('utf8')).split('\n');
      partials[stream] = lines.pop() ?? '';
      for (const line of lines) {
        store.push(stream, line);
        options.onLine?.(line);
        tell(line);
      }
    };
  const onStdout = reader('stdout');
  const onStderr = reader('stderr');
  proc.stdout?.on('data', onStdout);
  proc.stderr?.on('data', onStderr);
  // If this process dies first, the child's next write fails (EPIPE) and it exits too.
  proc.stdout?.on('error', () => undefined);
  proc.stderr?.on('error', () => undefined);

  let exitInfo: Exit | undefined;
  const exitedOnly = new Promise<Exit>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal }));
    proc.once('error', () => resolve({ code: null, signal: null }));
  });
  // 'close': exited and its output pipes drained. A process it started may hold them open: 1 s at most.
  const closed = new Promise<void>((resolve) => {
    proc.once('close', () => resolve());
    proc.once('error', () => resolve());
  });
  const exited = exitedOnly.then(async (info) => {
    await within(closed, 1000, 'its output to end').catch(() => undefined);
    for (const stream of ['stdout', 'stderr'] as const) {
      const rest = partials[stream];
      partials[stream] = '';
      if (rest !== '') {
        store.push(stream, rest);
        options.onLine?.(rest);
        tell(rest);
      }
    }
    await endLog();
    exitInfo = info;
    if (!group || !groupAlive(pid)) untrack();
    tell(undefined);
    return info;
  });

  let parsedUpTo = 0;
  const parsed: Record<string, unknown>[] = [];
  const logs = (): Record<string, unknown>[] => {
    // Incremental: logs() is polled while thousands of lines arrive.
    for (const line of store.since(parsedUpTo)) {
      if (!line.startsWith('{')) continue;
      try {
        parsed.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
    parsedUpTo = store.end;
    return parsed;
  };

  const output = (stream?: Stream): string => {
    const open = (stream ? [partials[stream]] : [partials.stdout, partials.stderr]).filter(Boolean);
    return [store.text(stream), ...open].filter(Boolean).join('\n');
  };

  const waitForLine = (re: RegExp, timeoutMs: number): Promise<RegExpExecArray> =>
    new Promise((resolve, reject) => {
      const finish = (error: Error | undefined, match?: RegExpExecArray): void => {
        clearTimeout(timer);
        lineListeners.delete(listener);
        if (error) reject(error);
        else resolve(match as RegExpExecArray);
      };
      const exitedFirst = (info: Exit): StartError =>
        new StartError(
          `${name} exited (${describeExit(info)}) before printing a line matching ${re}:\n${tailLines(output(), 40)}`,
        );
      const listener = (line: string | undefined): void => {
        const match = line === undefined ? null : re.exec(line);
        if (match) finish(undefined, match);
        else if (line === undefined && exitInfo) finish(exitedFirst(exitInfo));
      };
      const timer = setTimeout(
        () =>
          finish(
            new HarnessTimeoutError(
              `${name} did not print a line matching ${re} within ${timeoutMs} ms:\n${tailLines(output(), 40)}`,
            ),
          ),
        timeoutMs,
      );
      for (const line of store.since(0)) {
        const match = re.exec(line);
        if (match) return finish(undefined, match);
      }
      if (exitInfo) return finish(exitedFirst(exitInfo));
      lineListeners.add(listener);
    });

  const alive = (): boolean => proc.exitCode === null && proc.signalCode === null;
  let stopping: Promise<Exit> | undefined;
  const stopNow = async (graceMs: number): Promise<Exit> => {
    if (group) {
      await stopGroup(pid, exitedOnly, graceMs);
      untrack();
    } else if (alive()) {
      killQuietly(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (alive()) killQuietly(pid, 'SIGKILL');
      }, graceMs);
      await exitedOnly;
      clearTimeout(timer);
    }
    const info = await exited;
    proc.stdout?.off('data', onStdout);
    proc.stderr?.off('data', onStderr);
    return info;
  };

  return {
    name,
    pid,
    process: proc,
    logFile: options.logFile,
    exited,
    alive,
    output,
    logs,
    waitForLine,
    signal: (signal) => {
      if (alive()) killQuietly(pid, signal);
    },
    memory: () => memoryOf(pid),
    stop: (graceMs = options.graceMs ?? 5000) => (stopping ??= stopNow(graceMs)),
  };
}

// ------------------------------------------------------------------ a service: started, then ready

export interface Readiness {
  /** A line of output matching this (the match is kept as `match`). */
  line?: RegExp;
  /** Something accepts TCP connections here. */
  port?: { host: string; port: number };
  /** GET url answers with a status ok() accepts (default: any status). */
  http?: { url: string; ok?: (status: number) => boolean };
  /** Any other condition, given the ready line's match when there is one. */
  check?: (match: RegExpExecArray | undefined) => Promise<boolean>;
}

export interface ServiceOptions extends ChildOptions {
  name: string;
  /** Every condition given must hold: the line first, then the others, polled. */
  ready: Readiness;
  readyTimeoutMs: number;
  /** How often port, http and check are polled (default 100 ms). */
  pollMs?: number;
}

export interface Service extends Child {
  /** The ready line's match, when readiness asked for a line. */
  readonly match: RegExpExecArray | undefined;
}

/**
 * Starts a child and waits until it is ready; if it exits first or is not ready in time, it
 * is stopped and StartError says why, with the last lines of its log or output.
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const child = spawnChild(options);
  const fail = async (why: string): Promise<never> => {
    await child.stop();
    const source = options.logFile ? options.logFile : 'its output';
    const tail = options.logFile ? tailFile(options.logFile) : tailLines(child.output(), 20);
    throw new StartError(
      `${options.name} failed to start: ${why}\n--- last lines of ${source} ---\n${tail || '(no output)'}`,
    );
  };
  const deadline = Date.now() + options.readyTimeoutMs;
  const seconds = Math.round(options.readyTimeoutMs / 1000);
  const exitedEarly = async (): Promise<string | undefined> =>
    child.alive() ? undefined : `it exited (${describeExit(await child.exited)}) before it was ready`;

  let match: RegExpExecArray | undefined;
  const { ready } = options;
  if (ready.line) {
    try {
      match = await child.waitForLine(ready.line, Math.max(0, deadline - Date.now()));
    } catch {
      return fail((await exitedEarly()) ?? `not ready within ${seconds} s (waiting for output matching ${ready.line})`);
    }
  }
  const polled = async (): Promise<boolean> => {
    if (ready.port && !(await accepts(ready.port.host, ready.port.port))) return false;
    if (ready.http && !(await answers(ready.http.url, ready.http.ok))) return false;
    if (ready.check && !(await ready.check(match).catch(() => false))) return false;
    return true;
  };
  if (ready.port || ready.http || ready.check) {
    for (;;) {
      const early = await exitedEarly();
      if (early) return fail(early);
      if (await polled()) break;
      if (Date.now() > deadline) {
        const what = [
          ready.port ? `a connection to ${ready.port.host}:${ready.port.port}` : '',
          ready.http ? `an answer from ${ready.http.url}` : '',
          ready.check ? 'its readiness check' : '',
        ].filter(Boolean);
        return fail(`not ready within ${seconds} s (waiting for ${what.join(' and ')})`);
      }
      await sleep(options.pollMs ?? 100);
    }
  }
  return Object.assign(child, { match });
}

// ------------------------------------------------------------------ a command run to its end

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long (default 5 minutes). */
  timeoutMs?: number;
  loopbackGuard?: ChildOptions['loopbackGuard'];
}

export interface RunResult extends Exit {
  /** stdout and stderr exactly as written. */
  stdout: string;
  stderr: string;
  /** Both, in the order the chunks arrived. */
  output: string;
  /** It ran past timeoutMs and was killed. */
  timedOut: boolean;
}

/** Runs a command to its end (bounded by timeoutMs) and returns what it wrote. */
export async function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = spawnChild({
    command,
    args,
    cwd: options.cwd,
    env: options.env,
    loopbackGuard: options.loopbackGuard,
    // Kept raw below, not as lines.
    keepOutput: 0,
  });
  let stdout = '';
  let stderr = '';
  let output = '';
  child.process.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    output += d.toString();
  });
  child.process.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    output += d.toString();
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.signal('SIGKILL');
  }, options.timeoutMs ?? 300_000);
  const exit = await child.exited;
  clearTimeout(timer);
  return { ...exit, stdout, stderr, output, timedOut };
}
