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
