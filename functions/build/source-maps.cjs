/**
 * The esbuild plugin serverless.yml gives serverless-esbuild (custom.esbuild.plugins): each
 * function's source map is built beside its zip instead of inside it.
 *
 * esbuild writes `<handler>.cjs.map` next to the bundle (`sourcemap: external`: the bundle
 * has no sourceMappingURL comment, so nothing at run time looks for it). Before
 * serverless-esbuild zips the bundle folder, this moves the map to `sourcemaps/` in the
 * package folder (`.serverless/`, or the one `serverless package --package <dir>` names), at
 * the path the bundle has in the zip: `.serverless/sourcemaps/functions/handlers/buildDevice.cjs.map`
 * maps `/var/task/functions/handlers/buildDevice.cjs`. Its `sources` are rewritten as paths in
 * the checkout it was built from (functions/core/build-device.ts). docs/operations.md
 * ("Reading a stack trace") says how an operator uses it.
 *
 * CommonJS because serverless-esbuild loads this file with require().
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');

/**
 * @param {{ serviceDir?: string, config?: { servicePath?: string }, processedInput?: { commands?: string[] } }} serverless
 */
module.exports = (serverless) => {
  // Only when zips are made (package, deploy, deploy function); `invoke local` and `offline`
  // run the bundle where it was built, and the map can stay next to it there.
  if (!['package', 'deploy'].includes(serverless.processedInput?.commands?.[0] ?? '')) return [];
  const serviceDir = serverless.serviceDir ?? serverless.config?.servicePath ?? process.cwd();
  // serverless always packages into .serverless/ and then moves all of it to --package <dir>.
  const mapsDir = path.join(serviceDir, '.serverless', 'sourcemaps');
  return [
    {
      name: 'source-maps-beside-the-zip',
      /** @param {import('esbuild').PluginBuild} build */
      setup(build) {
        build.onEnd((result) => {
          if (result.errors.length > 0) return;
          const { entryPoints, outdir, outExtension } = build.initialOptions;
          // serverless-esbuild builds one entry per function, into the folder of its handler.
          const entry = Array.isArray(entryPoints) ? entryPoints[0] : undefined;
          if (typeof entry !== 'string' || !outdir) return;
          const bundle = `${path.basename(entry, path.extname(entry))}${outExtension?.['.js'] ?? '.js'}`;
          const from = path.join(outdir, `${bundle}.map`);
          if (!fs.existsSync(from)) return;
          const toDir = path.join(mapsDir, path.dirname(path.relative(serviceDir, path.resolve(serviceDir, entry))));
          const map = JSON.parse(fs.readFileSync(from, 'utf8'));
          // Paths in the checkout (functions/core/build-device.ts), wherever the map is moved next.
          map.sources = map.sources.map((/** @type {string} */ source) =>
            path.relative(serviceDir, path.resolve(outdir, source)).split(path.sep).join('/'),
          );
          fs.mkdirSync(toDir, { recursive: true });
          fs.writeFileSync(path.join(toDir, `${bundle}.map`), JSON.stringify(map));
          fs.rmSync(from);
        });
      },
    },
  ];
};
