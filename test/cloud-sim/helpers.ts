/** Small fetch-based client helpers for the cloud-sim tests. */
import assert from 'node:assert/strict';
import { IMAGE_IDS } from '../../scripts/cloud-sim';
import type { CloudSim } from '../../scripts/cloud-sim';
import { until } from '../../scripts/harness';

export interface JsonResponse {
  status: number;
  headers: Headers;
  // The simulator's bodies are arbitrary JSON; tests index into them freely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export function passwordAuth(password = 'sim-password'): unknown {
  return {
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password } } },
      scope: { project: { name: 'admin', domain: { name: 'Default' } } },
    },
  };
}

export async function call(
  url: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { Accept: 'application/json', ...init.headers };
  if (init.token) headers['X-Auth-Token'] = init.token;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    // A request the simulator leaves unanswered fails the test instead of hanging it.
    signal: AbortSignal.timeout(10_000),
    ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Non-JSON answers (e.g. Glance's HTML errors) stay text.
  }
  return { status: response.status, headers: response.headers, body };
}

export async function issueToken(sim: CloudSim): Promise<string> {
  const response = await call(`${sim.authUrl}/auth/tokens`, { method: 'POST', body: passwordAuth() });
  const token = response.headers.get('x-subject-token');
  if (response.status !== 201 || !token) throw new Error(`token request failed: ${response.status}`);
  return token;
}

/** A client bound to one token: `nova('/servers')` -> GET /compute/v2.1/servers. */
export function clients(sim: CloudSim, token: string) {
  const bound =
    (prefix: string) =>
    (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
      call(`${sim.url}${prefix}${path}`, { ...init, token });
  return { nova: bound('/compute/v2.1'), neutron: bound('/network/v2.0'), glance: bound('/image/v2') };
}

/** The first value the probe returns that is not undefined (polled with the harness's until). */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  what = 'the probe to return a value',
  timeoutMs = 3000,
): Promise<T> {
  let value: T | undefined;
  await until(async () => (value = await probe()) !== undefined, what, timeoutMs);
  return value as T;
}

export const UBUNTU = IMAGE_IDS.ubuntu;

export function serverBody(name: string, extra: Record<string, unknown> = {}): unknown {
  return { server: { name, imageRef: UBUNTU, flavorRef: '1', ...extra } };
}

/**
 * POST /servers, asserting Nova's 202; `extra` goes into the server object, `body` beside it
 * (os:scheduler_hints). Resolves to the new server's id.
 */
export async function boot(
  nova: ReturnType<typeof clients>['nova'],
  name: string,
  extra: Record<string, unknown> = {},
  body: Record<string, unknown> = {},
): Promise<string> {
  const created = await nova('/servers', {
    method: 'POST',
    body: { ...(serverBody(name, extra) as Record<string, unknown>), ...body },
  });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  return created.body.server.id as string;
}
