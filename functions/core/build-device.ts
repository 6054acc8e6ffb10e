import type { Server } from '../openstack/types';
import { hasIpv4, selectAddress } from './addresses';
import type { ActionContext } from './context';
import { describeError, isTransient } from './errors';
import { deviceName, deviceUuid } from './naming';
import type { Message, Result } from './result';
import { fail, pass } from './result';

type WaitOutcome =
  | { kind: 'active'; server: Server }
  | { kind: 'failed'; reason: string; server: Server | undefined };

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
    if (existing[0]) {
      serverId = existing[0].id;
      mayExist = true;
      logger.info('resuming the build of an earlier run of this job', { name, serverId, status: existing[0].status });
    } else {
      const [imageRef, flavorRef] = await Promise.all([
        openstack.compute.resolveImage(pool.image),
        openstack.compute.resolveFlavor(pool.flavor),
      ]);
      mayExist = true; // from here on a timeout may still have booted it
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
    }

    const started = ctx.clock.now();
    const outcome = await waitForActive(ctx, serverId);
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

/** Polls with growing intervals until ACTIVE (with an IPv4 address), ERROR, gone, or the deadline. */
async function waitForActive(ctx: ActionContext, serverId: string): Promise<WaitOutcome> {
  const { clock, pool, logger } = ctx;
  let interval = pool.pollInitialMs;
  const started = clock.now();
  let last: Server | undefined;
  for (let poll = 1; ; poll += 1) {
    try {
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
    } catch (error) {
      if (!isTransient(error)) throw error;
      logger.warn('status poll failed; polling on', { serverId, poll, error: describeError(error) });
    }
    const remaining = ctx.deadlineAt - clock.now();
    if (remaining <= 0) {
      const status = last ? `${last.status}${last.status === 'ACTIVE' ? ' without an IPv4 address' : ''}` : 'unknown';
      const waited = Math.round((clock.now() - started) / 1000);
      return { kind: 'failed', reason: `server ${serverId} not ACTIVE after ${waited} s, the build deadline (status ${status})`, server: last };
    }
    await clock.sleep(Math.min(interval, remaining));
    interval = Math.min(Math.round(interval * 1.5), pool.pollMaxMs);
  }
}

/** Deletes every server with exactly this name (ours: the name holds the job's uuid). */
async function cleanUp(ctx: ActionContext, name: string, reason: string): Promise<string> {
  try {
    const servers = await ctx.openstack.compute.findServersByName(name);
    for (const server of servers) {
      await ctx.openstack.compute.deleteServer(server.id);
      ctx.logger.info('deleted the failed build', { name, serverId: server.id });
    }
    return `${reason}; the server was deleted`;
  } catch (error) {
    ctx.logger.error('could not delete the failed build: it may be left behind', { name, error: describeError(error) });
    return `${reason}; deleting it also failed (${describeError(error)}): delete ${name} by hand`;
  }
}
