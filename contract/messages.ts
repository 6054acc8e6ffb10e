/**
 * What each action's message must carry, and what its PASS result adds (docs/contract.md).
 * INPUT_FIELDS is the one list of required fields: the functions validate against the
 * schemas built from it, and `npm run job` checks an ACTION field=value command line with it.
 *
 * Fields an action does not use are kept untouched (the result echoes the whole message),
 * so the schemas are loose objects. zod/mini rather than zod: the same checks for a tenth
 * of the bundle (zod's full build was 450 KB of every function's 1.2 MB).
 */
import * as z from 'zod/mini';
import type { Action } from './actions';
import type { Message } from './result';

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

/** Every input field of the contract and its check. */
const FIELDS = { ip: floatingIp, name: deviceName };
type InputField = keyof typeof FIELDS;

/** The fields each action's message must carry, in the order a person writes them. */
export const INPUT_FIELDS: Readonly<Record<Action, readonly InputField[]>> = {
  BUILD_DEVICE: [],
  DELETE_DEVICE: ['name'],
  BUILD_IP: [],
  ASSIGN_IP: ['ip', 'name'],
  REMOVE_IP: ['ip', 'name'],
  DELETE_IP: ['ip'],
};

/** The fields a PASS result adds to the message (besides `response`). */
export const PASS_FIELDS: Readonly<Record<Action, readonly string[]>> = {
  BUILD_DEVICE: ['name', 'addr', 'type', 'az'],
  DELETE_DEVICE: [],
  BUILD_IP: ['id', 'ip'],
  ASSIGN_IP: [],
  REMOVE_IP: [],
  DELETE_IP: [],
};

const schemas = {} as Record<Action, z.ZodMiniType>;
for (const action of Object.keys(INPUT_FIELDS) as Action[]) {
  schemas[action] = z.looseObject(Object.fromEntries(INPUT_FIELDS[action].map((field) => [field, FIELDS[field]])));
}

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
