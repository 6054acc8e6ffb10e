/**
 * Every Nova call goes through here, so that each carries the one compute microversion.
 */
import type { HttpResponse } from '../http';
import type { Session } from '../identity/session';

/**
 * The compute microversion sent on every call. 2.1 is the base of v2.1: it still has the
 * floating-IP proxies (gone at 2.44) and the optional `networks` list (required from 2.37).
 */
export const COMPUTE_MICROVERSION = '2.1';

const COMPUTE_VERSION_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'OpenStack-API-Version': `compute ${COMPUTE_MICROVERSION}`,
  'X-OpenStack-Nova-API-Version': COMPUTE_MICROVERSION,
});

/** One Nova request at COMPUTE_MICROVERSION. */
export function novaCall(
  session: Session,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<HttpResponse> {
  return session.call('compute', method, path, { headers: { ...COMPUTE_VERSION_HEADERS }, body });
}

/** Every item of a Nova collection at COMPUTE_MICROVERSION, following `<collection>_links`. */
export function novaList(session: Session, path: string, collectionKey: string): Promise<unknown[]> {
  return session.list('compute', path, collectionKey, `${collectionKey}_links`, {
    headers: { ...COMPUTE_VERSION_HEADERS },
  });
}
