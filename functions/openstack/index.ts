/**
 * The OpenStack client library of the pool manager, and its only way in:
 * `createOpenStack(settings)` gives the `OpenStack` of types.ts. No Lambda types here.
 *
 * Laid out per service, as the cloud simulator is: identity/ (Keystone tokens, the
 * catalog, the authenticated session every service calls through), compute/ (Nova servers,
 * flavors, and its legacy floating-IP proxy), network/ (Neutron floating IPs, ports,
 * networks), image/ (Glance); http.ts, errors.ts, json.ts and names.ts are shared.
 */
import type { Dispatcher } from 'undici';
import type { LogSink } from '../../contract/logger';
import { novaCompute } from './compute';
import { NovaLegacyFloatingIps } from './compute/floating-ips';
import { HttpClient, createAgent } from './http';
import { Keystone } from './identity/keystone';
import { Session } from './identity/session';
import { glanceImage } from './image/images';
import { NeutronFloatingIps } from './network/floating-ips';
import type { CloudSettings, FloatingIps, OpenStack } from './types';

export interface OpenStackOptions {
  /** Each request at debug (method, service, path, status, duration), never headers. */
  logger?: LogSink;
  /** Base of the exponential backoff with full jitter between retries (default 200 ms). */
  retryBaseDelayMs?: number;
  /** Cap of one backoff delay and of a honoured Retry-After (default 5000 ms). */
  retryMaxDelayMs?: number;
  /** Use this dispatcher instead of a new Agent (the caller then owns and closes it). */
  dispatcher?: Dispatcher;
}

export interface OpenStackClient extends OpenStack {
  /** Closes the client's own Agent (not a dispatcher passed in the options); idempotent. */
  close(): Promise<void>;
}

export function createOpenStack(settings: CloudSettings, options: OpenStackOptions = {}): OpenStackClient {
  const ownAgent = options.dispatcher ? undefined : createAgent(settings, options.logger);
  const dispatcher: Dispatcher = options.dispatcher ?? (ownAgent as Dispatcher);
  const http: HttpClient = new HttpClient({
    dispatcher,
    timeoutMs: settings.requestTimeoutMs,
    retries: settings.retries,
    retryBaseDelayMs: options.retryBaseDelayMs,
    retryMaxDelayMs: options.retryMaxDelayMs,
    logger: options.logger,
    // Only called on an error, after `keystone` below is initialised.
    secrets: (): string[] => [keystone.secret(), keystone.currentTokenValue() ?? ''],
  });
  const keystone: Keystone = new Keystone(settings.auth, http);
  const session = new Session(settings, keystone, http);

  let floatingIps: Promise<FloatingIps> | undefined;
  return {
    compute: novaCompute(session),
    image: glanceImage(session),
    floatingIps() {
      if (floatingIps) return floatingIps;
      const pending = session
        .hasService('network')
        .then((neutron): FloatingIps =>
          neutron ? new NeutronFloatingIps(session) : new NovaLegacyFloatingIps(session),
        );
      floatingIps = pending;
      // A failed lookup (Keystone down) is not remembered: the next call tries again.
      pending.catch(() => {
        if (floatingIps === pending) floatingIps = undefined;
      });
      return pending;
    },
    async close() {
      if (ownAgent && !ownAgent.closed && !ownAgent.destroyed) await ownAgent.close();
    },
  };
}

export { clearTokenCache } from './identity/keystone';
export { COMPUTE_MICROVERSION } from './compute';
export * from './errors';
export type * from './types';
