/**
 * The compute service (Nova) as the pool manager uses it: servers and flavors.
 */
import type { Session } from '../identity/session';
import type { Compute } from '../types';
import { resolveFlavor } from './flavors';
import { createServer, deleteServer, findServersByName, getServer } from './servers';

export function novaCompute(session: Session): Compute {
  return {
    createServer: (request) => createServer(session, request),
    getServer: (id) => getServer(session, id),
    findServersByName: (name) => findServersByName(session, name),
    deleteServer: (id) => deleteServer(session, id),
    resolveFlavor: (idOrName) => resolveFlavor(session, idOrName),
  };
}

export { COMPUTE_MICROVERSION } from './request';
