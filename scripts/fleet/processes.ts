/**
 * Child processes of the fleet: each started directly (no shell, no npx, so the PID held is
 * the real process), `detached` into a process group of its own, its output kept in a log
 * file, ready only once it says so, and stopped by its process-group id: SIGTERM, then
 * SIGKILL after a grace period.
 *
 * If this process ends without stopping them: an 'exit' handler SIGKILLs every group still
 * running (crash, process.exit, uncaught exception); and, for the deaths no handler sees
 * (SIGKILL, a signal without a handler), a small reaper process watches a pipe from this one
 * and, when it closes, stops every group it was told about.
 *
 *   const svc = await startService({ name: 'bridge', command: process.execPath, args: [...],
 *     logFile, ready: { line: /health endpoint listening/ }, readyTimeoutMs: 20_000 });
 *   svc.pid; await svc.stop();
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

/** Process groups started here and not yet seen to exit. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
  });
}

/**
 * The reaper: reads "+PGID" / "-PGID" lines on stdin; when stdin ends (this process is
 * gone, however it ended), SIGTERMs the groups left, SIGKILLs them 3 s later, and exits.
 * It stays in this process's group and ignores SIGINT, SIGHUP and SIGTERM, so a signal
 * to the whole group (a Ctrl-C, a test runner stopping a test file) does not take it away
 * before it has done its job; it always exits once stdin ends.
 */
const REAPER = `
const groups = new Set();
for (const s of ['SIGINT', 'SIGHUP', 'SIGTERM']) process.on(s, () => {});
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  const lines = buf.split('\\n');
  buf = lines.pop();
  for (const l of lines) (l[0] === '+' ? groups.add(Number(l.slice(1))) : groups.delete(Number(l.slice(1))));
});
const kill = (sig) => { for (const g of groups) { try { process.kill(-g, sig); } catch {} } };
const end = () => {
  if (groups.size === 0) process.exit(0);
  kill('SIGTERM');
  setTimeout(() => { kill('SIGKILL'); process.exit(0); }, 3000);
};
process.stdin.on('end', end);
process.stdin.on('error', end);
`;
let reaper: ChildProcess | undefined;

function tellReaper(line: string): void {
  if (!reaper) {
    reaper = spawn(process.execPath, ['-e', REAPER], { stdio: ['pipe', 'ignore', 'ignore'] });
    reaper.on('error', () => undefined);
    reaper.stdin?.on('error', () => undefined);
    // Neither the reaper nor its pipe keeps this process alive.
    reaper.unref();
    (reaper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  }
  reaper.stdin?.write(`${line}\n`);
}

/** Registers a process group for the exit-time SIGKILL; returns the function that unregisters it. */
export function trackGroup(pgid: number): () => void {
  installExitHook();
  liveGroups.add(pgid);
  tellReaper(`+${pgid}`);
  return () => {
    if (liveGroups.delete(pgid)) tellReaper(`-${pgid}`);
  };
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

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the promise's value, or with `fallback` after ms; the timer never outlives it. */
export async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until the group is empty or the time is up; true when it is empty. */
export async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

/**
 * Stops a process group: SIGTERM, up to graceMs for the leader to exit and the group to
 * empty, then SIGKILL to whatever is left. `exited` resolves when the leader has exited.
 */
export async function stopGroup(pgid: number, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  const leaderGone = await within(
    exited.then(() => true),
    graceMs,
    false,
  );
  if (leaderGone) await waitGroupGone(pgid, Math.max(200, deadline - Date.now()));
  if (groupAlive(pgid)) {
    signalGroup(pgid, 'SIGKILL');
    await exited;
    await waitGroupGone(pgid, 2000);
  }
}

/** A free TCP port on a loopback address (there is a small window before it is used). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** True when something accepts a TCP connection on host:port. */
export function accepts(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The last `lines` lines of a log file ('' when it does not exist). */
export function tailFile(file: string, lines = 20): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export interface ServiceOptions {
  /** Short name for messages ("functions", "bridge"). */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here. */
  logFile: string;
  /**
   * Ready when a line of output matches `line` (the match is returned), then, when `check`
   * is given, once check(match) resolves true (polled every 100 ms).
   */
  ready: { line: RegExp; check?: (match: RegExpExecArray) => Promise<boolean> };
  readyTimeoutMs: number;
  /** SIGTERM-to-SIGKILL grace period of stop() (default 5 s). */
  graceMs?: number;
  /** Each line of output as it arrives (e.g. to echo it, prefixed). */
  onLine?: (line: string) => void;
}

export interface Service {
  readonly name: string;
  /** PID of the process, which is also its process-group id. */
  readonly pid: number;
  readonly logFile: string;
  /** The ready line's match. */
  readonly match: RegExpExecArray;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** SIGTERM to the group, SIGKILL after the grace period; resolves once the group is gone. */
  stop(): Promise<void>;
}

export class StartError extends Error {
  override readonly name = 'StartError';
}

/** Starts a service and waits until it is ready; on failure it is stopped and StartError says why. */
export async function startService(options: ServiceOptions): Promise<Service> {
  const log = fs.createWriteStream(options.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  // 'close': the process has exited and its output pipes are drained.
  const closed = new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', () => resolve());
  });
  const pid = child.pid;
  if (pid === undefined) {
    const error = await spawnError;
    log.end();
    throw new StartError(`${options.name} could not be started (${options.command}): ${error.message}`);
  }
  const untrack = trackGroup(pid);
  void exited.then(() => {
    // The leader is gone; helpers it left in the group (esbuild's service) are swept by stop().
    if (!groupAlive(pid)) untrack();
  });

  let matched: RegExpExecArray | undefined;
  const lineWaiters: (() => void)[] = [];
  // One line splitter per stream, so a partial line of stdout never merges with stderr's.
  const splitter = (): ((chunk: Buffer) => void) => {
    let partial = '';
    return (chunk: Buffer): void => {
      log.write(chunk);
      partial += chunk.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        options.onLine?.(line);
        if (!matched) {
          const m = options.ready.line.exec(line);
          if (m) {
            matched = m;
            for (const wake of lineWaiters.splice(0)) wake();
          }
        }
      }
    };
  };
  const onStdout = splitter();
  const onStderr = splitter();
  child.stdout?.on('data', onStdout);
  child.stderr?.on('data', onStderr);
  // If this process dies first, the child's next write fails (EPIPE) and it exits too.
  child.stdout?.on('error', () => undefined);
  child.stderr?.on('error', () => undefined);

  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((info) => {
    exitInfo = info;
    for (const wake of lineWaiters.splice(0)) wake();
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= stopNow());
  const stopNow = async (): Promise<void> => {
    await stopGroup(pid, exited, options.graceMs ?? 5000);
    untrack();
    await within(closed, 1000, undefined);
    child.stdout?.off('data', onStdout);
    child.stderr?.off('data', onStderr);
    if (!log.writableEnded) await new Promise<void>((resolve) => log.end(resolve));
  };
  const fail = async (why: string): Promise<never> => {
    await stop();
    const tail = tailFile(options.logFile);
    throw new StartError(
      `${options.name} failed to start: ${why}\n--- last lines of ${options.logFile} ---\n${tail || '(no output)'}`,
    );
  };

  const deadline = Date.now() + options.readyTimeoutMs;
  const timeLeft = (): number => Math.max(0, deadline - Date.now());
  if (!matched) {
    await within(new Promise<void>((resolve) => lineWaiters.push(resolve)), timeLeft(), undefined);
  }
  if (!matched) {
    if (exitInfo) return fail(`it exited (${describeExit(exitInfo)}) before it was ready`);
    return fail(
      `not ready within ${Math.round(options.readyTimeoutMs / 1000)} s (waiting for output matching ${options.ready.line})`,
    );
  }
  const match = matched;
  if (options.ready.check) {
    for (;;) {
      if (exitInfo) return fail(`it exited (${describeExit(exitInfo)}) before it was ready`);
      if (await options.ready.check(match).catch(() => false)) break;
      if (timeLeft() === 0)
        return fail(
          `not ready within ${Math.round(options.readyTimeoutMs / 1000)} s (its readiness check never passed)`,
        );
      await sleep(100);
    }
  }
  return {
    name: options.name,
    pid,
    logFile: options.logFile,
    match,
    exited,
    running: () => exitInfo === undefined,
    stop,
  };
}

function describeExit(info: { code: number | null; signal: NodeJS.Signals | null }): string {
  if (info.signal) return `signal ${info.signal}`;
  if (info.code === null) return 'could not run';
  return `exit code ${info.code}`;
}
