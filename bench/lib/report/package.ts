/** "4. Function package": zip sizes, the source maps beside them, what the bundles hold, cold init. */
import type { Fragment } from '../fragments';
import { collect, fixed, kb, load, spread } from './format';
import { TARGETS } from './headline';

export function packageSection(k: Fragment<'function-package'>): string[] {
  const [out, p] = collect();
  const nodeOptions = k.init.nodeOptions
    ? `NODE_OPTIONS=${k.init.nodeOptions}, as serverless.yml sets it`
    : 'no NODE_OPTIONS, as serverless.yml sets none (no source map ships)';
  p(
    '## 4. Function package',
    '',
    `\`serverless package\` (osls + serverless-esbuild, dummy AWS credentials; ${fixed(k.packageSeconds, 0)} s), in a private copy of the service.`,
    `esbuild options from serverless.yml: ${Object.entries(k.esbuild)
      .map(([key, v]) => `${key}: ${JSON.stringify(v)}`)
      .join(', ')}.`,
    'KB = 1,000 bytes. The source map is built beside each zip (`sourcemap: external`, moved to `sourcemaps/` by',
    'functions/build/source-maps.cjs), not in it. `@aws-sdk/*` and yaml are left out of the bundles (the nodejs22.x',
    'runtime ships the SDK; yaml only reads clouds.yaml for OS_CLOUD, which a deployed function does not use); here',
    "they load from the project's node_modules, as the runtime loads its SDK from disk.",
    '',
    `**Cold init**: the handler file taken from the zip, \`require\`d in a fresh \`node\` under a high-resolution timer, with`,
    `${nodeOptions}. The reference is a **minimal handler**: the Powertools Logger and nothing else, bundled with the`,
    'same esbuild options. It, the **HTTP floor** (that handler plus what the functions load of undici: its Agent and',
    "`request`, functions/openstack/undici.ts), undici's public entry alone (bundled the same way) and",
    `\`require('@aws-sdk/client-ssm')\` alone are measured in the same rounds as the six functions: ${k.init.runs} rounds,`,
    'each over all of them in turn.',
    `${load(k.meta)}.`,
    '',
    '| function | zip | handler .cjs (raw → zipped) | source map beside the zip (raw) | cold init, as deployed | ÷ minimal handler | ÷ HTTP floor |',
    '|---|---|---|---|---|---|---|',
  );
  for (const pk of k.packaged) {
    const code = pk.files.find((f) => !f.name.endsWith('.map'));
    const init = k.init.functions.find((i) => i.fn === pk.fn);
    p(
      `| ${pk.fn} | **${fixed(pk.zipKB, 1)} KB** | ${code ? `${kb(code.bytes)} → ${kb(code.compressedBytes)}` : '—'} | ${pk.sourceMapBeside ? `${kb(pk.sourceMapBeside.bytes)} (\`${pk.sourceMapBeside.path}\`)` : 'none'} | ${spread(init?.asDeployed, 1, ' ms')} | ${fixed((init?.asDeployed.median ?? Number.NaN) / k.init.minimal.median)}× | ${fixed((init?.asDeployed.median ?? Number.NaN) / k.init.httpFloor.median)}× |`,
    );
  }
  const u = k.undici;
  p(
    `| minimal handler (Logger only) | | | | ${spread(k.init.minimal, 1, ' ms')} | 1× | |`,
    `| HTTP floor (Logger + the functions' undici) | | | | ${spread(k.init.httpFloor, 1, ' ms')} | ${fixed(k.init.httpFloor.median / k.init.minimal.median)}× | 1× |`,
    `| undici's public entry alone (\`import { Agent, request } from 'undici'\`) | | ${kb(u.aloneBytes)} → ${kb(u.aloneZippedBytes)} | | ${spread(k.init.undiciOnly, 1, ' ms')} | ${fixed(k.init.undiciOnly.median / k.init.minimal.median)}× | |`,
    `| \`require('@aws-sdk/client-ssm')\` alone | | | | ${spread(k.init.sdkOnly, 1, ' ms')} | | |`,
    '',
    `The slowest function: **${fixed(k.maxInitMs, 1)} ms = ${fixed(k.initOverMinimal)}× the minimal handler** (target ≤ ${TARGETS.initOverMinimal}×),`,
    `${fixed(k.initOverHttpFloor)}× the HTTP floor. The floor is ${fixed(k.init.httpFloor.median - k.init.minimal.median, 1)} ms above the minimal handler: that is undici's Agent and`,
    "request, which load Node's http2, tls and net modules and compile the HTTP/1.1 client. undici's public entry would",
    `take ${fixed(k.init.undiciOnly.median, 1)} ms alone: it loads all of undici (fetch, WebSocket, EventSource, the cache and mock agents).`,
    'The SSM client is not loaded at init: only when a job reads the credentials parameter',
    '(test/functions/lazy-loading.test.ts), and yaml only for OS_CLOUD.',
    '',
  );

  const first = k.bundles[0];
  const same = k.bundles.every((b) => Math.abs(b.outputBytes - (first?.outputBytes ?? 0)) < 2000);
  p(
    `**Top contributors to the bundle** (esbuild metafile, bytes in the minified output; ${first?.fn ?? ''}, ${kb(first?.outputBytes ?? 0)}${same ? '; the six bundles differ by less than 2 KB' : ''}):`,
    '',
    '| input | bytes in the output | share |',
    '|---|---|---|',
    ...(first?.top ?? []).slice(0, 10).map((t) => `| ${t.input} | ${kb(t.bytes)} | ${fixed(t.pct, 1)}% |`),
    '',
  );
  if (!same) {
    p(
      'Other functions:',
      '',
      ...k.bundles.slice(1).map(
        (b) =>
          `- ${b.fn} (${kb(b.outputBytes)}): ${b.top
            .slice(0, 5)
            .map((t) => `${t.input} ${kb(t.bytes)}`)
            .join(', ')}`,
      ),
      '',
    );
  }
  p(
    `**undici ${u.version}** is ${kb(u.bytesInBundle)} of the ${kb(first?.outputBytes ?? 0)} bundle. By part of the package:`,
    '',
    '| part | bytes in the output |',
    '|---|---|',
    ...u.parts.slice(0, 12).map((x) => `| ${x.part} | ${kb(x.bytes)} |`),
    `| (${Math.max(0, u.parts.length - 12)} more) | ${kb(u.parts.slice(12).reduce((n, x) => n + x.bytes, 0))} |`,
    '',
    `Importing less of it: its package.json has ${u.exportsMap ? 'an exports map' : '**no exports map**'}, and \`index.js\`, its one public entry,`,
    'requires every part of undici; esbuild cannot drop parts of CommonJS modules. So functions/openstack/undici.ts loads',
    'the two files that entry re-exports as `Agent` and `request` (`lib/dispatcher/agent.js`, `lib/api/api-request.js`):',
    `${kb(u.bytesInBundle)} of undici in the bundle instead of the public entry's ${kb(u.aloneBytes)} (${kb(u.aloneZippedBytes)} zipped). lib/ is not undici's`,
    'API: package.json pins its exact version, and test/openstack/undici.unit.test.ts fails on an upgrade that moves or',
    'changes those files. Both llhttp builds (plain and SIMD WebAssembly, as base64 text) stay: the HTTP/1.1 client picks',
    'one when it first connects.',
    '',
  );
  return out;
}
