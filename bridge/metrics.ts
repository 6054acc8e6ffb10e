/**
 * Prometheus metrics of the bridge, on a registry of its own (never prom-client's global
 * one, so several bridges in one process, as in tests, do not collide).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { LAMBDA_MAX_TIMEOUT_SECONDS } from '../contract';

/** Invoke latency buckets in seconds, up to Lambda's longest timeout (contract/deadlines.json). */
const INVOKE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, LAMBDA_MAX_TIMEOUT_SECONDS];

export class BridgeMetrics {
  readonly registry = new Registry();
  readonly jobs: Counter<'action' | 'outcome'>;
  readonly inFlight: Gauge;
  readonly orphaned: Gauge;
  readonly invokeSeconds: Histogram<'action'>;
  readonly throttleRetries: Counter<'function'>;
  readonly lostAnswerRetries: Counter<'function'>;
  readonly reconnects: Counter<'server'>;
  readonly connected: Gauge<'server'>;

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
    this.orphaned = new Gauge({
      name: 'pool_bridge_jobs_orphaned',
      help: 'Invokes still running for jobs whose job server connection dropped (gearmand re-queued them; their answers are dropped): they hold no slot',
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
    this.connected = new Gauge({
      name: 'pool_bridge_server_connected',
      help: '1 while the job server connection is registered and taking jobs',
      labelNames: ['server'],
      registers,
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'pool_bridge_' });
  }
}
