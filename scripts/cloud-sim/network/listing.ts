/** Neutron's collection GETs: strict filter validation, `fields`, and limit/marker paging. */
import { ApiError } from '../errors';
import { json } from '../http';
import type { SimReply, SimRequest } from '../http';

type Item = Record<string, unknown>;

export interface CollectionSpec {
  /** e.g. 'floatingips' */
  collection: string;
  /** Attributes Neutron marks is_filter for this resource. */
  filters: readonly string[];
  /** Filters that need more than string equality (e.g. ports' fixed_ips). */
  matchers?: Record<string, (item: Item, values: string[]) => boolean>;
}

const NOT_FILTERS = new Set(['fields', 'limit', 'marker', 'sort_key', 'sort_dir', 'page_reverse']);

function pythonList(keys: string[]): string {
  return `[${keys.map((k) => `'${k}'`).join(', ')}]`;
}

/** Neutron converts filter strings to the attribute's type; booleans accept True/true/1. */
function equalsFilter(value: unknown, filter: string): boolean {
  if (typeof value === 'boolean') return value === ['true', '1'].includes(filter.toLowerCase());
  if (value === null || value === undefined) return false;
  return String(value) === filter;
}

export function listCollection(request: SimRequest, items: Item[], spec: CollectionSpec): SimReply {
  const query = request.query;
  const keys = [...new Set(query.keys())].filter((k) => !NOT_FILTERS.has(k));
  const invalid = keys.filter((k) => !spec.filters.includes(k));
  if (invalid.length > 0)
    throw new ApiError(400, `${pythonList(invalid)} is invalid attribute for filtering`, 'HTTPBadRequest');

  let selected = items;
  for (const key of keys) {
    // Neutron drops empty filter values rather than matching on ''.
    const values = query.getAll(key).filter((v) => v !== '');
    if (values.length === 0) continue;
    const matcher = spec.matchers?.[key];
    selected = selected.filter((item) =>
      matcher ? matcher(item, values) : values.some((v) => equalsFilter(item[key], v)),
    );
  }

  const marker = query.get('marker');
  if (marker !== null) {
    const index = selected.findIndex((item) => item.id === marker);
    selected = index < 0 ? [] : selected.slice(index + 1);
  }
  const limitText = query.get('limit');
  const limit = limitText !== null && /^\d+$/.test(limitText) && Number(limitText) > 0 ? Number(limitText) : undefined;
  const page = limit === undefined ? selected : selected.slice(0, limit);

  const fields = query.getAll('fields').filter((f) => f !== '');
  const shaped =
    fields.length === 0
      ? page
      : page.map((item) => Object.fromEntries(fields.filter((f) => f in item).map((f) => [f, item[f]])));
  const body: Record<string, unknown> = { [spec.collection]: shaped };
  const last = page[page.length - 1];
  if (limit !== undefined && last && page.length === limit) {
    const next = new URLSearchParams(query);
    next.set('marker', String(last.id));
    body[`${spec.collection}_links`] = [
      { rel: 'next', href: `${request.serviceUrl}${request.path}?${next.toString()}` },
    ];
  }
  return json(200, body);
}
