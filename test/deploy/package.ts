/**
 * Runs `serverless package` the way `npm run package` does (offline, dummy AWS credentials)
 * on a copy of the project in a temporary directory, so it neither races other tests that
 * use serverless-esbuild's work folder nor replaces the repository's .serverless/.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const root = join(import.meta.dirname, '..', '..');

/** What serverless needs from the project: its config, the function sources, the alarms' helper, the deps. */
const COPIED = ['serverless.yml', 'package.json', 'tsconfig.json', 'contract', 'functions', 'ops/cloudwatch'];

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
}

export interface CfnTemplate {
  Conditions?: Record<string, unknown>;
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Description?: string; Value: unknown; Export?: { Name: unknown } }>;
}

export interface Packaged {
  template: CfnTemplate;
  /** Artifact file name to its size in bytes. */
  zips: Record<string, number>;
  /** serverless's own output, for failure messages. */
  output: string;
}

export async function packageStack(options: {
  stage: string;
  region?: string;
  params?: Record<string, string>;
}): Promise<Packaged> {
  const work = mkdtempSync(join(tmpdir(), 'pool-manager-package-'));
  try {
    const project = join(work, 'project');
    for (const entry of COPIED) cpSync(join(root, entry), join(project, entry), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'), 'dir');
    const out = join(work, 'out');
    const args = ['package', '--package', out, '--stage', options.stage, '--region', options.region ?? 'eu-west-1'];
    for (const [key, value] of Object.entries(options.params ?? {})) args.push('--param', `${key}=${value}`);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: work,
      AWS_ACCESS_KEY_ID: 'offline',
      AWS_SECRET_ACCESS_KEY: 'offline',
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      CI: 'true',
    };
    const { stdout, stderr } = await promisify(execFile)(join(root, 'node_modules', '.bin', 'serverless'), args, {
      cwd: project,
      env,
      timeout: 180_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const template = JSON.parse(
      readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8'),
    ) as CfnTemplate;
    const zips: Record<string, number> = {};
    for (const name of readdirSync(out)) if (name.endsWith('.zip')) zips[name] = statSync(join(out, name)).size;
    return { template, zips, output: `${stdout}${stderr}` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
