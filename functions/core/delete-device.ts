import type { ActionContext } from './context';
import { findNamedServer } from './servers';
import type { Message, Result, DeviceInput } from '../../contract';
import { fail, pass } from '../../contract';

/**
 * DELETE_DEVICE: delete the server whose name is exactly the one given, if the pool manager
 * built it (servers.ts). Nova's name filter is a regex, so the client anchors, escapes and
 * compares; two exact matches is a FAIL, and a server already gone is a PASS (the goal
 * state holds).
 */
export async function deleteDevice(ctx: ActionContext, message: Message & DeviceInput): Promise<Result> {
  const found = await findNamedServer(ctx, message.name);
  switch (found.kind) {
    case 'none':
      ctx.logger.info('no such device: already deleted', { name: message.name });
      return pass(message);
    case 'many':
      return fail(message, `${found.count} servers are named ${message.name}; refusing to guess: delete by id`);
    case 'foreign':
      return fail(message, found.reason);
    case 'one': {
      const { server } = found;
      const outcome = await ctx.openstack.compute.deleteServer(server.id);
      ctx.logger.info(outcome === 'deleted' ? 'device deleted' : 'device already deleted', {
        name: message.name,
        serverId: server.id,
      });
      return pass(message);
    }
  }
}
