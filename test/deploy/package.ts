/**
 * Runs `serverless package` the way `npm run package` does (offline, dummy AWS credentials)
 * on a copy of the project in a temporary directory, so it neither races other tests that
 * use serverless-esbuild's work folder nor replaces the repository's .serverless/.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SERVICE_FILES } from '../../scripts/fleet';
import { readZip } from '../../scripts/lambda/zip';

export const root = join(import.meta.dirname, '..', '..');

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
  /** Artifact file name to its entries: path in the zip to content. */
  zipContents: Record<string, Record<string, Buffer>>;
  /** What `sourcemaps/` beside the zips holds: path under it to content. */
  sourceMaps: Record<string, string>;
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
    for (const entry of SERVICE_FILES) cpSync(join(root, entry), join(project, entry), { recursive: true });
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
    const zipContents: Record<string, Record<string, Buffer>> = {};
    for (const name of readdirSync(out)) {
      if (!name.endsWith('.zip')) continue;
      zips[name] = statSync(join(out, name)).size;
      zipContents[name] = Object.fromEntries(
        readZip(readFileSync(join(out, name)))
          .filter((e) => !e.name.endsWith('/'))
          .map((e) => [e.name, e.data()]),
      );
    }
    const sourceMaps: Record<string, string> = {};
    const maps = join(out, 'sourcemaps');
    if (existsSync(maps)) {
      for (const entry of readdirSync(maps, { recursive: true, encoding: 'utf8' })) {
        const file = join(maps, entry);
        if (statSync(file).isFile()) sourceMaps[entry.split('\\').join('/')] = readFileSync(file, 'utf8');
      }
    }
    return { template, zips, zipContents, sourceMaps, output: `${stdout}${stderr}` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
