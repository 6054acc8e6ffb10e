/**
 * An authenticated call to a catalog service: endpoint from the override or the token's
 * catalog, the token header, and one re-authentication on a 401.
 */
import { AuthenticationError } from '../errors';
import type { ServiceName } from '../errors';
import { stripQuery } from '../http';
import type { HttpClient, HttpMethod, HttpResponse } from '../http';
import { asArray, field, nextQuery } from '../json';
import type { CloudSettings } from '../types';
import { findEndpoint, requireEndpoint, serviceBaseUrl } from './catalog';
import type { ServiceType } from './catalog';
import type { Keystone, Token } from './keystone';

/** A bound on pagination, against a service that keeps answering with a next link. */
const MAX_PAGES = 1000;

const SERVICE_NAMES: Record<ServiceType, ServiceName> = { compute: 'Nova', network: 'Neutron', image: 'Glance' };

export interface CallOptions {
  headers?: Record<string, string>;
  body?: unknown;
}

export class Session {
  constructor(
    private readonly settings: CloudSettings,
    private readonly keystone: Keystone,
    private readonly http: HttpClient,
  ) {}

  /** Whether the override or the catalog offers this service for our interface and region. */
  async hasService(type: ServiceType): Promise<boolean> {
    if (this.settings.endpointOverrides[type]) return true;
    const token = await this.keystone.token();
    return findEndpoint(token.catalog, type, this.settings.interface, this.settings.regionName) !== undefined;
  }

  async call(type: ServiceType, method: HttpMethod, path: string, options: CallOptions = {}): Promise<HttpResponse> {
    const first = await this.keystone.token();
    try {
      return await this.send(first, type, method, path, options);
    } catch (error) {
      if (!(error instanceof AuthenticationError) || error.status !== 401) throw error;
    }
    this.keystone.invalidate(first);
    const second = await this.keystone.token();
    try {
      return await this.send(second, type, method, path, options);
    } catch (error) {
      if (!(error instanceof AuthenticationError) || error.status !== 401) throw error;
      const service = SERVICE_NAMES[type];
      const shown = stripQuery(path);
      throw new AuthenticationError(
        this.http.redact(
          `${service} ${method} ${shown} failed: 401 again after re-authenticating (${error.fault ?? 'unauthorized'})`,
          [first.value, second.value],
        ),
        { service, method, path: shown, status: 401, fault: error.fault },
      );
    }
  }

  /**
   * Every item of a collection, following the service's pagination links (`<key>_links`
   * for Nova and Neutron, `next` for Glance). Only a link's query string is used.
   */
  async list(
    type: ServiceType,
    path: string,
    collectionKey: string,
    linksKey: string,
    options: CallOptions = {},
  ): Promise<unknown[]> {
    const items: unknown[] = [];
    const seen = new Set<string>();
    let current = path;
    for (let page = 0; page < MAX_PAGES; page++) {
      const res = await this.call(type, 'GET', current, options);
      const batch = asArray(field(res.body, collectionKey));
      items.push(...batch);
      const query = nextQuery(res.body, linksKey);
      if (!query || batch.length === 0 || seen.has(query)) break;
      seen.add(query);
      current = `${stripQuery(path)}?${query}`;
    }
    return items;
  }

  private send(token: Token, type: ServiceType, method: HttpMethod, path: string, options: CallOptions) {
    const url =
      this.settings.endpointOverrides[type] ??
      requireEndpoint(token.catalog, type, this.settings.interface, this.settings.regionName);
    return this.http.send({
      service: SERVICE_NAMES[type],
      method,
      baseUrl: serviceBaseUrl(type, url, token.projectId),
      path,
      headers: { ...options.headers, 'X-Auth-Token': token.value },
      body: options.body,
    });
  }
}
