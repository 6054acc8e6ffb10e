/**
 * OpenStack cloud simulator: one loopback HTTP server speaking the Keystone v3, Nova v2.1,
 * Neutron v2.0 and Glance v2 subsets the pool manager uses, plus a /_sim control API.
 */
import { ComputeService } from './compute';
import { ControlService } from './control';
import type { CloudContext } from './context';
import { Directory } from './directory';
import { Faults } from './faults';
import { networkFixtures } from './fixtures';
import { IdentityService } from './identity';
import { ImageService } from './image';
import { NetworkService } from './network';
import { resolveOptions } from './options';
import { neutronQuotaDefaults, novaQuotaDefaults, QuotaStore } from './quotas';
import { RequestLog } from './request-log';
import { SecurityGroupStore } from './security-groups';
import { SimHttpServer } from './server';
import { floatingIpSnapshots, serverSnapshots } from './snapshots';
import { CloudState } from './state';
import { TokenStore } from './tokens';
import type { CloudSim, CloudSimOptions } from './types';

export type * from './types';
export { FLAVORS, IMAGE_IDS, IMAGES, KEYPAIR, PRIVATE_NETWORK, PUBLIC_NETWORK, networkFixtures } from './fixtures';

export async function startCloudSim(options: CloudSimOptions = {}): Promise<CloudSim> {
  const config = resolveOptions(options);
  const now = (): number => Date.now();
  const directory = new Directory(config.users, config.applicationCredentials);
  const state = new CloudState({
    quotas: new QuotaStore(novaQuotaDefaults(config.quotas), neutronQuotaDefaults(config.quotas.floatingIps)),
    securityGroups: new SecurityGroupStore(config.securityGroups),
    projectIds: directory.projects.map((p) => p.id),
    deleteDelayMs: config.deleteDelayMs,
    networks: networkFixtures(config.networks),
    now: now(),
  });
  const tokens = new TokenStore(config.tokenTtlSeconds);
  const faults = new Faults(state, config.seed);
  const log = new RequestLog();
  let baseUrl = '';
  const cloud: CloudContext = { config, state, tokens, directory, faults, baseUrl: () => baseUrl, now };

  const inspect = {
    counts: () => {
      state.advance(now());
      return {
        servers: state.servers.size,
        floatingIps: state.floatingIps.size,
        ports: state.ports.size,
        tokens: tokens.countValid(now()),
      };
    },
    servers: () => {
      state.advance(now());
      return serverSnapshots(state);
    },
    floatingIps: () => {
      state.advance(now());
      return floatingIpSnapshots(state);
    },
    requests: () => log.all(),
    requestCounts: () => log.counts(),
    issuedTokens: () => tokens.ids(),
    expireTokens: () => tokens.expireAll(now()),
    reset: () => {
      state.reset(now());
      tokens.clear();
      faults.clear();
      log.clear();
    },
  };

  const server = new SimHttpServer({
    services: {
      identity: new IdentityService(cloud),
      compute: new ComputeService(cloud),
      network: new NetworkService(cloud),
      image: new ImageService(cloud),
    },
    control: new ControlService({ ...inspect, faults }),
    faults,
    log,
    now,
    onRequest: config.onRequest,
  });
  baseUrl = await server.listen(config.host, config.port);

  const authUrl = `${baseUrl}/identity/v3`;
  const user = config.users[0];
  const project = directory.projectById(directory.users[0]?.projectId ?? '');
  let closing: Promise<void> | undefined;
  return {
    url: baseUrl,
    authUrl,
    env: {
      OS_AUTH_URL: authUrl,
      OS_USERNAME: user?.name ?? 'admin',
      OS_PASSWORD: user?.password ?? '',
      OS_PROJECT_NAME: project?.name ?? 'admin',
      OS_USER_DOMAIN_NAME: 'Default',
      OS_PROJECT_DOMAIN_NAME: 'Default',
      OS_REGION_NAME: config.region,
      OS_INTERFACE: 'public',
      OS_IDENTITY_API_VERSION: '3',
    },
    ...inspect,
    faults,
    close: () => (closing ??= server.close()),
  };
}
