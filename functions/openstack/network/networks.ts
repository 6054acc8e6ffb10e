/**
 * Neutron networks, as floating-IP allocation needs them: the external network of a pool
 * given by id or by exact name, or the only external network when no pool is given.
 */
import { ConfigurationError } from '../../../contract/errors';
import { AmbiguousNameError, NotFoundError } from '../errors';
import { asId, asString, field, looksLikeUuid, segment } from '../json';
import { pickByName } from '../names';
import type { Session } from '../identity/session';

export class FloatingNetworks {
  /** Pool name or id (or '' for "the one external network") -> network id. */
  private readonly known = new Map<string, string>();

  constructor(private readonly session: Session) {}

  /** The external network to allocate from: the pool by id or name, else the only external one. */
  async id(pool: string | undefined): Promise<string> {
    const key = pool ?? '';
    const known = this.known.get(key);
    if (known) return known;
    const id = pool ? await this.byIdOrName(pool) : await this.onlyExternal();
    this.known.set(key, id);
    return id;
  }

  private async byIdOrName(pool: string): Promise<string> {
    if (looksLikeUuid(pool)) {
      try {
        const res = await this.session.call('network', 'GET', `/v2.0/networks/${segment(pool)}`);
        const id = asId(field(field(res.body, 'network'), 'id'));
        if (id) return id;
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
    }
    const path = `/v2.0/networks?name=${encodeURIComponent(pool)}`;
    const networks = await this.session.list('network', path, 'networks', 'networks_links');
    return pickByName('network', pool, networks, { service: 'Neutron', method: 'GET', path: '/v2.0/networks' });
  }

  private async onlyExternal(): Promise<string> {
    const path = '/v2.0/networks?router:external=true';
    const networks = (await this.session.list('network', path, 'networks', 'networks_links')).filter(
      (n) => field(n, 'router:external') !== false,
    );
    const ids = networks.flatMap((n) => {
      const id = asId(field(n, 'id'));
      return id ? [id] : [];
    });
    if (ids.length === 1 && ids[0] !== undefined) return ids[0];
    if (ids.length === 0) {
      throw new ConfigurationError('no external network (router:external=true): configure a floating IP pool');
    }
    const names = networks.map((n) => asString(field(n, 'name')) ?? asId(field(n, 'id'))).join(', ');
    throw new AmbiguousNameError(
      `${ids.length} external networks (${names}): configure a floating IP pool`,
      'router:external=true',
      ids.length,
      { service: 'Neutron', method: 'GET', path: '/v2.0/networks' },
    );
  }
}
