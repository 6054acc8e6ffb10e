/**
 * Maps a stack trace of a deployed function back to the TypeScript sources, with the source
 * maps `serverless package` / `serverless deploy` leave beside the zips (.serverless/sourcemaps/,
 * functions/build/source-maps.cjs). The zips carry no map, so a production trace names the
 * minified bundle: `at Ho (/var/task/functions/handlers/buildDevice.cjs:1:23456)`.
 *
 *   npm run stack-trace -- [--maps .serverless/sourcemaps] < trace.txt
 *
 * Every `<path>.cjs:<line>:<column>` in the text is replaced by `<source>.ts:<line>:<column>`
 * (and the original name, where the map has one); the rest is printed as it is. Use the maps of
 * the build that was deployed: keep each release's sourcemaps/ folder with its zips.
 * Node's own source-map reader (node:module SourceMap) does the mapping.
 */
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import type { SourceOrigin } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

/** A frame's location in a bundle: Lambda's /var/task/functions/handlers/<fn>.cjs, or a local copy's. */
const LOCATION = /([^\s()'"`]*functions\/handlers\/[^\s()'"`:/]+\.c?js):(\d+):(\d+)/g;

/** The text with every bundle location that a map in `mapsDir` covers replaced by its source location. */
export function mapStackTrace(text: string, mapsDir: string): string {
  const maps = new Map<string, SourceMap | undefined>();
  const mapFor = (inZip: string): SourceMap | undefined => {
    if (!maps.has(inZip)) {
      const file = path.join(mapsDir, `${inZip}.map`);
      maps.set(inZip, fs.existsSync(file) ? new SourceMap(JSON.parse(fs.readFileSync(file, 'utf8'))) : undefined);
    }
    return maps.get(inZip);
  };
  return text.replace(LOCATION, (whole: string, bundle: string, line: string, column: string) => {
    // The path inside the zip, which is where its map sits under mapsDir.
    const inZip = bundle.slice(bundle.lastIndexOf('functions/handlers/'));
    const origin = mapFor(inZip)?.findOrigin(Number(line), Number(column));
    if (!origin || !('fileName' in origin)) return whole;
    // The map's sources are paths in the checkout it was built from (functions/build/source-maps.cjs).
    const { fileName, lineNumber, columnNumber, name } = origin as SourceOrigin;
    return `${fileName}:${lineNumber}:${columnNumber}${name ? ` [${name}]` : ''}`;
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { maps: { type: 'string', default: '.serverless/sourcemaps' } } });
  const mapsDir = path.resolve(values.maps);
  if (!fs.existsSync(mapsDir)) {
    process.stderr.write(
      `no source maps in ${mapsDir}: run \`npm run package\` (or deploy) from the same checkout first\n`,
    );
    process.exit(2);
  }
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  process.stdout.write(mapStackTrace(text, mapsDir));
}

if (import.meta.filename === process.argv[1]) await main();
