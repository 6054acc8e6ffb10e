/**
 * Runs the action handlers the way Lambda does: bundled by esbuild with the options in
 * serverless.yml, loaded in a fresh Node process, invoked one event after another in that
 * process (so module scope stays warm between invocations, as in a warm Lambda).
 */
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { FunctionName, Result } from '../../contract';

const root = join(import.meta.dirname, '..', '..');

interface ServerlessYaml {
  custom: {
    esbuild: {
      minify: boolean;
      sourcemap: boolean;
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

const RUNNER = `
const [file, timeoutSeconds, eventsJson] = process.argv.slice(2);
const { handler } = require(file);
(async () => {
  for (const [index, event] of JSON.parse(eventsJson).entries()) {
    const deadline = Date.now() + Number(timeoutSeconds) * 1000;
    const context = {
      awsRequestId: 'req-' + index, functionName: 'test', functionVersion: '$LATEST', memoryLimitInMB: '256',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test', logGroupName: '/aws/lambda/test',
      logStreamName: 'test', callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
    const result = await handler(event, context);
    process.stdout.write('\\nRESULT ' + JSON.stringify(result) + '\\n');
  }
})().catch((error) => { process.stdout.write('\\nTHREW ' + String(error && error.stack || error) + '\\n'); process.exit(3); });
`;

export interface Invocation {
  results: Result[];
  /** Every structured log line the function printed (EMF metric lines excluded). */
  logs: Record<string, unknown>[];
  metrics: Record<string, unknown>[];
  /** Everything the process printed, for secret scans. */
  output: string;
}

/** Invokes the bundled handler with each event in turn, in one warm process. */
export function invokeBundled(
  bundle: Bundle,
  fn: FunctionName,
  events: unknown[],
  env: Record<string, string>,
): Promise<Invocation> {
  const runnerFile = join(bundle.dir, 'runner.cjs');
  writeFileSync(runnerFile, RUNNER);
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [runnerFile, bundle.file(fn), String(bundle.timeoutSeconds(fn)), JSON.stringify(events)],
      {
        env: { PATH: process.env.PATH ?? '', NODE_PATH: join(root, 'node_modules'), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`handler process exited ${code}:\n${output}`));
      const results: Result[] = [];
      const logs: Record<string, unknown>[] = [];
      const metrics: Record<string, unknown>[] = [];
      for (const line of output.split('\n')) {
        if (line.startsWith('RESULT ')) results.push(JSON.parse(line.slice(7)) as Result);
        else if (line.startsWith('{')) {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          (parsed._aws ? metrics : logs).push(parsed);
        }
      }
      resolve({ results, logs, metrics, output });
    });
  });
}
