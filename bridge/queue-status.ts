/**
 * The job servers' queues, read with gearmand's text admin protocol (`status`: per Gearman
 * function, jobs in the queue, jobs running, workers registered) on an interval and exported
 * as the pool_bridge_gearman_* metrics, so a backlog on libra_pool_mgm shows.
 *
 * Each poll asks every server over a short connection of its own (gearman/admin.ts), with a
 * timeout, never over the worker's connection: a server that refuses the query, does not
 * speak the admin protocol or answers slowly leaves its queue unknown
 * (pool_bridge_gearman_admin_up 0 and no other series for it) and cannot delay a job. Polls
 * never overlap: the next one is scheduled when the last one is over.
 */
import type { LogSink } from '../contract';
import type { ServerAddress } from './address';
import { formatServer } from './address';
import type { AdminOptions, FunctionStatus } from './gearman';
import { gearmanStatus } from './gearman';
import type { BridgeMetrics } from './metrics';

/** The longest one status query may take, whatever the interval. */
const MAX_TIMEOUT_MS = 5000;

export interface QueuePollerOptions {
  servers: readonly ServerAddress[];
  /** Time between the end of one poll and the start of the next. */
  intervalMs: number;
  /** One query, connecting included (default: the interval, at most 5 s). */
  timeoutMs?: number;
  /** TLS to the job servers, as the worker connections use it. */
  tls?: AdminOptions['tls'];
}

export interface QueuePollerDeps {
  metrics: BridgeMetrics;
  logger: LogSink;
  /** The status query (default gearmanStatus); tests put a job server of their own behind it. */
  status?: (server: ServerAddress, options: AdminOptions) => Promise<FunctionStatus[]>;
}

export class QueuePoller {
  private readonly timeoutMs: number;
  private readonly status: NonNullable<QueuePollerDeps['status']>;
  /** Per server: the functions it has series for, and whether its last query answered. */
  private readonly exported = new Map<string, Set<string>>();
  private readonly answered = new Map<string, boolean>();
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly options: QueuePollerOptions,
    private readonly deps: QueuePollerDeps,
  ) {
    if (!(options.intervalMs > 0)) throw new RangeError(`queue poll interval must be positive: ${options.intervalMs}`);
    this.timeoutMs = options.timeoutMs ?? Math.min(options.intervalMs, MAX_TIMEOUT_MS);
    this.status = deps.status ?? ((server, admin) => gearmanStatus(server, admin));
  }

  /** Polls now, then every interval until stop(). */
  start(): void {
    if (this.stopped || this.current || this.timer) return;
    this.tick();
  }

  /** Stops polling; resolves once a poll in progress is over (it is bounded by the timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  /** Asks every server once and updates the metrics; never rejects. */
  pollOnce(): Promise<void> {
    return Promise.all(this.options.servers.map((server) => this.pollServer(server))).then(() => undefined);
  }

  private tick(): void {
    this.timer = undefined;
    this.current = this.pollOnce().finally(() => {
      this.current = undefined;
      if (this.stopped) return;
      this.timer = setTimeout(() => this.tick(), this.options.intervalMs);
      // The worker's sockets keep the bridge alive, not this timer.
      this.timer.unref();
    });
  }

  private async pollServer(address: ServerAddress): Promise<void> {
    const server = formatServer(address);
    const { metrics, logger } = this.deps;
    let functions: FunctionStatus[];
    try {
      functions = await this.status(address, {
        timeoutMs: this.timeoutMs,
        ...(this.options.tls ? { tls: this.options.tls } : {}),
      });
    } catch (error) {
      this.forget(server);
      metrics.gearmanAdminUp.set({ server }, 0);
      const fields = {
        server,
        error: error instanceof Error ? error.message : String(error),
        code: (error as { code?: unknown }).code,
      };
      // Once per outage, not at every poll.
      if (this.answered.get(server) !== false) {
        logger.warn(
          'cannot read the job server queue (admin status); its pool_bridge_gearman_* metrics are unknown',
          fields,
        );
      } else {
        logger.debug('job server queue still unknown', fields);
      }
      this.answered.set(server, false);
      return;
    }
    if (this.stopped) return;
    if (this.answered.get(server) === false) logger.info('job server queue status answers again', { server });
    this.answered.set(server, true);
    metrics.gearmanAdminUp.set({ server }, 1);
    const seen = new Set<string>();
    for (const f of functions) {
      const labels = { server, function: f.function };
      seen.add(f.function);
      // gearmand's total counts the running jobs too; queued is what waits for a worker.
      metrics.gearmanQueued.set(labels, Math.max(0, f.queued - f.running));
      metrics.gearmanRunning.set(labels, f.running);
      metrics.gearmanWorkers.set(labels, f.availableWorkers);
    }
    for (const gone of this.exported.get(server) ?? []) {
      if (!seen.has(gone)) this.removeSeries(server, gone);
    }
    this.exported.set(server, seen);
  }

  /** Drops every function series of a server: its queue is unknown, not empty. */
  private forget(server: string): void {
    for (const fn of this.exported.get(server) ?? []) this.removeSeries(server, fn);
    this.exported.delete(server);
  }

  private removeSeries(server: string, fn: string): void {
    const labels = { server, function: fn };
    this.deps.metrics.gearmanQueued.remove(labels);
    this.deps.metrics.gearmanRunning.remove(labels);
    this.deps.metrics.gearmanWorkers.remove(labels);
  }
}
