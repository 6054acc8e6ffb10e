/** Glance v2: version discovery and read-only /v2/images. */
import { ApiError, webobErrorReply } from './errors';
import { authenticatedToken, authRequired } from './context';
import type { CloudContext } from './context';
import { IMAGES } from './fixtures';
import type { ImageFixture } from './fixtures';
import { headerValue, json, matchRoute, route } from './http';
import type { Route, SimReply, SimRequest } from './http';
import { stableHexId } from './ids';

const GLANCE_VERSIONS = [
  '2.16',
  '2.15',
  '2.14',
  '2.13',
  '2.12',
  '2.11',
  '2.10',
  '2.9',
  '2.8',
  '2.7',
  '2.6',
  '2.5',
  '2.4',
  '2.3',
  '2.2',
  '2.1',
  '2.0',
];
/** Query parameters that are not image attributes. */
const PAGING_PARAMS = new Set(['limit', 'marker', 'sort_key', 'sort_dir', 'sort', 'member_status']);
const DEFAULT_LIMIT = 25;

function versionsDocument(serviceUrl: string): Record<string, unknown> {
  return {
    versions: GLANCE_VERSIONS.map((version, index) => ({
      id: `v${version}`,
      status: index === 0 ? 'CURRENT' : 'SUPPORTED',
      links: [{ rel: 'self', href: `${serviceUrl}/v2/` }],
    })),
  };
}

function imageView(image: ImageFixture): Record<string, unknown> {
  return {
    id: image.id,
    name: image.name,
    status: 'active',
    visibility: 'public',
    protected: false,
    os_hidden: false,
    checksum: stableHexId(`checksum:${image.id}`),
    os_hash_algo: 'sha512',
    os_hash_value:
      stableHexId(`sha512a:${image.id}`) +
      stableHexId(`sha512b:${image.id}`) +
      stableHexId(`sha512c:${image.id}`) +
      stableHexId(`sha512d:${image.id}`),
    owner: stableHexId('project:admin'),
    size: image.size,
    virtual_size: null,
    min_ram: image.minRam,
    min_disk: image.minDisk,
    disk_format: image.diskFormat,
    container_format: 'bare',
    tags: [],
    created_at: image.createdAt,
    updated_at: image.createdAt,
    self: `/v2/images/${image.id}`,
    file: `/v2/images/${image.id}/file`,
    schema: '/v2/schemas/image',
  };
}

/** Glance's 'in:a,b' operator, or plain equality. */
function matchesFilter(value: unknown, filter: string): boolean {
  const wanted = filter.startsWith('in:') ? filter.slice(3).split(',') : [filter];
  return wanted.includes(String(value));
}

function listImages(request: SimRequest): SimReply {
  const query = request.query;
  let images = [...IMAGES].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map(imageView);
  for (const key of new Set(query.keys())) {
    if (PAGING_PARAMS.has(key)) continue;
    // Unknown keys are image-property filters in Glance; the fixtures carry no extra properties.
    images = images.filter((image) => key in image && query.getAll(key).every((f) => matchesFilter(image[key], f)));
  }
  const marker = query.get('marker');
  if (marker !== null) {
    const index = images.findIndex((image) => image.id === marker);
    if (index < 0) throw new ApiError(400, `Invalid marker. Image ${marker} could not be found.`);
    images = images.slice(index + 1);
  }
  const limitText = query.get('limit');
  if (limitText !== null && !/^\d+$/.test(limitText)) throw new ApiError(400, 'limit param must be an integer');
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
  const page = images.slice(0, limit);

  const firstParams = new URLSearchParams(query);
  firstParams.delete('marker');
  const body: Record<string, unknown> = {
    images: page,
    first: firstParams.size > 0 ? `/v2/images?${firstParams.toString()}` : '/v2/images',
    schema: '/v2/schemas/images',
  };
  const last = page[page.length - 1];
  if (last && page.length === limit && images.length > limit) {
    const next = new URLSearchParams(query);
    next.set('marker', String(last.id));
    next.set('limit', String(limit));
    body.next = `/v2/images?${next.toString()}`;
  }
  return json(200, body);
}

function showImage(id: string): SimReply {
  const image = IMAGES.find((i) => i.id === id);
  if (!image) throw new ApiError(404, `No image found with ID ${id}`);
  return json(200, imageView(image));
}

const ROUTES: readonly Route<SimRequest>[] = [
  route('GET', '/v2/images', (request) => listImages(request)),
  route('GET', '/v2/images/{id}', (_request, params) => showImage(params[0] ?? '')),
];

export class ImageService {
  constructor(private readonly cloud: CloudContext) {}

  async handle(request: SimRequest): Promise<SimReply> {
    const path = request.path.replace(/\/+$/, '');
    if (request.method === 'GET' && (path === '' || path === '/v2'))
      return json(300, versionsDocument(request.serviceUrl));
    if (request.method === 'GET' && path === '/versions') return json(200, versionsDocument(request.serviceUrl));
    if (!authenticatedToken(this.cloud, request)) return authRequired(this.cloud);
    try {
      const match = matchRoute(ROUTES, request.method, path);
      if (match.kind === 'not-found') throw new ApiError(404, 'The resource could not be found.');
      if (match.kind === 'method-not-allowed') throw new ApiError(405, 'The method is not allowed for this resource.');
      return await match.route.handle(request, match.params);
    } catch (error) {
      if (error instanceof ApiError)
        return webobErrorReply(error.status, error.message, headerValue(request, 'accept'));
      throw error;
    }
  }
}
