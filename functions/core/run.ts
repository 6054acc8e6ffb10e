import type { Action, Message, Result, DeviceInput, IpInput, IpOnDeviceInput } from '../../contract';
import { fail, validate } from '../../contract';
import { buildDevice } from './build-device';
import type { ActionContext } from './context';
import { deleteDevice } from './delete-device';
import { describeError } from './errors';
import { assignIp, buildIp, deleteIp, removeIp } from './floating-ips';

/** Runs one validated action; a thrown cloud error becomes a FAIL result, never an exception. */
export async function runAction(action: Action, ctx: ActionContext, message: Message): Promise<Result> {
  const invalid = validate(action, message);
  if (invalid) return fail(message, `invalid ${action} message: ${invalid}`);
  try {
    switch (action) {
      case 'BUILD_DEVICE':
        return await buildDevice(ctx, message);
      case 'DELETE_DEVICE':
        return await deleteDevice(ctx, message as Message & DeviceInput);
      case 'BUILD_IP':
        return await buildIp(ctx, message);
      case 'ASSIGN_IP':
        return await assignIp(ctx, message as Message & IpOnDeviceInput);
      case 'REMOVE_IP':
        return await removeIp(ctx, message as Message & IpOnDeviceInput);
      case 'DELETE_IP':
        return await deleteIp(ctx, message as Message & IpInput);
    }
  } catch (error) {
    ctx.logger.error('action failed', { action, error: describeError(error) });
    return fail(message, describeError(error));
  }
}
