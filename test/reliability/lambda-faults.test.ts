/**
 * The Lambda side failing under the pool-bridge command (a child process, real gearmand,
 * the real LambdaInvoker against a Lambda Invoke API stand-in): a function that crashes,
 * a function that times out (Lambda's Sandbox.Timedout, and no answer at all), throttling
 * that does not stop, an endpoint that is not there, an answer lost once (invoked again, served)
 * or every time (FAIL saying the function may have run). Every job gets a result object, a
 * FAIL with a reason unless the retry served it; the bridge stays up and serves the next job.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Result } from '../../contract/result';
import { deviceName, deviceUuid } from '../../contract';
import type { FakeLambda, LambdaHandler, LambdaReply } from '../../scripts/lambda/fake-lambda';
import { echoPass, startFakeLambda } from '../../scripts/lambda/fake-lambda';
import { GearmanClient } from '../../bridge/gearman';
import { FN, report, useLoopbackGuard } from './helpers/chain';
import type { BridgeProc } from './helpers/procs';
import { startBridgeProcess } from './helpers/procs';
import type { Gearmand } from '../../scripts/harness';
import { freePort, startGearmand } from '../../scripts/harness';

const ACTIONS = ['BUILD_DEVICE', 'DELETE_DEVICE', 'BUILD_IP', 'ASSIGN_IP', 'REMOVE_IP', 'DELETE_IP'];
const MESSAGES = ACTIONS.map((action) => ({ action, name: 'libra-x', ip: '127.0.100.9', keep: 'me' }));

let gd: Gearmand;
let lambda: FakeLambda;
let bridge: BridgeProc;
let client: GearmanClient;

const guard = useLoopbackGuard({
  teardown: async () => {
    client.close();
    await bridge.stop();
    await lambda.close();
    await gd.stop();
  },
});
before(async () => {
  gd = await startGearmand();
  lambda = await startFakeLambda();
  bridge = await startBridgeProcess({
    servers: [gd.address],
    lambdaUrl: lambda.url,
    clientId: 'lambda-faults',
    args: ['--invoke-timeout', '1.5', '--throttle-retries', '2'],
    guardFile: guard.file('lambda-bridge'),
  });
  client = await GearmanClient.connect(gd.address);
});

/** Runs one job per action through gearmand and the bridge; returns the result objects. */
async function jobs(tag: string, via: GearmanClient = client): Promise<{ results: Result[]; ms: number }> {
  const t0 = performance.now();
  const answers = await Promise.all(MESSAGES.map((m, i) => via.submit(FN, `${tag}-${i}`, JSON.stringify(m))));
  const ms = Math.round(performance.now() - t0);
  return {
    ms,
    results: answers.map((a, i) => {
      assert.equal(a.packet, 'WORK_COMPLETE', `${tag}: ${ACTIONS[i]} answered with WORK_COMPLETE`);
      return a.json as Result;
    }),
  };
}

/** Every job FAILed with a reason matching `pattern`, kept the message, and the bridge still serves. */
async function expectFailures(
  scenario: string,
  injected: string,
  tag: string,
  pattern: RegExp,
  proc: BridgeProc = bridge,
  via: GearmanClient = client,
): Promise<void> {
  const before = lambda.requests.length;
  const { results, ms } = await jobs(tag, via);
  for (const r of results) {
    assert.equal(r.response, 'FAIL', JSON.stringify(r));
    assert.equal(r.keep, 'me', 'the message is echoed');
    assert.match(r.error, pattern);
    assert.ok(!r.error.includes('\n'));
  }
  assert.ok(proc.alive(), 'the bridge is still running');
  const health = await proc.health();
  assert.equal(health.status, 200, 'and healthy');
  report(scenario, {
    injected,
    jobs: results.length,
    fail: results.length,
    invokeRequests: lambda.requests.length - before,
    bridgeUp: true,
    ms,
    reason: String(results[0]?.error ?? '')
      .replace(/req-\d+|local-\d+/g, '<id>')
      .slice(0, 160),
  });
}

async function stillServes(tag: string): Promise<void> {
  lambda.handler = echoPass;
  const { results } = await jobs(`${tag}-after`);
  assert.ok(
    results.every((r) => r.response === 'PASS'),
    'the next jobs pass',
  );
}

describe('the Lambda side fails', { timeout: 60_000 }, () => {
  test('the function crashes (uncaught exception; the runtime exits)', async () => {
    let n = 0;
    const crash: LambdaHandler = () =>
      n++ % 2 === 0
        ? {
            kind: 'result',
            functionError: 'Unhandled',
            body: JSON.stringify({
              errorType: 'TypeError',
              errorMessage: "Cannot read properties of undefined (reading 'id')",
              trace: ['TypeError: ...', '    at handler (/var/task/index.js:1:1)'],
            }),
          }
        : {
            kind: 'result',
            functionError: 'Unhandled',
            body: JSON.stringify({
              errorType: 'Runtime.ExitError',
              errorMessage: 'RequestId: 1 Error: Runtime exited with error: exit status 1',
            }),
          };
    lambda.handler = crash;
    await expectFailures(
      'function crash',
      'X-Amz-Function-Error: Unhandled (TypeError; Runtime.ExitError)',
      'crash',
      /failed \(Unhandled\): (TypeError: Cannot read|Runtime\.ExitError: .*exit status 1)/,
    );
    await stillServes('crash');
  });

  test('the function times out (Lambda answers Sandbox.Timedout)', async () => {
    lambda.handler = () => ({
      kind: 'result',
      functionError: 'Unhandled',
      body: JSON.stringify({
        errorType: 'Sandbox.Timedout',
        errorMessage: 'RequestId: 1 Error: Task timed out after 900.00 seconds',
      }),
    });
    await expectFailures(
      'function timeout (Lambda)',
      'Sandbox.Timedout function error',
      'lambda-timeout',
      /failed \(Unhandled\): Sandbox\.Timedout: .*Task timed out/,
    );
    await stillServes('lambda-timeout');
  });

  test('no answer at all within the invoke timeout', async () => {
    lambda.handler = () => ({ kind: 'hang' });
    await expectFailures(
      'function timeout (no answer)',
      'the invoke never answers (--invoke-timeout 1.5 s)',
      'hang',
      /timed out: no answer within the 1\.5 s invoke timeout/,
    );
    await stillServes('hang');
  });

  test('throttling (429 TooManyRequestsException) that does not stop', async () => {
    lambda.handler = () => ({
      kind: 'error',
      status: 429,
      type: 'TooManyRequestsException',
      message: 'Rate Exceeded.',
      extra: { Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' },
    });
    const before = lambda.requests.length;
    await expectFailures(
      'throttling',
      '429 TooManyRequestsException on every invoke (--throttle-retries 2)',
      'throttle',
      /was not run: throttled by Lambda 3 time\(s\)/,
    );
    assert.equal(lambda.requests.length - before, 6 * 3, 'three attempts per job: one plus two retries');
    await stillServes('throttle');
  });

  test('throttling that stops: retried, then served', async () => {
    const seen = new Map<string, number>();
    lambda.handler = (req) => {
      const key = req.body.toString('utf8');
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      return n <= 1
        ? { kind: 'error', status: 429, type: 'TooManyRequestsException', message: 'Rate Exceeded.' }
        : echoPass(req);
    };
    const { results } = await jobs('throttle-once');
    assert.ok(
      results.every((r) => r.response === 'PASS'),
      JSON.stringify(results),
    );
    const metrics = await bridge.metrics();
    assert.match(metrics, /pool_bridge_invoke_throttle_retries_total\{function="pool-manager-dev-buildDevice"\} [1-9]/);
  });

  test('the answer is lost once (500, 503, connection dropped): invoked again with the same envelope, served', async () => {
    const seen = new Map<string, number>();
    const faults: LambdaReply[] = [
      { kind: 'error', status: 500, type: 'ServiceException', message: 'internal failure' },
      { kind: 'error', status: 503, type: 'ServiceException', message: 'unavailable' },
      { kind: 'destroy' },
    ];
    lambda.handler = (req) => {
      const key = req.body.toString('utf8');
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      return n === 1 ? (faults[req.index % faults.length] as LambdaReply) : echoPass(req);
    };
    const before = lambda.requests.length;
    const { results, ms } = await jobs('lost-once');
    assert.ok(
      results.every((r) => r.response === 'PASS' && r.keep === 'me'),
      JSON.stringify(results),
    );
    assert.equal(lambda.requests.length - before, 6 * 2, 'two invokes per job, the second with the same envelope');
    assert.ok([...seen.values()].every((n) => n === 2));
    assert.match(
      await bridge.metrics(),
      /pool_bridge_invoke_lost_answer_retries_total\{function="pool-manager-dev-\w+"\} 1/,
    );
    report('Lambda answer lost once', {
      injected: '500, 503 or the socket destroyed on the first invoke of each job',
      jobs: results.length,
      pass: results.length,
      invokeRequests: lambda.requests.length - before,
      ms,
    });
  });

  test('the answer is lost on every attempt: FAIL saying the function may have run, naming the device', async () => {
    const gd2 = await startGearmand();
    let lossy: BridgeProc | undefined;
    let c2: GearmanClient | undefined;
    try {
      lossy = await startBridgeProcess({
        servers: [gd2.address],
        lambdaUrl: lambda.url,
        clientId: 'lost-answers',
        args: ['--device-basename', 'libra_stg_haproxy'],
        guardFile: guard.file('lambda-lost'),
      });
      c2 = await GearmanClient.connect(gd2.address);
      let n = 0;
      lambda.handler = () =>
        n++ % 2 === 0
          ? { kind: 'error', status: 502, type: 'ServiceException', message: 'bad gateway' }
          : { kind: 'destroy' };
      const before = lambda.requests.length;
      await expectFailures(
        'Lambda answer lost on every attempt',
        '502, or the socket destroyed, on every invoke',
        'lost',
        /invoking pool-manager-dev-\w+ failed and the function may have run: the answer was lost 3 time\(s\)/,
        lossy,
        c2,
      );
      assert.equal(lambda.requests.length - before, 6 * 3, 'three attempts per job');
      const device = await c2.submit(FN, 'lost-device', JSON.stringify({ action: 'BUILD_DEVICE' }));
      const r = device.json as Result;
      const name = deviceName('libra_stg_haproxy', deviceUuid('lost-device'));
      assert.equal(r.response, 'FAIL');
      assert.equal(r.name, name, 'the FAIL names the device the run may have made');
      assert.deepEqual([r.addr, r.type, r.az], ['', '', '']);
      assert.ok(String(r.error).includes(name));
    } finally {
      c2?.close();
      await lossy?.stop();
      await gd2.stop();
    }
  });

  test('the endpoint is unreachable: every job FAILs, the bridge stays up', async () => {
    const closed = await freePort();
    const gd2 = await startGearmand();
    const unreachable = await startBridgeProcess({
      servers: [gd2.address],
      lambdaUrl: `http://127.0.0.1:${closed}`,
      clientId: 'unreachable',
      guardFile: guard.file('lambda-unreachable'),
    });
    const c2 = await GearmanClient.connect(gd2.address);
    try {
      await expectFailures(
        'Lambda endpoint unreachable',
        'nothing listens on the endpoint',
        'unreachable',
        /invoking pool-manager-dev-\w+ failed: .*ECONNREFUSED/,
        unreachable,
        c2,
      );
    } finally {
      c2.close();
      await unreachable.stop();
      await gd2.stop();
    }
  });
});
