import { connect } from 'node:net';
import type { FloatingIp, FloatingIps, Server } from '../openstack';
import type { ActionContext } from './context';
import { describeError } from './errors';
import { floatingIpDescription } from './naming';
import { answerLost, pollUntilDeadline } from './poll';
import type { Message, Result, IpInput, IpOnDeviceInput } from '../../contract';
import { fail, pass } from '../../contract';

/**
 * BUILD_IP: allocate one floating IP. The job's unique id is stored as its description,
 * so a rerun returns the address the first run allocated instead of a second one.
 * (Nova's legacy proxy has no description: there a rerun cannot be recognised.)
 */
export async function buildIp(ctx: ActionContext, message: Message): Promise<Result> {
  const floatingIps = await ctx.openstack.floatingIps();
  const description = ctx.unique ? floatingIpDescription(ctx.unique) : undefined;
  if (description && floatingIps.backend === 'neutron') {
    const earlier = await floatingIps.findByDescription(description);
    if (earlier[0]) {
      ctx.logger.info('returning the floating IP an earlier run of this job allocated', {
        ip: earlier[0].ip,
        id: earlier[0].id,
      });
      return pass(message, { id: String(earlier[0].id), ip: earlier[0].ip });
    }
  } else if (!description) {
    ctx.logger.debug('job has no unique id: a rerun of it would allocate another floating IP');
  }
  let allocated: FloatingIp;
  try {
    allocated = await floatingIps.allocate({ pool: ctx.pool.floatingIpPool, description });
  } catch (error) {
    // As with a server create: a lost answer may still have allocated the address. Only the
    // description can find it again (Nova's legacy proxy has none).
    if (!description || floatingIps.backend !== 'neutron' || !answerLost(error)) throw error;
    ctx.logger.warn('the allocation got no answer; looking for the address by its description', {
      error: describeError(error),
    });
    const found = await pollUntilDeadline(
      ctx,
      { description },
      async () => (await floatingIps.findByDescription(description))[0],
    );
    if (!found) throw new Error(`${describeError(error)}; no floating IP for this job appeared before the deadline`);
    allocated = found;
  }
  ctx.logger.info('floating IP allocated', { ip: allocated.ip, id: allocated.id });
  return pass(message, { id: String(allocated.id), ip: allocated.ip });
}

/**
 * ASSIGN_IP: associate the floating IP with the server of exactly that name, then read it
 * back until the association shows, then optionally TCP-connect to it.
 */
export async function assignIp(ctx: ActionContext, message: Message & IpOnDeviceInput): Promise<Result> {
  const { ip, name } = message;
  const server = await findOneServer(ctx, name);
  if (typeof server === 'string') return fail(message, server);
  const floatingIps = await ctx.openstack.floatingIps();
  const floatingIp = await floatingIps.findByAddress(ip);
  if (!floatingIp) return fail(message, `no floating IP ${ip} in this project`);

  if (floatingIp.serverId === server.id) {
    ctx.logger.info('floating IP already associated with this device', { ip, name });
  } else {
    if (floatingIp.serverId) {
      ctx.logger.warn('moving a floating IP from another server', { ip, name, fromServerId: floatingIp.serverId });
    }
    await floatingIps.associate(floatingIp, server.id);
    const confirmed = await confirmAssociation(ctx, floatingIps, floatingIp, server.id);
    if (!confirmed) {
      const { assignConfirmAttempts: attempts } = ctx.pool;
      return fail(
        message,
        `the cloud accepted the association of ${ip} with ${name} but it did not show after ${attempts} reads`,
      );
    }
  }
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
 * REMOVE_IP: disassociate the floating IP from the named server, keeping it allocated.
 * Never takes an address away from a server other than the one named.
 */
export async function removeIp(ctx: ActionContext, message: Message & IpOnDeviceInput): Promise<Result> {
  const { ip, name } = message;
  const floatingIps = await ctx.openstack.floatingIps();
  const floatingIp = await floatingIps.findByAddress(ip);
  if (!floatingIp) return fail(message, `no floating IP ${ip} in this project`);
  if (!floatingIp.serverId) {
    ctx.logger.info('floating IP is not associated: nothing to remove', { ip, name });
    return pass(message);
  }
  const server = await findOneServer(ctx, name);
  if (typeof server === 'string') {
    return fail(message, `${ip} is associated with server ${floatingIp.serverId}, and ${server}: not removing it`);
  }
  if (floatingIp.serverId !== server.id) {
    return fail(
      message,
      `${ip} is associated with another server (${floatingIp.serverId}), not ${name}: not removing it`,
    );
  }
  try {
    await floatingIps.disassociate(floatingIp, server.id);
  } catch (error) {
    if (ctx.pool.ignore500OnRemove && (error as { status?: unknown }).status === 500) {
      ctx.logger.warn('the cloud answered 500 to the removal; ignored as POOL_IGNORE_500_ON_REMOVE says', { ip, name });
      return pass(message);
    }
    throw error;
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

/** The one server with exactly this name, or the reason there is not exactly one. */
async function findOneServer(ctx: ActionContext, name: string): Promise<Server | string> {
  const servers = await ctx.openstack.compute.findServersByName(name);
  if (servers.length === 0) return `no server is named ${name}`;
  if (servers.length > 1) return `${servers.length} servers are named ${name}; refusing to guess`;
  return servers[0] as Server;
}

async function confirmAssociation(
  ctx: ActionContext,
  floatingIps: FloatingIps,
  floatingIp: FloatingIp,
  serverId: string,
): Promise<boolean> {
  for (let attempt = 1; attempt <= ctx.pool.assignConfirmAttempts; attempt += 1) {
    const current = await floatingIps.get(floatingIp.id);
    if (current?.serverId === serverId) return true;
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
