/**
 * Glance v2 images: an image given by UUID or by exact name.
 */
import { InvalidArgumentError, NotFoundError } from '../errors';
import { asId, field, looksLikeUuid, segment } from '../json';
import { pickByName } from '../names';
import type { Session } from '../identity/session';
import type { Image } from '../types';

/** An image UUID as is, or the id of the one image with exactly that name. */
export async function resolveImage(session: Session, idOrName: string): Promise<string> {
  if (!idOrName) throw new InvalidArgumentError('image is empty');
  if (looksLikeUuid(idOrName)) {
    try {
      const res = await session.call('image', 'GET', `/v2/images/${segment(idOrName)}`);
      return asId(field(res.body, 'id')) ?? idOrName;
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }
  const path = `/v2/images?name=${encodeURIComponent(idOrName)}`;
  const images = await session.list('image', path, 'images', 'next');
  return pickByName('image', idOrName, images, { service: 'Glance', method: 'GET', path: '/v2/images' });
}

export function glanceImage(session: Session): Image {
  return { resolveImage: (idOrName) => resolveImage(session, idOrName) };
}
