import { randomUUID } from 'node:crypto';
import type { Server } from '../openstack';
import { describeUnique } from '../../contract';
import type { Message, Result } from '../../contract';
import { fail, pass } from '../../contract';
import { hasIpv4, selectAddress } from './addresses';
import type { ActionContext } from './context';
import { describeError } from './errors';
import { reuseRefusal } from './idempotency';
import { deviceName, deviceUuid } from './naming';
import { answerLost, mayHaveBeenCarriedOut, pollUntilAny, pollUntilDeadline } from './poll';
import { JOB_MARK, POOL_MARK, RUN_MARK } from './servers';
import { describeBootError } from './setting-hints';

/**
 * `broken`: the server itself failed (ERROR, deleted, gone), so no run of the job can answer
 * with it; not so when only this run's deadline passed.
 */
type WaitOutcome =
  { kind: 'active'; server: Server } | { kind: 'failed'; reason: string; server: Server | undefined; broken: boolean };

/**
 * BUILD_DEVICE: boot one server named from the job's unique id and wait for it to be
 * ACTIVE with an address. A rerun of the same job finds the first run's server by that
 * name and waits for it instead of booting another (within the idempotency window; after
 * it the reuse is refused). The server carries the pool mark (servers.ts), which the other
 * actions require. On any failure the run deletes, by id, the server it booted and the one
 * it waited on, never another server with that name; the result still carries name, addr,
 * type and az (the admin API reads all four).
 */
export async function buildDevice(ctx: ActionContext, message: Message): Promise<Result> {
  const { pool, openstack, logger } = ctx;
  const uuid = deviceUuid(ctx.unique);
  const name = deviceName(pool.nodeBasename, uuid);
  const device = { name, addr: '', type: `basename: ${pool.nodeBasename}, image: ${pool.image}`, az: pool.azLabel };
  if (!ctx.unique) logger.debug('job has no unique id: a rerun of it cannot find this build', { name });
  /** Marks the servers this run boots, so that it knows its own even when a create got no answer. */
  const runMark = randomUUID();
  /** The servers this run booted itself: the only ones it deletes while another run may be waiting on the rest. */
  const booted = new Set<string>();
  /** The server this run waits on (its own, or the one another run of the job booted). */
  let serverId: string | undefined;
  /** A create whose outcome this run does not know (no answer, or the connection dropped). */
  let createUncertain = false;
  const claimOwn = (servers: readonly Server[]): void => {
    for (const server of servers) if (server.metadata[RUN_MARK] === runMark) booted.add(server.id);
  };

  try {
    const existing = await openstack.compute.findServersByName(name);
    if (existing.length > 1) {
      return fail(message, `${existing.length} servers are already named ${name}; delete the extra ones by id`, device);
    }
    if (existing[0]) {
      const earlier = existing[0];
      const refusal = reuseRefusal(ctx, `device ${name} (server ${earlier.id})`, earlier.created);
      // Not the device: the admin API deletes a failed device by the name it is given.
      if (refusal) return fail(message, refusal);
      serverId = earlier.id;
      logger.info('resuming the build of an earlier run of this job', { name, serverId, status: earlier.status });
    } else {
      // A failed lookup fails the job in the catch below, with nothing to clean up yet.
      const [imageRef, flavorRef] = await Promise.all([
        openstack.image.resolveImage(pool.image),
        openstack.compute.resolveFlavor(pool.flavor),
      ]);
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
          metadata: {
            ...pool.metadata,
            ...(ctx.unique ? { [JOB_MARK]: describeUnique(ctx.unique).slice(0, 255) } : {}),
            [POOL_MARK]: uuid,
            [RUN_MARK]: runMark,
          },
        }));
        booted.add(serverId);
        logger.info('server requested', { name, serverId });
      } catch (error) {
        const lost = answerLost(error);
        createUncertain = lost || mayHaveBeenCarriedOut(error);
        if (!lost) {
          if (createUncertain) {
            // The create failed after it was sent: Nova may have stored the server anyway.
            try {
              claimOwn(await openstack.compute.findServersByName(name));
            } catch (lookup) {
              logger.warn('could not look for the server of a failed create request', {
                name,
                error: describeError(lookup),
              });
            }
          }
          throw error;
        }
        // The request may still be processed after its answer was lost: the server can show
        // up later, so look for it by name (as a rerun would) instead of leaving it behind.
        logger.warn('the create request got no answer; looking for the server by its name', {
          name,
          error: describeError(error),
        });
        const found = await pollUntilAny(ctx, { name }, () => openstack.compute.findServersByName(name));
        if (!found) {
          throw new Error(`${describeError(error)}; no server named ${name} appeared before the build deadline`);
        }
        claimOwn(found);
        serverId = [...booted][0] ?? oldestOf(found).id;
        logger.info('the server of the unanswered create request showed up', { name, serverId });
      }
    }

    const started = ctx.clock.now();
    let outcome = await waitForActive(ctx, serverId);
    // Another run of this job (gearmand re-queued it when a bridge died while this run's
    // create was still in flight) may have booted a twin with the same name. All runs
    // converge on the oldest: the last in Nova's default order (created_at, then its own
    // id, descending), so a twin that shows up later is newer and every run picks the same
    // one. A run deletes only the servers it booted itself, then waits for the oldest.
    for (let round = 0; outcome.kind === 'active' && round < 3; round += 1) {
      const twins = await openstack.compute.findServersByName(name);
      claimOwn(twins); // a create of this run answered late shows up here too
      if (twins.length === 0) break;
      const oldest = oldestOf(twins);
      const extra = [...booted].filter((id) => id !== oldest.id);
      if (oldest.id === serverId && extra.length === 0) break;
      for (const twinId of extra) {
        try {
          await openstack.compute.deleteServer(twinId);
        } catch (error) {
          return fail(
            message,
            `another run of this job booted ${name} first, and deleting this run's twin ${twinId} failed (${describeError(error)}): delete server ${twinId} by hand`,
            device,
          );
        }
        booted.delete(twinId);
        logger.warn('another run of this job booted this device first: deleted the twin this run booted', {
          name,
          serverId: twinId,
          keptServerId: oldest.id,
        });
      }
      if (oldest.id === serverId) break;
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
    // This run's own servers go. The one it waited on goes too if the server itself failed;
    // another run's server that is merely late is left to that run, which may yet answer with it.
    const doomed = outcome.broken ? [...booted, serverId] : [...booted];
    return fail(message, await cleanUp(ctx, name, outcome.reason, doomed, serverId), device);
  } catch (error) {
    // Something other than the server failed (a request, a setting): only this run's own servers go.
    const reason = describeBootError(error, pool);
    if (booted.size === 0 && serverId === undefined && !createUncertain) return fail(message, reason, device);
    return fail(message, await cleanUp(ctx, name, reason, [...booted], serverId), device);
  }
}

/** Polls until ACTIVE (with an IPv4 address), ERROR, gone, or the deadline. */
async function waitForActive(ctx: ActionContext, serverId: string): Promise<WaitOutcome> {
  const started = ctx.clock.now();
  // Set inside the probe; the cast stops TypeScript narrowing it to undefined out here.
  let last = undefined as Server | undefined;
  const outcome = await pollUntilDeadline(ctx, { serverId }, async (): Promise<WaitOutcome | undefined> => {
    const server = await ctx.openstack.compute.getServer(serverId);
    if (!server) {
      return { kind: 'failed', reason: `server ${serverId} disappeared while building`, server: last, broken: true };
    }
    last = server;
    if (server.status === 'ACTIVE' && hasIpv4(server)) return { kind: 'active', server };
    if (server.status === 'ERROR') {
      const fault = server.fault ? `: ${server.fault.message}` : '';
      return { kind: 'failed', reason: `server ${serverId} went to ERROR${fault}`, server, broken: true };
    }
    if (server.status === 'DELETED' || server.status === 'SOFT_DELETED') {
      return { kind: 'failed', reason: `server ${serverId} was deleted while building`, server, broken: true };
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
    broken: false,
  };
}

/** The oldest of servers listed in Nova's default order (created_at, then id, descending). */
function oldestOf(servers: readonly Server[]): Server {
  return servers[servers.length - 1] as Server;
}

/**
 * Deletes, by id, the servers this run is answerable for; never looks a server up by name,
 * where a concurrent run's server (perhaps already answered with a PASS) would be found too.
 * `leftInPlace`: the server this run waited on, named in the message when it was not deleted.
 */
async function cleanUp(
  ctx: ActionContext,
  name: string,
  reason: string,
  serverIds: readonly string[],
  leftInPlace?: string,
): Promise<string> {
  let deleted = 0;
  for (const serverId of new Set(serverIds)) {
    try {
      if ((await ctx.openstack.compute.deleteServer(serverId)) === 'deleted') deleted += 1;
      ctx.logger.info('deleted the failed build', { name, serverId });
    } catch (error) {
      ctx.logger.error('could not delete the failed build: it may be left behind', {
        name,
        serverId,
        error: describeError(error),
      });
      return `${reason}; deleting server ${serverId} also failed (${describeError(error)}): delete ${name} by hand`;
    }
  }
  if (deleted > 0) return `${reason}; the server was deleted`;
  if (leftInPlace && !serverIds.includes(leftInPlace)) {
    return `${reason}; server ${leftInPlace}, which another run of this job booted, was left to that run`;
  }
  return `${reason}; this run left no server behind`;
}
