import type { Server } from '../openstack';
import type { ActionContext } from './context';

/**
 * Server metadata BUILD_DEVICE sets on every server it builds. The pool manager acts by name
 * only on servers that carry POOL_MARK (value: the device uuid of the name), so a server
 * someone else named like a device is never deleted or given an address. Metadata rather
 * than Nova's server tags: tags need compute microversion 2.26 (2.52 to set them in the
 * create), and the client speaks 2.1 for Nova's floating-IP proxy (compute/request.ts).
 */
export const POOL_MARK = 'libra-pool-manager';
/** A random id per function run: a run finds the server it booted even when its create got no answer. */
export const RUN_MARK = 'libra-pool-manager-run';
/** The job's unique id as text (`base64:…` when it is not UTF-8), for the runbook. */
export const JOB_MARK = 'libra-job';

/** Whether BUILD_DEVICE built this server (it carries the mark). */
function builtByPool(server: Pick<Server, 'metadata'>): boolean {
  const mark = server.metadata[POOL_MARK];
  return typeof mark === 'string' && mark !== '';
}

/** The servers with exactly this name, as an action that acts on one of them sees them. */
export type NamedServer =
  | { kind: 'none' }
  | { kind: 'many'; count: number }
  | { kind: 'foreign'; reason: string }
  | { kind: 'one'; server: Server };

/**
 * The one server with exactly this name, if it is the pool manager's: one without the mark
 * is 'foreign' unless POOL_ACCEPT_UNTAGGED_SERVERS accepts servers built before the mark.
 */
export async function findNamedServer(ctx: ActionContext, name: string): Promise<NamedServer> {
  const servers = await ctx.openstack.compute.findServersByName(name);
  const server = servers[0];
  if (!server) return { kind: 'none' };
  if (servers.length > 1) return { kind: 'many', count: servers.length };
  if (!builtByPool(server) && !ctx.pool.acceptUntaggedServers) {
    return {
      kind: 'foreign',
      reason:
        `server ${name} (${server.id}) was not built by the pool manager (it has no '${POOL_MARK}' metadata): not touching it; ` +
        'if the pool manager built it before it marked its servers, set POOL_ACCEPT_UNTAGGED_SERVERS=true',
    };
  }
  if (!builtByPool(server))
    ctx.logger.info('acting on a server without the pool mark, as POOL_ACCEPT_UNTAGGED_SERVERS says', { name });
  return { kind: 'one', server };
}

/** The one pool server with exactly this name, or the reason there is not exactly one. */
export async function findPoolServer(ctx: ActionContext, name: string): Promise<Server | string> {
  const found = await findNamedServer(ctx, name);
  switch (found.kind) {
    case 'none':
      return `no server is named ${name}`;
    case 'many':
      return `${found.count} servers are named ${name}; refusing to guess`;
    case 'foreign':
      return found.reason;
    case 'one':
      return found.server;
  }
}
