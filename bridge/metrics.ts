/**
 * Prometheus metrics of the bridge, on a registry of its own (never prom-client's global
 * one, so several bridges in one process, as in tests, do not collide).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Metric } from 'prom-client';
import { ACTIONS, LAMBDA_MAX_TIMEOUT_SECONDS } from '../contract';

/** Invoke latency buckets in seconds, up to Lambda's longest timeout (contract/deadlines.json). */
const INVOKE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, LAMBDA_MAX_TIMEOUT_SECONDS];

/**
 * A histogram by one label, exposed as prom-client's Histogram exposes one (cumulative
 * `_bucket{le,…}` series, `le="+Inf"`, `_sum`, `_count`), but observed with an array
 * increment: prom-client's observe() validates and hashes the label set on every call,
 * which the bench's profile showed at 3.5% of the bridge's busy time (one per job).
 */
interface HistogramValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

class LabelledHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, { counts: Float64Array; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly buckets: readonly number[],
  ) {}

  /** The series of this label value, at 0 until observed (so a rate() sees its first increase). */
  zero(value: string): void {
    if (!this.series.has(value))
      this.series.set(value, { counts: new Float64Array(this.buckets.length + 1), sum: 0, count: 0 });
  }

  observe(value: string, observed: number): void {
    let s = this.series.get(value);
    if (!s) {
      this.zero(value);
      s = this.series.get(value) as { counts: Float64Array; sum: number; count: number };
    }
    let i = 0;
    while (i < this.buckets.length && observed > (this.buckets[i] as number)) i += 1;
    s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += observed;
    s.count += 1;
  }

  reset(): void {
    this.series.clear();
  }

  /** What prom-client's registry renders: the same values its Histogram would give. */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: HistogramValue[] }> {
    const values: HistogramValue[] = [];
    for (const [value, s] of this.series) {
      let cumulative = 0;
      for (let i = 0; i <= this.buckets.length; i += 1) {
        cumulative += s.counts[i] ?? 0;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { le: i < this.buckets.length ? (this.buckets[i] as number) : '+Inf', [this.labelName]: value },
          value: cumulative,
        });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { [this.labelName]: value }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { [this.labelName]: value }, value: s.count });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type as never,
      values,
      aggregator: this.aggregator,
    });
  }
}

/** jobCounts' key: the label pair, joined by a character neither label holds. */
function jobKey(action: string, outcome: string): string {
  return `${action}\u0000${outcome}`;
}

export class BridgeMetrics {
  readonly registry = new Registry();
  readonly inFlight: Gauge;
  readonly orphaned: Gauge;
  private readonly invokeSeconds: LabelledHistogram;
  readonly throttleRetries: Counter<'function'>;
  readonly lostAnswerRetries: Counter<'function'>;
  readonly reconnects: Counter<'server'>;
  readonly probeFailures: Counter<'server'>;
  private readonly connected: Gauge<'server'>;
  private readonly disconnects: Counter<'server'>;
  readonly concurrency: Gauge;
  readonly invokeTimeout: Gauge;
  readonly gearmanQueued: Gauge<'server' | 'function'>;
  readonly gearmanRunning: Gauge<'server' | 'function'>;
  readonly gearmanWorkers: Gauge<'server' | 'function'>;
  readonly gearmanAdminUp: Gauge<'server'>;
  /**
   * pool_bridge_jobs_total, counted here and handed to prom-client when it is scraped:
   * prom-client hashes the label set on every inc(), once per job otherwise.
   */
  private readonly jobCounts = new Map<string, { action: string; outcome: string; count: number }>();

  /** One job answered (or not): pool_bridge_jobs_total{action,outcome}. */
  jobDone(action: string, outcome: string): void {
    const key = jobKey(action, outcome);
    const entry = this.jobCounts.get(key);
    if (entry) entry.count += 1;
    else this.jobCounts.set(key, { action, outcome, count: 1 });
  }

  /** One invoke's latency: pool_bridge_invoke_duration_seconds{action}. */
  invokeDone(action: string, seconds: number): void {
    this.invokeSeconds.observe(action, seconds);
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const jobCounts = this.jobCounts;
    // Kept by the registry alone: its collect() copies jobCounts at each scrape.
    new Counter({
      name: 'pool_bridge_jobs_total',
      help: 'Jobs taken, by action and outcome (pass, fail, work_fail, lost: connection gone before the answer, not_started: arrived while draining)',
      labelNames: ['action', 'outcome'],
      registers,
      collect(this: Counter<'action' | 'outcome'>) {
        this.reset();
        for (const { action, outcome, count } of jobCounts.values()) this.inc({ action, outcome }, count);
      },
    });
    this.inFlight = new Gauge({
      name: 'pool_bridge_jobs_in_flight',
      help: 'Jobs taken and not yet answered',
      registers,
    });
    this.orphaned = new Gauge({
      name: 'pool_bridge_jobs_orphaned',
      help: 'Invokes still running for jobs whose job server connection dropped (gearmand re-queued them; their answers are dropped): they hold no slot',
      registers,
    });
    this.invokeSeconds = new LabelledHistogram(
      'pool_bridge_invoke_duration_seconds',
      'Lambda invoke latency, throttle retries included',
      'action',
      INVOKE_BUCKETS,
    );
    // The registry takes any object that gives it values the way a prom-client metric does
    // (prom-client's typings say a numeric MetricType where it uses the type's name).
    this.registry.registerMetric(this.invokeSeconds as unknown as Metric);
    this.throttleRetries = new Counter({
      name: 'pool_bridge_invoke_throttle_retries_total',
      help: 'Invokes retried after Lambda throttling (429 TooManyRequestsException), by function',
      labelNames: ['function'],
      registers,
    });
    this.lostAnswerRetries = new Counter({
      name: 'pool_bridge_invoke_lost_answer_retries_total',
      help: 'Invokes made again because the last one lost its answer (connection reset or closed, a 5xx from Lambda): the function may have run, and reruns with the same envelope',
      labelNames: ['function'],
      registers,
    });
    this.reconnects = new Counter({
      name: 'pool_bridge_reconnects_total',
      help: 'Reconnect attempts to a job server after a lost or failed connection',
      labelNames: ['server'],
      registers,
    });
    this.probeFailures = new Counter({
      name: 'pool_bridge_probe_failures_total',
      help: 'Job server connections recycled because a probe (ECHO_REQ after a silence) got no answer in time: a stopped or wedged job server',
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
      for (const outcome of ['pass', 'fail', 'work_fail', 'lost']) {
        this.jobCounts.set(jobKey(action, outcome), { action, outcome, count: 0 });
      }
      this.invokeSeconds.zero(action);
    }
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'pool_bridge_' });
  }

  /** A job server's series, at 0 from the start (so a rate() sees their first increase). */
  addServer(server: string): void {
    this.connected.set({ server }, 0);
    this.reconnects.inc({ server }, 0);
    this.probeFailures.inc({ server }, 0);
    this.disconnects.inc({ server }, 0);
  }

  /**
   * A job server connection's state changed: the connected gauge, and a lost registration
   * counted (connected to anything but stopped), so a flapping connection shows even when
   * it is back before the next scrape.
   */
  serverState(server: string, state: string, previous: string): void {
    if (previous === 'connected' && state !== 'stopped') this.disconnects.inc({ server });
    this.connected.set({ server }, state === 'connected' ? 1 : 0);
  }
}
