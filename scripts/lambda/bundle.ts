/**
 * The six handlers bundled the way serverless ships them: esbuild with the options in
 * serverless.yml (serverless-esbuild's), into a temporary directory. ./warm-function.ts runs
 * them as a warm Lambda would.
 */
import { build } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { FunctionName } from '../../contract/actions';

const root = join(import.meta.dirname, '..', '..');

interface ServerlessYaml {
  custom: {
    esbuild: {
      minify: boolean;
      sourcemap: boolean | 'external' | 'inline' | 'linked' | 'both';
      sourcesContent?: boolean;
      target: string;
      format: 'cjs' | 'esm';
      outputFileExtension: string;
      exclude?: string[];
    };
  };
  functions: Record<string, { handler: string }>;
}

export interface Bundle {
  dir: string;
  file(fn: FunctionName): string;
  timeoutSeconds(fn: FunctionName): number;
  remove(): void;
}

export async function bundleHandlers(): Promise<Bundle> {
  const config = parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as ServerlessYaml;
  const options = config.custom.esbuild;
  const deadlines = JSON.parse(readFileSync(join(root, 'contract', 'deadlines.json'), 'utf8')) as {
    functions: Record<string, { timeout: number }>;
  };
  const dir = mkdtempSync(join(tmpdir(), 'pool-manager-bundle-'));
  const entryPoints = Object.fromEntries(
    Object.entries(config.functions).map(([name, fn]) => [
      name,
      join(root, `${fn.handler.replace(/\.handler$/, '')}.ts`),
    ]),
  );
  await build({
    entryPoints,
    outdir: dir,
    bundle: true,
    platform: 'node',
    target: options.target,
    format: options.format,
    minify: options.minify,
    sourcemap: options.sourcemap,
    sourcesContent: options.sourcesContent,
    // Provided by the Lambda runtime; here resolved from the project's node_modules (NODE_PATH).
    external: options.exclude,
    outExtension: { '.js': options.outputFileExtension },
    logLevel: 'silent',
  });
  return {
    dir,
    file: (fn) => join(dir, `${fn}${options.outputFileExtension}`),
    timeoutSeconds: (fn) => deadlines.functions[fn]?.timeout ?? 6,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
