/**
 * Nova flavors: a flavor given by id or by exact name.
 */
import { InvalidArgumentError, NotFoundError } from '../errors';
import { asId, field, segment } from '../json';
import { pickByName } from '../names';
import type { Session } from '../identity/session';
import { novaCall, novaList } from './request';

/** A flavor id as is, or the id of the one flavor with exactly that name. */
export async function resolveFlavor(session: Session, idOrName: string): Promise<string> {
  if (!idOrName) throw new InvalidArgumentError('flavor is empty');
  try {
    const res = await novaCall(session, 'GET', `/flavors/${segment(idOrName)}`);
    return asId(field(field(res.body, 'flavor'), 'id')) ?? idOrName;
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
  const flavors = await novaList(session, '/flavors/detail', 'flavors');
  return pickByName('flavor', idOrName, flavors, { service: 'Nova', method: 'GET', path: '/flavors/detail' });
}
