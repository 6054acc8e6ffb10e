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
import { OpenStackError } from './errors';
import { HttpClient, createAgent } from './http';
import { Keystone } from './identity/keystone';
import { Session } from './identity/session';
import { glanceImage } from './image/images';
import { LOOKUP_MAX_AGE_MS, Lookups } from './lookups';
import { NeutronFloatingIps } from './network/floating-ips';
import type { CloudSettings, Compute, CreateServerRequest, FloatingIps, Image, OpenStack } from './types';

export interface OpenStackOptions {
  /** Each request at debug (method, service, path, status, duration), never headers. */
  logger?: LogSink;
  /** Base of the exponential backoff with full jitter between retries (default 200 ms). */
  retryBaseDelayMs?: number;
  /** Cap of one backoff delay and of a honoured Retry-After (default 5000 ms). */
  retryMaxDelayMs?: number;
  /** Use this dispatcher instead of a new Agent (the caller then owns and closes it). */
  dispatcher?: Dispatcher;
  /** How long an image or flavor id looked up by name is used (default 5 minutes; lookups.ts). */
  lookupMaxAgeMs?: number;
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
  const { compute, image } = rememberingLookups(
    novaCompute(session),
    glanceImage(session),
    new Lookups(options.lookupMaxAgeMs ?? LOOKUP_MAX_AGE_MS),
    options.logger,
  );

  let floatingIps: Promise<FloatingIps> | undefined;
  return {
    compute,
    image,
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

/**
 * Compute and image with their image and flavor lookups remembered (lookups.ts), and a create
 * that Nova refuses over an id that is gone retried once with the id looked up again.
 */
function rememberingLookups(
  compute: Compute,
  image: Image,
  lookups: Lookups,
  logger: LogSink | undefined,
): { compute: Compute; image: Image } {
  const resolveImage = (name: string) => lookups.get('image', name, () => image.resolveImage(name));
  const resolveFlavor = (name: string) => lookups.get('flavor', name, () => compute.resolveFlavor(name));

  /** The request with fresh ids, when Nova's refusal names a remembered image or flavor whose id changed. */
  async function refreshed(request: CreateServerRequest, error: unknown): Promise<CreateServerRequest | undefined> {
    // Nova answers 400 ("Can not find requested image", "Flavor 2 could not be found.", "Image
    // ... is not active."), or 404. Nothing was created, so the create may be sent again.
    if (!(error instanceof OpenStackError) || (error.status !== 400 && error.status !== 404)) return undefined;
    const fault = error.fault ?? '';
    const [imageName] = /image/i.test(fault) ? lookups.forget('image', request.imageRef) : [];
    const [flavorName] = /flavor/i.test(fault) ? lookups.forget('flavor', request.flavorRef) : [];
    if (imageName === undefined && flavorName === undefined) return undefined;
    const [imageRef, flavorRef] = await Promise.all([
      imageName === undefined ? request.imageRef : resolveImage(imageName),
      flavorName === undefined ? request.flavorRef : resolveFlavor(flavorName),
    ]);
    if (imageRef === request.imageRef && flavorRef === request.flavorRef) return undefined;
    logger?.info('the image or flavor id looked up earlier is gone: creating with the id looked up again', {
      fault,
      ...(imageRef === request.imageRef ? {} : { image: imageName, staleImageId: request.imageRef, imageId: imageRef }),
      ...(flavorRef === request.flavorRef
        ? {}
        : { flavor: flavorName, staleFlavorId: request.flavorRef, flavorId: flavorRef }),
    });
    return { ...request, imageRef, flavorRef };
  }

  return {
    image: { resolveImage },
    compute: {
      ...compute,
      resolveFlavor,
      async createServer(request) {
        try {
          return await compute.createServer(request);
        } catch (error) {
          const retry = await refreshed(request, error);
          if (!retry) throw error;
          return compute.createServer(retry);
        }
      },
    },
  };
}

export { clearTokenCache } from './identity/keystone';
export { redactValues } from './http';
export { COMPUTE_MICROVERSION } from './compute';
export * from './errors';
export type * from './types';
