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

/** serverless.yml's `service:`; test/deploy/template.test.ts holds the two to each other. */
export const SERVICE_NAME = 'pool-manager';
/** The stage serverless deploys when no --stage is given. */
export const DEFAULT_STAGE = 'dev';

/**
 * What serverless puts before each function's name: `<service>-<stage>-`, so BUILD_DEVICE
 * runs as `pool-manager-prod-buildDevice` on stage prod.
 */
export function functionPrefix(stage: string): string {
  return `${SERVICE_NAME}-${stage}-`;
}

/** pool-bridge's default --function-prefix: the functions of a default `serverless deploy`. */
export const DEFAULT_FUNCTION_PREFIX = functionPrefix(DEFAULT_STAGE);
