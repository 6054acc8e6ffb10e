/** "4. Function package": zip sizes, what the bundles hold, cold init, and recommendations. */
import type { Fragment } from '../fragments';
import { collect, fixed, kb, load, spread } from './format';

export function packageSection(k: Fragment<'function-package'>): string[] {
  const [out, p] = collect();
  p(
    '## 4. Function package',
    '',
    `\`serverless package\` (osls + serverless-esbuild, dummy AWS credentials; ${fixed(k.packageSeconds, 0)} s), in a private copy of the service.`,
    `esbuild options from serverless.yml: ${Object.entries(k.esbuild)
      .map(([key, v]) => `${key}: ${JSON.stringify(v)}`)
      .join(', ')}.`,
    `KB = 1,000 bytes. Cold init: the handler file taken from the zip, \`require\`d in a fresh \`node\` under a`,
    `high-resolution timer, ${k.init.runs} runs per function (round-robin over the functions), with NODE_OPTIONS=--enable-source-maps as`,
    'serverless.yml sets it ("as deployed") and without it. The bundles leave `@aws-sdk/*` out (the nodejs22.x runtime',
    "ships the SDK); here it loads from the project's node_modules, as the runtime loads its own copy from disk.",
    `${load(k.meta)}.`,
    '',
    '| function | zip | handler .cjs (raw → zipped) | source map (raw → zipped) | zip without the map | init, as deployed | init, no source maps |',
    '|---|---|---|---|---|---|---|',
  );
  for (const pk of k.packaged) {
    const code = pk.files.find((f) => !f.name.endsWith('.map'));
    const map = pk.files.find((f) => f.name.endsWith('.map'));
    const init = k.init.functions.find((i) => i.fn === pk.fn);
    p(
      `| ${pk.fn} | **${fixed(pk.zipKB, 1)} KB** | ${code ? `${kb(code.bytes)} → ${kb(code.compressedBytes)}` : '—'} | ${map ? `${kb(map.bytes)} → ${kb(map.compressedBytes)}` : '—'} | ${fixed(pk.zipKBWithoutMap, 1)} KB | ${spread(init?.withSourceMaps, 1, ' ms')} | ${spread(init?.withoutSourceMaps, 1, ' ms')} |`,
    );
  }
  const first = k.bundles[0];
  const same = k.bundles.every((b) => Math.abs(b.outputBytes - (first?.outputBytes ?? 0)) < 2000);
  p(
    '',
    `\`require('@aws-sdk/client-ssm')\` alone (the SDK client the handlers load at init, for Powertools Parameters): ${spread(k.init.sdkOnly, 1, ' ms')}.`,
    '',
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
  const pk = k.packaged[0];
  const map = pk?.files.find((f) => f.name.endsWith('.map'));
  const top = first?.top ?? [];
  const undici = top.find((t) => t.input === 'undici');
  const yaml = top.find((t) => t.input === 'yaml');
  const recs: string[] = [];
  if (map) {
    recs.push(
      `- Keep the source map out of the zip (\`sourcemap: false\`, or build the maps apart from the artifact): ${kb(map.compressedBytes)} of each`,
      `  ${fixed(pk?.zipKB ?? 0, 0)} KB zip, and \`--enable-source-maps\` (serverless.yml NODE_OPTIONS) would no longer be needed; stack traces then show`,
      '  minified names.',
    );
  }
  if (undici) {
    recs.push(
      `- Drop undici from the functions (${kb(undici.bytes)}, ${fixed(undici.pct, 0)}% of each bundle): the OpenStack client uses it for an Agent with`,
      '  connect/header/body timeouts, a CA bundle and (on request) no certificate verification, all of which',
      '  node:https offers (a keep-alive Agent with `ca` and `rejectUnauthorized`, plus request timeouts).',
    );
  }
  if (yaml) {
    recs.push(
      `- yaml (${kb(yaml.bytes)}) is only used to read clouds.yaml when OS_CLOUD is set: a small reader for the subset`,
      '  clouds.yaml uses, or keeping that path out of the functions (the OS_* variables are what Lambda is given), would',
      '  remove it.',
    );
  }
  recs.push(
    `- Init: the handlers load \`@aws-sdk/client-ssm\` at module load (Powertools Parameters), ${spread(k.init.sdkOnly, 0, ' ms')} on its own here;`,
    '  importing the SSM provider only when a credential parameter is configured would take that off every cold start',
    '  that does not read one.',
  );
  p("**Recommendations** (not applied: serverless.yml and functions/ are others' to change):", '', ...recs, '');
  return out;
}
