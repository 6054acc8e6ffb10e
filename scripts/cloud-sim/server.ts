/**
 * The loopback HTTP server: sorts each request to its service by path prefix, records it,
 * runs fault injection, and writes the reply.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultMessage, serviceErrorReply } from './errors';
import { headerValue, json } from './http';
import type { SimReply, SimRequest } from './http';
import { newRequestId } from './ids';
import { SERVICE_PREFIXES } from './context';
import type { Faults } from './faults';
import type { RequestLog } from './request-log';
import type { RecordedService, RequestRecord, ServiceName } from './types';

export interface ServiceHandler {
  handle(request: SimRequest): Promise<SimReply>;
}

export interface SimHttpServerDeps {
  services: Record<ServiceName, ServiceHandler>;
  control: ServiceHandler;
  faults: Faults;
  log: RequestLog;
  now: () => number;
  onRequest: ((record: RequestRecord) => void) | undefined;
}

interface Classified {
  service: RecordedService;
  /** undefined for paths outside every service prefix and /_sim. */
  handler: ServiceHandler | undefined;
  servicePath: string;
  prefix: string;
}

export class SimHttpServer {
  private readonly server: Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private baseUrl = '';

  constructor(private readonly deps: SimHttpServerDeps) {
    this.server = createServer((req, res) => {
      this.onRequest(req, res).catch((error: unknown) => {
        console.error('[cloud-sim] request handling failed', error);
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end();
      });
    });
  }

  /** Binds `host:port` (loopback, checked by the caller) and returns the base URL. */
  async listen(host: string, port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address() as AddressInfo;
    const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.baseUrl = `http://${hostPart}:${address.port}`;
    return this.baseUrl;
  }

  /** Stops listening and drops every connection, including hanging and delayed requests. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private classify(pathname: string): Classified {
    if (pathname === '/_sim' || pathname.startsWith('/_sim/')) {
      return { service: 'sim', handler: this.deps.control, servicePath: pathname, prefix: '' };
    }
    for (const [service, prefix] of Object.entries(SERVICE_PREFIXES) as [ServiceName, string][]) {
      if (pathname === prefix || pathname.startsWith(`${prefix}/`)) {
        return {
          service,
          handler: this.deps.services[service],
          servicePath: pathname.slice(prefix.length) || '/',
          prefix,
        };
      }
    }
    return { service: 'sim', handler: undefined, servicePath: pathname, prefix: '' };
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const method = (req.method ?? 'GET').toUpperCase();
    const target = this.classify(url.pathname);
    const record = this.deps.log.start(target.service, method, target.servicePath, this.deps.now());
    const rawBody = await readBody(req);
    const request: SimRequest = {
      method,
      path: target.servicePath,
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      baseUrl: this.baseUrl,
      serviceUrl: this.baseUrl + target.prefix,
    };

    let reply: SimReply;
    if (target.service !== 'sim') {
      const fault = await this.deps.faults.intercept(
        { service: target.service, method, servicePath: target.servicePath, fullPath: url.pathname },
        (ms) => this.sleep(ms),
      );
      if (fault?.kind === 'reset') {
        req.socket.destroy();
        this.finish(record);
        return;
      }
      if (fault?.kind === 'hang') {
        this.finish(record);
        return;
      }
      reply = fault
        ? this.faultReply(target.service, fault.status, fault.body, fault.headers, request)
        : await this.handle(target.service, target.handler, request);
    } else {
      reply = target.handler ? await target.handler.handle(request) : this.rootReply(request);
    }
    record.status = reply.status;
    writeReply(res, method, reply);
    this.finish(record);
  }

  private finish(record: RequestRecord): void {
    this.deps.onRequest?.({ ...record });
  }

  private async handle(
    service: ServiceName,
    handler: ServiceHandler | undefined,
    request: SimRequest,
  ): Promise<SimReply> {
    try {
      if (!handler) throw new Error(`no handler for ${service}`);
      return await handler.handle(request);
    } catch (error) {
      console.error(`[cloud-sim] ${service} ${request.method} ${request.path} failed`, error);
      return serviceErrorReply(
        service,
        500,
        'An unexpected error prevented the server from fulfilling your request.',
        headerValue(request, 'accept'),
      );
    }
  }

  private faultReply(
    service: ServiceName,
    status: number,
    body: unknown,
    headers: Record<string, string> | undefined,
    request: SimRequest,
  ): SimReply {
    const base =
      body === undefined
        ? serviceErrorReply(service, status, defaultMessage(status), headerValue(request, 'accept'))
        : json(status, body);
    return headers ? { ...base, headers: { ...base.headers, ...headers } } : base;
  }

  private rootReply(request: SimRequest): SimReply {
    if (request.path === '/' && request.method === 'GET') {
      const services = Object.fromEntries(
        Object.entries(SERVICE_PREFIXES).map(([name, prefix]) => [name, this.baseUrl + prefix]),
      );
      return json(200, { name: 'cloud-sim', services, control: `${this.baseUrl}/_sim/state` });
    }
    return json(404, { error: `nothing is served at ${request.path}` });
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(Buffer.concat(chunks)));
  });
}

function writeReply(res: ServerResponse, method: string, reply: SimReply): void {
  if (res.destroyed) return;
  let payload: Buffer | undefined;
  let contentType: string | undefined;
  if (reply.text !== undefined) {
    payload = Buffer.from(reply.text);
    contentType = reply.contentType ?? 'text/plain; charset=UTF-8';
  } else if (reply.body !== undefined) {
    payload = Buffer.from(JSON.stringify(reply.body));
    contentType = 'application/json';
  }
  const requestId = newRequestId();
  const noContent = reply.status === 204 || reply.status === 304;
  const headers: Record<string, string | string[]> = {
    'x-openstack-request-id': requestId,
    'x-compute-request-id': requestId,
    ...(contentType && !noContent ? { 'Content-Type': contentType } : {}),
    ...(noContent ? {} : { 'Content-Length': String(payload?.length ?? 0) }),
    ...reply.headers,
  };
  res.writeHead(reply.status, headers);
  res.end(noContent || method === 'HEAD' ? undefined : payload);
}
