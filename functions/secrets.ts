/**
 * OpenStack credentials of a deployed stage: an SSM Parameter Store SecureString, named by
 * OS_CREDENTIALS_PARAMETER (serverless.yml sets /pool-manager/<stage>/openstack), holding a
 * JSON object of the OS_* variables of an openrc file, e.g.
 *
 *   {"OS_AUTH_URL": "https://keystone.example.net:5000/v3", "OS_APPLICATION_CREDENTIAL_ID": "...",
 *    "OS_APPLICATION_CREDENTIAL_SECRET": "...", "OS_REGION_NAME": "RegionOne"}
 *
 * plus, when the devices get user data, POOL_USER_DATA: cloud-init user data may carry
 * secrets, so a deployed stage keeps it in the same parameter, never in the environment.
 *
 * It is read with Powertools Parameters (decrypted, cached in the warm container for
 * OS_CREDENTIALS_MAX_AGE_SECONDS, 300 by default) and merged under the function's plain
 * environment, which still sets the non-secret settings. loadSettings(env) stays pure:
 * this module only produces the env it reads.
 *
 * Rules (docs/operations.md, "Secrets"):
 * - OS_CREDENTIALS_PARAMETER unset: the plain environment alone (local use, tests).
 * - Under `serverless invoke local` or serverless-offline (IS_LOCAL / IS_OFFLINE) with
 *   OS_AUTH_URL or OS_CLOUD in the environment: the plain environment alone, as on a laptop.
 * - Otherwise the parameter is required, and a plain OS_PASSWORD or
 *   OS_APPLICATION_CREDENTIAL_SECRET variable is refused: a deployed stage keeps its
 *   secrets out of the Lambda configuration, where anyone with lambda:GetFunction reads them.
 *
 * Nothing here ever puts a value of the parameter in an error or a log line: errors name
 * the parameter and, on AccessDenied, the IAM permission that is missing.
 */
import type { Env } from './config';
import { nonEmpty, reader } from './config';
import { ConfigurationError } from '../contract/errors';

/** Reads one parameter's (decrypted) string value; undefined if it has none. */
export type ParameterFetcher = (name: string, options: { maxAgeSeconds: number }) => Promise<string | undefined>;

/** Pool settings that are secret: a deployed stage reads them from the parameter only. */
export const SECRET_POOL_SETTINGS = ['POOL_USER_DATA'] as const;

/** Variables that may never come from the plain environment of a deployed stage. */
export const SECRET_VARIABLES = ['OS_PASSWORD', 'OS_APPLICATION_CREDENTIAL_SECRET', ...SECRET_POOL_SETTINGS] as const;

export const DEFAULT_MAX_AGE_SECONDS = 300;

/** The setting every parameter problem is reported against (the parameter's content is fixed there). */
const PARAMETER_SETTING = 'OS_CREDENTIALS_PARAMETER';

/**
 * Powertools' SSM provider: decrypts SecureStrings and caches each value for maxAge.
 * Imported on the first read, not at module load: it loads @aws-sdk/client-ssm, about
 * 65 ms of a cold start that a function without OS_CREDENTIALS_PARAMETER never needs.
 */
export const ssmFetcher: ParameterFetcher = async (name, { maxAgeSeconds }) => {
  const { getParameter } = await import('@aws-lambda-powertools/parameters/ssm');
  // No `transform: 'json'`: a JSON parse error's text quotes the input, i.e. the secret.
  const value = await getParameter(name, { decrypt: true, maxAge: maxAgeSeconds });
  return typeof value === 'string' ? value : undefined;
};

export type CredentialSource = { kind: 'environment' } | { kind: 'parameter'; name: string };

export function credentialSource(env: Env): CredentialSource {
  const name = nonEmpty(env.OS_CREDENTIALS_PARAMETER);
  if (name === undefined) return { kind: 'environment' };
  if (isLocal(env) && (nonEmpty(env.OS_AUTH_URL) !== undefined || nonEmpty(env.OS_CLOUD) !== undefined))
    return { kind: 'environment' };
  // A path, so the stack's IAM statement can name exactly arn:...:parameter<path>.
  if (!/^\/[A-Za-z0-9_.\-/]+$/.test(name)) {
    throw new ConfigurationError(
      `OS_CREDENTIALS_PARAMETER must be an SSM parameter path such as /pool-manager/prod/openstack (got '${name}')`,
      PARAMETER_SETTING,
    );
  }
  return { kind: 'parameter', name };
}

/**
 * The environment loadSettings should read: `env` itself, or the parameter's OS_* variables
 * with the non-empty plain variables over them. Throws ConfigurationError naming the
 * parameter (never its value) when it cannot be read or is malformed.
 */
export async function resolveEnv(env: Env, fetch: ParameterFetcher = ssmFetcher): Promise<Env> {
  const source = credentialSource(env);
  if (source.kind === 'environment') return env;
  const { name } = source;
  for (const variable of SECRET_VARIABLES) {
    if (nonEmpty(env[variable]) !== undefined) {
      const what = variable.startsWith('OS_') ? 'its OpenStack credentials' : variable;
      throw new ConfigurationError(
        `${variable} is set in the function's environment, but this stage reads ${what} from the SSM parameter ${name}: ` +
          `remove ${variable} from the environment and keep it only in the parameter`,
        variable,
      );
    }
  }
  const maxAgeSeconds = reader(env).number('OS_CREDENTIALS_MAX_AGE_SECONDS', DEFAULT_MAX_AGE_SECONDS, {
    min: 0,
    max: 86_400,
  });
  let raw: string | undefined;
  try {
    raw = await fetch(name, { maxAgeSeconds });
  } catch (error) {
    const hint = isLocal(env)
      ? ' (running locally: export the OS_* variables instead; serverless offline passes them on only with --localEnvironment)'
      : '';
    throw new ConfigurationError(`${describeParameterError(name, error, env)}${hint}`, PARAMETER_SETTING);
  }
  if (raw === undefined || raw.trim() === '') {
    throw new ConfigurationError(
      `SSM parameter ${name} is empty: store a JSON object of OS_* variables in it`,
      PARAMETER_SETTING,
    );
  }
  const fromParameter = parseCredentials(name, raw);
  const merged: Env = { ...fromParameter };
  for (const [key, value] of Object.entries(env)) {
    if (nonEmpty(value) !== undefined) merged[key] = value;
  }
  return merged;
}

/** The parameter's JSON object, checked: OS_* keys and POOL_USER_DATA only, scalar values. Errors name keys, never values. */
export function parseCredentials(name: string, raw: string): Record<string, string> {
  let document: unknown;
  try {
    document = JSON.parse(raw);
  } catch {
    throw new ConfigurationError(
      `SSM parameter ${name} is not valid JSON: store a JSON object of OS_* variables, e.g. {"OS_AUTH_URL": "...", "OS_PASSWORD": "..."}`,
      PARAMETER_SETTING,
    );
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new ConfigurationError(`SSM parameter ${name} must hold a JSON object of OS_* variables`, PARAMETER_SETTING);
  }
  const variables: Record<string, string> = {};
  for (const [key, value] of Object.entries(document)) {
    if (!/^OS_[A-Z0-9_]+$/.test(key) && !(SECRET_POOL_SETTINGS as readonly string[]).includes(key)) {
      throw new ConfigurationError(
        `SSM parameter ${name} has the key '${key}': only OS_* variables of an openrc file and ${SECRET_POOL_SETTINGS.join(', ')} belong there`,
        PARAMETER_SETTING,
      );
    }
    if (typeof value === 'string') variables[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') variables[key] = String(value);
    else if (value !== null)
      throw new ConfigurationError(`SSM parameter ${name}: the value of ${key} must be a string`, PARAMETER_SETTING);
  }
  return variables;
}

/** One actionable line for a failed read; the cause's own text never carries the value. */
export function describeParameterError(name: string, error: unknown, env: Env = {}): string {
  const cause = (error as { cause?: unknown } | undefined)?.cause ?? error;
  const code = String(
    (cause as { name?: unknown } | undefined)?.name ?? (error as { name?: unknown } | undefined)?.name ?? 'Error',
  );
  const text = String((cause as { message?: unknown } | undefined)?.message ?? '');
  const region = nonEmpty(env.AWS_REGION) ?? '<region>';
  const arn = `arn:${partition(region)}:ssm:${region}:<account>:parameter${name}`;
  if (code === 'ParameterNotFound' || code === 'ParameterNotFoundError') {
    return `SSM parameter ${name} does not exist in ${region}: store it with aws ssm put-parameter --type SecureString (docs/operations.md)`;
  }
  if (/^KMS|^InvalidKeyId/.test(code) || /\bkms:|AWSKMS|\bKMS\b/.test(text)) {
    return (
      `cannot decrypt SSM parameter ${name} (${code}): the function's role needs kms:Decrypt on the parameter's KMS key ` +
      `(via ssm.${region}.amazonaws.com; deploy with --param OS_CREDENTIALS_KMS_KEY_ARN=<key ARN>)`
    );
  }
  if (code === 'AccessDeniedException' || code === 'AccessDenied' || /not authorized/i.test(text)) {
    return `cannot read SSM parameter ${name}: access denied: the function's role needs ssm:GetParameter on ${arn}`;
  }
  const reason = text ? `${code}: ${text.split('\n')[0]?.slice(0, 200)}` : code;
  return `cannot read SSM parameter ${name} (${reason})`;
}

function partition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** Under `serverless invoke local` or serverless-offline. */
function isLocal(env: Env): boolean {
  return env.IS_LOCAL === 'true' || env.IS_OFFLINE === 'true';
}
