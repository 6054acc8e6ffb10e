/**
 * `npm run build`: pool-bridge as what ships. esbuild bundles bridge/main.ts and everything
 * it imports (@aws-sdk/client-lambda, Powertools, prom-client, zod, yaml...) into one ESM
 * file, dist/pool-bridge.mjs, that runs with `node dist/pool-bridge.mjs` on Node 20 and 22
 * with no node_modules anywhere near it; its version is written in at build time (no
 * package.json beside it). Then the release tarball, dist/pool-bridge-<version>.tar.gz: the
 * file, the systemd unit, the commented example YAML and INSTALL.
 *
 *   npm run build            # or: npx tsx scripts/build/bridge.ts [--no-tarball]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const BRIDGE_FILE = path.join(DIST, 'pool-bridge.mjs');

function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Bundles dist/pool-bridge.mjs (and its source map); returns the bytes of each input, largest first. */
export async function buildBridge(): Promise<{ file: string; bytes: number; inputs: [string, number][] }> {
  fs.mkdirSync(DIST, { recursive: true });
  const result = await build({
    entryPoints: [path.join(ROOT, 'bridge', 'main.ts')],
    outfile: BRIDGE_FILE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Whitespace and syntax minified; identifiers kept, so class and function names stay
    // what the source says (error names, stack traces, profiles) without esbuild's
    // keepNames, which renames every closure at run time (a cost per job).
    minifyWhitespace: true,
    minifySyntax: true,
    minifyIdentifiers: false,
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'eof',
    metafile: true,
    // CommonJS dependencies (prom-client, parts of the SDK) call require() for Node's own
    // modules, which an ES module does not have: give them one.
    banner: {
      js: [
        '#!/usr/bin/env node',
        "import { createRequire as __poolBridgeCreateRequire } from 'node:module';",
        'const require = __poolBridgeCreateRequire(import.meta.url);',
      ].join('\n'),
    },
    define: { __POOL_BRIDGE_VERSION__: JSON.stringify(packageVersion()) },
    logLevel: 'warning',
  });
  fs.chmodSync(BRIDGE_FILE, 0o755);
  const output = result.metafile.outputs[path.relative(ROOT, BRIDGE_FILE)];
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const key = m?.[1] ?? input.split('/')[0] ?? input;
    byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
  }
  return {
    file: BRIDGE_FILE,
    bytes: fs.statSync(BRIDGE_FILE).size,
    inputs: [...byPackage.entries()].sort((a, b) => b[1] - a[1]),
  };
}

const INSTALL = (
  version: string,
): string => `pool-bridge ${version}: install on a VM that has Node.js 20.18+ or 22 (nothing else)

  # as root, in the directory this tarball unpacked to
  useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin pool-bridge
  install -d -m 0755 /opt/pool-bridge /etc/pool-bridge
  install -m 0755 pool-bridge.mjs /opt/pool-bridge/pool-bridge.mjs
  install -m 0644 pool-bridge.mjs.map INSTALL /opt/pool-bridge/   # the map is optional
  /usr/bin/node /opt/pool-bridge/pool-bridge.mjs --version
  install -m 0644 pool-bridge.example.yaml /etc/pool-bridge/pool-bridge.yaml
  editor /etc/pool-bridge/pool-bridge.yaml     # gearman servers, function-prefix, lambda-region, device-basename
  install -m 0644 pool-bridge.service /etc/systemd/system/pool-bridge.service
  systemctl daemon-reload
  systemctl enable --now pool-bridge
  curl -s http://127.0.0.1:9464/healthz        # "status":"ok" once a job server is registered

The unit runs /usr/bin/node /opt/pool-bridge/pool-bridge.mjs as the pool-bridge user and
reads /etc/pool-bridge/pool-bridge.yaml. AWS credentials: an instance profile, or a
credentials file handed over with LoadCredential (docs/operations.md, section 2.2).
Upgrade: replace /opt/pool-bridge/pool-bridge.mjs and systemctl restart pool-bridge (it
drains first). Options: node /opt/pool-bridge/pool-bridge.mjs --help.
`;

/** dist/pool-bridge-<version>.tar.gz: the built file (and map), the unit, the example YAML, INSTALL. */
function releaseTarball(): string {
  const version = packageVersion();
  const name = `pool-bridge-${version}`;
  const stage = path.join(DIST, name);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage);
  fs.copyFileSync(BRIDGE_FILE, path.join(stage, 'pool-bridge.mjs'));
  fs.chmodSync(path.join(stage, 'pool-bridge.mjs'), 0o755);
  fs.copyFileSync(`${BRIDGE_FILE}.map`, path.join(stage, 'pool-bridge.mjs.map'));
  fs.copyFileSync(path.join(ROOT, 'bridge', 'pool-bridge.service'), path.join(stage, 'pool-bridge.service'));
  fs.copyFileSync(path.join(ROOT, 'bridge', 'pool-bridge.example.yaml'), path.join(stage, 'pool-bridge.example.yaml'));
  fs.writeFileSync(path.join(stage, 'INSTALL'), INSTALL(version));
  const tarball = path.join(DIST, `${name}.tar.gz`);
  // GNU tar (every Debian has it): owner and order fixed, so the tarball depends only on its files.
  execFileSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '--sort=name', '-czf', tarball, '-C', DIST, name]);
  fs.rmSync(stage, { recursive: true, force: true });
  return tarball;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { 'no-tarball': { type: 'boolean', default: false } } });
  const t0 = performance.now();
  const built = await buildBridge();
  const top = built.inputs
    .slice(0, 6)
    .map(([name, bytes]) => `${name} ${Math.round(bytes / 1024)} KiB`)
    .join(', ');
  process.stdout.write(
    `built ${path.relative(process.cwd(), built.file)} (${Math.round(built.bytes / 1024)} KiB: ${top}) in ${Math.round(performance.now() - t0)} ms\n`,
  );
  if (!values['no-tarball']) process.stdout.write(`wrote ${path.relative(process.cwd(), releaseTarball())}\n`);
}
