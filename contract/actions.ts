/**
 * The pool-manager actions of the contract and the Lambda function that serves each.
 * The bridge routes by this table; serverless.yml declares the same six function names.
 */
export const ACTIONS = {
  BUILD_DEVICE: 'buildDevice',
  DELETE_DEVICE: 'deleteDevice',
  BUILD_IP: 'buildIp',
  ASSIGN_IP: 'assignIp',
  REMOVE_IP: 'removeIp',
  DELETE_IP: 'deleteIp',
} as const;

export type Action = keyof typeof ACTIONS;
export type FunctionName = (typeof ACTIONS)[Action];

/** `action` is matched case-insensitively, as the original pool manager upper-cased it. */
export function normaliseAction(action: unknown): Action | undefined {
  if (typeof action !== 'string') return undefined;
  const upper = action.trim().toUpperCase();
  return Object.hasOwn(ACTIONS, upper) ? (upper as Action) : undefined;
}

export function functionNameFor(action: Action): FunctionName {
  return ACTIONS[action];
}
