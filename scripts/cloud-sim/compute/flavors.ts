/** Nova flavors: list (filters, sorting, paging), show, and os-extra_specs. */
import { ApiError } from '../errors';
import { FLAVORS, flavorById } from '../fixtures';
import type { FlavorFixture } from '../fixtures';
import { json } from '../http';
import type { SimReply } from '../http';
import { markerStart, nextLinks } from './request';
import type { ComputeRequest } from './request';

/** Sort keys Nova accepts, mapped to the fixture field they order by. */
const SORT_KEYS: Record<string, (f: FlavorFixture) => string | number> = {
  flavorid: (f) => f.id,
  id: (f) => f.id,
  name: (f) => f.name,
  memory_mb: (f) => f.ram,
  vcpus: (f) => f.vcpus,
  root_gb: (f) => f.disk,
};

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
    if (cr.atLeast('2.61')) view.extra_specs = { ...flavor.extraSpecs };
  }
  if (cr.atLeast('2.55')) view.description = flavor.description;
  return view;
}

function integerFilter(cr: ComputeRequest, name: string): number | undefined {
  const raw = cr.request.query.get(name);
  if (raw === null) return undefined;
  if (!/^-?\d+$/.test(raw.trim())) throw new ApiError(400, `Invalid ${name} filter [${raw}]`);
  return Number(raw);
}

/** is_public: 'None' lists every flavor (an admin's view); the simulator's flavors are all public. */
function publicFilter(cr: ComputeRequest): boolean | undefined {
  const raw = cr.request.query.get('is_public');
  if (raw === null || raw.toLowerCase() === 'none') return raw === null ? true : undefined;
  const lower = raw.toLowerCase();
  if (['true', 't', '1', 'on', 'y', 'yes'].includes(lower)) return true;
  if (['false', 'f', '0', 'off', 'n', 'no'].includes(lower)) return false;
  throw new ApiError(400, `Invalid is_public filter [${raw}]`);
}

function sorted(cr: ComputeRequest, flavors: FlavorFixture[]): FlavorFixture[] {
  const key = cr.request.query.get('sort_key') ?? 'flavorid';
  const dir = cr.request.query.get('sort_dir') ?? 'asc';
  const field = SORT_KEYS[key];
  if (!field) throw new ApiError(400, `Invalid input for query parameters sort_key. Value: ${key}.`);
  if (dir !== 'asc' && dir !== 'desc')
    throw new ApiError(
      400,
      `Invalid input for query parameters sort_dir. Value: ${dir}. '${dir}' is not one of ['asc', 'desc']`,
    );
  const order = dir === 'asc' ? 1 : -1;
  return [...flavors].sort((a, b) => {
    const left = field(a);
    const right = field(b);
    return (left < right ? -1 : left > right ? 1 : 0) * order;
  });
}

/** The requested page and the `limit` it was cut to (undefined when the client gave none). */
function pageOf(cr: ComputeRequest, flavors: FlavorFixture[]): { page: FlavorFixture[]; limit: number | undefined } {
  const start = markerStart(cr, flavors);
  const rawLimit = cr.request.query.get('limit');
  if (rawLimit === null) return { page: flavors.slice(start), limit: undefined };
  if (!/^-?\d+$/.test(rawLimit)) throw new ApiError(400, 'limit param must be an integer');
  const limit = Number(rawLimit);
  if (limit < 0) throw new ApiError(400, 'limit param must be positive');
  return { page: flavors.slice(start, start + limit), limit };
}

export function listFlavors(cr: ComputeRequest, detailed: boolean): SimReply {
  const minRam = integerFilter(cr, 'minRam');
  const minDisk = integerFilter(cr, 'minDisk');
  const isPublic = publicFilter(cr);
  const selected = FLAVORS.filter(
    (f) =>
      (minRam === undefined || f.ram >= minRam) &&
      (minDisk === undefined || f.disk >= minDisk) &&
      (isPublic === undefined || isPublic),
  );
  const { page, limit } = pageOf(cr, sorted(cr, selected));
  const body: Record<string, unknown> = { flavors: page.map((f) => flavorView(cr, f, detailed)) };
  const links = nextLinks(cr, detailed ? 'flavors/detail' : 'flavors', page, limit);
  if (links) body.flavors_links = links;
  return json(200, body);
}

function findFlavor(id: string): FlavorFixture {
  const flavor = flavorById(id);
  if (!flavor) throw new ApiError(404, `Flavor ${id} could not be found.`);
  return flavor;
}

export function showFlavor(cr: ComputeRequest, id: string): SimReply {
  return json(200, { flavor: flavorView(cr, findFlavor(id), true) });
}

export function listExtraSpecs(_cr: ComputeRequest, id: string): SimReply {
  return json(200, { extra_specs: { ...findFlavor(id).extraSpecs } });
}

export function showExtraSpec(_cr: ComputeRequest, id: string, key: string): SimReply {
  const flavor = findFlavor(id);
  const value = flavor.extraSpecs[key];
  if (value === undefined) throw new ApiError(404, `Flavor ${id} has no extra specs with key ${key}.`);
  return json(200, { [key]: value });
}
