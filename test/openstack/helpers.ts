/**
 * A tiny purpose-built cloud for the client's tests: one node:http server on 127.0.0.1,
 * Keystone under /identity, Nova under /compute/v2.1, Neutron under /network, Glance under
 * /image. Every request is recorded (method, path with query, headers, JSON body) so tests
 * can assert the exact wire traffic.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudSettings } from '../../functions/openstack/types';
import type { LogSink } from '../../contract/logger';

export const PASSWORD = 'pw-Sup3r$ecret-7731';
export const APP_SECRET = 'appcred-S3cret-Qx99';

export interface Recorded {
  method: string;
  /** Path and query, as sent. */
  url: string;
  /** Path without the query, decoded. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export type Handler = (req: Recorded, res: ServerResponse) => void | Promise<void>;

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(text);
}

export interface TestServer {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: Recorded[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const parsed = new URL(req.url ?? '/', 'http://x');
      let body: unknown;
      try {
        body = raw ? (JSON.parse(raw) as unknown) : undefined;
      } catch {
        body = raw;
      }
      const rec: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        path: parsed.pathname,
        query: parsed.searchParams,
        headers: req.headers,
        body,
      };
      requests.push(rec);
      Promise.resolve(handler(rec, res)).catch((error: unknown) => {
        json(res, 599, { error: { message: `test handler failed: ${String(error)}` } });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface CatalogOptions {
  network?: boolean;
  image?: boolean;
  region?: string;
}

export function catalogFor(base: string, options: CatalogOptions = {}): unknown[] {
  const region = options.region ?? 'RegionOne';
  // Public endpoints in the main region; internal ones under /int; a second region (listed
  // first, with only the legacy `region` field) under /r2.
  const endpoints = (path: string) => [
    { id: 'e0', interface: 'public', region: 'RegionTwo', url: `${base}/r2${path}` },
    { id: 'e1', interface: 'public', region, region_id: region, url: `${base}${path}` },
    { id: 'e2', interface: 'internal', region, region_id: region, url: `${base}/int${path}` },
  ];
  const catalog: unknown[] = [
    { type: 'identity', name: 'keystone', endpoints: endpoints('/identity') },
    { type: 'compute', name: 'nova', endpoints: endpoints('/compute/v2.1') },
  ];
  if (options.network !== false) catalog.push({ type: 'network', name: 'neutron', endpoints: endpoints('/network') });
  if (options.image !== false) catalog.push({ type: 'image', name: 'glance', endpoints: endpoints('/image') });
  return catalog;
}

export interface FakeCloudOptions extends CatalogOptions {
  /** Handlers keyed by "METHOD /path" (path without the service prefix's host, with prefix). */
  routes?: Record<string, Handler>;
  /** Token lifetime (default one hour) and how long ago it was issued (default 0). */
  tokenTtlMs?: number;
  issuedAgoMs?: number;
  catalog?: (base: string) => unknown[];
  /** Replaces the default Keystone handler. */
  keystone?: Handler;
}

export interface FakeCloud extends TestServer {
  authUrl: string;
  /** Tokens issued so far; the services accept only the ones not revoked. */
  issued: string[];
  revokeAll(): void;
  keystoneCalls(): Recorded[];
  serviceCalls(prefix?: string): Recorded[];
}

let tokenCounter = 0;

export async function startFakeCloud(options: FakeCloudOptions = {}): Promise<FakeCloud> {
  const issued: string[] = [];
  const valid = new Set<string>();
  let base = '';
  const routes = options.routes ?? {};
  const server = await startServer(async (req, res) => {
    if (req.method === 'POST' && req.path === '/identity/v3/auth/tokens') {
      if (options.keystone) return options.keystone(req, res);
      const token = `gAAAAAtok-${++tokenCounter}-${Math.random().toString(36).slice(2)}`;
      issued.push(token);
      valid.add(token);
      const now = Date.now();
      const issuedAt = new Date(now - (options.issuedAgoMs ?? 0)).toISOString();
      const expiresAt = new Date(now + (options.tokenTtlMs ?? 3_600_000)).toISOString();
      json(
        res,
        201,
        {
          token: {
            methods: ['password'],
            issued_at: issuedAt,
            expires_at: expiresAt,
            project: { id: 'proj-1', name: 'demo', domain: { id: 'default', name: 'Default' } },
            user: { id: 'user-1', name: 'admin', domain: { id: 'default', name: 'Default' } },
            catalog: (options.catalog ?? ((b) => catalogFor(b, options)))(base),
          },
        },
        { 'X-Subject-Token': token },
      );
      return;
    }
    const tokenHeader = req.headers['x-auth-token'];
    if (typeof tokenHeader !== 'string' || !valid.has(tokenHeader)) {
      json(res, 401, {
        error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
      });
      return;
    }
    const route = routes[`${req.method} ${req.path}`];
    if (route) return route(req, res);
    json(res, 404, { itemNotFound: { code: 404, message: `no route for ${req.method} ${req.path}` } });
  });
  base = server.url;
  return {
    ...server,
    authUrl: `${server.url}/identity/v3`,
    issued,
    revokeAll() {
      valid.clear();
    },
    keystoneCalls() {
      return server.requests.filter((r) => r.path === '/identity/v3/auth/tokens');
    },
    serviceCalls(prefix = '/') {
      return server.requests.filter((r) => r.path !== '/identity/v3/auth/tokens' && r.path.startsWith(prefix));
    },
  };
}

export function passwordSettings(authUrl: string, overrides: Partial<CloudSettings> = {}): CloudSettings {
  return {
    auth: {
      method: 'password',
      authUrl,
      username: 'admin',
      userDomainName: 'Default',
      password: PASSWORD,
      projectName: 'demo',
      projectDomainName: 'Default',
    },
    regionName: 'RegionOne',
    interface: 'public',
    endpointOverrides: {},
    insecure: false,
    requestTimeoutMs: 2_000,
    retries: 2,
    ...overrides,
  };
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  extra: Record<string, unknown>[];
}

export function captureLogger(): LogSink & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (message: string, ...extra: Record<string, unknown>[]) => {
      lines.push({ level, message, extra });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Asserts that none of the given secrets appears in the text (error message, log line, ...). */
export function leaks(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((s) => s && text.includes(s));
}
