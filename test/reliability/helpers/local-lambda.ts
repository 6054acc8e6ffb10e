/**
 * A local Lambda that runs the real bundled handlers (scripts/lambda/bundle.ts bundles them as
 * serverless does) behind the Invoke API, in a child process of its own: the bridge's
 * LambdaInvoker talks to it as to AWS, the functions talk to the cloud simulator, and a
 * function keeps running when the bridge that invoked it dies, as on Lambda.
 */
import path from 'node:path';
import type { FunctionName } from '../../../contract';
import { ACTIONS, DEFAULT_FUNCTION_PREFIX } from '../../../contract';
import type { Bundle } from '../../../scripts/lambda/bundle';
import { bundleHandlers } from '../../../scripts/lambda/bundle';
import type { Child } from '../../../scripts/harness';
import { minimalEnv } from '../../../scripts/harness';
import { ROOT, startNode } from './procs';

const RUNNER = path.join(import.meta.dirname, 'local-lambda-runner.mjs');

export interface Invocation {
  id: string;
  function: FunctionName;
  unique: string | null;
  action: string | null;
  startedAt: number;
  endedAt: number | null;
  response: string | null;
  /** The caller (the bridge) went away before the function answered. */
  callerGone: boolean;
  /** What the handler threw, when it threw. */
  error: string | null;
}

export interface LocalLambda {
  readonly url: string;
  readonly proc: Child;
  invocations(): Promise<Invocation[]>;
  /** One synchronous invoke of `<prefix><fn>`, as the bridge would make it (unsigned). */
  invoke(fn: FunctionName, event: unknown): Promise<{ status: number; functionError: string | null; body: unknown }>;
  stop(): Promise<void>;
}

let shared: Promise<Bundle> | undefined;

/** One bundle per test process (esbuild takes a second or two). */
function sharedBundle(): Promise<Bundle> {
  if (!shared) {
    shared = bundleHandlers().then((bundle) => {
      // Removed synchronously when the test process exits.
      process.once('exit', () => bundle.remove());
      return bundle;
    });
  }
  return shared;
}

export async function startLocalLambda(options: {
  /** The functions' environment: OS_*, POOL_*, POWERTOOLS_*, ... */
  env: Record<string, string>;
  prefix?: string;
  /** Function timeouts in seconds (default: contract/deadlines.json's, as serverless.yml deploys them). */
  timeouts?: Partial<Record<FunctionName, number>>;
  guardFile?: string;
}): Promise<LocalLambda> {
  const bundle = await sharedBundle();
  const functions: FunctionName[] = Object.values(ACTIONS);
  const prefix = options.prefix ?? DEFAULT_FUNCTION_PREFIX;
  const timeouts = Object.fromEntries(functions.map((fn) => [fn, options.timeouts?.[fn] ?? bundle.timeoutSeconds(fn)]));
  const ext = path.extname(bundle.file('buildIp'));
  const config = JSON.stringify({ prefix, functions, timeouts, ext });
  // The nodejs runtime provides the AWS SDK v3, which serverless.yml leaves out of the
  // bundles: NODE_PATH gives the bundles this project's copy, as the runtime would its own.
  const env = minimalEnv({ NODE_PATH: path.join(ROOT, 'node_modules'), ...options.env });
  const proc = await startNode('local-lambda', [RUNNER, bundle.dir, config], env, {
    guardFile: options.guardFile,
    ready: { line: /LOCAL-LAMBDA-LISTENING (\d+)/ },
    readyTimeoutMs: 10_000,
  });
  const port = Number(proc.match?.[1]);
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    proc,
    invocations: async () => (await (await fetch(`${url}/_local/invocations`)).json()) as Invocation[],
    invoke: async (fn, event) => {
      const res = await fetch(`${url}/2015-03-31/functions/${prefix}${fn}/invocations`, {
        method: 'POST',
        body: JSON.stringify(event),
      });
      return {
        status: res.status,
        functionError: res.headers.get('x-amz-function-error'),
        body: (await res.json()) as unknown,
      };
    },
    stop: async () => {
      await proc.stop(3000);
    },
  };
}
