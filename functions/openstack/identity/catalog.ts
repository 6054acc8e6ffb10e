/**
 * The service catalog of a Keystone v3 token: which URL serves a service type for our
 * interface and region, and the base URL requests to that service are made against.
 */
import { ConfigurationError } from '../../../contract/errors';
import { asArray, asString, field } from '../json';
import type { Interface } from '../types';

export type ServiceType = 'compute' | 'network' | 'image';

export interface CatalogEndpoint {
  interface: string;
  region: string | undefined;
  regionId: string | undefined;
  url: string;
}

export interface CatalogService {
  type: string;
  endpoints: CatalogEndpoint[];
}

/** The `catalog` of a token body, keeping only services and endpoints with what we need. */
export function parseCatalog(value: unknown): CatalogService[] {
  return asArray(value).flatMap((service) => {
    const type = asString(field(service, 'type'));
    if (!type) return [];
    const endpoints = asArray(field(service, 'endpoints')).flatMap((endpoint) => {
      const url = asString(field(endpoint, 'url'));
      const iface = asString(field(endpoint, 'interface'));
      if (!url || !iface) return [];
      return [
        {
          interface: iface,
          region: asString(field(endpoint, 'region')),
          regionId: asString(field(endpoint, 'region_id')),
          url,
        },
      ];
    });
    return [{ type, endpoints }];
  });
}

/** The catalog URL for a service type, region and interface; undefined when there is none. */
export function findEndpoint(
  catalog: readonly CatalogService[],
  type: string,
  iface: Interface,
  region: string | undefined,
): string | undefined {
  for (const service of catalog) {
    if (service.type !== type) continue;
    for (const endpoint of service.endpoints) {
      if (endpoint.interface !== iface && endpoint.interface !== `${iface}URL`) continue;
      if (region && endpoint.regionId !== region && endpoint.region !== region) continue;
      return endpoint.url;
    }
  }
  return undefined;
}

/** The catalog URL, or a ConfigurationError naming the type, interface and region that have none. */
export function requireEndpoint(
  catalog: readonly CatalogService[],
  type: string,
  iface: Interface,
  region: string | undefined,
): string {
  const url = findEndpoint(catalog, type, iface, region);
  if (url) return url;
  const where = region ? `in region ${region}` : 'in any region';
  const hint = catalog.length === 0 ? ' (the token has no service catalog: is a project configured?)' : '';
  throw new ConfigurationError(`no '${type}' endpoint for interface ${iface} ${where}${hint}`);
}

/**
 * The base URL requests are made against. Compute keeps its version (`/v2.1`, possibly
 * followed by a project id) and paths are relative to it; network and image are reduced
 * to their root and paths carry the version (`/v2.0/...`, `/v2/...`), as their API
 * references write them.
 */
export function serviceBaseUrl(type: ServiceType, url: string, projectId: string | undefined): string {
  let base = url.trim().replace(/\/+$/, '');
  if (projectId) base = base.replace(/[$%]\((?:project_id|tenant_id)\)s/g, projectId);
  let pathname: string;
  try {
    pathname = new URL(base).pathname;
  } catch {
    throw new ConfigurationError(`the '${type}' endpoint is not a valid URL`);
  }
  switch (type) {
    case 'compute':
      return /\/v2(\.\d+)?(\/|$)/.test(pathname) ? base : `${base}/v2.1`;
    case 'network':
      return base.replace(/\/v2\.0$/, '');
    case 'image':
      return base.replace(/\/v2(\.\d+)?$/, '');
  }
}
