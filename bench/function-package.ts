/**
 * Question 4, the function packages:
 *  - the zipped size of each function from `serverless package` (dummy AWS credentials, run
 *    in a private copy of the service so its .esbuild folder collides with nothing), and what
 *    is inside each zip;
 *  - the top contributors to each bundle: esbuild with serverless.yml's options (as
 *    serverless-esbuild passes them) plus `metafile: true`, bytes in the output per package;
 *  - cold-start init time of each packaged handler in a fresh Node process: the .cjs taken
 *    from the zip, `require`d under a high-resolution timer, several runs per function, with
 *    NODE_OPTIONS=--enable-source-maps as serverless.yml sets it, and without it. The AWS SDK
 *    packages are left out of the bundles (the Lambda runtime provides them): here they load
 *    from the project's node_modules (NODE_PATH), as the runtime loads its copy from disk.
 *
 *   npx tsx bench/function-package.ts [--init-runs 7] [--quick]
 *
 * Sizes: KB = 1,000 bytes (KiB = 1,024 bytes where stated). Writes bench/out/function-package.json.
 */
import { build } from 'esbuild';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { parse } from 'yaml';
import { SERVICE_NAME } from '../contract';
import type { Stat } from './lib/common';
import { envWithoutServices, run } from '../scripts/harness';
import { ROOT, log, round, stat } from './lib/common';
import type { BundleContributors, FunctionPackage, InitTimes, Packaged } from './lib/fragments';
import { writeFragment } from './lib/fragments';
import { stageService } from './lib/fleet';

const NAME = 'function-package' as const;
const { values } = parseArgs({
  options: {
    'init-runs': { type: 'string', default: '7' },
    quick: { type: 'boolean', default: false },
  },
});
const INIT_RUNS = values.quick ? 3 : Number(values['init-runs']);
const TARGET_ZIP_KB = 250;
const TARGET_INIT_MS = 200;

interface EsbuildYaml {
  [key: string]: unknown;
  exclude?: string[];
  outputFileExtension?: string;
}
interface ServerlessYaml {
  custom: { esbuild: EsbuildYaml };
  functions: Record<string, { handler: string }>;
}

const slsYaml = parse(fs.readFileSync(path.join(ROOT, 'serverless.yml'), 'utf8'), {
  logLevel: 'silent',
}) as ServerlessYaml;
const FUNCTIONS = Object.keys(slsYaml.functions);

// ------------------------------------------------------------------ zip reading

interface ZipEntry {
  name: string;
  compressed: number;
  size: number;
  method: number;
  localOffset: number;
}

/** The central directory of a zip file (no zip64: these are small). */
function zipEntries(buf: Buffer): ZipEntry[] {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i -= 1) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i += 1) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('bad zip central directory');
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    entries.push({ name: buf.toString('utf8', p + 46, p + 46 + nameLen), compressed, size, method, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function zipRead(buf: Buffer, e: ZipEntry): Buffer {
  const p = e.localOffset;
  const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
  const data = buf.subarray(start, start + e.compressed);
  return e.method === 0 ? Buffer.from(data) : zlib.inflateRawSync(data);
}

// ------------------------------------------------------------------ steps

async function packageAll(
  workDir: string,
): Promise<{ packaged: Packaged[]; seconds: number; extracted: Map<string, string> }> {
  const staging = stageService();
  const outDir = path.join(workDir, 'package');
  const t0 = performance.now();
  try {
    const result = await run(
      process.execPath,
      [path.join(ROOT, 'node_modules/serverless/bin/serverless.js'), 'package', '--package', outDir],
      {
        cwd: staging.dir,
        env: envWithoutServices({
          AWS_ACCESS_KEY_ID: 'offline',
          AWS_SECRET_ACCESS_KEY: 'offline',
          SLS_TELEMETRY_DISABLED: '1',
          SLS_NOTIFICATIONS_MODE: 'off',
        }),
        timeoutMs: 300_000,
      },
    );
    if (result.code !== 0)
      throw new Error(`serverless package failed (${result.code}):\n${result.output.slice(-3000)}`);
  } finally {
    staging.remove();
  }
  const seconds = (performance.now() - t0) / 1000;
  const packaged: Packaged[] = [];
  const extracted = new Map<string, string>();
  for (const fn of FUNCTIONS) {
    const zip = fs.readFileSync(path.join(outDir, `${fn}.zip`));
    const entries = zipEntries(zip);
    const dir = path.join(workDir, 'unzipped', fn);
    for (const e of entries) {
      if (e.name.endsWith('/')) continue;
      const target = path.join(dir, e.name);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, zipRead(zip, e));
      if (e.name.endsWith('.cjs') || e.name.endsWith('.js') || e.name.endsWith('.mjs')) extracted.set(fn, target);
    }
    const mapBytes = entries
      .filter((e) => e.name.endsWith('.map'))
      .reduce((n, e) => n + e.compressed + 30 + 46 + 2 * e.name.length, 0);
    packaged.push({
      fn,
      zipBytes: zip.length,
      zipKB: round(zip.length / 1000, 1),
      files: entries.map((e) => ({ name: e.name, bytes: e.size, compressedBytes: e.compressed })),
      zipKBWithoutMap: round((zip.length - mapBytes) / 1000, 1),
    });
    log(
      NAME,
      `${fn}.zip ${round(zip.length / 1000, 1)} KB: ${entries.map((e) => `${e.name} ${round(e.size / 1000, 0)} KB → ${round(e.compressed / 1000, 0)} KB`).join(', ')}`,
    );
  }
  return { packaged, seconds: round(seconds, 1), extracted };
}

/** Groups an input path by npm package (node_modules/<pkg>) or by project folder. */
function owner(input: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (m) return m[1] as string;
  const parts = input.split('/');
  return parts.length > 2 ? `${parts.slice(0, 2).join('/')}/` : input;
}

async function contributors(workDir: string): Promise<BundleContributors[]> {
  const e = slsYaml.custom.esbuild;
  const drop = new Set([
    'exclude',
    'outputFileExtension',
    'keepOutputDirectory',
    'packager',
    'concurrency',
    'zipConcurrency',
    'nativeZip',
    'external',
  ]);
  const options = Object.fromEntries(Object.entries(e).filter(([k]) => !drop.has(k)));
  const out: BundleContributors[] = [];
  for (const fn of FUNCTIONS) {
    const entry = path.join(
      ROOT,
      `${(slsYaml.functions[fn] as { handler: string }).handler.replace(/\.handler$/, '')}.ts`,
    );
    const result = await build({
      ...options,
      entryPoints: [entry],
      outdir: path.join(workDir, 'meta', fn),
      external: [...((e.external as string[] | undefined) ?? []), ...(e.exclude ?? [])],
      outExtension: { '.js': e.outputFileExtension ?? '.js' },
      absWorkingDir: ROOT,
      metafile: true,
      write: true,
      logLevel: 'silent',
    });
    const [outFile, output] = Object.entries(result.metafile.outputs).find(([k]) => !k.endsWith('.map')) ?? [];
    if (!outFile || !output) throw new Error(`no output for ${fn}`);
    const byOwner = new Map<string, number>();
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      byOwner.set(owner(input), (byOwner.get(owner(input)) ?? 0) + bytesInOutput);
    }
    const total = output.bytes;
    out.push({
      fn,
      outputBytes: total,
      top: [...byOwner]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 12)
        .map(([input, bytes]) => ({ input, bytes, pct: round((100 * bytes) / total, 1) })),
    });
  }
  const first = out[0];
  if (first)
    log(
      NAME,
      `${first.fn} bundle ${round(first.outputBytes / 1000, 0)} KB: ${first.top
        .slice(0, 6)
        .map((t) => `${t.input} ${round(t.bytes / 1000, 0)} KB`)
        .join(', ')}`,
    );
  return out;
}

const INIT_SCRIPT = `
const t = process.hrtime.bigint();
require(process.argv[1]);
const ms = Number(process.hrtime.bigint() - t) / 1e6;
process.stdout.write('INIT ' + ms + '\\n');
`;

async function initOnce(file: string, sourceMaps: boolean): Promise<number> {
  const env = {
    PATH: process.env.PATH ?? '',
    NODE_PATH: path.join(ROOT, 'node_modules'),
    ...(sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    AWS_REGION: 'us-east-1',
  };
  const r = await run(process.execPath, ['-e', INIT_SCRIPT, file], { cwd: ROOT, env, timeoutMs: 30_000 });
  const m = /INIT ([\d.]+)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`init of ${file} failed (${r.code}):\n${r.output.slice(-2000)}`);
  return Number(m[1]);
}

async function coldInit(extracted: Map<string, string>): Promise<{ functions: InitTimes[]; sdkOnly: Stat }> {
  const results: InitTimes[] = [];
  const samples = new Map<string, { on: number[]; off: number[] }>(FUNCTIONS.map((fn) => [fn, { on: [], off: [] }]));
  // Round-robin over the functions so background load hits them alike.
  for (let i = 0; i < INIT_RUNS; i += 1) {
    for (const fn of FUNCTIONS) {
      const file = extracted.get(fn) as string;
      const s = samples.get(fn) as { on: number[]; off: number[] };
      s.on.push(round(await initOnce(file, true), 1));
      s.off.push(round(await initOnce(file, false), 1));
    }
  }
  for (const fn of FUNCTIONS) {
    const s = samples.get(fn) as { on: number[]; off: number[] };
    results.push({ fn, withSourceMaps: stat(s.on), withoutSourceMaps: stat(s.off) });
    log(
      NAME,
      `${fn} init ${stat(s.on).median} ms (${stat(s.on).min}–${stat(s.on).max}) with source maps, ${stat(s.off).median} ms without`,
    );
  }
  // The AWS SDK client the bundles leave to the runtime, alone.
  const sdk: number[] = [];
  const sdkFile = path.join(ROOT, 'node_modules/@aws-sdk/client-ssm');
  for (let i = 0; i < INIT_RUNS; i += 1) sdk.push(round(await initOnce(sdkFile, false), 1));
  log(NAME, `require('@aws-sdk/client-ssm') alone: ${stat(sdk).median} ms`);
  return { functions: results, sdkOnly: stat(sdk) };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-bench-package-'));
  try {
    const { packaged, seconds, extracted } = await packageAll(workDir);
    const bundles = await contributors(workDir);
    const init = await coldInit(extracted);
    const maxZip = Math.max(...packaged.map((p) => p.zipKB));
    const maxInit = Math.max(...init.functions.map((f) => f.withSourceMaps.median));
    const out: FunctionPackage = {
      quick: values.quick,
      targets: { zipKB: TARGET_ZIP_KB, initMs: TARGET_INIT_MS },
      esbuild: slsYaml.custom.esbuild,
      packageSeconds: seconds,
      packaged,
      bundles,
      init: { runs: INIT_RUNS, ...init },
      maxZipKB: maxZip,
      maxInitMs: maxInit,
      seconds: round((performance.now() - t0) / 1000, 1),
    };
    log(
      NAME,
      `largest zip ${maxZip} KB (target ≤ ${TARGET_ZIP_KB}); slowest init ${maxInit} ms median (target ≤ ${TARGET_INIT_MS})`,
    );
    log(NAME, `wrote ${writeFragment(NAME, out)} in ${out.seconds} s`);
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
