/**
 * A real Prometheus (Debian's prometheus package), the one way this project starts one: the
 * local fleet (`npm start`) scrapes its bridge with the alert rules of
 * ops/prometheus/alerts.yml, and the end-to-end alert test does the same on faster clocks.
 * It listens on a free loopback port, with its configuration and its TSDB in a temporary
 * directory that stop() removes, and runs as a service of the harness (../harness: its own
 * process group, stopped by group id).
 *
 *   const prom = await startPrometheus({ binary, targets: ['127.0.0.1:9464'], ruleFiles, logFile });
 *   await prom.alerts();            // what /api/v1/alerts says: pending and firing alerts
 *   await prom.stop();
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { formatServer } from '../../bridge/address';
import type { Exit, Service } from '../harness';
import { StartError, onFreePorts, startService } from '../harness';

/** The scrape job of pool-bridge: the alert rules select `job="pool-bridge"`. */
export const BRIDGE_JOB = 'pool-bridge';

/**
 * The prometheus binary: $PROMETHEUS when set (and only it), else `prometheus` on the PATH,
 * else Debian's /usr/bin/prometheus; undefined when none is an executable file.
 */
export function findPrometheus(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const onPath = (env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, 'prometheus'));
  const candidates = env.PROMETHEUS ? [env.PROMETHEUS] : [...onPath, '/usr/bin/prometheus'];
  return candidates.find((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

export interface PrometheusOptions {
  binary: string;
  /** Listen address (default 127.0.0.1: loopback only). */
  host?: string;
  /** host:port of each pool-bridge health endpoint, scraped at /metrics as job "pool-bridge". */
  targets: string[];
  /** Rule files, absolute paths. */
  ruleFiles: string[];
  /** Prometheus durations, e.g. "5s" or "500ms" (defaults 5s). */
  scrapeInterval?: string;
  evaluationInterval?: string;
  /** Prometheus' own log (stdout and stderr). */
  logFile: string;
  /** How long it may take to be ready (default 30 s). */
  readyTimeoutMs?: number;
  onLine?: (line: string) => void;
}

/** One alert as /api/v1/alerts reports it. */
export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

/** The HTTP API of a Prometheus, the parts this project reads. */
export interface PrometheusApi {
  /** Every alert pending or firing now. */
  alerts(): Promise<PrometheusAlert[]>;
  /** An instant query; rejects with Prometheus' error for a bad expression. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** The scrape targets, their health ("up", "down", "unknown") and when each was last scraped. */
  targets(): Promise<{ scrapeUrl: string; health: string; lastError: string; lastScrape: string }[]>;
  /** The rule groups loaded, and when each was last evaluated. */
  ruleGroups(): Promise<{ name: string; file: string; lastEvaluation: string; rules: { name: string }[] }[]>;
}

export interface Prometheus extends Service, PrometheusApi {
  /** e.g. http://127.0.0.1:9090 */
  readonly url: string;
}

/** The configuration file's text: one scrape job for the bridges, the rule files. */
export function prometheusConfig(
  options: Pick<PrometheusOptions, 'targets' | 'ruleFiles' | 'scrapeInterval' | 'evaluationInterval'>,
): string {
  const scrapeInterval = options.scrapeInterval ?? '5s';
  return YAML.stringify({
    global: {
      scrape_interval: scrapeInterval,
      // A scrape may not take longer than the interval between two.
      scrape_timeout: scrapeInterval,
      evaluation_interval: options.evaluationInterval ?? '5s',
    },
    rule_files: options.ruleFiles,
    scrape_configs: [{ job_name: BRIDGE_JOB, static_configs: [{ targets: options.targets }] }],
  });
}

export async function startPrometheus(options: PrometheusOptions): Promise<Prometheus> {
  const host = options.host ?? '127.0.0.1';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prometheus-'));
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, prometheusConfig(options));
  try {
    return await onFreePorts(
      host,
      1,
      async (port) => {
        const listen = formatServer({ host, port });
        const url = `http://${listen}`;
        const service = await startService({
          name: 'prometheus',
          command: options.binary,
          args: [
            `--config.file=${configFile}`,
            `--storage.tsdb.path=${path.join(dir, 'data')}`,
            `--web.listen-address=${listen}`,
          ],
          cwd: dir,
          group: true,
          logFile: options.logFile,
          ready: {
            line: /Server is ready to receive web requests/,
            http: { url: `${url}/-/ready`, ok: (status) => status === 200 },
          },
          readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
          ...(options.onLine ? { onLine: options.onLine } : {}),
        });
        return prometheusHandle(service, url, dir);
      },
      (error) => error instanceof StartError && /address already in use/.test(error.message),
    );
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

function prometheusHandle(service: Service, url: string, dir: string): Prometheus {
  const stopProcess = service.stop.bind(service);
  return Object.assign(service, prometheusApi(url), {
    url,
    stop: async (graceMs?: number): Promise<Exit> => {
      const exit = await stopProcess(graceMs);
      fs.rmSync(dir, { recursive: true, force: true });
      return exit;
    },
  });
}

/** The API of the Prometheus at `url` (e.g. http://127.0.0.1:9090), whoever started it. */
export function prometheusApi(url: string): PrometheusApi {
  const api = async <T>(pathAndQuery: string): Promise<T> => {
    const res = await fetch(`${url}${pathAndQuery}`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status: string; data?: T; error?: string; errorType?: string };
    if (body.status !== 'success' || body.data === undefined) {
      throw new Error(`Prometheus ${pathAndQuery}: ${body.errorType ?? res.status}: ${body.error ?? 'no data'}`);
    }
    return body.data;
  };
  return {
    alerts: async () => (await api<{ alerts: PrometheusAlert[] }>('/api/v1/alerts')).alerts,
    query: async (expr: string) =>
      (
        await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(
          `/api/v1/query?query=${encodeURIComponent(expr)}`,
        )
      ).result,
    targets: async () =>
      (
        await api<{ activeTargets: { scrapeUrl: string; health: string; lastError: string; lastScrape: string }[] }>(
          '/api/v1/targets',
        )
      ).activeTargets,
    ruleGroups: async () =>
      (
        await api<{
          groups: { name: string; file: string; lastEvaluation: string; rules: { name: string }[] }[];
        }>('/api/v1/rules')
      ).groups,
  };
}
