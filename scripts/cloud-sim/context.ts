/** What every service handler shares: the cloud's state, identities, tokens, faults and URLs. */
import { stableHexId } from './ids';
import { authRequiredReply } from './errors';
import { headerValue } from './http';
import type { SimReply, SimRequest } from './http';
import type { Directory } from './directory';
import type { Faults } from './faults';
import type { SimConfig } from './options';
import type { CloudState } from './state';
import type { Token, TokenStore } from './tokens';
import type { ServiceName } from './types';

export const SERVICE_PREFIXES: Record<ServiceName, string> = {
  identity: '/identity',
  compute: '/compute',
  network: '/network',
  image: '/image',
};

export interface CatalogEndpoint {
  id: string;
  interface: 'public' | 'internal' | 'admin';
  region: string;
  region_id: string;
  url: string;
}

export interface CatalogEntry {
  id: string;
  type: ServiceName;
  name: string;
  endpoints: CatalogEndpoint[];
}

export interface CloudContext {
  config: SimConfig;
  state: CloudState;
  tokens: TokenStore;
  directory: Directory;
  faults: Faults;
  /** 'http://127.0.0.1:PORT', known once listening. */
  baseUrl(): string;
  now(): number;
}

const SERVICE_NAMES: Record<ServiceName, string> = {
  identity: 'keystone',
  compute: 'nova',
  network: 'neutron',
  image: 'glance',
};

/** The endpoint URL a catalog lists for a service (Nova's is versioned and project-less). */
function endpointUrl(baseUrl: string, service: ServiceName): string {
  const root = baseUrl + SERVICE_PREFIXES[service];
  return service === 'compute' ? `${root}/v2.1` : root;
}

export function buildCatalog(ctx: CloudContext): CatalogEntry[] {
  const services: ServiceName[] = ['identity', 'compute', 'image'];
  if (ctx.config.networkService) services.splice(2, 0, 'network');
  const region = ctx.config.region;
  return services.map((type) => ({
    id: stableHexId(`service:${type}`),
    type,
    name: SERVICE_NAMES[type],
    endpoints: (['public', 'internal', 'admin'] as const).map((iface) => ({
      id: stableHexId(`endpoint:${type}:${iface}:${region}`),
      interface: iface,
      region,
      region_id: region,
      url: endpointUrl(ctx.baseUrl(), type),
    })),
  }));
}

/** The token in X-Auth-Token when it is valid now. */
export function authenticatedToken(ctx: CloudContext, request: SimRequest): Token | undefined {
  return ctx.tokens.valid(headerValue(request, 'x-auth-token'), ctx.now());
}

export function authRequired(ctx: CloudContext): SimReply {
  return authRequiredReply(ctx.baseUrl() + SERVICE_PREFIXES.identity);
}
