/**
 * A bundled handler kept warm in one Node process, as a warm Lambda: each line of stdin is
 * an event, run one after another through the same loaded module (module scope stays warm
 * between invocations). Started by ./warm-function.ts:
 *
 *   node warm-runner.mjs <bundle file> <timeout seconds> <context name> [<marker URL>]
 *
 * After each invocation it prints "\nTIMED {index, start, end, result}\n" (epoch ms) and, with
 * a marker URL, GETs <marker URL>/<index> so a request log can be split per invocation. A
 * handler that throws ends the process: "\nTHREW <stack>\n", exit status 3. Once stdin ends
 * and the last event is done, it exits 0.
 */
import { createRequire } from 'node:module';
import process from 'node:process';
import readline from 'node:readline';
import { lambdaContext } from './lambda-context.mjs';

// The bundles are CommonJS, as serverless-esbuild writes them.
const require = createRequire(import.meta.url);

const [file, timeoutSeconds, contextName, markerUrl] = process.argv.slice(2);
const { handler } = require(file);

const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
let next = 0;
lines.on('line', (line) => {
  const index = next++;
  queue = queue
    .then(async () => {
      const event = JSON.parse(line);
      const start = Date.now();
      const deadline = Date.now() + Number(timeoutSeconds) * 1000;
      const result = await handler(event, lambdaContext(`req-${index}`, contextName, deadline));
      const end = Date.now();
      if (markerUrl) await (await globalThis.fetch(`${markerUrl}/${index}`)).arrayBuffer();
      process.stdout.write(`\nTIMED ${JSON.stringify({ index, start, end, result })}\n`);
    })
    .catch((error) => {
      process.stdout.write(`\nTHREW ${String((error && error.stack) || error)}\n`);
      process.exit(3);
    });
});
lines.on('close', () => {
  void queue.then(() => process.exit(0));
});
