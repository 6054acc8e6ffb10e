import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { startCloudSim } from '../../scripts/cloud-sim';
import type { CloudSim } from '../../scripts/cloud-sim';
import { call, clients, issueToken, serverBody } from './helpers';

let sim: CloudSim;
let api: ReturnType<typeof clients>;

before(async () => {
  sim = await startCloudSim({ bootDelayMs: 0 });
  api = clients(sim, await issueToken(sim));
});

afterEach(() => {
  sim.faults.clear();
});

after(async () => {
  await sim.close();
});

test('status fault: service error body by default, custom body when given, then cleared', async () => {
  const id = sim.faults.add({ service: 'compute', method: 'GET', path: '/servers$', effect: { status: 503 } });
  assert.match(id, /^fault-\d+$/);
  const unavailable = await api.nova('/servers');
  assert.equal(unavailable.status, 503);
  assert.equal(unavailable.body.serviceUnavailable.code, 503);
  assert.equal((await api.nova('/flavors')).status, 200, 'other paths are untouched');

  sim.faults.add({ service: 'network', effect: { status: 500, body: { custom: true } } });
  const custom = await api.neutron('/networks');
  assert.deepEqual([custom.status, custom.body], [500, { custom: true }]);

  assert.equal(sim.faults.remove(id), true);
  assert.equal(sim.faults.remove(id), false);
  assert.equal((await api.nova('/servers')).status, 200);
  const neutronDefault = await api.neutron('/networks');
  assert.equal(neutronDefault.status, 500);
  sim.faults.clear();
  assert.equal((await api.neutron('/networks')).status, 200);
});

test('times limits how often a rule fires; requests are still recorded', async () => {
  sim.faults.add({ service: 'identity', method: 'POST', effect: { status: 500 }, times: 2 });
  const before = sim.requestCounts()['identity:POST /v3/auth/tokens'] ?? 0;
  await assert.rejects(issueToken(sim));
  await assert.rejects(issueToken(sim));
  assert.ok(await issueToken(sim));
  assert.equal((sim.requestCounts()['identity:POST /v3/auth/tokens'] ?? 0) - before, 3);
  const statuses = sim
    .requests()
    .filter((r) => r.service === 'identity')
    .slice(-3)
    .map((r) => r.status);
  assert.deepEqual(statuses, [500, 500, 201]);
  assert.equal(sim.faults.list()[0]?.applied, 2);
});

test('delay fault slows the answer but keeps it correct', async () => {
  sim.faults.add({ service: 'compute', path: '/flavors', effect: { delayMs: 150 } });
  const started = Date.now();
  const response = await api.nova('/flavors');
  assert.equal(response.status, 200);
  assert.ok(Date.now() - started >= 140, 'the delay was applied');
});

test('reset fault destroys the connection', async () => {
  sim.faults.add({ service: 'network', path: 'floatingips', effect: { reset: true }, times: 1 });
  await assert.rejects(api.neutron('/floatingips'));
  assert.equal((await api.neutron('/floatingips')).status, 200);
  const resetRecord = sim.requests().find((r) => r.service === 'network' && r.status === 0);
  assert.ok(resetRecord, 'the reset request is recorded with status 0');
});

test('hang fault never answers (the client gives up); close() still completes', async () => {
  const hanging = await startCloudSim();
  try {
    hanging.faults.add({ service: 'image', effect: { hang: true } });
    const token = await issueToken(hanging);
    await assert.rejects(
      fetch(`${hanging.url}/image/v2/images`, { headers: { 'X-Auth-Token': token }, signal: AbortSignal.timeout(150) }),
    );
  } finally {
    await hanging.close();
  }
});

test('rate with a seed is reproducible', async () => {
  const pattern = async (seed: number): Promise<number[]> => {
    const cloud = await startCloudSim();
    try {
      cloud.faults.add({ service: 'compute', effect: { status: 500 }, rate: 0.5, seed });
      const nova = clients(cloud, await issueToken(cloud)).nova;
      const statuses: number[] = [];
      for (let i = 0; i < 16; i += 1) statuses.push((await nova('/flavors')).status);
      return statuses;
    } finally {
      await cloud.close();
    }
  };
  const first = await pattern(7);
  const second = await pattern(7);
  assert.deepEqual(first, second);
  assert.ok(first.includes(500) && first.includes(200), `a 0.5 rate mixes outcomes: ${first.join(',')}`);
  const other = await pattern(8);
  assert.notDeepEqual(first, other);
});

test('rules validate their input', () => {
  assert.throws(() => sim.faults.add({ effect: { status: 42 } }), TypeError);
  assert.throws(() => sim.faults.add({ path: '(', effect: { status: 500 } }), TypeError);
  assert.throws(() => sim.faults.add({ rate: 2, effect: { status: 500 } }), TypeError);
  assert.throws(() => sim.faults.serverOutcome({ namePattern: '[', outcome: 'error' }), TypeError);
});

test('HTTP control API under /_sim mirrors the programmatic one and is immune to faults', async () => {
  const control = (path: string, method = 'GET', body?: unknown) =>
    call(`${sim.url}/_sim${path}`, { method, ...(body !== undefined ? { body } : {}) });
  const added = await control('/faults', 'POST', { service: 'compute', effect: { status: 502 } });
  assert.equal(added.status, 201);
  assert.equal((await api.nova('/servers')).status, 502);
  assert.equal((await control('/faults', 'POST', { effect: { nope: 1 } })).status, 400);
  assert.equal((await control(`/faults/${added.body.id}`, 'DELETE')).status, 204);
  assert.equal((await control(`/faults/${added.body.id}`, 'DELETE')).status, 404);
  assert.equal((await api.nova('/servers')).status, 200);

  await control('/faults', 'POST', { effect: { status: 500 } });
  assert.equal((await control('/state')).status, 200, '/_sim is not subject to faults');
  assert.equal((await control('/faults', 'DELETE')).status, 204);

  const outcome = await control('/server-outcomes', 'POST', { namePattern: '^http-doomed', outcome: 'error' });
  assert.equal(outcome.status, 201);
  await api.nova('/servers', { method: 'POST', body: serverBody('http-doomed-1') });
  const state = await control('/state');
  assert.equal(state.body.counts.servers, 1);
  assert.equal(state.body.servers[0].status, 'ERROR');
  assert.match(state.body.servers[0].fault.message, /No valid host/);

  assert.equal((await control('/floating-ip-association', 'POST', { delayMs: 10 })).status, 204);
  assert.equal((await control('/floating-ip-association', 'POST', { mode: 'sometimes' })).status, 400);

  const requests = await control('/requests');
  assert.ok(requests.body.requests.length > 0);
  assert.ok(requests.body.counts.compute > 0);

  assert.equal((await control('/expire-tokens', 'POST')).status, 204);
  assert.equal((await api.nova('/servers')).status, 401);
  assert.equal((await control('/reset', 'POST')).status, 204);
  assert.deepEqual(sim.counts(), { servers: 0, floatingIps: 0, ports: 0, tokens: 0 });
  api = clients(sim, await issueToken(sim));
});

test('reset() empties the cloud, its tokens, rules and request log', async () => {
  await api.nova('/servers', { method: 'POST', body: serverBody('to-reset') });
  sim.faults.add({ service: 'compute', effect: { status: 500 } });
  sim.reset();
  assert.deepEqual(sim.counts(), { servers: 0, floatingIps: 0, ports: 0, tokens: 0 });
  assert.deepEqual(sim.requests(), []);
  assert.deepEqual(sim.faults.list(), []);
  api = clients(sim, await issueToken(sim));
  assert.equal((await api.nova('/servers')).status, 200);
});
