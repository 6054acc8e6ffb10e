/**
 * The slots: one pool of `concurrency` job slots shared by every job server connection.
 * A connection grabs only after the worker reserved a slot for it, so the bridge never
 * holds more jobs than it can run; each job runs on its own (a BUILD_DEVICE that waits
 * minutes holds one slot and nothing else), and a freed slot goes round-robin to the
 * next connection that wants work.
 */
import { performance } from 'node:perf_hooks';
import type { LogSink } from '../contract';
import { describeUnique } from '../contract';
import type { AssignedJob, ConnectionOptions, ServerAddress, ServerStatus } from './connection';
import { ServerConnection } from './connection';
import type { Invoker, InvokeOutcome } from './invoker';
import type { JobAnswer, JobOptions } from './job';
import { failAnswer, finishJob, prepareJob } from './job';
import type { BridgeMetrics } from './metrics';
import { worker as request } from './gearman/protocol/serializer';

export interface WorkerOptions {
  servers: ServerAddress[];
  connection: ConnectionOptions;
  concurrency: number;
  job: JobOptions;
  /** The longest a job's invoke may take before it is answered with a FAIL. */
  invokeTimeoutMs: number;
}

export interface WorkerDeps {
  invoker: Invoker;
  logger: LogSink;
  metrics: BridgeMetrics;
}

export class Worker {
  private readonly connections: ServerConnection[];
  private inFlightCount = 0;
  private reserved = 0;
  private roundRobin = 0;
  private drainingFlag = false;
  private stopped = false;
  /** Abort functions of the invokes in flight, called by stop(). */
  private readonly running = new Set<() => void>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly options: WorkerOptions,
    private readonly deps: WorkerDeps,
  ) {
    if (options.servers.length === 0) throw new Error('no job servers configured');
    const hooks = {
      onJob: (c: ServerConnection, job: AssignedJob, reserved: boolean) => this.onJob(c, job, reserved),
      onGrabReleased: (c: ServerConnection) => {
        this.reserved = Math.max(0, this.reserved - 1);
        if (this.drainingFlag) this.closeIfIdle(c);
        else this.schedule();
      },
      onReady: () => this.schedule(),
      onStateChange: (c: ServerConnection) => {
        deps.metrics.serverState(c.name, c.state);
      },
      onReconnectScheduled: (c: ServerConnection) => deps.metrics.reconnects.inc({ server: c.name }),
    };
    this.connections = options.servers.map(
      (server) => new ServerConnection(server, options.connection, hooks, deps.logger),
    );
    for (const c of this.connections) {
      deps.metrics.connected.set({ server: c.name }, 0);
      deps.metrics.reconnects.inc({ server: c.name }, 0);
      deps.metrics.disconnects.inc({ server: c.name }, 0);
    }
  }

  get inFlight(): number {
    return this.inFlightCount;
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
    for (const c of this.connections) {
      c.stopTaking();
      this.closeIfIdle(c);
    }
  }

  /** Resolves when no job is in flight (immediately if none is). */
  whenIdle(): Promise<void> {
    if (this.inFlightCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Closes every connection and abandons jobs in flight (gearmand re-queues them).
   * graceful: answers already written are flushed before each socket closes.
   */
  async stop(graceful = false): Promise<void> {
    this.stopped = true;
    this.drainingFlag = true;
    for (const abort of [...this.running]) abort();
    await Promise.all(this.connections.map((c) => c.close(graceful)));
  }

  private get free(): number {
    return this.options.concurrency - this.inFlightCount - this.reserved;
  }

  private schedule(): void {
    if (this.drainingFlag || this.stopped) return;
    const n = this.connections.length;
    for (let i = 0; i < n && this.free > 0; i += 1) {
      const c = this.connections[(this.roundRobin + i) % n];
      if (c?.wantsWork) {
        this.reserved += 1;
        c.grab();
      }
    }
    this.roundRobin = (this.roundRobin + 1) % n;
  }

  private onJob(connection: ServerConnection, job: AssignedJob, reserved: boolean): void {
    if (reserved) this.reserved = Math.max(0, this.reserved - 1);
    const log = jobLog(this.deps.logger, {
      unique: describeUnique(job.unique),
      handle: job.handle,
      server: job.server,
    });
    if (this.drainingFlag) {
      // Taken by a grab sent before the drain began: not started, so not answered.
      // gearmand gives it to another worker when this connection closes.
      connection.release(job);
      this.deps.metrics.jobs.inc({ action: 'unknown', outcome: 'not_started' });
      log.warn('job arrived while draining; not started, gearmand re-queues it when the connection closes');
      this.closeIfIdle(connection);
      return;
    }
    this.inFlightCount += 1;
    this.deps.metrics.inFlight.inc();
    void this.run(connection, job, log)
      .catch((error: unknown) => {
        // run() handles every failure itself; this is a last line of defence: the job is
        // still answered (unless run() answered it before failing), never silently dropped.
        log.error('job handling failed unexpectedly', { error: String(error) });
        const answer = failAnswer(undefined, `the bridge failed on this job: ${String(error)}`, 'invalid');
        if (answer.packet === 'WORK_COMPLETE') connection.answer(job, request.workComplete(job.handle, answer.data));
      })
      .finally(() => {
        this.inFlightCount -= 1;
        this.deps.metrics.inFlight.dec();
        if (this.inFlightCount === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          waiters.forEach((resolve) => resolve());
        }
        if (this.drainingFlag) this.closeIfIdle(connection);
        else this.schedule();
      });
    this.schedule();
  }

  private async run(connection: ServerConnection, job: AssignedJob, log: LogSink): Promise<void> {
    const started = performance.now();
    if (job.unique.length === 0) log.debug('job has no unique id; its action cannot be made idempotent');
    if (job.functionName !== this.options.connection.functionName) {
      log.warn('job for a function this bridge did not register', { function: job.functionName });
    }
    const prepared = prepareJob(job.data, job.unique.length > 0 ? job.unique : undefined, job.handle, this.options.job);
    let answer: JobAnswer;
    if (prepared.kind === 'answer') {
      answer = prepared.answer;
    } else {
      log.info('job taken', {
        action: prepared.action,
        function: prepared.functionName,
        payloadBytes: job.data.length,
      });
      const invokeStarted = performance.now();
      let outcome: InvokeOutcome;
      try {
        outcome = await this.invoke(prepared.functionName, prepared.payload);
      } catch (error) {
        outcome = {
          status: 'failed',
          reason: 'error',
          message: error instanceof Error ? error.message : String(error),
        };
      }
      this.deps.metrics.invokeSeconds.observe({ action: prepared.action }, (performance.now() - invokeStarted) / 1000);
      try {
        answer = finishJob(prepared, outcome);
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
    this.deps.metrics.jobs.inc({ action: answer.action, outcome });
    const fields = { action: answer.action, outcome, durationMs, ...(answer.error ? { error: answer.error } : {}) };
    if (!sent) {
      log.warn('job finished but its connection is gone; gearmand re-queued it, answer dropped', fields);
    } else if (answer.outcome === 'pass') {
      log.info('job answered', fields);
    } else {
      log.warn('job answered', fields);
    }
  }

  /**
   * Calls the invoker, bounded by the invoke timeout and by stop(), whatever the invoker
   * does. One controller and one timer per job, both released when it ends (no
   * AbortSignal.timeout/any: their timers and listeners outlive a short job by the whole
   * timeout, which at thousands of jobs per second adds up).
   */
  private async invoke(functionName: string, payload: Buffer): Promise<InvokeOutcome> {
    const controller = new AbortController();
    let reason: 'timeout' | 'aborted' | undefined;
    const abort = (why: 'timeout' | 'aborted'): void => {
      reason ??= why;
      controller.abort();
    };
    const onStop = (): void => abort('aborted');
    this.running.add(onStop);
    const timer = setTimeout(() => abort('timeout'), this.options.invokeTimeoutMs);
    const aborted = new Promise<InvokeOutcome>((resolve) => {
      controller.signal.addEventListener(
        'abort',
        () =>
          resolve(
            reason === 'timeout'
              ? {
                  status: 'failed',
                  reason: 'timeout',
                  message: `no answer within the ${this.options.invokeTimeoutMs / 1000} s invoke timeout (the function may still be running)`,
                }
              : { status: 'failed', reason: 'aborted', message: 'the bridge stopped before the function answered' },
          ),
        { once: true },
      );
    });
    const invoked = Promise.resolve()
      .then(() => this.deps.invoker.invoke(functionName, payload, controller.signal))
      .catch((error: unknown): InvokeOutcome => ({
        status: 'failed',
        reason: 'error',
        message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      }));
    try {
      return await Promise.race([invoked, aborted]);
    } finally {
      clearTimeout(timer);
      this.running.delete(onStop);
    }
  }

  private closeIfIdle(connection: ServerConnection): void {
    if (connection.idle && connection.state !== 'stopped') void connection.close(true);
  }
}

type LogExtra = Record<string, unknown>;

/**
 * The lines about one job, each carrying its unique id, handle and server: per-call keys
 * over the shared logger rather than a Powertools child logger per job (a child re-reads
 * the environment when it is made, which took half the bridge's CPU at a few thousand jobs
 * per second: bench/REPORT.md, question 2).
 */
function jobLog(logger: LogSink, keys: LogExtra): LogSink {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, extra: LogExtra = {}) =>
      logger[level](message, { ...keys, ...extra });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
