/**
 * Input validation of each action's message. Fields an action does not use are kept
 * untouched (the result echoes the whole message), so the schemas are loose objects.
 * zod/mini rather than zod: the same checks for a tenth of the bundle (zod's full build
 * was 450 KB of every function's 1.2 MB).
 */
import * as z from 'zod/mini';
import type { Action } from '../../contract/actions';
import type { Message } from '../../contract/result';

const deviceName = z
  .string({
    error: (issue) =>
      issue.input === undefined ? "'name' is missing: give the device's name" : "'name' must be a string",
  })
  .check(
    z.minLength(1, "'name' is empty: give the device's name"),
    z.maxLength(255, "'name' is longer than Nova's 255 characters"),
  );

const floatingIp = z.pipe(
  z.string({
    error: (issue) =>
      issue.input === undefined ? "'ip' is missing: give the floating IPv4 address" : "'ip' must be a string",
  }),
  z.ipv4({ error: "'ip' is not an IPv4 address" }),
);

const schemas = {
  BUILD_DEVICE: z.looseObject({}),
  DELETE_DEVICE: z.looseObject({ name: deviceName }),
  BUILD_IP: z.looseObject({}),
  ASSIGN_IP: z.looseObject({ ip: floatingIp, name: deviceName }),
  REMOVE_IP: z.looseObject({ ip: floatingIp, name: deviceName }),
  DELETE_IP: z.looseObject({ ip: floatingIp }),
} satisfies Record<Action, z.ZodMiniType>;

export interface DeviceInput {
  name: string;
}
export interface IpInput {
  ip: string;
}
export type IpOnDeviceInput = DeviceInput & IpInput;

/** Returns the error text for an invalid message, or undefined when it is valid. */
export function validate(action: Action, message: Message): string | undefined {
  const parsed = schemas[action].safeParse(message);
  if (parsed.success) return undefined;
  return parsed.error.issues.map((issue) => issue.message).join('; ');
}
