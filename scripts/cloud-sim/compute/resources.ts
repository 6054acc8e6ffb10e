/** Nova's read-only resources: the images proxy, keypairs, availability zones, limits, extensions. */
import { ApiError } from '../errors';
import { IMAGES, KEYPAIR, NOVA_PROXY_APIS_REMOVED_AT } from '../fixtures';
import type { ImageFixture } from '../fixtures';
import { json } from '../http';
import type { SimReply } from '../http';
import type { NovaQuota } from '../quotas';
import { naiveMicros } from '../time-format';
import { zoneHosts } from './placement';
import { novaUsage, visibleNovaQuotas } from './quota-sets';
import type { ComputeRequest } from './request';

function requireImagesProxy(cr: ComputeRequest): void {
  if (cr.atLeast(NOVA_PROXY_APIS_REMOVED_AT)) throw new ApiError(404, 'The resource could not be found.');
}

function imageView(cr: ComputeRequest, image: ImageFixture, detailed: boolean): Record<string, unknown> {
  const links = [
    ...cr.links('images', image.id),
    {
      rel: 'alternate',
      type: 'application/vnd.openstack.image',
      href: `${cr.request.baseUrl}/image/images/${image.id}`,
    },
  ];
  if (!detailed) return { id: image.id, name: image.name, links };
  return {
    id: image.id,
    name: image.name,
    minRam: image.minRam,
    minDisk: image.minDisk,
    progress: 100,
    status: 'ACTIVE',
    created: image.createdAt,
    updated: image.createdAt,
    metadata: {},
    'OS-EXT-IMG-SIZE:size': image.size,
    links,
  };
}

export function listImages(cr: ComputeRequest, detailed: boolean): SimReply {
  requireImagesProxy(cr);
  const name = cr.request.query.get('name');
  const images = IMAGES.filter((image) => name === null || image.name === name);
  return json(200, { images: images.map((image) => imageView(cr, image, detailed)) });
}

export function showImage(cr: ComputeRequest, id: string): SimReply {
  requireImagesProxy(cr);
  const image = IMAGES.find((i) => i.id === id);
  if (!image) throw new ApiError(404, 'Image not found.');
  return json(200, { image: imageView(cr, image, true) });
}

function keypairSummary(cr: ComputeRequest): Record<string, unknown> {
  const view: Record<string, unknown> = {
    name: KEYPAIR.name,
    public_key: KEYPAIR.publicKey,
    fingerprint: KEYPAIR.fingerprint,
  };
  if (cr.atLeast('2.2')) view.type = KEYPAIR.type;
  return view;
}

export function listKeypairs(cr: ComputeRequest): SimReply {
  return json(200, { keypairs: [{ keypair: keypairSummary(cr) }] });
}

export function showKeypair(cr: ComputeRequest, name: string): SimReply {
  if (name !== KEYPAIR.name) throw new ApiError(404, `Keypair ${name} not found for user ${cr.token.userId}`);
  return json(200, {
    keypair: {
      ...keypairSummary(cr),
      user_id: cr.token.userId,
      id: 1,
      created_at: KEYPAIR.createdAt,
      deleted: false,
      deleted_at: null,
      updated_at: null,
    },
  });
}

export function listAvailabilityZones(cr: ComputeRequest): SimReply {
  return json(200, {
    availabilityZoneInfo: cr.cloud.config.availabilityZones.map((zoneName) => ({
      zoneName,
      zoneState: { available: true },
      hosts: null,
    })),
  });
}

/** The admin view: the 'internal' zone with the control services, then each zone's nova-compute hosts. */
export function listAvailabilityZonesDetail(cr: ComputeRequest): SimReply {
  const zones = cr.cloud.config.availabilityZones;
  const service = { available: true, active: true, updated_at: naiveMicros(cr.now()) };
  const internal = {
    zoneName: 'internal',
    zoneState: { available: true },
    hosts: { 'sim-controller': { 'nova-conductor': service, 'nova-scheduler': service } },
  };
  return json(200, {
    availabilityZoneInfo: [
      internal,
      ...zones.map((zoneName) => ({
        zoneName,
        zoneState: { available: true },
        hosts: Object.fromEntries(zoneHosts(zones, zoneName).map((host) => [host, { 'nova-compute': service }])),
      })),
    ],
  });
}

const LIMIT_NAMES: [NovaQuota, string][] = [
  ['ram', 'maxTotalRAMSize'],
  ['instances', 'maxTotalInstances'],
  ['cores', 'maxTotalCores'],
  ['key_pairs', 'maxTotalKeypairs'],
  ['floating_ips', 'maxTotalFloatingIps'],
  ['metadata_items', 'maxServerMeta'],
  ['metadata_items', 'maxImageMeta'],
  ['injected_files', 'maxPersonality'],
  ['injected_file_content_bytes', 'maxPersonalitySize'],
  ['security_groups', 'maxSecurityGroups'],
  ['security_group_rules', 'maxSecurityGroupRules'],
  ['server_groups', 'maxServerGroups'],
  ['server_group_members', 'maxServerGroupMembers'],
];

const USED_NAMES: [NovaQuota, string][] = [
  ['ram', 'totalRAMUsed'],
  ['cores', 'totalCoresUsed'],
  ['instances', 'totalInstancesUsed'],
  ['floating_ips', 'totalFloatingIpsUsed'],
  ['security_groups', 'totalSecurityGroupsUsed'],
  ['server_groups', 'totalServerGroupsUsed'],
];

/** The project's quotas and usage under their /limits names; the same numbers os-quota-sets shows. */
export function showLimits(cr: ComputeRequest): SimReply {
  const { state } = cr.cloud;
  state.advance(cr.now());
  const projectId = cr.token.projectId;
  const limits = state.quotas.novaLimits(projectId);
  const usage = novaUsage(state, projectId);
  const shown = visibleNovaQuotas(cr);
  const absolute: Record<string, number> = {};
  for (const [quota, name] of LIMIT_NAMES) {
    // maxImageMeta left at 2.39 with the image proxy.
    if (shown.includes(quota) && !(name === 'maxImageMeta' && cr.atLeast('2.39'))) absolute[name] = limits[quota];
  }
  for (const [quota, name] of USED_NAMES) if (shown.includes(quota)) absolute[name] = usage[quota];
  return json(200, { limits: { rate: [], absolute } });
}

/** The v2.1 extension list (a fixed document in Nova); clients probe it for the floating-IP proxy. */
const EXTENSIONS: readonly [alias: string, name: string, description: string][] = [
  ['OS-DCF', 'DiskConfig', 'Disk Management Extension.'],
  ['OS-EXT-AZ', 'ExtendedAvailabilityZone', 'Extended Availability Zone support.'],
  ['OS-EXT-IMG-SIZE', 'ImageSize', 'Adds image size to image listings.'],
  ['OS-EXT-IPS', 'ExtendedIps', 'Adds type parameter to the ip list.'],
  ['OS-EXT-IPS-MAC', 'ExtendedIpsMac', 'Adds mac address parameter to the ip list.'],
  ['OS-EXT-STS', 'ExtendedStatus', 'Extended Status support.'],
  ['OS-SRV-USG', 'ServerUsage', 'Adds launched_at and terminated_at on Servers.'],
  ['os-availability-zone', 'AvailabilityZone', 'Availability zone support.'],
  ['os-floating-ip-pools', 'FloatingIpPools', 'Floating IPs support.'],
  ['os-floating-ips', 'FloatingIps', 'Floating IPs support.'],
  ['os-keypairs', 'Keypairs', 'Keypair Support.'],
  ['os-scheduler-hints', 'SchedulerHints', 'Pass arbitrary key/value pairs to the scheduler.'],
  ['os-user-data', 'UserData', 'Add user_data to the Create Server API.'],
];

function extensionView([alias, name, description]: (typeof EXTENSIONS)[number]): Record<string, unknown> {
  return {
    alias,
    name,
    description,
    links: [],
    namespace: 'http://docs.openstack.org/compute/ext/fake_xml',
    updated: '2014-12-03T00:00:00Z',
  };
}

export function listExtensions(): SimReply {
  return json(200, { extensions: EXTENSIONS.map(extensionView) });
}

export function showExtension(_cr: ComputeRequest, alias: string): SimReply {
  const extension = EXTENSIONS.find(([candidate]) => candidate === alias);
  if (!extension) throw new ApiError(404, 'The resource could not be found.');
  return json(200, { extension: extensionView(extension) });
}
