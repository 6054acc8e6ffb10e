/**
 * The slots: one pool of `concurrency` job slots shared by every job server connection.
 * A connection grabs only after the worker reserved a slot for it, so the bridge never
 * holds more jobs than it can run; each job runs on its own (a BUILD_DEVICE that waits
 * minutes holds one slot and nothing else), and a freed slot goes round-robin to the
 * next connection that wants work.
 *
 * Orphans: when a connection drops, gearmand re-queues its jobs, but their invokes run on
 * (a Lambda invoke cannot be called back) and their answers have nowhere to go. They leave
 * their slots at once, so the re-queued jobs start as soon as the connection is back, and
 * are counted apart, up to a bound (`maxOrphans`, equal to `concurrency`): past it the bridge
 * takes no job until enough of them end, so the invokes it has open stay bounded.
 *
 * A job the bridge did not ask for (a JOB_ASSIGN with no grab outstanding: gearmand never
 * does this) never runs beyond the slots: it runs in a free slot, or waits for one, and
 * past `concurrency` of them waiting the job server is treated as misbehaving (its
 * connection is recycled; gearmand re-queues what it handed out).
 */
import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { FunctionName, LogSink } from '../contract';
import { BRIDGE_MARGIN_SECONDS, FUNCTION_LIMITS, describeUnique } from '../contract';
import type { ServerAddress } from './address';
import type { AssignedJob, ConnectionOptions, ConnectionState, ServerStatus } from './connection';
import { ServerConnection } from './connection';
import type { Invoker, InvokeOutcome } from './invoker';
import { ABORTED, timedOut } from './invoker';
import type { JobAnswer, JobOptions } from './job';
import { failAnswer, finishJob, prepareJob } from './job';
import type { JobLines } from './job-lines';
import { jobLinesVia } from './job-lines';
import type { BridgeMetrics } from './metrics';
import { worker as request } from './gearman/protocol/serializer';

export interface WorkerOptions {
  servers: ServerAddress[];
  /** The connections' payload limit is the jobs' (job.maxPayloadBytes). */
  connection: Omit<ConnectionOptions, 'maxPayloadBytes'>;
  concurrency: number;
  job: JobOptions;
  /**
   * The longest a job's invoke may take before it is answered with a FAIL; a job's own
   * deadline is its function's timeout plus the margin (contract/deadlines.json), when shorter.
   */
  invokeTimeoutMs: number;
}

export interface WorkerDeps {
  invoker: Invoker;
  logger: LogSink;
  /** The lines about each job (default: through `logger`). */
  jobLines?: JobLines;
  metrics: BridgeMetrics;
}

export class Worker {
  private readonly connections: ServerConnection[];
  /** Jobs holding a slot: taken, not yet answered. */
  private readonly active = new Set<AssignedJob>();
  /** Jobs whose connection dropped while their invoke ran: no slot, answer dropped. */
  private readonly orphans = new Set<AssignedJob>();
  private overOrphanBound = false;
  /** Jobs a job server sent without being asked, waiting for a free slot. */
  private held: { connection: ServerConnection; job: AssignedJob }[] = [];
  private readonly lines: JobLines;
  private reserved = 0;
  private roundRobin = 0;
  private drainingFlag = false;
  private stopped = false;
  /** Abort functions of the invokes in flight, called by stop(). */
  private readonly running = new Set<(why: 'timeout' | 'aborted') => void>();
  /** Aborted by stop(): every invoke in flight gives up. */
  private readonly stopping = new AbortController();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly options: WorkerOptions,
    private readonly deps: WorkerDeps,
  ) {
    if (options.servers.length === 0) throw new Error('no job servers configured');
    this.lines = deps.jobLines ?? jobLinesVia(deps.logger);
    // Every invoke in flight listens to it: as many listeners as jobs and orphans.
    setMaxListeners(0, this.stopping.signal);
    const hooks = {
      onJob: (c: ServerConnection, job: AssignedJob, reserved: boolean) => this.onJob(c, job, reserved),
      onGrabReleased: (c: ServerConnection) => {
        this.reserved = Math.max(0, this.reserved - 1);
        if (this.drainingFlag) this.closeIfIdle(c);
        else this.schedule();
      },
      onReady: () => this.schedule(),
      onOrphaned: (c: ServerConnection, jobs: AssignedJob[]) => this.onOrphaned(c, jobs),
      onStateChange: (c: ServerConnection, previous: ConnectionState) =>
        deps.metrics.serverState(c.name, c.state, previous),
      onReconnectScheduled: (c: ServerConnection) => deps.metrics.reconnects.inc({ server: c.name }),
      onProbeFailed: (c: ServerConnection) => deps.metrics.probeFailures.inc({ server: c.name }),
    };
    const connection = { ...options.connection, maxPayloadBytes: options.job.maxPayloadBytes };
    this.connections = options.servers.map((server) => new ServerConnection(server, connection, hooks, deps.logger));
    for (const c of this.connections) deps.metrics.addServer(c.name);
  }

  get inFlight(): number {
    return this.active.size;
  }

  /** Invokes still running for jobs whose connection dropped (gearmand re-queued them). */
  get orphaned(): number {
    return this.orphans.size;
  }

  /** Orphaned invokes allowed before the bridge stops taking jobs: as many as slots. */
  get maxOrphans(): number {
    return this.options.concurrency;
  }

  /** Why the bridge takes no job although connected, or undefined. */
  get blockedReason(): string | undefined {
    return this.orphans.size > this.maxOrphans
      ? `${this.orphans.size} orphaned invokes (jobs whose job server connection dropped; gearmand re-queued them) are over the bound of ${this.maxOrphans}: taking no job until they end`
      : undefined;
  }

  get draining(): boolean {
    return this.drainingFlag;
  }

  get concurrency(): number {
    return this.options.concurrency;
  }

  start(): void {
    for (const c of this.connections) c.start();
  }

  servers(): ServerStatus[] {
    return this.connections.map((c) => c.snapshot());
  }

  /** Stops taking jobs; jobs in flight carry on and are answered. */
  stopTaking(): void {
    if (this.drainingFlag) return;
    this.drainingFlag = true;
    this.dropHeld(() => true);
    for (const c of this.connections) {
      c.stopTaking();
      this.closeIfIdle(c);
    }
  }

  /** Resolves when no job is in flight (immediately if none is). */
  whenIdle(): Promise<void> {
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Closes every connection and abandons jobs in flight (gearmand re-queues them).
   * graceful: answers already written are flushed before each socket closes.
   */
  async stop(graceful = false): Promise<void> {
    this.stopped = true;
    this.drainingFlag = true;
    for (const abort of [...this.running]) abort('aborted');
    this.stopping.abort();
    await Promise.all(this.connections.map((c) => c.close(graceful)));
  }

  private get free(): number {
    if (this.orphans.size > this.maxOrphans) return 0;
    return this.options.concurrency - this.active.size - this.reserved;
  }

  private schedule(): void {
    if (this.drainingFlag || this.stopped) return;
    // Jobs already here (sent unasked) go before any new grab.
    if (this.held.length > 0) this.startHeld();
    // One grab per connection per round, round after round, while slots are free and some
    // connection wants work: the free slots are shared out across the job servers.
    const n = this.connections.length;
    for (let granted = true; granted && this.free > 0;) {
      granted = false;
      for (let i = 0; i < n && this.free > 0; i += 1) {
        const c = this.connections[(this.roundRobin + i) % n];
        if (c?.wantsWork) {
          this.reserved += 1;
          c.grab();
          granted = true;
        }
      }
    }
    this.roundRobin = (this.roundRobin + 1) % n;
  }

  /** A connection dropped with these jobs running: they give their slots back and run on as orphans. */
  private onOrphaned(connection: ServerConnection, jobs: AssignedJob[]): void {
    this.dropHeld((c) => c === connection);
    let moved = 0;
    for (const job of jobs) {
      if (!this.active.delete(job)) continue;
      this.orphans.add(job);
      moved += 1;
    }
    if (moved === 0) return;
    this.deps.metrics.inFlight.dec(moved);
    this.deps.metrics.orphaned.inc(moved);
    this.deps.logger.warn(
      'jobs orphaned: their slots are free again, their invokes run on and their answers will be dropped',
      {
        server: connection.name,
        orphaned: moved,
        orphanedTotal: this.orphans.size,
        maxOrphans: this.maxOrphans,
      },
    );
    this.noteOrphanBound();
    this.wakeIfIdle();
    this.schedule();
  }

  /** Resolves the whenIdle() waiters once no job holds a slot. */
  private wakeIfIdle(): void {
    if (this.active.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    waiters.forEach((resolve) => resolve());
  }

  /** Logs when the orphans go over their bound (no job is taken) and when they are back under it. */
  private noteOrphanBound(): void {
    const over = this.orphans.size > this.maxOrphans;
    if (over === this.overOrphanBound) return;
    this.overOrphanBound = over;
    if (over) this.deps.logger.error('taking no jobs: too many orphaned invokes', { reason: this.blockedReason });
    else {
      this.deps.logger.info('orphaned invokes back within their bound: taking jobs again', {
        orphaned: this.orphans.size,
        maxOrphans: this.maxOrphans,
      });
      this.schedule();
    }
  }

  private onJob(connection: ServerConnection, job: AssignedJob, reserved: boolean): void {
    if (reserved) this.reserved = Math.max(0, this.reserved - 1);
    if (!reserved && !this.drainingFlag && this.free <= 0) {
      if (this.held.length >= this.options.concurrency) {
        connection.recycle(
          `sent more jobs than it was asked for, past the ${this.options.concurrency} the bridge holds for a slot: a misbehaving job server`,
        );
        return;
      }
      this.held.push({ connection, job });
      this.jobLog(job).warn('job server sent a job the bridge did not ask for; held until a slot frees', {
        held: this.held.length,
      });
      return;
    }
    if (!reserved) this.jobLog(job).warn('job server sent a job the bridge did not ask for; running it in a free slot');
    this.startJob(connection, job);
  }

  private jobLog(job: AssignedJob): LogSink {
    return jobLog(this.deps.logger, { unique: describeUnique(job.unique), handle: job.handle, server: job.server });
  }

  /** Starts the held jobs that free slots allow, oldest first; those whose connection closed are gone. */
  private startHeld(): void {
    while (this.held.length > 0 && this.free > 0 && !this.drainingFlag) {
      const next = this.held.shift() as { connection: ServerConnection; job: AssignedJob };
      if (!next.connection.holds(next.job)) continue;
      this.startJob(next.connection, next.job);
    }
  }

  /** Drops the held jobs of a connection that closed (gearmand re-queued them) or of every connection (draining). */
  private dropHeld(which: (connection: ServerConnection) => boolean): void {
    const kept: typeof this.held = [];
    for (const h of this.held) {
      if (!which(h.connection)) {
        kept.push(h);
        continue;
      }
      h.connection.release(h.job);
      this.deps.metrics.jobDone('unknown', 'not_started');
    }
    this.held = kept;
  }

  private startJob(connection: ServerConnection, job: AssignedJob): void {
    if (this.drainingFlag) {
      // Taken by a grab sent before the drain began: not started, so not answered.
      // gearmand gives it to another worker when this connection closes.
      connection.release(job);
      this.deps.metrics.jobDone('unknown', 'not_started');
      this.jobLog(job).warn(
        'job arrived while draining; not started, gearmand re-queues it when the connection closes',
      );
      this.closeIfIdle(connection);
      return;
    }
    this.active.add(job);
    this.deps.metrics.inFlight.inc();
    void this.run(connection, job)
      .catch((error: unknown) => {
        // run() handles every failure itself; this is a last line of defence: the job is
        // still answered (unless run() answered it before failing), never silently dropped.
        this.jobLog(job).error('job handling failed unexpectedly', { error: String(error) });
        const answer = failAnswer(undefined, `the bridge failed on this job: ${String(error)}`, 'invalid');
        if (answer.packet === 'WORK_COMPLETE') connection.answer(job, request.workComplete(job.handle, answer.data));
      })
      .finally(() => {
        if (this.orphans.delete(job)) {
          this.deps.metrics.orphaned.dec();
          this.noteOrphanBound();
        } else {
          this.active.delete(job);
          this.deps.metrics.inFlight.dec();
        }
        this.wakeIfIdle();
        if (this.drainingFlag) this.closeIfIdle(connection);
        else this.schedule();
      });
    this.schedule();
  }

  private async run(connection: ServerConnection, job: AssignedJob): Promise<void> {
    const started = performance.now();
    const unique = describeUnique(job.unique);
    if (job.unique.length === 0) this.jobLog(job).debug('job has no unique id; its action cannot be made idempotent');
    if (job.functionName !== this.options.connection.functionName) {
      this.jobLog(job).warn('job for a function this bridge did not register', { function: job.functionName });
    }
    const prepared = prepareJob(
      job.data,
      job.unique.length > 0 ? job.unique : undefined,
      job.handle,
      this.options.job,
      job.payloadBytes,
    );
    let answer: JobAnswer;
    if (prepared.kind === 'answer') {
      answer = prepared.answer;
    } else {
      this.lines.taken({
        unique,
        handle: job.handle,
        server: job.server,
        action: prepared.action,
        function: prepared.functionName,
        payloadBytes: job.data.length,
      });
      const invokeStarted = performance.now();
      const outcome = await this.invoke(prepared.functionName, prepared.payload, this.deadlineMs(prepared.baseName));
      this.deps.metrics.invokeDone(prepared.action, (performance.now() - invokeStarted) / 1000);
      try {
        answer = finishJob(prepared, outcome, this.options.job);
      } catch (error) {
        answer = failAnswer(
          prepared.message,
          `bridge could not read the function's answer: ${String(error)}`,
          prepared.action,
        );
      }
    }
    const packet =
      answer.packet === 'WORK_COMPLETE' ? request.workComplete(job.handle, answer.data) : request.workFail(job.handle);
    const sent = connection.answer(job, packet);
    const outcome = sent ? answer.outcome : 'lost';
    const durationMs = Math.round(performance.now() - started);
    this.deps.metrics.jobDone(answer.action, outcome);
    // The one line per job at INFO: who, what, how it ended, how long it took.
    const fields = {
      unique,
      handle: job.handle,
      server: job.server,
      action: answer.action,
      outcome,
      durationMs,
      error: answer.error,
    };
    if (!sent) {
      this.lines.answered(
        'WARN',
        'job finished but its connection is gone; gearmand re-queued it, answer dropped',
        fields,
      );
    } else {
      this.lines.answered(answer.outcome === 'pass' ? 'INFO' : 'WARN', 'job answered', fields);
    }
  }

  /**
   * How long a job of this function may take, lost-answer retries included: the function's
   * Lambda timeout plus the margin, or the invoke timeout when that is shorter.
   */
  private deadlineMs(name: FunctionName): number {
    const own = (FUNCTION_LIMITS[name].timeout + BRIDGE_MARGIN_SECONDS) * 1000;
    return Math.min(own, this.options.invokeTimeoutMs);
  }

  /**
   * Calls the invoker, bounded by the job's deadline and by stop(), whatever the invoker
   * does. One timer per job, released when it ends; the invoker gets the deadline and the
   * worker's one stop signal (no AbortController per job: creating one is a good part of
   * a short job's cost, and the Lambda invoker makes its own per request anyway).
   * Never rejects: an invoker that throws or rejects gives a failed outcome.
   */
  private invoke(functionName: string, payload: Buffer, timeoutMs: number): Promise<InvokeOutcome> {
    return new Promise<InvokeOutcome>((resolve) => {
      let settled = false;
      const settle = (outcome: InvokeOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.running.delete(stop);
        resolve(outcome);
      };
      const stop = (why: 'timeout' | 'aborted'): void =>
        settle(why === 'timeout' ? this.deadlinePassed(functionName, timeoutMs) : ABORTED);
      const timer = setTimeout(stop, timeoutMs, 'timeout');
      this.running.add(stop);
      try {
        this.deps.invoker
          .invoke(functionName, payload, this.stopping.signal, timeoutMs)
          .then(settle, (error: unknown) => {
            settle(invokerFailed(error));
          });
      } catch (error) {
        settle(invokerFailed(error));
      }
    });
  }

  private deadlinePassed(functionName: string, timeoutMs: number): InvokeOutcome {
    return timeoutMs === this.options.invokeTimeoutMs
      ? timedOut(timeoutMs)
      : timedOut(timeoutMs, `deadline of ${functionName}, its timeout plus ${BRIDGE_MARGIN_SECONDS} s`);
  }

  private closeIfIdle(connection: ServerConnection): void {
    if (connection.idle && connection.state !== 'stopped') void connection.close(true);
  }
}

type LogExtra = Record<string, unknown>;

/** An invoker that threw or rejected (it should resolve to an outcome): a FAIL with its error. */
function invokerFailed(error: unknown): InvokeOutcome {
  return {
    status: 'failed',
    reason: 'error',
    message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  };
}

/**
 * The rarer lines about one job (the two every job has are ./job-lines.ts), each carrying
 * its unique id, handle and server: per-call keys over the shared logger rather than a
 * Powertools child logger per job (a child re-reads the environment when it is made).
 */
function jobLog(logger: LogSink, keys: LogExtra): LogSink {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, extra: LogExtra = {}) =>
      logger[level](message, { ...keys, ...extra });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
