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
import { inflateRawSync } from 'node:zlib';

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
    const zipContents: Record<string, Record<string, Buffer>> = {};
    for (const name of readdirSync(out)) {
      if (!name.endsWith('.zip')) continue;
      zips[name] = statSync(join(out, name)).size;
      zipContents[name] = unzip(readFileSync(join(out, name)));
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

/**
 * The entries of a zip as serverless-esbuild writes them (stored or deflated, no zip64),
 * read from its central directory. Hand-written: a dozen lines of the format against a
 * dependency for the tests alone.
 */
function unzip(zip: Buffer): Record<string, Buffer> {
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end -= 1;
  if (end < 0) throw new Error('not a zip file');
  const entries: Record<string, Buffer> = {};
  let p = zip.readUInt32LE(end + 16);
  for (let i = zip.readUInt16LE(end + 10); i > 0; i -= 1) {
    const method = zip.readUInt16LE(p + 10);
    const size = zip.readUInt32LE(p + 20);
    const nameLength = zip.readUInt16LE(p + 28);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLength);
    const local = zip.readUInt32LE(p + 42);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    if (!name.endsWith('/')) entries[name] = method === 0 ? Buffer.from(data) : inflateRawSync(data);
    p += 46 + nameLength + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
  }
  return entries;
}
