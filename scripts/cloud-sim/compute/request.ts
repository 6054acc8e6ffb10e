/** The per-request view the Nova handlers work with. */
import { ApiError } from '../errors';
import { parseJson } from '../http';
import type { SimRequest } from '../http';
import type { CloudContext } from '../context';
import type { Token } from '../tokens';
import type { Microversion } from './microversion';

export class ComputeRequest {
  constructor(
    readonly cloud: CloudContext,
    readonly request: SimRequest,
    readonly token: Token,
    readonly version: Microversion,
    /** The path below /v2.1, e.g. '/servers/abc', project id already stripped. */
    readonly path: string,
  ) {}

  /** 'http://host:port/compute/v2.1' */
  get apiUrl(): string {
    return `${this.request.serviceUrl}/v2.1`;
  }

  /** Bookmark links point at the unversioned compute root, as Nova's do. */
  get bookmarkUrl(): string {
    return this.request.serviceUrl;
  }

  atLeast(version: string): boolean {
    return this.version.atLeast(version);
  }

  links(collection: string, id: string): { rel: string; href: string }[] {
    return [
      { rel: 'self', href: `${this.apiUrl}/${collection}/${id}` },
      { rel: 'bookmark', href: `${this.bookmarkUrl}/${collection}/${id}` },
    ];
  }

  bookmark(collection: string, id: string): { rel: string; href: string }[] {
    return [{ rel: 'bookmark', href: `${this.bookmarkUrl}/${collection}/${id}` }];
  }

  /** The JSON body; Nova answers 400 "Malformed request body" when it does not parse. */
  body(): unknown {
    const parsed = parseJson(this.request);
    if (!parsed.ok) throw new ApiError(400, 'Malformed request body');
    return parsed.value;
  }

  now(): number {
    return this.cloud.now();
  }
}

/** Nova's JSON-schema error wording: "Invalid input for field/attribute X. Value: V. <reason>". */
export function schemaError(field: string, value: unknown, reason: string): ApiError {
  return new ApiError(400, `Invalid input for field/attribute ${field}. Value: ${pythonish(value)}. ${reason}`);
}

function pythonish(value: unknown): string {
  if (value === undefined || value === null) return 'None';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return JSON.stringify(value);
}

export function quoted(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  return pythonish(value);
}

/** Nova's `name` of a server or server group; `container` ('server', 'server_group') is the object it belongs to. */
export function nameField(container: string, fields: Record<string, unknown>): string {
  const name = fields.name;
  if (name === undefined) throw schemaError(container, fields, "'name' is a required property");
  if (typeof name !== 'string') throw schemaError('name', name, `${quoted(name)} is not of type 'string'`);
  if (name.length === 0) throw schemaError('name', name, "'' should be non-empty");
  if (name.length > 255) throw schemaError('name', name, `${quoted(name)} is too long`);
  if (name.trim() !== name)
    throw schemaError(
      'name',
      name,
      `${quoted(name)} does not match the pattern for names (no leading or trailing whitespace)`,
    );
  return name;
}

/** A non-negative integer query parameter (limit, offset); undefined when absent. */
export function queryInteger(cr: ComputeRequest, name: string): number | undefined {
  const raw = cr.request.query.get(name);
  if (raw === null) return undefined;
  if (!/^[0-9]+$/.test(raw))
    throw new ApiError(
      400,
      `Invalid input for query parameters ${name}. Value: ${raw}. '${raw}' does not match '^[0-9]*$'`,
    );
  return Number(raw);
}

/** Nova's schema error for keys of `fields` outside `allowed`, all named at once. */
export function rejectUnexpected(container: string, fields: Record<string, unknown>, allowed: readonly string[]): void {
  const unexpected = Object.keys(fields).filter((key) => !allowed.includes(key));
  if (unexpected.length > 0) {
    throw schemaError(
      container,
      fields,
      `Additional properties are not allowed (${unexpected.map((k) => `'${k}'`).join(', ')} ${unexpected.length === 1 ? 'was' : 'were'} unexpected)`,
    );
  }
}

/** Where a page starts: just after the item the `marker` query parameter names (0 without one, 400 for an unknown id). */
export function markerStart(cr: ComputeRequest, items: readonly { id: string }[]): number {
  const marker = cr.request.query.get('marker');
  if (marker === null) return 0;
  const index = items.findIndex((item) => item.id === marker);
  if (index < 0) throw new ApiError(400, `marker [${marker}] not found`);
  return index + 1;
}

/**
 * Nova's `<collection>_links`: a "next" link (the same query, marker set to the page's last id) when the
 * client asked for a `limit` and the page is full; undefined otherwise. `path` is below /v2.1, e.g. 'servers/detail'.
 */
export function nextLinks(
  cr: ComputeRequest,
  path: string,
  page: readonly { id: string }[],
  limit: number | undefined,
): { rel: string; href: string }[] | undefined {
  const last = page[page.length - 1];
  if (limit === undefined || !last || page.length !== limit) return undefined;
  const next = new URLSearchParams(cr.request.query);
  next.set('marker', last.id);
  return [{ rel: 'next', href: `${cr.apiUrl}/${path}?${next.toString()}` }];
}
