/** Neutron v2.0 front door: version discovery, auth, routing and NeutronError bodies. */
import { ApiError, neutronErrorBody, webobErrorReply } from '../errors';
import { authenticatedToken, authRequired } from '../context';
import type { CloudContext } from '../context';
import { headerValue, json, matchRoute, route } from '../http';
import type { Route, SimReply, SimRequest } from '../http';
import { createFloatingIp, deleteFloatingIp, listFloatingIps, showFloatingIp, updateFloatingIp } from './floating-ips';
import { deleteQuota, listQuotas, showQuota, showQuotaDefault, showQuotaDetails, updateQuota } from './quotas';
import {
  listAvailabilityZones,
  listExtensions,
  listNetworks,
  listPorts,
  listSubnets,
  showExtension,
  showNetwork,
  showPort,
  showSubnet,
} from './resources';
import {
  createSecurityGroup,
  createSecurityGroupRule,
  deleteSecurityGroup,
  deleteSecurityGroupRule,
  listSecurityGroupRules,
  listSecurityGroups,
  showSecurityGroup,
  showSecurityGroupRule,
  updateSecurityGroup,
} from './security-groups';
import { NetworkRequest } from './request';

type Handler = (nr: NetworkRequest, id: string) => SimReply;

function network(method: string, template: string, handler: Handler): Route<NetworkRequest> {
  return route<NetworkRequest>(method, `/v2.0${template}`, (nr, params) => handler(nr, params[0] ?? ''));
}

const ROUTES: readonly Route<NetworkRequest>[] = [
  network('GET', '/networks', (nr) => listNetworks(nr)),
  network('GET', '/networks/{id}', showNetwork),
  network('GET', '/subnets', (nr) => listSubnets(nr)),
  network('GET', '/subnets/{id}', showSubnet),
  network('GET', '/ports', (nr) => listPorts(nr)),
  network('GET', '/ports/{id}', showPort),
  network('GET', '/floatingips', (nr) => listFloatingIps(nr)),
  network('POST', '/floatingips', (nr) => createFloatingIp(nr)),
  network('GET', '/floatingips/{id}', showFloatingIp),
  network('PUT', '/floatingips/{id}', updateFloatingIp),
  network('DELETE', '/floatingips/{id}', deleteFloatingIp),
  network('GET', '/security-groups', (nr) => listSecurityGroups(nr)),
  network('POST', '/security-groups', (nr) => createSecurityGroup(nr)),
  network('GET', '/security-groups/{id}', showSecurityGroup),
  network('PUT', '/security-groups/{id}', updateSecurityGroup),
  network('DELETE', '/security-groups/{id}', deleteSecurityGroup),
  network('GET', '/security-group-rules', (nr) => listSecurityGroupRules(nr)),
  network('POST', '/security-group-rules', (nr) => createSecurityGroupRule(nr)),
  network('GET', '/security-group-rules/{id}', showSecurityGroupRule),
  network('DELETE', '/security-group-rules/{id}', deleteSecurityGroupRule),
  network('GET', '/quotas', (nr) => listQuotas(nr)),
  network('GET', '/quotas/{id}', showQuota),
  network('PUT', '/quotas/{id}', updateQuota),
  network('DELETE', '/quotas/{id}', deleteQuota),
  network('GET', '/quotas/{id}/default', (nr) => showQuotaDefault(nr)),
  network('GET', '/quotas/{id}/details', showQuotaDetails),
  network('GET', '/availability_zones', (nr) => listAvailabilityZones(nr)),
  network('GET', '/extensions', () => listExtensions()),
  network('GET', '/extensions/{alias}', showExtension),
];

const RESOURCES: readonly [string, string][] = [
  ['network', 'networks'],
  ['subnet', 'subnets'],
  ['port', 'ports'],
  ['floatingip', 'floatingips'],
  ['security_group', 'security-groups'],
  ['security_group_rule', 'security-group-rules'],
  ['quota', 'quotas'],
  ['availability_zone', 'availability_zones'],
];

export class NetworkService {
  constructor(private readonly cloud: CloudContext) {}

  async handle(request: SimRequest): Promise<SimReply> {
    if (!this.cloud.config.networkService) {
      // No Neutron in this cloud: nothing answers under its prefix.
      return webobErrorReply(404, 'The resource could not be found.', headerValue(request, 'accept'));
    }
    // Neutron takes a '.json' format suffix on any path (clients still send '/quotas/{id}/details.json').
    const path = request.path.replace(/\/+$/, '').replace(/\.json$/, '');
    if (path === '' && request.method === 'GET') {
      return json(200, {
        versions: [{ id: 'v2.0', status: 'CURRENT', links: [{ rel: 'self', href: `${request.serviceUrl}/v2.0/` }] }],
      });
    }
    const token = authenticatedToken(this.cloud, request);
    if (!token) return authRequired(this.cloud);
    try {
      if (path === '/v2.0' && request.method === 'GET') return json(200, this.resourcesDocument(request.serviceUrl));
      const match = matchRoute(ROUTES, request.method, path);
      if (match.kind === 'not-found') throw new ApiError(404, 'The resource could not be found.', 'HTTPNotFound');
      if (match.kind === 'method-not-allowed')
        throw new ApiError(405, 'The method is not allowed for the requested URL.', 'HTTPMethodNotAllowed');
      return await match.route.handle(new NetworkRequest(this.cloud, request, token), match.params);
    } catch (error) {
      if (error instanceof ApiError)
        return json(error.status, neutronErrorBody(error.status, error.message, error.errorType));
      throw error;
    }
  }

  private resourcesDocument(serviceUrl: string): Record<string, unknown> {
    return {
      resources: RESOURCES.map(([name, collection]) => ({
        name,
        collection,
        links: [{ rel: 'self', href: `${serviceUrl}/v2.0/${collection}` }],
      })),
    };
  }
}
