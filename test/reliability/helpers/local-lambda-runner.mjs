/**
 * A local stand-in for AWS Lambda that runs the real, bundled handlers: it serves the
 * Invoke API (POST /2015-03-31/functions/{name}/invocations) on 127.0.0.1, runs the
 * handler of {name} (minus the prefix) in this process, and answers like Lambda does:
 * the result as JSON, X-Amz-Function-Error for a handler that throws or runs past its
 * timeout (Sandbox.Timedout), 404 for an unknown function, 400 for a payload that is
 * not JSON. As on Lambda, a function keeps running when the caller goes away.
 *
 *   node local-lambda-runner.mjs <bundle dir> '<config JSON>'
 *   config: { prefix, functions: ["buildDevice", ...], timeouts: { buildDevice: 900, ... }, ext: ".cjs" }
 *   (local-lambda.ts fills prefix and functions in from the contract)
 *
 * Prints "LOCAL-LAMBDA-LISTENING <port>" once ready. GET /_local/invocations lists every
 * invocation so far (function, unique id, start, end, response).
 */
import { Buffer } from 'node:buffer';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { lambdaContext } from '../../../scripts/lambda/lambda-context.mjs';

// The bundles are CommonJS, as serverless-esbuild writes them.
const require = createRequire(import.meta.url);

const [dir, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson || '{}');
if (typeof config.prefix !== 'string' || !Array.isArray(config.functions))
  throw new Error('local-lambda-runner: the config needs the function prefix and names (see local-lambda.ts)');
const prefix = config.prefix;
const timeouts = config.timeouts || {};
const ext = config.ext || '.cjs';
const FUNCTIONS = config.functions;
const handlers = new Map();
const invocations = [];
let nextId = 1;

function handlerFor(fn) {
  if (!handlers.has(fn)) handlers.set(fn, require(path.join(dir, fn + ext)).handler);
  return handlers.get(fn);
}

function send(res, status, body, headers) {
  if (res.destroyed || res.writableEnded) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

function awsError(res, status, type, message, requestId) {
  send(
    res,
    status,
    { Type: status >= 500 ? 'Service' : 'User', message },
    {
      'x-amzn-errortype': type,
      'x-amzn-requestid': requestId,
    },
  );
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const url = req.url || '';
    if (req.method === 'GET' && url === '/_local/invocations') return send(res, 200, invocations);
    const requestId = `local-${nextId++}`;
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(url);
    if (!match || req.method !== 'POST')
      return awsError(res, 404, 'ResourceNotFoundException', `no route ${req.method} ${url}`, requestId);
    const name = decodeURIComponent(match[1]);
    const fn = name.startsWith(prefix) ? name.slice(prefix.length) : '';
    if (!FUNCTIONS.includes(fn))
      return awsError(res, 404, 'ResourceNotFoundException', `Function not found: ${name}`, requestId);
    let event;
    try {
      event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return awsError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json', requestId);
    }
    const timeoutSeconds = Number(timeouts[fn] || 6);
    const deadline = Date.now() + timeoutSeconds * 1000;
    const record = {
      id: requestId,
      function: fn,
      // As the handlers log it: the text, or base64:<bytes> for a unique id that is not UTF-8.
      unique:
        event && typeof event.unique === 'string'
          ? event.unique
          : event && typeof event.uniqueBase64 === 'string'
            ? `base64:${event.uniqueBase64}`
            : null,
      action: event && event.message && typeof event.message.action === 'string' ? event.message.action : null,
      startedAt: Date.now(),
      endedAt: null,
      response: null,
      callerGone: false,
      error: null,
    };
    invocations.push(record);
    res.on('close', () => {
      if (record.endedAt === null) record.callerGone = true;
    });
    const context = lambdaContext(requestId, name, deadline);
    const headers = { 'x-amz-executed-version': '$LATEST', 'x-amzn-requestid': requestId };
    const timer = setTimeout(() => {
      record.response = 'TIMEOUT';
      send(
        res,
        200,
        {
          errorType: 'Sandbox.Timedout',
          errorMessage: `RequestId: ${requestId} Error: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`,
        },
        {
          ...headers,
          'x-amz-function-error': 'Unhandled',
        },
      );
    }, timeoutSeconds * 1000);
    Promise.resolve()
      .then(() => handlerFor(fn)(event, context))
      .then(
        (result) => {
          record.endedAt = Date.now();
          record.response ??= result && typeof result.response === 'string' ? result.response : 'NO-RESPONSE';
          clearTimeout(timer);
          send(res, 200, JSON.stringify(result === undefined ? null : result), headers);
        },
        (error) => {
          record.endedAt = Date.now();
          record.response ??= 'THREW';
          clearTimeout(timer);
          const e = error instanceof Error ? error : new Error(String(error));
          record.error = `${e.name}: ${e.message}`.slice(0, 500);
          send(
            res,
            200,
            { errorType: e.name, errorMessage: e.message, trace: String(e.stack || '').split('\n') },
            {
              ...headers,
              'x-amz-function-error': 'Unhandled',
            },
          );
        },
      );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`\nLOCAL-LAMBDA-LISTENING ${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
