import type { ActionContext } from './context';
import type { Message, Result, DeviceInput } from '../../contract';
import { fail, pass } from '../../contract';

/**
 * DELETE_DEVICE: delete the server whose name is exactly the one given. Nova's name filter
 * is a regex, so the client anchors, escapes and compares; two exact matches is a FAIL,
 * and a server already gone is a PASS (the goal state holds).
 */
export async function deleteDevice(ctx: ActionContext, message: Message & DeviceInput): Promise<Result> {
  const servers = await ctx.openstack.compute.findServersByName(message.name);
  if (servers.length > 1) {
    return fail(message, `${servers.length} servers are named ${message.name}; refusing to guess: delete by id`);
  }
  const server = servers[0];
  if (!server) {
    ctx.logger.info('no such device: already deleted', { name: message.name });
    return pass(message);
  }
  const outcome = await ctx.openstack.compute.deleteServer(server.id);
  ctx.logger.info(outcome === 'deleted' ? 'device deleted' : 'device already deleted', {
    name: message.name,
    serverId: server.id,
  });
  return pass(message);
}
