/**
 * The OpenStack client library of the pool manager: `createOpenStack(settings)` gives the
 * `OpenStack` of types.ts. No Lambda types here.
 */
import type { Dispatcher } from 'undici';
import { HttpClient, createAgent } from './http';
import type { OpenStackLogger } from './http';
import { Keystone } from './keystone';
import { NeutronFloatingIps } from './neutron';
import { NovaCompute } from './nova';
import { NovaLegacyFloatingIps } from './nova-floating-ips';
import { Session } from './session';
import type { CloudSettings, Compute, FloatingIps, OpenStack } from './types';

export interface OpenStackOptions {
  /** Each request at debug (method, service, path, status, duration), never headers. */
  logger?: OpenStackLogger;
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
  const compute: Compute = new NovaCompute(session);

  let floatingIps: Promise<FloatingIps> | undefined;
  return {
    compute,
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

export { clearTokenCache } from './keystone';
export { COMPUTE_MICROVERSION } from './nova';
export type { OpenStackLogger } from './http';
export * from './errors';
export type * from './types';
