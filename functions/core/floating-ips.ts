import { connect } from 'node:net';
import { PreconditionFailedError } from '../openstack';
import type { FloatingIp, FloatingIps } from '../openstack';
import { selectAddress } from './addresses';
import type { ActionContext } from './context';
import { describeError } from './errors';
import { reuseRefusal } from './idempotency';
import { floatingIpDescription } from './naming';
import { answerLost, pollUntilAny } from './poll';
import { findPoolServer } from './servers';
import type { Message, Result, IpInput, IpOnDeviceInput } from '../../contract';
import { fail, pass } from '../../contract';

/**
 * Neutron stamps created_at to the second. A run that allocated an address looks for twins
 * only once the cloud's clock has moved past that second: a twin it does not see then is
 * stamped later, so it sorts as newer and its own run gives it up.
 */
const CLOUD_TIMESTAMP_RESOLUTION_MS = 1000;

/** How often a conditional write refused with 412 is decided again before the job gives up. */
const CONDITIONAL_WRITE_ATTEMPTS = 5;

/**
 * BUILD_IP: allocate one floating IP. The job's unique id is stored as its description,
 * so a rerun returns the address the first run allocated instead of a second one.
 * Runs of one job that overlap (gearmand re-queued it while the first run was still
 * allocating) may each allocate one: every run converges on the oldest (created_at, then
 * id), releases the address it allocated itself if that is not the oldest, and answers with
 * the oldest. (Nova's legacy proxy has no description: there a rerun cannot be recognised.)
 */
export async function buildIp(ctx: ActionContext, message: Message): Promise<Result> {
  const floatingIps = await ctx.openstack.floatingIps();
  const description = ctx.unique ? floatingIpDescription(ctx.unique) : undefined;
  if (!description || floatingIps.backend !== 'neutron') {
    if (!description) ctx.logger.debug('job has no unique id: a rerun of it would allocate another floating IP');
    const allocated = await floatingIps.allocate({ pool: ctx.pool.floatingIpPool, description });
    ctx.logger.info('floating IP allocated', { ip: allocated.ip, id: allocated.id });
    return pass(message, { id: String(allocated.id), ip: allocated.ip });
  }

  const earlier = await floatingIps.findByDescription(description);
  if (earlier.length > 0) {
    const kept = oldest(earlier);
    const refusal = reuseRefusal(ctx, `floating IP ${kept.ip} (id ${kept.id})`, kept.createdAt);
    if (refusal) return fail(message, refusal);
    ctx.logger.info('returning the floating IP an earlier run of this job allocated', { ip: kept.ip, id: kept.id });
    return pass(message, { id: String(kept.id), ip: kept.ip });
  }

  /** The address this run allocated, when it knows which one that is. */
  let own: FloatingIp | undefined;
  try {
    own = await floatingIps.allocate({ pool: ctx.pool.floatingIpPool, description });
    ctx.logger.info('floating IP allocated', { ip: own.ip, id: own.id });
  } catch (error) {
    // As with a server create: a lost answer may still have allocated the address. Only the
    // description can find it again, and this run cannot tell its own from a twin's.
    if (!answerLost(error)) throw error;
    ctx.logger.warn('the allocation got no answer; looking for the address by its description', {
      error: describeError(error),
    });
    const found = await pollUntilAny(ctx, { description }, () => floatingIps.findByDescription(description));
    if (!found) throw new Error(`${describeError(error)}; no floating IP for this job appeared before the deadline`);
  }
  const settled = ctx.clock.now() + CLOUD_TIMESTAMP_RESOLUTION_MS;
  while (ctx.clock.now() < settled) await ctx.clock.sleep(settled - ctx.clock.now());
  const twins = await floatingIps.findByDescription(description);
  const candidates = own && !twins.some((twin) => twin.id === own.id) ? [...twins, own] : twins;
  if (candidates.length === 0) throw new Error(`the floating IPs of this job (${description}) disappeared`);
  const kept = oldest(candidates);
  if (own && kept.id !== own.id) {
    try {
      await floatingIps.release(own);
    } catch (error) {
      return fail(
        message,
        `another run of this job allocated ${kept.ip} first, and releasing this run's twin ${own.ip} failed (${describeError(error)}): release floating IP ${own.id} by hand`,
      );
    }
    ctx.logger.warn('another run of this job allocated its address first: released the twin this run allocated', {
      ip: own.ip,
      id: own.id,
      keptIp: kept.ip,
      keptId: kept.id,
    });
  }
  return pass(message, { id: String(kept.id), ip: kept.ip });
}

/** The oldest address: created_at (to the second), then id; every run of a job picks the same one. */
function oldest(addresses: readonly FloatingIp[]): FloatingIp {
  const time = (fip: FloatingIp): number => {
    const t = fip.createdAt === undefined ? Number.NaN : Date.parse(fip.createdAt);
    return Number.isFinite(t) ? t : Number.POSITIVE_INFINITY;
  };
  return [...addresses].sort((a, b) => time(a) - time(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))[0] as FloatingIp;
}

/**
 * ASSIGN_IP: associate the floating IP with the pool's server of exactly that name, on the
 * port that holds the device's address (POOL_ADDR_NETWORK, else its `addr`), then read it
 * back until the association shows, then optionally TCP-connect to it. The write is
 * conditional on the revision read (Neutron): if the address changed meanwhile it is read
 * again and the move decided again, and if someone else moved it meanwhile the job FAILs
 * instead of moving it back.
 */
export async function assignIp(ctx: ActionContext, message: Message & IpOnDeviceInput): Promise<Result> {
  const { ip, name } = message;
  const server = await findPoolServer(ctx, name);
  if (typeof server === 'string') return fail(message, server);
  const fixedIp = selectAddress(server, ctx.pool.addrNetwork);
  const floatingIps = await ctx.openstack.floatingIps();
  const first = await floatingIps.findByAddress(ip);
  if (!first) return fail(message, `no floating IP ${ip} in this project`);
  const onTarget = (fip: FloatingIp): boolean =>
    fip.serverId === server.id && (fixedIp === undefined || fip.fixedIp === undefined || fip.fixedIp === fixedIp);

  let current = first;
  for (let attempt = 1; !onTarget(current); attempt += 1) {
    if (current.serverId) {
      ctx.logger.warn('moving a floating IP from its port', { ip, name, fromServerId: current.serverId });
    }
    try {
      await floatingIps.associate(current, server.id, fixedIp);
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      const reread = await floatingIps.get(current.id);
      if (!reread) return fail(message, `${ip} was released while this job was assigning it to ${name}`);
      if (!onTarget(reread) && !sameAssociation(reread, first)) {
        return fail(
          message,
          `${ip} was moved to ${reread.serverId ? `server ${reread.serverId}` : 'no server'} by another job while this one ` +
            `was assigning it to ${name}: not moving it again (resubmit to move it)`,
        );
      }
      if (attempt >= CONDITIONAL_WRITE_ATTEMPTS) throw error;
      ctx.logger.info('the floating IP changed since it was read; deciding again', { ip, name, attempt });
      current = reread;
      continue;
    }
    const confirmed = await confirmAssociation(ctx, floatingIps, current, onTarget);
    if (confirmed !== true) {
      if (confirmed) {
        return fail(
          message,
          `${ip} was moved to ${confirmed.serverId ? `server ${confirmed.serverId}` : 'no server'} by another job right after this one assigned it to ${name}`,
        );
      }
      const { assignConfirmAttempts: attempts } = ctx.pool;
      return fail(
        message,
        `the cloud accepted the association of ${ip} with ${name} but it did not show after ${attempts} reads`,
      );
    }
    break;
  }
  if (current === first && onTarget(first))
    ctx.logger.info('floating IP already associated with this device', { ip, name });
  const port = ctx.pool.tcpCheckPort;
  if (port !== undefined) {
    const reachable = await tcpCheck(ctx, ip, port);
    if (!reachable)
      return fail(
        message,
        `${ip} is associated with ${name} but port ${port} did not accept a TCP connection within ${ctx.pool.tcpCheckTimeoutMs} ms`,
      );
  }
  return pass(message);
}

/**
 * REMOVE_IP: disassociate the floating IP from the named pool server, keeping it allocated.
 * Never takes an address away from a server other than the one named; the write is
 * conditional on the revision read (Neutron), so an address moved meanwhile stays where it is.
 */
export async function removeIp(ctx: ActionContext, message: Message & IpOnDeviceInput): Promise<Result> {
  const { ip, name } = message;
  const floatingIps = await ctx.openstack.floatingIps();
  let current = await floatingIps.findByAddress(ip);
  if (!current) return fail(message, `no floating IP ${ip} in this project`);
  if (!current.serverId) {
    ctx.logger.info('floating IP is not associated: nothing to remove', { ip, name });
    return pass(message);
  }
  const server = await findPoolServer(ctx, name);
  if (typeof server === 'string') {
    return fail(message, `${ip} is associated with server ${current.serverId}, and ${server}: not removing it`);
  }
  for (let attempt = 1; ; attempt += 1) {
    if (current.serverId !== server.id) {
      return fail(
        message,
        `${ip} is associated with another server (${current.serverId}), not ${name}: not removing it`,
      );
    }
    try {
      await floatingIps.disassociate(current, server.id);
      break;
    } catch (error) {
      if (error instanceof PreconditionFailedError) {
        const reread = await floatingIps.get(current.id);
        if (!reread?.serverId) {
          ctx.logger.info('the floating IP came off the device meanwhile: nothing left to remove', { ip, name });
          return pass(message);
        }
        if (attempt >= CONDITIONAL_WRITE_ATTEMPTS) throw error;
        ctx.logger.info('the floating IP changed since it was read; deciding again', { ip, name, attempt });
        current = reread;
        continue;
      }
      if (ctx.pool.ignore500OnRemove && (error as { status?: unknown }).status === 500) {
        ctx.logger.warn('the cloud answered 500 to the removal; ignored as POOL_IGNORE_500_ON_REMOVE says', {
          ip,
          name,
        });
        return pass(message);
      }
      throw error;
    }
  }
  ctx.logger.info('floating IP removed from device', { ip, name });
  return pass(message);
}

/** DELETE_IP: release the floating IP. Already gone is success. */
export async function deleteIp(ctx: ActionContext, message: Message & IpInput): Promise<Result> {
  const floatingIps = await ctx.openstack.floatingIps();
  const floatingIp = await floatingIps.findByAddress(message.ip);
  if (!floatingIp) {
    ctx.logger.info('floating IP already released', { ip: message.ip });
    return pass(message);
  }
  const outcome = await floatingIps.release(floatingIp);
  ctx.logger.info(outcome === 'released' ? 'floating IP released' : 'floating IP already released', {
    ip: message.ip,
    id: floatingIp.id,
  });
  return pass(message);
}

function sameAssociation(a: FloatingIp, b: FloatingIp): boolean {
  return a.serverId === b.serverId && a.portId === b.portId;
}

/**
 * Reads the address until it is on the target: true; the address as read when it went to
 * another server meanwhile; false when the association did not show in time.
 */
async function confirmAssociation(
  ctx: ActionContext,
  floatingIps: FloatingIps,
  floatingIp: FloatingIp,
  onTarget: (fip: FloatingIp) => boolean,
): Promise<true | false | FloatingIp> {
  for (let attempt = 1; attempt <= ctx.pool.assignConfirmAttempts; attempt += 1) {
    const current = await floatingIps.get(floatingIp.id);
    if (current && onTarget(current)) return true;
    // Still where it was is "not visible yet"; anywhere else, someone moved it.
    if (current?.serverId && !sameAssociation(current, floatingIp)) return current;
    if (attempt < ctx.pool.assignConfirmAttempts) await ctx.clock.sleep(ctx.pool.assignConfirmIntervalMs);
  }
  return false;
}

/** Tries to open a TCP connection to ip:port until one succeeds or the check's time is up. */
async function tcpCheck(ctx: ActionContext, ip: string, port: number): Promise<boolean> {
  const until = Math.min(ctx.clock.now() + ctx.pool.tcpCheckTimeoutMs, ctx.deadlineAt);
  for (;;) {
    const remaining = until - ctx.clock.now();
    if (remaining <= 0) return false;
    if (await connectOnce(ip, port, Math.min(remaining, 5000))) return true;
    await ctx.clock.sleep(Math.min(1000, Math.max(0, until - ctx.clock.now())));
  }
}

function connectOnce(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => finish(true));
    socket.once('timeout', () => finish(false));
    socket.once('error', () => finish(false));
  });
}
