/**
 * A bundled handler (./bundle.ts: esbuild with serverless.yml's options) kept warm in one
 * Node process, as a warm Lambda (./warm-runner.mjs): events go to it over stdin and run one
 * after another; each invocation's start and end (epoch ms) are recorded, so a request log
 * can be split per invocation. The benchmarks time functions with it; the tests run the
 * bundles through invokeBundled().
 */
import path from 'node:path';
import type { FunctionName } from '../../contract/actions';
import type { Result } from '../../contract/result';
import type { Child } from '../harness';
import { spawnChild, within } from '../harness';
import { ROOT } from './bundle';
import type { Bundle } from './bundle';

const RUNNER = path.join(import.meta.dirname, 'warm-runner.mjs');

export interface TimedInvocation {
  /** 0-based, per process. */
  index: number;
  start: number;
  end: number;
  result: Result;
}

export interface WarmFunctionOptions {
  /** After each invocation the runner GETs `${markerUrl}/${index}`, marking where in a request log it ended. */
  markerUrl?: string;
  /** The context's functionName (default "bench"). */
  contextName?: string;
  /** Keep every line the function prints (default: the last 256 KiB). */
  keepOutput?: 'all';
}

export class WarmFunction {
  private readonly child: Child;
  private waiting: ((inv: TimedInvocation) => void)[] = [];

  constructor(
    bundle: Bundle,
    readonly fn: FunctionName,
    env: Record<string, string>,
    options: WarmFunctionOptions = {},
  ) {
    this.child = spawnChild({
      name: fn,
      command: process.execPath,
      args: [
        RUNNER,
        bundle.file(fn),
        String(bundle.timeoutSeconds(fn)),
        options.contextName ?? 'bench',
        options.markerUrl ?? '',
      ],
      // The runtime's AWS SDK (left out of the bundles) comes from the project's node_modules.
      env: { PATH: process.env.PATH ?? '', NODE_PATH: path.join(ROOT, 'node_modules'), ...env },
      stdin: 'pipe',
      ...(options.keepOutput ? { keepOutput: options.keepOutput } : {}),
      onLine: (line) => {
        if (line.startsWith('TIMED ')) this.waiting.shift()?.(JSON.parse(line.slice(6)) as TimedInvocation);
      },
    });
  }

  /** Everything the function printed (kept as the options say), TIMED lines included. */
  output(): string {
    return this.child.output();
  }

  /** Runs the events one after another in this warm process; bounded by timeoutMs in all. */
  async invoke(events: unknown[], timeoutMs = 300_000): Promise<TimedInvocation[]> {
    const results = events.map(() => new Promise<TimedInvocation>((resolve) => this.waiting.push(resolve)));
    for (const e of events) this.child.process.stdin?.write(`${JSON.stringify(e)}\n`);
    const failed = this.child.exited.then((exit) => {
      throw new Error(`${this.fn} process exited (${exit.code ?? exit.signal}):\n${this.child.output().slice(-4000)}`);
    });
    try {
      return await within(
        Promise.race([Promise.all(results), failed]),
        timeoutMs,
        `${this.fn}: ${events.length} invocations`,
      );
    } finally {
      failed.catch(() => undefined);
    }
  }

  /** Ends stdin: the process exits once the events sent are done (SIGKILL after 10 s). */
  async close(): Promise<void> {
    this.child.process.stdin?.end();
    const timer = setTimeout(() => this.child.signal('SIGKILL'), 10_000);
    await this.child.exited;
    clearTimeout(timer);
  }
}

export interface Invocation {
  results: Result[];
  /** Every structured log line the function printed (EMF metric lines excluded). */
  logs: Record<string, unknown>[];
  metrics: Record<string, unknown>[];
  /** Everything the process printed, for secret scans. */
  output: string;
}

/** Invokes the bundled handler with each event in turn, in one warm process, then ends it. */
export async function invokeBundled(
  bundle: Bundle,
  fn: FunctionName,
  events: unknown[],
  env: Record<string, string>,
): Promise<Invocation> {
  const warm = new WarmFunction(bundle, fn, env, { contextName: 'test', keepOutput: 'all' });
  let timed: TimedInvocation[];
  try {
    timed = await warm.invoke(events);
  } finally {
    await warm.close();
  }
  const output = warm.output();
  const logs: Record<string, unknown>[] = [];
  const metrics: Record<string, unknown>[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    const parsed = JSON.parse(line) as Record<string, unknown>;
    (parsed._aws ? metrics : logs).push(parsed);
  }
  return { results: timed.map((t) => t.result), logs, metrics, output };
}
