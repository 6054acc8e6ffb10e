/** Nova's read-only resources: flavors, the images proxy, keypairs, availability zones, limits. */
import { ApiError } from '../errors';
import { FLAVORS, IMAGES, KEYPAIR, NOVA_PROXY_APIS_REMOVED_AT } from '../fixtures';
import type { FlavorFixture, ImageFixture } from '../fixtures';
import { json } from '../http';
import type { SimReply } from '../http';
import type { ComputeRequest } from './request';

function flavorView(cr: ComputeRequest, flavor: FlavorFixture, detailed: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = { id: flavor.id, name: flavor.name, links: cr.links('flavors', flavor.id) };
  if (detailed) {
    Object.assign(view, {
      ram: flavor.ram,
      vcpus: flavor.vcpus,
      disk: flavor.disk,
      'OS-FLV-EXT-DATA:ephemeral': 0,
      'OS-FLV-DISABLED:disabled': false,
      swap: cr.atLeast('2.75') ? 0 : '',
      rxtx_factor: 1.0,
      'os-flavor-access:is_public': true,
    });
    if (cr.atLeast('2.61')) view.extra_specs = {};
  }
  if (cr.atLeast('2.55')) view.description = flavor.description;
  return view;
}

export function listFlavors(cr: ComputeRequest, detailed: boolean): SimReply {
  return json(200, { flavors: FLAVORS.map((f) => flavorView(cr, f, detailed)) });
}

export function showFlavor(cr: ComputeRequest, id: string): SimReply {
  const flavor = FLAVORS.find((f) => f.id === id);
  if (!flavor) throw new ApiError(404, `Flavor ${id} could not be found.`);
  return json(200, { flavor: flavorView(cr, flavor, true) });
}

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

export function showLimits(cr: ComputeRequest): SimReply {
  const { state, config } = cr.cloud;
  state.advance(cr.now());
  const servers = [...state.servers.values()];
  const flavorOf = (id: string): FlavorFixture | undefined => FLAVORS.find((f) => f.id === id);
  const absolute: Record<string, number> = {
    maxTotalInstances: config.quotas.instances,
    totalInstancesUsed: servers.length,
    maxTotalCores: 1000,
    totalCoresUsed: servers.reduce((sum, s) => sum + (flavorOf(s.flavorId)?.vcpus ?? 0), 0),
    maxTotalRAMSize: 1_024_000,
    totalRAMUsed: servers.reduce((sum, s) => sum + (flavorOf(s.flavorId)?.ram ?? 0), 0),
    maxServerMeta: 128,
    maxTotalKeypairs: 100,
    maxServerGroups: 10,
    maxServerGroupMembers: 10,
    totalServerGroupsUsed: 0,
  };
  if (!cr.atLeast(NOVA_PROXY_APIS_REMOVED_AT)) {
    absolute.maxTotalFloatingIps = config.quotas.floatingIps;
    absolute.totalFloatingIpsUsed = state.floatingIps.size;
    absolute.maxSecurityGroups = 10;
    absolute.totalSecurityGroupsUsed = 1;
    absolute.maxSecurityGroupRules = 20;
  }
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
