/**
 * The six handlers bundled the way serverless ships them: esbuild with the options in
 * serverless.yml (serverless-esbuild's), into a temporary directory. ./warm-function.ts runs
 * them as a warm Lambda would; bench/function-package.ts builds with the same options.
 */
import { build } from 'esbuild';
import type { BuildOptions } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { FUNCTION_LIMITS } from '../../contract/deadlines';
import type { FunctionName } from '../../contract/actions';

/** The project root (serverless.yml, node_modules). */
export const ROOT = join(import.meta.dirname, '..', '..');

export interface ServerlessYaml {
  provider: { environment?: Record<string, string> };
  custom: { esbuild: Record<string, unknown> & { exclude?: string[]; outputFileExtension?: string } };
  functions: Record<string, { handler: string }>;
}

let yml: ServerlessYaml | undefined;
/** serverless.yml, read once. */
export function serverlessYaml(): ServerlessYaml {
  yml ??= parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')) as ServerlessYaml;
  return yml;
}

/** serverless-esbuild's own keys in custom.esbuild, which it does not pass to esbuild (plugins is a file it loads). */
const SERVERLESS_ESBUILD_KEYS = new Set([
  'exclude',
  'outputFileExtension',
  'keepOutputDirectory',
  'packager',
  'concurrency',
  'zipConcurrency',
  'nativeZip',
  'external',
  'plugins',
]);

/** The esbuild options serverless-esbuild passes for serverless.yml's custom.esbuild. */
export function serverlessEsbuildOptions(): BuildOptions & { outExtension: { '.js': string } } {
  const e = serverlessYaml().custom.esbuild;
  return {
    ...(Object.fromEntries(Object.entries(e).filter(([k]) => !SERVERLESS_ESBUILD_KEYS.has(k))) as BuildOptions),
    // exclude: provided by the Lambda runtime; here resolved from the project's node_modules (NODE_PATH).
    external: [...((e.external as string[] | undefined) ?? []), ...(e.exclude ?? [])],
    outExtension: { '.js': e.outputFileExtension ?? '.js' },
    absWorkingDir: ROOT,
    logLevel: 'silent',
  };
}

/** The TypeScript entry of a function's handler (serverless.yml's `handler`, e.g. functions/handlers/buildIp.handler). */
export function handlerEntry(fn: string): string {
  const handler = serverlessYaml().functions[fn]?.handler;
  if (handler === undefined) throw new Error(`serverless.yml has no function ${fn}`);
  return join(ROOT, `${handler.replace(/\.handler$/, '')}.ts`);
}

export interface Bundle {
  dir: string;
  file(fn: FunctionName): string;
  timeoutSeconds(fn: FunctionName): number;
  remove(): void;
}

export async function bundleHandlers(): Promise<Bundle> {
  const options = serverlessEsbuildOptions();
  const dir = mkdtempSync(join(tmpdir(), 'pool-manager-bundle-'));
  const functions = Object.keys(serverlessYaml().functions);
  await build({
    ...options,
    entryPoints: Object.fromEntries(functions.map((fn) => [fn, handlerEntry(fn)])),
    outdir: dir,
  });
  return {
    dir,
    file: (fn) => join(dir, `${fn}${options.outExtension['.js']}`),
    timeoutSeconds: (fn) => FUNCTION_LIMITS[fn].timeout,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
