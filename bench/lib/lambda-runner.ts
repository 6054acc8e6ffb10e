/**
 * A bundled handler (test/helpers/lambda.ts bundleHandlers: esbuild with serverless.yml's
 * options) kept warm in one Node process, as a warm Lambda: events are sent to it in batches
 * over stdin and run one after another; each invocation's start and end (epoch ms) are
 * recorded so that the cloud simulator's request log can be split per invocation.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { FunctionName } from '../../contract/actions';
import type { Result } from '../../contract/result';
import type { Bundle } from '../../test/helpers/lambda';
import { ROOT } from './common';

const RUNNER = `
const [file, timeoutSeconds, markerUrl] = process.argv.slice(2);
const { handler } = require(file);
const lines = require('readline').createInterface({ input: process.stdin });
let queue = Promise.resolve();
let index = 0;
lines.on('line', (line) => {
  queue = queue.then(async () => {
    const event = JSON.parse(line);
    const deadline = Date.now() + Number(timeoutSeconds) * 1000;
    const context = {
      awsRequestId: 'req-' + index++, functionName: 'bench', functionVersion: '$LATEST', memoryLimitInMB: '256',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:bench', logGroupName: '/aws/lambda/bench',
      logStreamName: 'bench', callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
    const start = Date.now();
    const i = index - 1;
    const result = await handler(event, context);
    const end = Date.now();
    if (markerUrl) await (await fetch(markerUrl + '/' + i)).arrayBuffer();
    process.stdout.write('\\nTIMED ' + JSON.stringify({ index: i, start, end, result }) + '\\n');
  }).catch((error) => { process.stdout.write('\\nTHREW ' + String(error && error.stack || error) + '\\n'); process.exit(3); });
});
lines.on('close', () => { queue.then(() => process.exit(0)); });
`;

export interface TimedInvocation {
  /** 0-based, per process. */
  index: number;
  start: number;
  end: number;
  result: Result;
}

export class WarmFunction {
  private readonly child: ChildProcessWithoutNullStreams;
  private waiting: ((inv: TimedInvocation) => void)[] = [];
  private tail = '';
  private readonly exited: Promise<number | null>;

  /**
   * markerUrl: after each invocation the runner GETs `${markerUrl}/${index}` (the simulator
   * logs it like any request), marking where in the request log that invocation ended.
   */
  constructor(
    bundle: Bundle,
    readonly fn: FunctionName,
    env: Record<string, string>,
    markerUrl = '',
  ) {
    const runnerFile = join(bundle.dir, 'bench-runner.cjs');
    writeFileSync(runnerFile, RUNNER);
    this.child = spawn(process.execPath, [runnerFile, bundle.file(fn), String(bundle.timeoutSeconds(fn)), markerUrl], {
      // The runtime's AWS SDK (left out of the bundles) comes from the project's node_modules.
      env: { PATH: process.env.PATH ?? '', NODE_PATH: join(ROOT, 'node_modules'), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      if (line.startsWith('TIMED ')) this.waiting.shift()?.(JSON.parse(line.slice(6)) as TimedInvocation);
      else this.tail = `${this.tail}${line}\n`.slice(-4000);
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.tail = (this.tail + chunk).slice(-4000)));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Runs the events one after another in this warm process; bounded by timeoutMs in all. */
  async invoke(events: unknown[], timeoutMs = 300_000): Promise<TimedInvocation[]> {
    const results = events.map(() => new Promise<TimedInvocation>((resolve) => this.waiting.push(resolve)));
    for (const e of events) this.child.stdin.write(`${JSON.stringify(e)}\n`);
    let timer: NodeJS.Timeout | undefined;
    const failed = Promise.race([
      this.exited.then((code) => {
        throw new Error(`${this.fn} process exited ${code}:\n${this.tail}`);
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${this.fn}: ${events.length} invocations not done in ${timeoutMs} ms`)),
          timeoutMs,
        );
      }),
    ]);
    try {
      return await Promise.race([Promise.all(results), failed]);
    } finally {
      clearTimeout(timer);
      failed.catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}
