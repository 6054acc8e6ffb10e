/**
 * The part of undici the OpenStack client uses: its Agent (connection pools per origin,
 * timeouts, TLS options) and its request API, and nothing else.
 *
 * Why not `import { Agent, request } from 'undici'`: undici's one public entry (index.js; the
 * package has no exports map) loads the whole library — fetch, WebSocket, EventSource, the
 * cache and mock agents — which makes each bundle 1.6 times as large and costs about 25 ms of
 * every cold start for code a function never runs (bench/REPORT.md, section 4). These two files are
 * what that entry itself re-exports, but lib/ is not undici's published API: package.json pins
 * undici's exact version, and test/openstack/undici.unit.test.ts fails on an upgrade that
 * moves or changes them, so a bump is a deliberate change, never a silent one.
 */
import type { Dispatcher } from 'undici';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import requestWith from 'undici/lib/api/api-request.js';

export const Agent = AgentClass;
export type Agent = InstanceType<typeof AgentClass>;

/** undici's `request(url, options)` over an explicit dispatcher (the public entry's, without its global dispatcher). */
export function request(
  url: string,
  options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Dispatcher },
): Promise<Dispatcher.ResponseData> {
  const { dispatcher, ...rest } = options;
  const parsed = new URL(url);
  return requestWith.call(dispatcher, { ...rest, origin: parsed.origin, path: parsed.pathname + parsed.search });
}
