/**
 * Question 4, the function packages:
 *  - the zipped size of each function from `serverless package` (dummy AWS credentials, run
 *    in a private copy of the service so its .esbuild folder collides with nothing), what is
 *    inside each zip, and the source map built beside it (sourcemaps/, functions/build/source-maps.cjs);
 *  - the top contributors to each bundle: esbuild with serverless.yml's options (as
 *    serverless-esbuild passes them) plus `metafile: true`, bytes in the output per package,
 *    and undici's share by part of the package, against its public entry;
 *  - cold-start init of each packaged handler in a fresh Node process: the .cjs taken from the
 *    zip, `require`d under a high-resolution timer, with the NODE_OPTIONS serverless.yml sets
 *    (none now: no map ships). Side by side in the same rounds, the reference: a minimal
 *    handler (the Powertools Logger only) bundled with the same esbuild options; the HTTP floor
 *    (that handler plus the functions' undici, an Agent and request); and undici's public entry
 *    alone, what the functions would load without functions/openstack/undici.ts. The AWS SDK and
 *    yaml are left out of the bundles: here they load from the project's node_modules
 *    (NODE_PATH), as the runtime loads its SDK from disk.
 *
 *   npx tsx bench/function-package.ts [--init-runs 9] [--quick]
 *
 * Sizes: KB = 1,000 bytes (KiB = 1,024 bytes where stated). Writes bench/out/function-package.json.
 */
import { build } from 'esbuild';
import type { Metafile } from 'esbuild';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { SERVICE_NAME } from '../contract';
import type { Stat } from './lib/common';
import { envWithoutServices, run } from '../scripts/harness';
import { ROOT, log, round, stat } from './lib/common';
import type { BundleContributors, ColdInit, FunctionPackage, InitTimes, Packaged, UndiciShare } from './lib/fragments';
import { writeFragment } from './lib/fragments';
import { TARGETS } from './lib/report/headline';
import { stageService } from './lib/fleet';
import { SERVERLESS_BIN } from '../scripts/fleet';
import { handlerEntry, serverlessEsbuildOptions, serverlessYaml } from '../scripts/lambda/bundle';
import { readZip } from '../scripts/lambda/zip';

const NAME = 'function-package' as const;
const { values } = parseArgs({
  options: {
    'init-runs': { type: 'string', default: '9' },
    quick: { type: 'boolean', default: false },
  },
});
const INIT_RUNS = values.quick ? 3 : Number(values['init-runs']);

const slsYaml = serverlessYaml();
const FUNCTIONS = Object.keys(slsYaml.functions);
/** What serverless.yml gives every function in NODE_OPTIONS (undefined: nothing). */
const NODE_OPTIONS = slsYaml.provider.environment?.NODE_OPTIONS;

/**
 * The reference handler: what any function of this service loads at the least, Powertools'
 * Logger, and nothing else.
 */
const MINIMAL_HANDLER = `import { Logger } from '@aws-lambda-powertools/logger';
const logger = new Logger({ serviceName: ${JSON.stringify(SERVICE_NAME)} });
export const handler = async (event: unknown) => {
  logger.info('event', { event });
  return event;
};
`;
/**
 * The floor for a function that makes HTTP requests with undici: the minimal handler plus what
 * the functions load of undici (its Agent and request, functions/openstack/undici.ts).
 */
const MINIMAL_HTTP_HANDLER = `import { Logger } from '@aws-lambda-powertools/logger';
import { Agent, request } from './functions/openstack/undici';
const logger = new Logger({ serviceName: ${JSON.stringify(SERVICE_NAME)} });
const agent = new Agent();
export const handler = async (event: { url: string }) => {
  const res = await request(event.url, { dispatcher: agent, method: 'GET' });
  logger.info('answer', { status: res.statusCode });
  return res.body.json();
};
`;
/** undici's public entry (the only one its package offers: no exports map), alone: what the functions no longer load. */
const UNDICI_ONLY = `export { Agent, request } from 'undici';
`;

/** Deflated as serverless-esbuild zips (archiver: zlib level 1), for sizes of bundles not zipped. */
const zippedBytes = (data: Buffer): number => zlib.deflateRawSync(data, { level: 1 }).length;

// ------------------------------------------------------------------ steps

async function packageAll(
  workDir: string,
): Promise<{ packaged: Packaged[]; seconds: number; extracted: Map<string, string> }> {
  const staging = stageService();
  const outDir = path.join(workDir, 'package');
  const t0 = performance.now();
  try {
    const result = await run(process.execPath, [SERVERLESS_BIN, 'package', '--package', outDir], {
      cwd: staging.dir,
      env: envWithoutServices({
        AWS_ACCESS_KEY_ID: 'offline',
        AWS_SECRET_ACCESS_KEY: 'offline',
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
      }),
      timeoutMs: 300_000,
    });
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
    const entries = readZip(zip);
    const dir = path.join(workDir, 'unzipped', fn);
    for (const e of entries) {
      if (e.name.endsWith('/')) continue;
      const target = path.join(dir, e.name);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, e.data());
      if (e.name.endsWith('.cjs') || e.name.endsWith('.js') || e.name.endsWith('.mjs')) extracted.set(fn, target);
    }
    // The source map serverless package builds beside the zip, at the bundle's path in it.
    const bundleName = entries.find((e) => /\.[cm]?js$/.test(e.name))?.name;
    const mapFile = bundleName ? path.join(outDir, 'sourcemaps', `${bundleName}.map`) : undefined;
    packaged.push({
      fn,
      zipBytes: zip.length,
      zipKB: round(zip.length / 1000, 1),
      files: entries.map((e) => ({ name: e.name, bytes: e.bytes, compressedBytes: e.compressedBytes })),
      ...(mapFile && fs.existsSync(mapFile)
        ? { sourceMapBeside: { path: `sourcemaps/${bundleName}.map`, bytes: fs.statSync(mapFile).size } }
        : {}),
    });
    log(
      NAME,
      `${fn}.zip ${round(zip.length / 1000, 1)} KB: ${entries.map((e) => `${e.name} ${round(e.bytes / 1000, 0)} KB → ${round(e.compressedBytes / 1000, 0)} KB`).join(', ')}`,
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

async function contributors(
  workDir: string,
): Promise<{ bundles: BundleContributors[]; undici: UndiciShare; references: Map<string, string> }> {
  const options = serverlessEsbuildOptions();
  const out: BundleContributors[] = [];
  let firstMeta: Metafile | undefined;
  for (const fn of FUNCTIONS) {
    const result = await build({
      ...options,
      entryPoints: [handlerEntry(fn)],
      outdir: path.join(workDir, 'meta', fn),
      metafile: true,
      write: true,
    });
    firstMeta ??= result.metafile;
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

  // The references, bundled with the same options: the minimal handler, the HTTP floor, and
  // undici's public entry alone.
  const references = new Map<string, string>();
  const reference = async (name: string, contents: string, loader: 'ts' | 'js') => {
    const result = await build({
      ...options,
      stdin: { contents, resolveDir: ROOT, sourcefile: `${name}.${loader}`, loader },
      outfile: path.join(workDir, 'reference', `${name}${options.outExtension['.js']}`),
      metafile: true,
      write: true,
    });
    const [file, output] = Object.entries(result.metafile.outputs).find(([k]) => !k.endsWith('.map')) ?? [];
    if (!file || !output) throw new Error(`no output for ${name}`);
    const absolute = path.resolve(ROOT, file);
    references.set(name, absolute);
    return { bytes: output.bytes, zippedBytes: zippedBytes(fs.readFileSync(absolute)) };
  };
  await reference('minimal-handler', MINIMAL_HANDLER, 'ts');
  await reference('minimal-http-handler', MINIMAL_HTTP_HANDLER, 'ts');
  const undiciOnly = await reference('undici-only', UNDICI_ONLY, 'ts');

  // undici in the first function's bundle, by part of the package.
  const parts = new Map<string, number>();
  const [, firstOutput] = Object.entries(firstMeta?.outputs ?? {}).find(([k]) => !k.endsWith('.map')) ?? [];
  for (const [input, { bytesInOutput }] of Object.entries(firstOutput?.inputs ?? {})) {
    const m = /node_modules\/undici\/(.+)$/.exec(input);
    if (!m?.[1]) continue;
    const part = m[1].startsWith('lib/')
      ? m[1]
          .split('/')
          .slice(0, m[1].startsWith('lib/web/') ? 3 : 2)
          .join('/')
      : m[1];
    const name = /llhttp\/llhttp(_simd)?-wasm\.js$/.test(m[1]) ? m[1] : part;
    parts.set(name, (parts.get(name) ?? 0) + bytesInOutput);
  }
  const undiciPackage = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/undici/package.json'), 'utf8')) as {
    version: string;
    exports?: unknown;
  };
  const undici: UndiciShare = {
    version: undiciPackage.version,
    exportsMap: undiciPackage.exports !== undefined,
    bytesInBundle: [...parts.values()].reduce((a, b) => a + b, 0),
    parts: [...parts].sort((a, b) => b[1] - a[1]).map(([part, bytes]) => ({ part, bytes })),
    aloneBytes: undiciOnly.bytes,
    aloneZippedBytes: undiciOnly.zippedBytes,
  };
  log(
    NAME,
    `undici ${undici.version}: ${round(undici.bytesInBundle / 1000, 0)} KB of the bundle (its Agent and request); ` +
      `its public entry alone: ${round(undiciOnly.bytes / 1000, 0)} KB`,
  );
  return { bundles: out, undici, references };
}

const INIT_SCRIPT = `
const t = process.hrtime.bigint();
require(process.argv[1]);
const ms = Number(process.hrtime.bigint() - t) / 1e6;
process.stdout.write('INIT ' + ms + '\\n');
`;

async function initOnce(file: string): Promise<number> {
  const env = {
    PATH: process.env.PATH ?? '',
    NODE_PATH: path.join(ROOT, 'node_modules'),
    ...(NODE_OPTIONS ? { NODE_OPTIONS } : {}),
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    AWS_REGION: 'us-east-1',
  };
  const r = await run(process.execPath, ['-e', INIT_SCRIPT, file], { cwd: ROOT, env, timeoutMs: 30_000 });
  const m = /INIT ([\d.]+)/.exec(r.stdout);
  if (r.code !== 0 || !m) throw new Error(`init of ${file} failed (${r.code}):\n${r.output.slice(-2000)}`);
  return Number(m[1]);
}

async function coldInit(extracted: Map<string, string>, references: Map<string, string>): Promise<ColdInit> {
  const files = new Map<string, string>([
    ...FUNCTIONS.map((fn): [string, string] => [fn, extracted.get(fn) as string]),
    ['minimal-handler', references.get('minimal-handler') as string],
    ['minimal-http-handler', references.get('minimal-http-handler') as string],
    ['undici-only', references.get('undici-only') as string],
    // The SDK client the bundles leave to the runtime, alone (functions load it only to read a parameter).
    ['@aws-sdk/client-ssm', path.join(ROOT, 'node_modules/@aws-sdk/client-ssm')],
  ]);
  const samples = new Map<string, number[]>([...files.keys()].map((name) => [name, []]));
  // Round-robin over all of them, so background load hits each alike.
  for (let i = 0; i < INIT_RUNS; i += 1) {
    for (const [name, file] of files) samples.get(name)?.push(round(await initOnce(file), 1));
  }
  const of = (name: string): Stat => stat(samples.get(name) ?? []);
  const functions: InitTimes[] = FUNCTIONS.map((fn) => ({ fn, asDeployed: of(fn) }));
  for (const name of files.keys()) log(NAME, `${name} init ${of(name).median} ms (${of(name).min}–${of(name).max})`);
  return {
    runs: INIT_RUNS,
    nodeOptions: NODE_OPTIONS ?? null,
    functions,
    minimal: of('minimal-handler'),
    httpFloor: of('minimal-http-handler'),
    undiciOnly: of('undici-only'),
    sdkOnly: of('@aws-sdk/client-ssm'),
  };
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-bench-package-'));
  try {
    const { packaged, seconds, extracted } = await packageAll(workDir);
    const { bundles, undici, references } = await contributors(workDir);
    const init = await coldInit(extracted, references);
    const maxZip = Math.max(...packaged.map((p) => p.zipKB));
    const maxInit = Math.max(...init.functions.map((f) => f.asDeployed.median));
    const out: FunctionPackage = {
      quick: values.quick,
      esbuild: slsYaml.custom.esbuild,
      packageSeconds: seconds,
      packaged,
      bundles,
      undici,
      init,
      maxZipKB: maxZip,
      maxInitMs: maxInit,
      initOverMinimal: round(maxInit / init.minimal.median, 2),
      initOverHttpFloor: round(maxInit / init.httpFloor.median, 2),
      seconds: round((performance.now() - t0) / 1000, 1),
    };
    log(
      NAME,
      `largest zip ${maxZip} KB (target ≤ ${TARGETS.zipKB}); slowest init ${maxInit} ms median = ` +
        `${out.initOverMinimal}× the minimal handler's ${init.minimal.median} ms (target ≤ ${TARGETS.initOverMinimal}×), ` +
        `${out.initOverHttpFloor}× the HTTP floor's ${init.httpFloor.median} ms`,
    );
    log(NAME, `wrote ${writeFragment(NAME, out)} in ${out.seconds} s`);
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
