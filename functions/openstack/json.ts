/**
 * Wire helpers shared by every service: readers for the untyped JSON the services return
 * (they never throw on a missing field, callers decide what is required), ids as path
 * segments, and pagination links.
 */
import { InvalidArgumentError } from './errors';

export type JsonObject = Record<string, unknown>;

export function asObject(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Ids are strings on modern clouds; nova-network era ids were integers. */
export function asId(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

export function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function field(value: unknown, key: string): unknown {
  return asObject(value)?.[key];
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function looksLikeUuid(value: string): boolean {
  return UUID_RE.test(value);
}

/** A path segment: ids go into URLs encoded, never raw. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

/** An id as a path segment; an empty one is refused before anything is sent. */
export function requireId(kind: string, id: string): string {
  if (!id) throw new InvalidArgumentError(`${kind} id is empty`);
  return segment(id);
}

/**
 * The query string of a pagination link (`servers_links`, `floatingips_links`, Glance's
 * `next`). Only the query is taken: the link's host and path are ignored, so a token is
 * never sent anywhere but the endpoint it was meant for.
 */
export function nextQuery(body: unknown, linksKey: string): string | undefined {
  const obj = asObject(body);
  if (!obj) return undefined;
  let href: string | undefined;
  const links = obj[linksKey];
  if (typeof links === 'string') {
    href = links;
  } else {
    for (const link of asArray(links)) {
      if (asString(field(link, 'rel')) === 'next') href = asString(field(link, 'href'));
    }
  }
  if (!href) return undefined;
  try {
    const search = new URL(href, 'http://placeholder.invalid/').search;
    return search.length > 1 ? search.slice(1) : undefined;
  } catch {
    return undefined;
  }
}
