/**
 * The environment a child process gets. Two policies, named for what they keep:
 * - minimalEnv: PATH, HOME, TMPDIR and LANG only (nothing of AWS, the bridge or Powertools
 *   from ours), for children whose every setting a test states;
 * - envWithoutServices: all of ours except what would point a child at real services
 *   (AWS_*, OS_*, POOL_*) and NODE_OPTIONS, for tools that need the rest (serverless).
 * minimalEnv also disables the EC2 metadata lookup (it would leave loopback); callers of
 * envWithoutServices pass AWS_EC2_METADATA_DISABLED when the child uses the AWS SDK.
 */
export function minimalEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[key] !== undefined) env[key] = process.env[key];
  return { ...env, AWS_EC2_METADATA_DISABLED: 'true', NODE_NO_WARNINGS: '1', ...extra };
}

export function envWithoutServices(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('AWS_') || k.startsWith('OS_') || k.startsWith('POOL_') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}
