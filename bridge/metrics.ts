/**
 * Prometheus metrics of the bridge, on a registry of its own (never prom-client's global
 * one, so several bridges in one process, as in tests, do not collide).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ACTIONS, LAMBDA_MAX_TIMEOUT_SECONDS } from '../contract';

/** Invoke latency buckets in seconds, up to Lambda's longest timeout (contract/deadlines.json). */
const INVOKE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, LAMBDA_MAX_TIMEOUT_SECONDS];

export class BridgeMetrics {
  readonly registry = new Registry();
  readonly jobs: Counter<'action' | 'outcome'>;
  readonly inFlight: Gauge;
  readonly invokeSeconds: Histogram<'action'>;
  readonly throttleRetries: Counter<'function'>;
  readonly reconnects: Counter<'server'>;
  readonly connected: Gauge<'server'>;
  readonly disconnects: Counter<'server'>;
  readonly concurrency: Gauge;
  readonly invokeTimeout: Gauge;
  readonly gearmanQueued: Gauge<'server' | 'function'>;
  readonly gearmanRunning: Gauge<'server' | 'function'>;
  readonly gearmanWorkers: Gauge<'server' | 'function'>;
  readonly gearmanAdminUp: Gauge<'server'>;
  /** Per job server: was it connected at its last state change (for disconnects). */
  private readonly wasConnected = new Map<string, boolean>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.jobs = new Counter({
      name: 'pool_bridge_jobs_total',
      help: 'Jobs taken, by action and outcome (pass, fail, work_fail, lost: connection gone before the answer, not_started: arrived while draining)',
      labelNames: ['action', 'outcome'],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'pool_bridge_jobs_in_flight',
      help: 'Jobs taken and not yet answered',
      registers,
    });
    this.invokeSeconds = new Histogram({
      name: 'pool_bridge_invoke_duration_seconds',
      help: 'Lambda invoke latency, throttle retries included',
      labelNames: ['action'],
      buckets: INVOKE_BUCKETS,
      registers,
    });
    this.throttleRetries = new Counter({
      name: 'pool_bridge_invoke_throttle_retries_total',
      help: 'Invokes retried after Lambda throttling (429 TooManyRequestsException), by function',
      labelNames: ['function'],
      registers,
    });
    this.reconnects = new Counter({
      name: 'pool_bridge_reconnects_total',
      help: 'Reconnect attempts to a job server after a lost or failed connection',
      labelNames: ['server'],
      registers,
    });
    this.connected = new Gauge({
      name: 'pool_bridge_server_connected',
      help: '1 while the job server connection is registered and taking jobs',
      labelNames: ['server'],
      registers,
    });
    this.disconnects = new Counter({
      name: 'pool_bridge_server_disconnects_total',
      help: 'Registered job server connections that were lost (a dropped connection, a gearmand restart); a stop is not counted',
      labelNames: ['server'],
      registers,
    });
    this.concurrency = new Gauge({
      name: 'pool_bridge_concurrency',
      help: 'Job slots of this bridge (--concurrency): pool_bridge_jobs_in_flight never exceeds it',
      registers,
    });
    this.invokeTimeout = new Gauge({
      name: 'pool_bridge_invoke_timeout_seconds',
      help: 'How long one Lambda invoke may take before the job is answered FAIL (--invoke-timeout)',
      registers,
    });
    this.gearmanQueued = new Gauge({
      name: 'pool_bridge_gearman_jobs_queued',
      help: "Jobs waiting in the job server's queue for a worker, by Gearman function (admin status: total minus running)",
      labelNames: ['server', 'function'],
      registers,
    });
    this.gearmanRunning = new Gauge({
      name: 'pool_bridge_gearman_jobs_running',
      help: 'Jobs a worker is running, as the job server counts them, by Gearman function (admin status)',
      labelNames: ['server', 'function'],
      registers,
    });
    this.gearmanWorkers = new Gauge({
      name: 'pool_bridge_gearman_workers_available',
      help: 'Workers registered for the Gearman function on the job server, busy or not (admin status)',
      labelNames: ['server', 'function'],
      registers,
    });
    this.gearmanAdminUp = new Gauge({
      name: 'pool_bridge_gearman_admin_up',
      help: '1 when the last admin status query of the job server answered; 0: its queue is unknown (the pool_bridge_gearman_* series of that server are removed)',
      labelNames: ['server'],
      registers,
    });
    // Every action's series exist from the start, at 0: a counter first seen at 4 has no
    // increase, so the first burst of FAILs after a start would not count in a rate().
    for (const action of Object.keys(ACTIONS)) {
      for (const outcome of ['pass', 'fail', 'work_fail', 'lost']) this.jobs.inc({ action, outcome }, 0);
      this.invokeSeconds.zero({ action });
    }
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'pool_bridge_' });
  }

  /**
   * A job server connection's state: the connected gauge, and a lost registration counted
   * (connected to anything but stopped), so a flapping connection shows even when it is back
   * before the next scrape.
   */
  serverState(server: string, state: string): void {
    const connected = state === 'connected';
    const was = this.wasConnected.get(server) ?? false;
    if (was && !connected && state !== 'stopped') this.disconnects.inc({ server });
    this.wasConnected.set(server, connected);
    this.connected.set({ server }, connected ? 1 : 0);
  }
}
