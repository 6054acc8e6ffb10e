import type { Server } from '../openstack';
import { hasIpv4, selectAddress } from './addresses';
import type { ActionContext } from './context';
import { describeError } from './errors';
import { deviceName, deviceUuid } from './naming';
import { answerLost, pollUntilDeadline } from './poll';
import type { Message, Result } from '../../contract';
import { fail, pass } from '../../contract';

type WaitOutcome = { kind: 'active'; server: Server } | { kind: 'failed'; reason: string; server: Server | undefined };

/**
 * BUILD_DEVICE: boot one server named from the job's unique id and wait for it to be
 * ACTIVE with an address. A rerun of the same job finds the first run's server by that
 * name and waits for it instead of booting another. On any failure the server is deleted
 * and the result still carries name, addr, type and az (the admin API reads all four).
 */
export async function buildDevice(ctx: ActionContext, message: Message): Promise<Result> {
  const { pool, openstack, logger } = ctx;
  const name = deviceName(pool.nodeBasename, deviceUuid(ctx.unique));
  const device = { name, addr: '', type: `basename: ${pool.nodeBasename}, image: ${pool.image}`, az: pool.azLabel };
  if (!ctx.unique) logger.debug('job has no unique id: a rerun of it cannot find this build', { name });

  let mayExist = false;
  try {
    const existing = await openstack.compute.findServersByName(name);
    if (existing.length > 1) {
      return fail(message, `${existing.length} servers are already named ${name}; delete the extra ones by id`, device);
    }
    let serverId: string;
    /** The server this run booted itself: the only one it may delete while another run may be waiting on the rest. */
    let booted: string | undefined;
    if (existing[0]) {
      serverId = existing[0].id;
      mayExist = true;
      logger.info('resuming the build of an earlier run of this job', { name, serverId, status: existing[0].status });
    } else {
      const [imageRef, flavorRef] = await Promise.all([
        openstack.image.resolveImage(pool.image),
        openstack.compute.resolveFlavor(pool.flavor),
      ]);
      mayExist = true; // from here on a timeout may still have booted it
      try {
        ({ id: serverId } = await openstack.compute.createServer({
          name,
          imageRef,
          flavorRef,
          keyName: pool.keyName,
          securityGroups: pool.securityGroups.length > 0 ? pool.securityGroups : undefined,
          availabilityZone: pool.availabilityZone,
          networkIds: pool.networkIds,
          userData: pool.userData,
          serverGroupId: pool.serverGroupId,
          metadata: { ...pool.metadata, ...(ctx.unique ? { 'libra-job': ctx.unique.slice(0, 255) } : {}) },
        }));
        logger.info('server requested', { name, serverId });
      } catch (error) {
        if (!answerLost(error)) throw error;
        // The request may still be processed after its answer was lost: the server can show
        // up later, so look for it by name (as a rerun would) instead of leaving it behind.
        logger.warn('the create request got no answer; looking for the server by its name', {
          name,
          error: describeError(error),
        });
        const found = await waitForName(ctx, name);
        if (!found)
          throw new Error(`${describeError(error)}; no server named ${name} appeared before the build deadline`);
        serverId = found.id;
        logger.info('the server of the unanswered create request showed up', { name, serverId });
      }
      booted = serverId;
    }

    const started = ctx.clock.now();
    let outcome = await waitForActive(ctx, serverId);
    // Another run of this job (gearmand re-queued it when a bridge died while this run's
    // create was still in flight) may have booted a twin with the same name. All runs
    // converge on the oldest: the last in Nova's default order (created_at, then its own
    // id, descending), so a twin that shows up later is newer and every run picks the same
    // one. A run deletes only the server it booted itself, then waits for the oldest.
    for (let round = 0; outcome.kind === 'active' && round < 3; round += 1) {
      const twins = await openstack.compute.findServersByName(name);
      const oldest = twins[twins.length - 1];
      if (!oldest || oldest.id === serverId) break;
      if (serverId === booted) {
        try {
          await openstack.compute.deleteServer(serverId);
        } catch (error) {
          return fail(
            message,
            `another run of this job booted ${name} first, and deleting this run's twin ${serverId} failed (${describeError(error)}): delete server ${serverId} by hand`,
            device,
          );
        }
        logger.warn('another run of this job booted this device first: deleted the twin this run booted', {
          name,
          serverId,
          keptServerId: oldest.id,
        });
        booted = undefined;
      }
      serverId = oldest.id;
      outcome = await waitForActive(ctx, serverId);
    }
    if (outcome.kind === 'active') {
      ctx.onBuildWait?.(ctx.clock.now() - started);
      const addr = selectAddress(outcome.server, pool.addrNetwork) ?? '';
      logger.info('device is active', { name, serverId, addr });
      return pass(message, { ...device, addr });
    }
    device.addr = outcome.server ? (selectAddress(outcome.server, pool.addrNetwork) ?? '') : '';
    return fail(message, await cleanUp(ctx, name, outcome.reason), device);
  } catch (error) {
    const reason = describeError(error);
    return fail(message, mayExist ? await cleanUp(ctx, name, reason) : reason, device);
  }
}

/** Polls until ACTIVE (with an IPv4 address), ERROR, gone, or the deadline. */
async function waitForActive(ctx: ActionContext, serverId: string): Promise<WaitOutcome> {
  const started = ctx.clock.now();
  // Set inside the probe; the cast stops TypeScript narrowing it to undefined out here.
  let last = undefined as Server | undefined;
  const outcome = await pollUntilDeadline(ctx, { serverId }, async (): Promise<WaitOutcome | undefined> => {
    const server = await ctx.openstack.compute.getServer(serverId);
    if (!server) return { kind: 'failed', reason: `server ${serverId} disappeared while building`, server: last };
    last = server;
    if (server.status === 'ACTIVE' && hasIpv4(server)) return { kind: 'active', server };
    if (server.status === 'ERROR') {
      const fault = server.fault ? `: ${server.fault.message}` : '';
      return { kind: 'failed', reason: `server ${serverId} went to ERROR${fault}`, server };
    }
    if (server.status === 'DELETED' || server.status === 'SOFT_DELETED') {
      return { kind: 'failed', reason: `server ${serverId} was deleted while building`, server };
    }
    return undefined;
  });
  if (outcome) return outcome;
  const status = last ? `${last.status}${last.status === 'ACTIVE' ? ' without an IPv4 address' : ''}` : 'unknown';
  const waited = Math.round((ctx.clock.now() - started) / 1000);
  return {
    kind: 'failed',
    reason: `server ${serverId} not ACTIVE after ${waited} s, the build deadline (status ${status})`,
    server: last,
  };
}

/** Polls for a server with exactly this name until one shows up or the build deadline passes. */
function waitForName(ctx: ActionContext, name: string): Promise<Server | undefined> {
  return pollUntilDeadline(ctx, { name }, async () => {
    const servers = await ctx.openstack.compute.findServersByName(name);
    return servers[servers.length - 1];
  });
}

/** Deletes every server with exactly this name (ours: the name holds the job's uuid). */
async function cleanUp(ctx: ActionContext, name: string, reason: string): Promise<string> {
  try {
    const servers = await ctx.openstack.compute.findServersByName(name);
    for (const server of servers) {
      await ctx.openstack.compute.deleteServer(server.id);
      ctx.logger.info('deleted the failed build', { name, serverId: server.id });
    }
    return servers.length > 0
      ? `${reason}; the server was deleted`
      : `${reason}; no server named ${name} was left to delete`;
  } catch (error) {
    ctx.logger.error('could not delete the failed build: it may be left behind', { name, error: describeError(error) });
    return `${reason}; deleting it also failed (${describeError(error)}): delete ${name} by hand`;
  }
}
