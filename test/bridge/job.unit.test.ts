/**
 * Payload bytes + invoke outcome -> result bytes: every path ends in a JSON object sent
 * with WORK_COMPLETE, with a one-line `error` on FAIL.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { InvokeOutcome } from '../../bridge/invoker';
import type { JobAnswer, PreparedJob } from '../../bridge/job';
import { failAnswer, finishJob, prepareJob } from '../../bridge/job';

const opts = { functionPrefix: 'pool-manager-dev-', maxPayloadBytes: 256 * 1024 };
const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

function answerOf(p: PreparedJob): JobAnswer {
  assert.equal(p.kind, 'answer');
  return (p as Extract<PreparedJob, { kind: 'answer' }>).answer;
}

function invokeOf(p: PreparedJob): Extract<PreparedJob, { kind: 'invoke' }> {
  assert.equal(p.kind, 'invoke');
  return p as Extract<PreparedJob, { kind: 'invoke' }>;
}

function result(a: JobAnswer): Record<string, unknown> {
  assert.equal(a.packet, 'WORK_COMPLETE');
  const parsed: unknown = JSON.parse(a.data.toString('utf8'));
  assert.equal(typeof parsed, 'object');
  return parsed as Record<string, unknown>;
}

function assertFail(a: JobAnswer, pattern: RegExp, echo?: Record<string, unknown>): void {
  const r = result(a);
  assert.equal(r.response, 'FAIL');
  assert.equal(a.outcome, 'fail');
  assert.equal(typeof r.error, 'string');
  assert.doesNotMatch(String(r.error), /\n/);
  assert.match(String(r.error), pattern);
  if (echo) for (const [k, v] of Object.entries(echo)) assert.deepEqual(r[k], v, k);
}

describe('prepareJob: routing', () => {
  test('action is matched case-insensitively and routed to prefix + function', () => {
    const cases: [string, string][] = [
      ['BUILD_DEVICE', 'buildDevice'],
      ['delete_device', 'deleteDevice'],
      ['Build_Ip', 'buildIp'],
      ['ASSIGN_IP', 'assignIp'],
      ['REMOVE_IP', 'removeIp'],
      ['DELETE_IP', 'deleteIp'],
    ];
    for (const [action, fn] of cases) {
      const p = invokeOf(prepareJob(bytes(JSON.stringify({ action })), 'u', 'H:1', opts));
      assert.equal(p.functionName, `pool-manager-dev-${fn}`);
    }
  });

  test('the Lambda payload is the envelope: message unchanged, unique id and handle', () => {
    const message = { action: 'assign_ip', ip: '10.0.0.1', name: 'lb-1', extra: { nested: [1, 2] } };
    const p = invokeOf(prepareJob(bytes(JSON.stringify(message)), 'uuid-1', 'H:vm:3', opts));
    assert.deepEqual(JSON.parse(p.payload.toString()), {
      envelope: 'libra-pool-manager/v1',
      unique: 'uuid-1',
      handle: 'H:vm:3',
      message,
    });
  });

  test('no unique id: the envelope has none', () => {
    const p = invokeOf(prepareJob(bytes('{"action":"BUILD_IP"}'), undefined, 'H:1', opts));
    assert.equal('unique' in JSON.parse(p.payload.toString()), false);
  });

  test('the prefix is configurable', () => {
    const p = invokeOf(
      prepareJob(bytes('{"action":"BUILD_IP"}'), 'u', 'H', { ...opts, functionPrefix: 'pool-manager-prod-' }),
    );
    assert.equal(p.functionName, 'pool-manager-prod-buildIp');
  });
});

describe('prepareJob: payloads that are not a JSON object get a FAIL object', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['bad JSON', bytes('{"action": BUILD_IP'), /not valid JSON/],
    ['an array', bytes('[{"action":"BUILD_IP"}]'), /JSON array, not an object/],
    ['a number', bytes('42'), /JSON number/],
    ['a string', bytes('"BUILD_IP"'), /JSON string/],
    ['null', bytes('null'), /JSON null/],
    ['empty', Buffer.alloc(0), /empty/],
    ['whitespace', bytes('  \n'), /not valid JSON/],
    ['binary', Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]), /not UTF-8/],
    ['huge (1 MiB)', Buffer.alloc(1024 * 1024, 0x7b), /1048576 bytes, 786432 over the 262144-byte limit/],
  ];
  for (const [name, payload, pattern] of cases) {
    test(name, () => {
      const a = answerOf(prepareJob(payload, 'u', 'H', opts));
      assertFail(a, pattern);
      assert.equal(a.action, 'invalid');
      assert.deepEqual(Object.keys(result(a)).sort(), ['error', 'response']);
    });
  }

  test('a payload the connection dropped as it streamed in: its declared size is what is over', () => {
    const a = answerOf(prepareJob(Buffer.alloc(0), 'u', 'H', opts, 70 * 1024 * 1024));
    assertFail(a, /^payload is 73400320 bytes, 73138176 over the 262144-byte limit/);
    assert.equal(a.action, 'invalid');
  });

  test('an unknown action: FAIL with the message echoed, action as sent', () => {
    const a = answerOf(prepareJob(bytes('{"action":"Reboot_World","x":1}'), 'u', 'H', opts));
    assertFail(a, /unknown action "Reboot_World"; expected one of BUILD_DEVICE/, { action: 'Reboot_World', x: 1 });
    assert.equal(a.action, 'unknown');
  });

  test('no action, or a non-string action', () => {
    assertFail(answerOf(prepareJob(bytes('{"name":"x"}'), 'u', 'H', opts)), /no "action"/, { name: 'x' });
    assertFail(answerOf(prepareJob(bytes('{"action":7}'), 'u', 'H', opts)), /unknown action of type number/, {
      action: 7,
    });
  });
});

describe('finishJob: invoke outcomes', () => {
  const job = invokeOf(prepareJob(bytes('{"action":"BUILD_DEVICE","zone":"a"}'), 'u', 'H', opts));
  const returned = (body: string, functionError?: string): InvokeOutcome => ({
    status: 'returned',
    payload: bytes(body),
    ...(functionError ? { functionError } : {}),
  });

  test("the function's JSON object goes back verbatim (PASS)", () => {
    const body =
      '{"action":"BUILD_DEVICE", "zone":"a","response":"PASS","name":"n","addr":"1.2.3.4","type":"t","az":"3"}';
    const a = finishJob(job, returned(body));
    assert.equal(a.packet, 'WORK_COMPLETE');
    assert.equal(a.data.toString(), body);
    assert.equal(a.outcome, 'pass');
  });

  test('a FAIL decided by the function also goes back verbatim', () => {
    const body =
      '{"action":"BUILD_DEVICE","response":"FAIL","error":"quota exceeded","name":"n","addr":"","type":"t","az":"3"}';
    const a = finishJob(job, returned(body));
    assert.equal(a.data.toString(), body);
    assert.equal(a.outcome, 'fail');
    assert.equal(a.error, 'quota exceeded');
  });

  test('FunctionError: FAIL naming the function and its error, message echoed', () => {
    const a = finishJob(
      job,
      returned('{"errorType":"Error","errorMessage":"Nova said 500\\nretry later","trace":["a","b"]}', 'Unhandled'),
    );
    assertFail(a, /pool-manager-dev-buildDevice failed \(Unhandled\): Error: Nova said 500 retry later/, {
      action: 'BUILD_DEVICE',
      zone: 'a',
    });
  });

  test('invoke failure, timeout, throttling, abort', () => {
    assertFail(
      finishJob(job, { status: 'failed', reason: 'error', message: 'ECONNREFUSED' }),
      /invoking pool-manager-dev-buildDevice failed: ECONNREFUSED/,
    );
    assertFail(
      finishJob(job, { status: 'failed', reason: 'timeout', message: 'no answer within 960 s' }),
      /timed out: no answer within 960 s/,
    );
    assertFail(
      finishJob(job, { status: 'failed', reason: 'throttled', message: 'throttled 9 times' }),
      /was not run: throttled 9 times/,
    );
    assertFail(finishJob(job, { status: 'failed', reason: 'aborted', message: 'stopping' }), /abandoned/);
  });

  test('a lost answer or a timeout: FAIL saying the function may have run; a BUILD_DEVICE names its device', () => {
    const build = invokeOf(prepareJob(bytes('{"action":"BUILD_DEVICE","zone":"a"}'), 'job-ops-1', 'H:x:1', opts));
    const lost = { status: 'failed', reason: 'lost', attempts: 3, message: 'the answer was lost 3 time(s)' } as const;
    // The name the function gives the device: <POOL_NODE_BASENAME>-<UUIDv5 of the unique id>
    // (docs/operations.md has the same example).
    const name = 'libra-stg-haproxy-0cdc0c9a-df1a-5d03-a28f-1f08aa094faa';
    const named = finishJob(build, lost, { deviceBasename: 'libra_stg_haproxy' });
    assertFail(named, new RegExp(`may have run: the answer was lost 3 time\\(s\\); it may have made device ${name}`), {
      action: 'BUILD_DEVICE',
      zone: 'a',
      name,
      addr: '',
      type: '',
      az: '',
    });
    const timedOut = finishJob(
      build,
      { status: 'failed', reason: 'timeout', message: 'no answer within 960 s' },
      {
        deviceBasename: 'libra-stg-haproxy',
      },
    );
    assertFail(timedOut, /timed out: no answer within 960 s; it may have made device libra-stg-haproxy-0cdc0c9a-/, {
      name,
    });
    // Without --device-basename the uuid is still there, and no guessed name.
    const bare = finishJob(build, lost);
    assertFail(bare, /named <POOL_NODE_BASENAME>-0cdc0c9a-df1a-5d03-a28f-1f08aa094faa \(set --device-basename/);
    assert.equal(result(bare).name, undefined);
    // No unique id: the function drew a random uuid.
    const anonymous = invokeOf(prepareJob(bytes('{"action":"BUILD_DEVICE"}'), undefined, 'H:x:2', opts));
    assertFail(finishJob(anonymous, lost, { deviceBasename: 'b' }), /no unique id, so the name .* cannot be known/);
    // Other actions make no device.
    const ip = invokeOf(prepareJob(bytes('{"action":"BUILD_IP"}'), 'job-ops-1', 'H:x:3', opts));
    const ipFail = result(finishJob(ip, lost, { deviceBasename: 'b' }));
    assert.match(String(ipFail.error), /invoking pool-manager-dev-buildIp failed and the function may have run/);
    assert.equal(ipFail.name, undefined);
  });

  test('a result that is not a JSON object', () => {
    assertFail(finishJob(job, returned('[1,2]')), /returned JSON array, not an object/, { action: 'BUILD_DEVICE' });
    assertFail(finishJob(job, returned('null')), /returned JSON null/);
    assertFail(finishJob(job, returned('not json')), /not JSON: not json/);
    assertFail(finishJob(job, returned('')), /not JSON: \(empty\)/);
  });

  test('an object without response PASS/FAIL is not passed on as a result', () => {
    assertFail(finishJob(job, returned('{"ok":true}')), /without "response"/, { action: 'BUILD_DEVICE', zone: 'a' });
  });

  test('errors are one line and bounded', () => {
    const a = finishJob(job, { status: 'failed', reason: 'error', message: 'x\n'.repeat(5000) });
    const r = result(a);
    assert.ok(String(r.error).length <= 1000);
  });
});

test('failAnswer: WORK_FAIL only when no JSON can be produced', () => {
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  const a = failAnswer(circular, 'x', 'invalid');
  assert.equal(a.packet, 'WORK_FAIL');
  assert.equal(a.outcome, 'work_fail');
  assert.equal(failAnswer({ a: 1 }, 'x', 'invalid').packet, 'WORK_COMPLETE');
});

test('a message nested too deeply to write back: a FAIL object with only its action echoed', () => {
  const depth = 100_000;
  const payload = bytes(`{"action":"BUILD_IP","x":${'['.repeat(depth)}${']'.repeat(depth)}}`);
  const a = answerOf(prepareJob(payload, 'u', 'H', opts));
  assertFail(a, /nested too deeply to forward .*\(the message is too deeply nested to echo\)/, { action: 'BUILD_IP' });
  assert.deepEqual(Object.keys(result(a)).sort(), ['action', 'error', 'response']);
  assert.equal(a.action, 'BUILD_IP');
});
