/**
 * LambdaInvoker against a local stand-in for the Lambda Invoke API: throttling retried with
 * backoff, a lost answer invoked again (bounded), a refused request never retried, the
 * timeout and the function-error header honoured.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backoffDelay } from '../../bridge/invoker';
import { LambdaInvoker } from '../../bridge/lambda-invoker';
import type { FakeLambda } from '../../scripts/lambda/fake-lambda';
import { echoPass, startFakeLambda } from '../../scripts/lambda/fake-lambda';

const creds = { accessKeyId: 'test', secretAccessKey: 'test' };
const envelope = Buffer.from(JSON.stringify({ envelope: 'libra-pool-manager/v1', message: { action: 'BUILD_IP' } }));

describe('LambdaInvoker', () => {
  let lambda: FakeLambda;
  before(async () => {
    lambda = await startFakeLambda();
  });
  after(async () => {
    await lambda.close();
  });

  const invoker = (overrides: Partial<ConstructorParameters<typeof LambdaInvoker>[0]> = {}): LambdaInvoker =>
    new LambdaInvoker({
      endpoint: lambda.url,
      region: 'us-east-1',
      credentials: creds,
      invokeTimeoutMs: 5000,
      throttle: { baseDelayMs: 10, maxDelayMs: 50, maxRetries: 3 },
      ...overrides,
    });

  test('RequestResponse invoke: the payload goes out as sent and the result comes back', async () => {
    lambda.handler = echoPass;
    const start = lambda.requests.length;
    const inv = invoker();
    try {
      const out = await inv.invoke('pool-manager-dev-buildIp', envelope);
      assert.equal(out.status, 'returned');
      assert.deepEqual(JSON.parse(Buffer.from(out.status === 'returned' ? out.payload : []).toString()), {
        action: 'BUILD_IP',
        response: 'PASS',
      });
      const req = lambda.requests[start];
      assert.ok(req);
      assert.equal(req.method, 'POST');
      assert.equal(req.path, '/2015-03-31/functions/pool-manager-dev-buildIp/invocations');
      assert.equal(req.headers['x-amz-invocation-type'], 'RequestResponse');
      assert.deepEqual(req.body, envelope);
      assert.match(String(req.headers.authorization), /^AWS4-HMAC-SHA256 /);
    } finally {
      inv.destroy();
    }
  });

  test('X-Amz-Function-Error is reported as a function error with its document', async () => {
    lambda.handler = () => ({
      kind: 'result',
      functionError: 'Unhandled',
      body: JSON.stringify({ errorType: 'TypeError', errorMessage: 'boom' }),
    });
    const inv = invoker();
    try {
      const out = await inv.invoke('f', envelope);
      assert.equal(out.status, 'returned');
      assert.equal(out.status === 'returned' && out.functionError, 'Unhandled');
    } finally {
      inv.destroy();
    }
  });

  test('throttling (429 TooManyRequestsException) is retried, then succeeds', async () => {
    let n = 0;
    lambda.handler = (req) =>
      ++n <= 2
        ? {
            kind: 'error',
            status: 429,
            type: 'TooManyRequestsException',
            message: 'Rate Exceeded.',
            extra: { Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' },
          }
        : echoPass(req);
    const start = lambda.requests.length;
    const throttles: number[] = [];
    const inv = invoker({ onThrottle: ({ attempt }) => throttles.push(attempt) });
    try {
      const out = await inv.invoke('f', envelope);
      assert.equal(out.status, 'returned');
      assert.equal(out.status === 'returned' && out.throttledAttempts, 2);
      assert.equal(lambda.requests.length - start, 3);
      assert.deepEqual(throttles, [1, 2]);
    } finally {
      inv.destroy();
    }
  });

  test('throttling that does not stop gives up after maxRetries with reason "throttled"', async () => {
    lambda.handler = () => ({
      kind: 'error',
      status: 429,
      type: 'TooManyRequestsException',
      message: 'Rate Exceeded.',
    });
    const start = lambda.requests.length;
    const inv = invoker({ throttle: { baseDelayMs: 5, maxDelayMs: 20, maxRetries: 2 } });
    try {
      const out = await inv.invoke('f', envelope);
      assert.equal(out.status, 'failed');
      assert.equal(out.status === 'failed' && out.reason, 'throttled');
      assert.equal(lambda.requests.length - start, 3);
    } finally {
      inv.destroy();
    }
  });

  test('a lost answer (500, 502, 503, a dropped connection) is invoked again with the same envelope, then served', async () => {
    for (const reply of [
      { kind: 'error', status: 500, type: 'ServiceException', message: 'internal failure' },
      { kind: 'error', status: 502, type: 'EC2UnexpectedException', message: 'bad gateway' },
      { kind: 'error', status: 503, type: 'ServiceException', message: 'unavailable' },
      { kind: 'destroy' },
    ] as const) {
      let n = 0;
      lambda.handler = (req) => (++n === 1 ? reply : echoPass(req));
      const start = lambda.requests.length;
      const retries: { attempt: number; error: string }[] = [];
      const inv = invoker({
        lostAnswer: { baseDelayMs: 10, maxDelayMs: 20 },
        onLostAnswer: ({ attempt, error }) => retries.push({ attempt, error }),
      });
      try {
        const out = await inv.invoke('f', envelope);
        assert.equal(out.status, 'returned', JSON.stringify(reply));
        const sent = lambda.requests.slice(start);
        assert.equal(sent.length, 2, `two attempts for ${JSON.stringify(reply)}`);
        assert.deepEqual(sent[1]?.body, sent[0]?.body, 'the same envelope');
        assert.deepEqual(
          retries.map((r) => r.attempt),
          [1],
        );
      } finally {
        inv.destroy();
      }
    }
  });

  test('answers lost on every attempt: three attempts, then reason "lost" (the function may have run)', async () => {
    lambda.handler = () => ({ kind: 'destroy' });
    const start = lambda.requests.length;
    const inv = invoker({ lostAnswer: { baseDelayMs: 10, maxDelayMs: 20 } });
    try {
      const out = await inv.invoke('f', envelope);
      assert.equal(out.status, 'failed');
      assert.equal(out.status === 'failed' && out.reason, 'lost');
      assert.equal(out.status === 'failed' && out.attempts, 3);
      assert.match(
        out.status === 'failed' ? out.message : '',
        /lost 3 time\(s\), last: connection dropped \(ECONNRESET\)/,
      );
      assert.equal(lambda.requests.length - start, 3);
    } finally {
      inv.destroy();
    }
  });

  test('no lost-answer retry past the invoke timeout', async () => {
    lambda.handler = () => ({ kind: 'error', status: 500, type: 'ServiceException', message: 'internal failure' });
    const start = lambda.requests.length;
    const inv = invoker({ invokeTimeoutMs: 400, lostAnswer: { baseDelayMs: 1000, maxDelayMs: 1000 } });
    try {
      const out = await inv.invoke('f', envelope);
      assert.equal(out.status === 'failed' && out.reason, 'lost');
      assert.equal(lambda.requests.length - start, 1, 'the backoff would end past the deadline');
    } finally {
      inv.destroy();
    }
  });

  test('a 4xx (the function did not run) is not retried: reason "error"', async () => {
    for (const reply of [
      {
        kind: 'error',
        status: 403,
        type: 'AccessDeniedException',
        message: 'not authorized to perform lambda:InvokeFunction',
      },
      { kind: 'error', status: 404, type: 'ResourceNotFoundException', message: 'Function not found' },
      { kind: 'error', status: 400, type: 'InvalidRequestContentException', message: 'bad payload' },
    ] as const) {
      lambda.handler = () => reply;
      const start = lambda.requests.length;
      const inv = invoker();
      try {
        const out = await inv.invoke('f', envelope);
        assert.equal(out.status === 'failed' && out.reason, 'error', JSON.stringify(reply));
        assert.match(out.status === 'failed' ? out.message : '', new RegExp(reply.type));
        assert.equal(lambda.requests.length - start, 1, `one attempt for ${reply.status}`);
      } finally {
        inv.destroy();
      }
    }
  });

  test('nothing listening (ECONNREFUSED): reason "error", the function did not run', async () => {
    const closed = await startFakeLambda();
    const url = closed.url;
    await closed.close();
    const inv = new LambdaInvoker({ endpoint: url, region: 'us-east-1', credentials: creds, invokeTimeoutMs: 5000 });
    try {
      const out = await inv.invoke('f', envelope);
      assert.equal(out.status === 'failed' && out.reason, 'error');
      assert.match(out.status === 'failed' ? out.message : '', /ECONNREFUSED/);
    } finally {
      inv.destroy();
    }
  });

  test('no answer within the invoke timeout: reason "timeout", one attempt', async () => {
    lambda.handler = () => ({ kind: 'hang' });
    const start = lambda.requests.length;
    const inv = invoker({ invokeTimeoutMs: 300 });
    try {
      const t0 = Date.now();
      const out = await inv.invoke('f', envelope);
      const took = Date.now() - t0;
      assert.equal(out.status, 'failed');
      assert.equal(out.status === 'failed' && out.reason, 'timeout');
      assert.ok(took >= 250 && took < 3000, `took ${took} ms`);
      assert.equal(lambda.requests.length - start, 1);
    } finally {
      inv.destroy();
    }
  });

  test('an abort signal ends the wait with reason "aborted"', async () => {
    lambda.handler = () => ({ kind: 'hang' });
    const inv = invoker();
    try {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const out = await inv.invoke('f', envelope, controller.signal);
      assert.equal(out.status === 'failed' && out.reason, 'aborted');
    } finally {
      inv.destroy();
    }
  });

  test('the HTTP handler: one attempt, long request timeout, keep-alive agents sized for the concurrency', async () => {
    const inv = invoker({ invokeTimeoutMs: 960_000, maxSockets: 128 });
    try {
      assert.equal(await inv.client.config.maxAttempts(), 1);
      const handler = inv.client.config.requestHandler as unknown as {
        httpHandlerConfigs(): {
          requestTimeout?: number;
          httpAgent?: { keepAlive?: boolean; keepAliveMsecs?: number; maxSockets?: number };
        };
      };
      // The handler resolves its config lazily, on first use.
      lambda.handler = echoPass;
      await inv.invoke('f', envelope);
      const cfg = handler.httpHandlerConfigs();
      assert.equal(cfg.requestTimeout, 960_000);
      assert.equal(cfg.httpAgent?.keepAlive, true);
      assert.equal(cfg.httpAgent?.keepAliveMsecs, 30_000);
      assert.equal(cfg.httpAgent?.maxSockets, 128);
    } finally {
      inv.destroy();
    }
  });

  test('invoke connections are kept alive and reused', async () => {
    lambda.handler = echoPass;
    const inv = invoker();
    try {
      const start = lambda.requests.length;
      await inv.invoke('f', envelope);
      await inv.invoke('f', envelope);
      const [a, b] = lambda.requests.slice(start);
      assert.ok(a && b);
      assert.equal(a.remotePort, b.remotePort);
    } finally {
      inv.destroy();
    }
  });
});

test('backoffDelay: exponential, capped, jittered between half and all of the ceiling', () => {
  assert.equal(
    backoffDelay(1, 100, 1000, () => 0),
    50,
  );
  assert.equal(
    backoffDelay(1, 100, 1000, () => 1),
    100,
  );
  assert.equal(
    backoffDelay(3, 100, 1000, () => 1),
    400,
  );
  assert.equal(
    backoffDelay(10, 100, 1000, () => 1),
    1000,
  );
  assert.equal(
    backoffDelay(10, 100, 1000, () => 0),
    500,
  );
});
