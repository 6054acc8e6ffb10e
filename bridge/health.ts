/**
 * The operations endpoint (node:http): GET /healthz (JSON, 200 while at least one job
 * server connection is registered and the bridge takes jobs, 503 otherwise, with the
 * reason) and GET /metrics (Prometheus text from the bridge's own registry).
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { formatServer } from './address';
import type { ServerStatus } from './connection';
import type { BridgeMetrics } from './metrics';

export interface HealthReport {
  /** ok: serving (HTTP 200); down: no job server registered; draining: stopping; blocked: connected but taking no job (HTTP 503 for all three). */
  status: 'ok' | 'down' | 'draining' | 'blocked';
  /** Why the status is not ok, when it is not plain from `servers`. */
  reason?: string;
  servers: ServerStatus[];
  inFlight: number;
  concurrency: number;
  /** Invokes running for jobs whose connection dropped (no slot held; answers dropped). */
  orphaned: number;
  maxOrphans: number;
  draining: boolean;
  version: string;
}

export interface HealthServer {
  readonly host: string;
  readonly port: number;
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
  close(): Promise<void>;
}

export function healthReport(input: Omit<HealthReport, 'status' | 'reason'> & { blocked?: string }): HealthReport {
  const { blocked, ...rest } = input;
  const connected = rest.servers.some((s) => s.state === 'connected');
  if (!connected) {
    return rest.draining
      ? { status: 'draining', ...rest }
      : { status: 'down', reason: 'no job server connection is registered', ...rest };
  }
  if (blocked && !rest.draining) return { status: 'blocked', reason: blocked, ...rest };
  return { status: 'ok', ...rest };
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return net.isIPv4(h) && h.startsWith('127.');
}

export async function startHealthServer(options: {
  host: string;
  port: number;
  metrics: BridgeMetrics;
  report: () => HealthReport;
}): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    void respond(req, res, options).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.address;
  const url = `http://${formatServer({ host, port: address.port })}`;
  return {
    host,
    port: address.port,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function respond(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  options: { metrics: BridgeMetrics; report: () => HealthReport },
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
    res.end('method not allowed\n');
    return;
  }
  if (path === '/healthz') {
    const report = options.report();
    const body = `${JSON.stringify(report)}\n`;
    res.writeHead(report.status === 'ok' ? 200 : 503, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  if (path === '/metrics') {
    const text = await options.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': options.metrics.registry.contentType });
    res.end(req.method === 'HEAD' ? undefined : text);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found: try /healthz or /metrics\n');
}
