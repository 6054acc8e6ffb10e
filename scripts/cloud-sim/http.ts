/** Request/reply shapes shared by the service handlers, and a small path router. */
import type { IncomingHttpHeaders } from 'node:http';

export interface SimRequest {
  /** Upper-case HTTP method. */
  method: string;
  /** Path inside the service prefix, without query, e.g. '/v2.1/servers/abc'. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  /** 'http://127.0.0.1:PORT' */
  baseUrl: string;
  /** baseUrl plus the service prefix, e.g. 'http://127.0.0.1:PORT/compute'. */
  serviceUrl: string;
}

export interface SimReply {
  status: number;
  /** Serialised as JSON unless `text` is given. */
  body?: unknown;
  /** A literal body (with `contentType`), for the few non-JSON answers. */
  text?: string;
  contentType?: string;
  headers?: Record<string, string | string[]>;
}

export function json(status: number, body: unknown, headers?: Record<string, string | string[]>): SimReply {
  return headers ? { status, body, headers } : { status, body };
}

export function noContent(status = 204, headers?: Record<string, string | string[]>): SimReply {
  return headers ? { status, headers } : { status };
}

export function headerValue(request: SimRequest, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  if (Array.isArray(value)) return value.join(', ');
  return value;
}

export type JsonParse = { ok: true; value: unknown } | { ok: false };

/** An empty body parses as `undefined`; a body that is not JSON fails. */
export function parseJson(request: SimRequest): JsonParse {
  const text = request.rawBody.toString('utf8');
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface Route<Ctx> {
  method: string;
  pattern: RegExp;
  handle: (ctx: Ctx, params: string[]) => SimReply | Promise<SimReply>;
}

/** `template` uses `{name}` for one path segment, e.g. '/v2.1/servers/{id}/action'. */
export function route<Ctx>(method: string, template: string, handle: Route<Ctx>['handle']): Route<Ctx> {
  const source = template
    .split('/')
    .map((segment) => (/^\{\w+\}$/.test(segment) ? '([^/]+)' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return { method, pattern: new RegExp(`^${source}$`), handle };
}

export type RouteMatch<Ctx> =
  | { kind: 'found'; route: Route<Ctx>; params: string[] }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

export function matchRoute<Ctx>(routes: readonly Route<Ctx>[], method: string, path: string): RouteMatch<Ctx> {
  const normalised = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const allowed: string[] = [];
  for (const candidate of routes) {
    const match = candidate.pattern.exec(normalised);
    if (!match) continue;
    // HEAD is answered like GET without a body, as WSGI servers do.
    if (candidate.method === method || (method === 'HEAD' && candidate.method === 'GET')) {
      return { kind: 'found', route: candidate, params: match.slice(1).map(safeDecode) };
    }
    allowed.push(candidate.method);
  }
  return allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
