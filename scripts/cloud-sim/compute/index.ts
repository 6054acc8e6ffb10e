/** Nova v2.1 front door: version documents, auth, microversions, routing and fault bodies. */
import { ApiError, novaErrorBody } from '../errors';
import { authenticatedToken, authRequired } from '../context';
import type { CloudContext } from '../context';
import { json, matchRoute, route } from '../http';
import type { Route, SimReply, SimRequest } from '../http';
import { NOVA_PROXY_APIS_REMOVED_AT } from '../fixtures';
import { MAX_VERSION, MIN_VERSION, microversionHeaders, requestedMicroversion } from './microversion';
import type { Microversion } from './microversion';
import { ComputeRequest } from './request';
import { allocateFloatingIp, listFloatingIps, listPools, releaseFloatingIp, showFloatingIp } from './floating-ips';
import { listExtraSpecs, listFlavors, showExtraSpec, showFlavor } from './flavors';
import { deleteQuotaSet, showQuotaDefaults, showQuotaSet, showQuotaSetDetail, updateQuotaSet } from './quota-sets';
import {
  listAvailabilityZones,
  listAvailabilityZonesDetail,
  listExtensions,
  listImages,
  listKeypairs,
  showExtension,
  showImage,
  showKeypair,
  showLimits,
} from './resources';
import { createServerGroup, deleteServerGroup, listServerGroups, showServerGroup } from './server-groups';
import { createServer, deleteServer, listServers, serverAction, showServer, showServerIps } from './servers';

/** `id` and `key` are the template's first and second `{...}` segments. */
type Handler = (cr: ComputeRequest, id: string, key: string) => SimReply;

/** os-floating-ips and os-floating-ip-pools answer 404 from microversion 2.36 on. */
function proxyOnly(handler: Handler): Handler {
  return (cr, id, key) => {
    if (cr.atLeast(NOVA_PROXY_APIS_REMOVED_AT)) throw new ApiError(404, 'The resource could not be found.');
    return handler(cr, id, key);
  };
}

function compute(method: string, template: string, handler: Handler): Route<ComputeRequest> {
  return route<ComputeRequest>(method, template, (cr, params) => handler(cr, params[0] ?? '', params[1] ?? ''));
}

const ROUTES: readonly Route<ComputeRequest>[] = [
  compute('GET', '/servers', (cr) => listServers(cr, false)),
  compute('POST', '/servers', (cr) => createServer(cr)),
  compute('GET', '/servers/detail', (cr) => listServers(cr, true)),
  compute('GET', '/servers/{id}', showServer),
  compute('DELETE', '/servers/{id}', deleteServer),
  compute('POST', '/servers/{id}/action', serverAction),
  compute('GET', '/servers/{id}/ips', showServerIps),
  compute('GET', '/flavors', (cr) => listFlavors(cr, false)),
  compute('GET', '/flavors/detail', (cr) => listFlavors(cr, true)),
  compute('GET', '/flavors/{id}', showFlavor),
  compute('GET', '/flavors/{id}/os-extra_specs', listExtraSpecs),
  compute('GET', '/flavors/{id}/os-extra_specs/{key}', showExtraSpec),
  compute('GET', '/images', (cr) => listImages(cr, false)),
  compute('GET', '/images/detail', (cr) => listImages(cr, true)),
  compute('GET', '/images/{id}', showImage),
  compute('GET', '/os-keypairs', (cr) => listKeypairs(cr)),
  compute('GET', '/os-keypairs/{name}', showKeypair),
  compute('GET', '/os-availability-zone', (cr) => listAvailabilityZones(cr)),
  compute('GET', '/os-availability-zone/detail', (cr) => listAvailabilityZonesDetail(cr)),
  compute('GET', '/os-server-groups', (cr) => listServerGroups(cr)),
  compute('POST', '/os-server-groups', (cr) => createServerGroup(cr)),
  compute('GET', '/os-server-groups/{id}', showServerGroup),
  compute('DELETE', '/os-server-groups/{id}', deleteServerGroup),
  compute('GET', '/os-quota-sets/{id}', showQuotaSet),
  compute('PUT', '/os-quota-sets/{id}', updateQuotaSet),
  compute('DELETE', '/os-quota-sets/{id}', deleteQuotaSet),
  compute('GET', '/os-quota-sets/{id}/detail', showQuotaSetDetail),
  compute('GET', '/os-quota-sets/{id}/defaults', showQuotaDefaults),
  compute('GET', '/limits', (cr) => showLimits(cr)),
  compute('GET', '/extensions', () => listExtensions()),
  compute('GET', '/extensions/{alias}', showExtension),
  compute(
    'GET',
    '/os-floating-ips',
    proxyOnly((cr) => listFloatingIps(cr)),
  ),
  compute(
    'POST',
    '/os-floating-ips',
    proxyOnly((cr) => allocateFloatingIp(cr)),
  ),
  compute('GET', '/os-floating-ips/{id}', proxyOnly(showFloatingIp)),
  compute('DELETE', '/os-floating-ips/{id}', proxyOnly(releaseFloatingIp)),
  compute(
    'GET',
    '/os-floating-ip-pools',
    proxyOnly(() => listPools()),
  ),
];

function versionEntry(serviceUrl: string): Record<string, unknown> {
  return {
    id: 'v2.1',
    status: 'CURRENT',
    version: MAX_VERSION.toString(),
    min_version: MIN_VERSION.toString(),
    updated: '2013-07-23T11:33:21Z',
    links: [{ rel: 'self', href: `${serviceUrl}/v2.1/` }],
  };
}

function versionDocument(serviceUrl: string): Record<string, unknown> {
  const entry = versionEntry(serviceUrl);
  return {
    version: {
      ...entry,
      links: [
        ...(entry.links as unknown[]),
        { rel: 'describedby', type: 'text/html', href: 'http://docs.openstack.org/' },
      ],
      'media-types': [{ base: 'application/json', type: 'application/vnd.openstack.compute+json;version=2.1' }],
    },
  };
}

function fault(error: ApiError, version?: Microversion): SimReply {
  return json(
    error.status,
    novaErrorBody(error.status, error.message),
    version ? microversionHeaders(version) : undefined,
  );
}

export class ComputeService {
  constructor(private readonly cloud: CloudContext) {}

  async handle(request: SimRequest): Promise<SimReply> {
    const path = request.path.replace(/\/+$/, '');
    if (path === '' && request.method === 'GET') return json(200, { versions: [versionEntry(request.serviceUrl)] });
    if (path === '/v2.1' && request.method === 'GET') return json(200, versionDocument(request.serviceUrl));
    if (!path.startsWith('/v2.1/')) return fault(new ApiError(404, 'The resource could not be found.'));

    const token = authenticatedToken(this.cloud, request);
    if (!token) return authRequired(this.cloud);

    let version: Microversion;
    try {
      version = requestedMicroversion(request);
    } catch (error) {
      if (error instanceof ApiError) return fault(error);
      throw error;
    }
    try {
      const apiPath = this.withoutProjectId(path.slice('/v2.1'.length), token.projectId);
      const cr = new ComputeRequest(this.cloud, request, token, version, apiPath);
      const match = matchRoute(ROUTES, request.method, apiPath);
      if (match.kind === 'not-found') throw new ApiError(404, 'The resource could not be found.');
      if (match.kind === 'method-not-allowed')
        throw new ApiError(405, 'The method is not allowed for the requested URL.');
      const reply = await match.route.handle(cr, match.params);
      return { ...reply, headers: { ...reply.headers, ...microversionHeaders(version) } };
    } catch (error) {
      if (error instanceof ApiError) return fault(error, version);
      throw error;
    }
  }

  /** Nova still routes '/v2.1/{project_id}/servers'; the id must be the token's project. */
  private withoutProjectId(path: string, projectId: string): string {
    const match = /^\/([0-9a-f-]+)(\/.*)?$/.exec(path);
    if (!match) return path;
    const urlProject = match[1] ?? '';
    if (urlProject !== projectId) {
      throw new ApiError(
        400,
        `Malformed request URL: URL's project_id '${urlProject}' doesn't match Context's project_id '${projectId}'`,
      );
    }
    return match[2] ?? '/';
  }
}
