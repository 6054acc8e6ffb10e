/**
 * The bridge, embeddable: startBridge(config, { invoker, logger }) connects to the job
 * servers, serves jobs through the invoker and (unless config.health is unset) the
 * /healthz and /metrics endpoint. The CLI (cli.ts) is a thin layer over this.
 */
import fs from 'node:fs';
import type { LogSink } from '../contract';
import { ConfigurationError, createLogger } from '../contract';
import { formatServer } from './address';
import type { BridgeConfig } from './config';
import type { TlsFiles } from './connection';
import type { HealthReport, HealthServer } from './health';
import { healthReport, startHealthServer } from './health';
import type { Invoker } from './invoker';
import type { JobLines } from './job-lines';
import { BridgeMetrics } from './metrics';
import { QueuePoller } from './queue-status';
import { bridgeVersion } from './version';
import { Worker } from './worker';

export type { BridgeConfig } from './config';
export { DEFAULTS, makeConfig, loadConfig } from './config';
export type { Invoker, InvokeOutcome } from './invoker';
export type { HealthReport } from './health';

export interface BridgeDeps {
  invoker: Invoker;
  logger?: LogSink;
  /** The lines about each job (default: through `logger`). */
  jobLines?: JobLines;
  metrics?: BridgeMetrics;
}

export interface DrainResult {
  /** Jobs still running when the drain timeout ended (abandoned; gearmand re-queues them). */
  unfinished: number;
  timedOut: boolean;
}

export interface BridgeHandle {
  readonly worker: Worker;
  readonly metrics: BridgeMetrics;
  /** The health endpoint, when one was configured. */
  readonly health: HealthServer | undefined;
  /** The job servers' queue poller (pool_bridge_gearman_*), unless queue-poll-interval is 0. */
  readonly queue: QueuePoller | undefined;
  /** Per-server connection state, in-flight count: what /healthz shows. */
  state(): HealthReport;
  /** Stop taking jobs, wait (up to timeoutMs, default config.drainTimeoutMs) for jobs in flight, then stop. */
  drain(timeoutMs?: number): Promise<DrainResult>;
  /** Close everything now; jobs in flight are abandoned. */
  stop(): Promise<void>;
}

export async function startBridge(config: BridgeConfig, deps: BridgeDeps): Promise<BridgeHandle> {
  const logger = deps.logger ?? createLogger('pool-bridge');
  const metrics = deps.metrics ?? new BridgeMetrics();
  // The limits, next to the figures they bound, so alert rules compare them (ops/prometheus/alerts.yml).
  metrics.concurrency.set(config.concurrency);
  metrics.invokeTimeout.set(config.invokeTimeoutMs / 1000);
  const tlsFiles = config.tls ? readTlsFiles(config.tls) : undefined;
  const worker = new Worker(
    {
      servers: config.servers,
      concurrency: config.concurrency,
      invokeTimeoutMs: config.invokeTimeoutMs,
      job: {
        functionPrefix: config.functionPrefix,
        maxPayloadBytes: config.maxPayloadBytes,
        ...(config.deviceBasename !== undefined ? { deviceBasename: config.deviceBasename } : {}),
      },
      connection: {
        functionName: config.functionName,
        clientId: config.clientId,
        keepAlive: config.keepAlive,
        keepAliveIdleMs: config.keepAliveIdleMs,
        reconnectMaxMs: config.reconnectMaxDelayMs,
        probeIntervalMs: config.probeIntervalMs,
        probeTimeoutMs: config.probeTimeoutMs,
        ...(tlsFiles ? { tls: tlsFiles } : {}),
      },
    },
    { invoker: deps.invoker, logger, metrics, ...(deps.jobLines ? { jobLines: deps.jobLines } : {}) },
  );
  // Its own short connections to the job servers, TLS as the worker's, never the worker's own.
  const queue =
    config.queuePollIntervalMs > 0
      ? new QueuePoller(
          {
            servers: config.servers,
            intervalMs: config.queuePollIntervalMs,
            ...(tlsFiles ? { tls: tlsFiles } : {}),
          },
          { metrics, logger },
        )
      : undefined;
  const state = (): HealthReport =>
    healthReport({
      servers: worker.servers(),
      inFlight: worker.inFlight,
      concurrency: worker.concurrency,
      orphaned: worker.orphaned,
      maxOrphans: worker.maxOrphans,
      draining: worker.draining,
      version: bridgeVersion(),
      ...(worker.blockedReason ? { blocked: worker.blockedReason } : {}),
    });

  let health: HealthServer | undefined;
  if (config.health) {
    try {
      health = await startHealthServer({ ...config.health, metrics, report: state });
    } catch (error) {
      throw new ConfigurationError(
        `health-listen ${config.health.host}:${config.health.port}: cannot listen (${(error as Error).message})`,
        'health-listen',
      );
    }
    logger.info('health endpoint listening', { url: health.url });
  }
  worker.start();
  queue?.start();
  logger.info('bridge started', {
    servers: config.servers.map(formatServer),
    function: config.functionName,
    concurrency: config.concurrency,
    functionPrefix: config.functionPrefix,
    tls: Boolean(config.tls),
    queuePollSeconds: config.queuePollIntervalMs / 1000,
  });

  let stopping: Promise<void> | undefined;
  const shutdown = (graceful: boolean): Promise<void> => {
    stopping ??= (async () => {
      await queue?.stop();
      await worker.stop(graceful);
      await health?.close();
    })();
    return stopping;
  };
  const stop = (): Promise<void> => shutdown(false);
  const drain = async (timeoutMs = config.drainTimeoutMs): Promise<DrainResult> => {
    logger.info('draining: taking no more jobs', { inFlight: worker.inFlight, drainTimeoutMs: timeoutMs });
    worker.stopTaking();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      worker.whenIdle().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    const unfinished = worker.inFlight;
    if (timedOut && unfinished > 0) {
      logger.warn('drain timeout passed; abandoning jobs still running (gearmand re-queues them)', { unfinished });
    }
    await shutdown(true);
    logger.info('bridge stopped', { unfinished });
    return { unfinished, timedOut: timedOut && unfinished > 0 };
  };
  return { worker, metrics, health, queue, state, drain, stop };
}

function readTlsFiles(files: NonNullable<BridgeConfig['tls']>): TlsFiles {
  const read = (path: string | undefined, setting: string): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return fs.readFileSync(path);
    } catch (error) {
      throw new ConfigurationError(`invalid ${setting}: cannot read ${path} (${(error as Error).message})`, setting);
    }
  };
  const tls: TlsFiles = {};
  const ca = read(files.caFile, 'gearman-ssl-ca');
  const cert = read(files.certFile, 'gearman-ssl-cert');
  const key = read(files.keyFile, 'gearman-ssl-key');
  if (ca) tls.ca = ca;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  return tls;
}
