/** Grouping of the cloud simulator's request log by API operation. */
import type { RequestRecord } from '../../scripts/cloud-sim';

const ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/i;

/** 'compute:GET /v2.1/servers/{id}': the service, method and path with ids replaced by {id}. */
export function operationKey(r: Pick<RequestRecord, 'service' | 'method' | 'path'>): string {
  const path = r.path
    .split('/')
    .map((segment) => (ID.test(segment) ? '{id}' : segment))
    .join('/');
  return `${r.service}:${r.method} ${path}`;
}

/** Requests per operation key and per service (keys 'identity', 'compute', 'network', 'image'). */
export function countRequests(records: Pick<RequestRecord, 'service' | 'method' | 'path'>[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) {
    if (r.service === 'sim') continue;
    counts[r.service] = (counts[r.service] ?? 0) + 1;
    const key = operationKey(r);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export const TOKEN_KEY = 'identity:POST /v3/auth/tokens';
export const STATUS_POLL_KEY = 'compute:GET /v2.1/servers/{id}';
