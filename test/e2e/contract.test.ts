/**
 * End to end, from the outside: the real `gearman` CLI (gearman-tools) submits jobs to a
 * real gearmand; pool-bridge takes them and invokes the functions bundled by
 * serverless-esbuild and served by serverless offline; they drive the cloud simulator.
 * Nothing in between is a fake. One fleet for the whole file.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Action } from '../../contract';
import { ACTIONS } from '../../contract';
import type { Fleet } from '../../scripts/fleet';
import type { ContractExample } from '../helpers/contract-examples';
import { contractExamples, withoutTrailingComma } from '../helpers/contract-examples';
import { gearman, sortedKeys, startTestFleet } from './helpers';

const NAME_PATTERN = /^libra-stg-haproxy-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SPEC_NAME = 'libra-stg-haproxy-eaf1fef0-1584-11e3-b42b-02163e192df9';
const SPEC_IP = '15.185.234.125';
const inSimPool = (ip: unknown): boolean => typeof ip === 'string' && net.isIPv4(ip) && ip.startsWith('127.0.100.');

let fleet: Fleet;
let examples: Map<Action, ContractExample>;

before(async () => {
  fleet = await startTestFleet();
  examples = new Map(contractExamples().map((e) => [e.action, e]));
});

after(async () => {
  await fleet?.stop();
});

function example(action: Action): ContractExample {
  const e = examples.get(action);
  assert.ok(e, `contract/examples/ has an example of ${action}`);
  return e;
}

function cloud(): NonNullable<Fleet['cloud']> {
  assert.ok(fleet.cloud, 'the fleet runs the simulator');
  return fleet.cloud;
}

/** The gearman CLI exited 0 and printed a JSON object; returns it. */
async function job(payload: string, unique?: string): Promise<Record<string, unknown>> {
  const r = await gearman(fleet, payload, unique === undefined ? {} : { unique });
  assert.equal(r.code, 0, `gearman exited ${r.code}: ${r.stderr}`);
  assert.ok(r.json, `gearman printed a JSON object, got: ${r.stdout}`);
  return r.json;
}

test('contract/examples/ has an example of each action the tests send', () => {
  assert.deepEqual([...examples.keys()], Object.keys(ACTIONS));
});

describe('each example of contract/examples/, sent verbatim with the gearman CLI', () => {
  let name = '';
  let ip = '';
  let ipId = '';

  test('BUILD_DEVICE: PASS with the fields of the specified response', async () => {
    const spec = example('BUILD_DEVICE');
    const before = cloud().counts().servers;
    const result = await job(spec.message);
    assert.deepEqual(sortedKeys(result), sortedKeys(spec.response), JSON.stringify(result));
    assert.equal(result.action, 'BUILD_DEVICE');
    assert.equal(result.response, 'PASS');
    assert.match(String(result.name), NAME_PATTERN);
    assert.ok(net.isIPv4(String(result.addr)), `addr is an IPv4 address: ${String(result.addr)}`);
    assert.equal(result.type, 'basename: libra-stg-haproxy, image: haproxy-lb');
    assert.equal(result.az, '3');
    name = String(result.name);
    const server = cloud()
      .servers()
      .find((s) => s.name === name);
    assert.ok(server, 'the server exists in the cloud');
    assert.equal(server.status, 'ACTIVE');
    assert.ok(
      server.networks.some((n) => n.fixedIp === result.addr),
      'addr is the server address',
    );
    assert.equal(cloud().counts().servers, before + 1);
  });

  test('BUILD_IP as written (a trailing comma: not JSON): FAIL with an error, nothing allocated', async () => {
    const spec = example('BUILD_IP');
    assert.match(spec.message, /"BUILD_IP",\s*\}/, 'the example still has its trailing comma');
    const before = cloud().counts().floatingIps;
    const result = await job(spec.message);
    assert.equal(result.response, 'FAIL');
    assert.match(String(result.error), /not valid JSON/);
    // A payload that is not a JSON object has no fields to echo.
    assert.deepEqual(sortedKeys(result), ['error', 'response']);
    assert.equal(cloud().counts().floatingIps, before);
  });

  test('BUILD_IP without the trailing comma: PASS with the fields of the specified response', async () => {
    const spec = example('BUILD_IP');
    const fixed = withoutTrailingComma(spec.message);
    const result = await job(fixed);
    assert.deepEqual(sortedKeys(result), sortedKeys(spec.response), JSON.stringify(result));
    assert.equal(result.action, 'BUILD_IP');
    assert.equal(result.response, 'PASS');
    assert.equal(typeof result.id, 'string');
    assert.ok(inSimPool(result.ip), `ip is one of the cloud's floating IPs: ${String(result.ip)}`);
    ip = String(result.ip);
    ipId = String(result.id);
    const fip = cloud()
      .floatingIps()
      .find((f) => f.address === ip);
    assert.ok(fip, 'the floating IP is allocated');
    assert.equal(fip.id, ipId);
  });

  test('ASSIGN_IP as written (no such device in this cloud): FAIL naming the device', async () => {
    const spec = example('ASSIGN_IP');
    const result = await job(spec.message);
    assert.deepEqual(sortedKeys(result), sortedKeys({ ...spec.response, error: '' }), JSON.stringify(result));
    assert.equal(result.action, 'ASSIGN_IP');
    assert.equal(result.ip, SPEC_IP);
    assert.equal(result.name, SPEC_NAME);
    assert.equal(result.response, 'FAIL');
    assert.equal(result.error, `no server is named ${SPEC_NAME}`);
  });

  test('ASSIGN_IP with the device and IP just built: PASS, and the cloud shows the association', async () => {
    const spec = example('ASSIGN_IP');
    const result = await job(spec.message.replace(SPEC_IP, ip).replace(SPEC_NAME, name));
    assert.deepEqual(result, { action: 'ASSIGN_IP', ip, name, response: 'PASS' });
    const server = cloud()
      .servers()
      .find((s) => s.name === name);
    assert.deepEqual(server?.floatingIps, [ip]);
    assert.equal(
      cloud()
        .floatingIps()
        .find((f) => f.address === ip)?.serverId,
      server?.id,
    );
  });

  test('REMOVE_IP as written (no such IP in this cloud): FAIL naming the IP', async () => {
    const spec = example('REMOVE_IP');
    const result = await job(spec.message);
    assert.deepEqual(sortedKeys(result), sortedKeys({ ...spec.response, error: '' }), JSON.stringify(result));
    assert.equal(result.action, 'REMOVE_IP');
    assert.equal(result.ip, SPEC_IP);
    assert.equal(result.name, SPEC_NAME);
    assert.equal(result.response, 'FAIL');
    assert.equal(result.error, `no floating IP ${SPEC_IP} in this project`);
    // The association made above is untouched.
    assert.deepEqual(
      cloud()
        .servers()
        .find((s) => s.name === name)?.floatingIps,
      [ip],
    );
  });

  test('REMOVE_IP with the device and IP just built: PASS, the IP stays allocated', async () => {
    const spec = example('REMOVE_IP');
    const result = await job(spec.message.replace(SPEC_IP, ip).replace(SPEC_NAME, name));
    assert.deepEqual(result, { action: 'REMOVE_IP', ip, name, response: 'PASS' });
    const fip = cloud()
      .floatingIps()
      .find((f) => f.address === ip);
    assert.ok(fip, 'still allocated');
    assert.equal(fip.serverId, null);
    assert.deepEqual(
      cloud()
        .servers()
        .find((s) => s.name === name)?.floatingIps,
      [],
    );
  });

  test('DELETE_IP (the contract adds it) with the IP just built: PASS, the IP is released', async () => {
    const spec = example('DELETE_IP');
    const result = await job(spec.message.replace(SPEC_IP, ip));
    assert.deepEqual(result, { ...spec.response, ip });
    assert.equal(
      cloud()
        .floatingIps()
        .find((f) => f.address === ip),
      undefined,
    );
  });

  test('DELETE_DEVICE as written (a device that is not there): PASS, the goal state holds', async () => {
    const spec = example('DELETE_DEVICE');
    const before = cloud().counts().servers;
    const result = await job(spec.message);
    assert.deepEqual(result, spec.response);
    assert.equal(cloud().counts().servers, before, 'nothing else was deleted');
  });

  test('DELETE_DEVICE with the device just built: PASS, the cloud is empty again', async () => {
    const spec = example('DELETE_DEVICE');
    const result = await job(spec.message.replace(SPEC_NAME, name));
    assert.deepEqual(result, { ...spec.response, name });
    assert.equal(
      cloud()
        .servers()
        .find((s) => s.name === name),
      undefined,
    );
    assert.deepEqual(
      { servers: cloud().counts().servers, floatingIps: cloud().counts().floatingIps },
      { servers: 0, floatingIps: 0 },
    );
  });
});

test('a full lifecycle through the gearman CLI leaves the simulator empty', async () => {
  const built = await job('{"action":"BUILD_DEVICE"}', randomUUID());
  assert.equal(built.response, 'PASS', JSON.stringify(built));
  const name = String(built.name);
  const allocated = await job('{"action":"BUILD_IP"}', randomUUID());
  assert.equal(allocated.response, 'PASS', JSON.stringify(allocated));
  const ip = String(allocated.ip);
  assert.deepEqual(cloud().counts().servers, 1);
  assert.deepEqual(cloud().counts().floatingIps, 1);

  const steps: [string, Record<string, unknown>][] = [
    ['ASSIGN_IP', { ip, name }],
    ['REMOVE_IP', { ip, name }],
    ['DELETE_IP', { ip }],
    ['DELETE_DEVICE', { name }],
  ];
  for (const [action, fields] of steps) {
    const message = { action, ...fields };
    const result = await job(JSON.stringify(message), randomUUID());
    assert.deepEqual(result, { ...message, response: 'PASS' }, `${action}: ${JSON.stringify(result)}`);
  }
  const counts = cloud().counts();
  assert.deepEqual(
    { servers: counts.servers, floatingIps: counts.floatingIps, ports: counts.ports },
    { servers: 0, floatingIps: 0, ports: 0 },
  );
});

describe('the same unique id twice (gearman -u) gives one device, one IP', () => {
  test('BUILD_DEVICE resubmitted after it finished: the same device', async () => {
    const unique = `e2e-build-device-${randomUUID()}`;
    const before = cloud().counts().servers;
    const first = await job('{"action":"BUILD_DEVICE"}', unique);
    const second = await job('{"action":"BUILD_DEVICE"}', unique);
    assert.equal(first.response, 'PASS', JSON.stringify(first));
    assert.deepEqual(second, first);
    assert.equal(cloud().counts().servers, before + 1);
    assert.equal((await job(JSON.stringify({ action: 'DELETE_DEVICE', name: first.name }))).response, 'PASS');
  });

  test('BUILD_DEVICE sent twice at once: one device, both clients get it', async () => {
    const unique = `e2e-build-device-${randomUUID()}`;
    const before = cloud().counts().servers;
    const [a, b] = await Promise.all([
      job('{"action":"BUILD_DEVICE"}', unique),
      job('{"action":"BUILD_DEVICE"}', unique),
    ]);
    assert.equal(a.response, 'PASS', JSON.stringify(a));
    assert.deepEqual(b, a);
    assert.equal(cloud().counts().servers, before + 1);
    assert.equal((await job(JSON.stringify({ action: 'DELETE_DEVICE', name: a.name }))).response, 'PASS');
  });

  test('BUILD_IP resubmitted, and sent twice at once: one IP each time', async () => {
    const before = cloud().counts().floatingIps;
    const unique = `e2e-build-ip-${randomUUID()}`;
    const first = await job('{"action":"BUILD_IP"}', unique);
    const again = await job('{"action":"BUILD_IP"}', unique);
    assert.equal(first.response, 'PASS', JSON.stringify(first));
    assert.deepEqual(again, first);
    const concurrent = `e2e-build-ip-${randomUUID()}`;
    const [a, b] = await Promise.all([
      job('{"action":"BUILD_IP"}', concurrent),
      job('{"action":"BUILD_IP"}', concurrent),
    ]);
    assert.equal(a.response, 'PASS', JSON.stringify(a));
    assert.deepEqual(b, a);
    assert.notEqual(a.ip, first.ip);
    assert.equal(cloud().counts().floatingIps, before + 2);
    for (const ip of [first.ip, a.ip])
      assert.equal((await job(JSON.stringify({ action: 'DELETE_IP', ip }))).response, 'PASS');
    assert.equal(cloud().counts().floatingIps, before);
  });
});

describe('messages the contract rejects, through the gearman CLI', () => {
  test('an array, a number, an unknown action: FAIL with an error', async () => {
    for (const [payload, error] of [
      ['[{"action":"BUILD_IP"}]', /not an object/],
      ['42', /not an object/],
      ['{"action":"BUILD_EVERYTHING","x":1}', /unknown action "BUILD_EVERYTHING"/],
      ['{"name":"x"}', /no "action"/],
    ] as const) {
      const result = await job(payload);
      assert.equal(result.response, 'FAIL', payload);
      assert.match(String(result.error), error, payload);
    }
  });

  test('the action is matched case-insensitively and echoed as sent', async () => {
    const result = await job('{"action":"build_ip","note":"kept"}');
    assert.equal(result.action, 'build_ip');
    assert.equal(result.note, 'kept');
    assert.equal(result.response, 'PASS', JSON.stringify(result));
    assert.equal((await job(JSON.stringify({ action: 'delete_ip', ip: result.ip }))).response, 'PASS');
  });
});

test('the jobs went through serverless offline and the bundled functions', () => {
  assert.ok(fleet.functions, 'the fleet runs serverless offline');
  const log = fs.readFileSync(fleet.functions.logFile, 'utf8');
  for (const fn of ['buildDevice', 'deleteDevice', 'buildIp', 'assignIp', 'removeIp', 'deleteIp']) {
    assert.match(log, new RegExp(`\\(λ: ${fn}\\) RequestId`), `serverless offline ran ${fn}`);
  }
  const calls = cloud().requestCounts();
  assert.ok((calls['compute:POST /v2.1/servers'] ?? 0) > 0, 'the functions booted servers in the simulator');
  assert.ok((calls['network:POST /v2.0/floatingips'] ?? 0) > 0, 'and allocated floating IPs through Neutron');
});
