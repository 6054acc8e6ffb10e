/**
 * The job servers' queues in the bridge's /metrics (bridge/queue-status.ts): the numbers
 * gearmand's own `gearadmin --status` shows, for every Gearman function, read on a connection
 * of the poller's own; a job server that refuses the query, answers garbage, never answers or
 * is gone degrades to "unknown" (admin_up 0, no queue series) while jobs carry on; lost
 * registrations are counted once each.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { GearmanClient } from '../../bridge/gearman';
import type { BridgeHandle } from '../../bridge/index';
import type { InvokeOutcome } from '../../bridge/invoker';
import { GEARMAN_FUNCTION } from '../../contract';
import type { Gearmand } from '../../scripts/harness';
import { freePort, run, startGearmand, until, within } from '../../scripts/harness';
import { allConnected, startTestBridge } from './helpers/bridge';
import { FakeInvoker, passThrough } from './helpers/fake-invoker';
import { startRelay } from '../helpers/relay';
import { selfSigned } from '../helpers/certs';
import { captureLogger } from '../openstack/helpers';
import { metricValue } from '../helpers/promql';

/** One sample of /metrics: its value, or undefined when the series is not there. */
async function sample(
  bridge: BridgeHandle,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  return metricValue(await (await fetch(`${bridge.health?.url}/metrics`)).text(), name, labels);
}

/** The series of a metric present in /metrics, as label strings. */
async function series(bridge: BridgeHandle, name: string): Promise<string[]> {
  const text = await (await fetch(`${bridge.health?.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .map((line) => line.slice(name.length, line.lastIndexOf('}') + 1));
}

/** `gearadmin --status` of the real gearman-tools: function -> [total, running, workers]. */
async function gearadminStatus(gd: Gearmand): Promise<Map<string, [number, number, number]>> {
  const out = await run('gearadmin', ['-h', gd.host, '-p', String(gd.port), '--status']);
  assert.equal(out.code, 0, out.stderr);
  const map = new Map<string, [number, number, number]>();
  for (const line of out.stdout.split('\n')) {
    const cols = line.split('\t');
    if (cols.length === 4) map.set(cols[0] ?? '', [Number(cols[1]), Number(cols[2]), Number(cols[3])]);
  }
  return map;
}

describe('the queue of a real gearmand', { timeout: 30_000 }, () => {
  let gd: Gearmand;
  let bridge: BridgeHandle;
  let client: GearmanClient;
  let release: () => void = () => undefined;
  const invoker = new FakeInvoker();

  before(async () => {
    gd = await startGearmand();
    bridge = await startTestBridge([gd.address], invoker, { concurrency: 1, queuePollIntervalMs: 100 });
    await until(() => allConnected(bridge), 'registration');
    client = await GearmanClient.connect(gd.address);
  });
  after(async () => {
    release();
    client.close();
    await bridge.stop();
    await gd.stop();
  });

  const labels = () => ({ server: gd.address, function: GEARMAN_FUNCTION });

  test('idle: the bridge is the one worker of libra_pool_mgm, nothing queued or running', async () => {
    await until(
      async () => (await sample(bridge, 'pool_bridge_gearman_workers_available', labels())) === 1,
      'workers 1',
    );
    assert.equal(await sample(bridge, 'pool_bridge_gearman_admin_up', { server: gd.address }), 1);
    assert.equal(await sample(bridge, 'pool_bridge_gearman_jobs_queued', labels()), 0);
    assert.equal(await sample(bridge, 'pool_bridge_gearman_jobs_running', labels()), 0);
    assert.deepEqual((await gearadminStatus(gd)).get(GEARMAN_FUNCTION), [0, 0, 1]);
  });

  test('one slot busy and three jobs waiting: running 1, queued 3, as gearadmin --status counts them', async () => {
    const gate = new Promise<void>((resolve) => (release = resolve));
    invoker.handler = async (call): Promise<InvokeOutcome> => {
      await gate;
      return passThrough(call);
    };
    const jobs = [0, 1, 2, 3].map((i) =>
      client.submit(GEARMAN_FUNCTION, `held-${i}`, JSON.stringify({ action: 'BUILD_IP' }), { timeoutMs: 20_000 }),
    );
    await until(
      async () =>
        (await sample(bridge, 'pool_bridge_gearman_jobs_queued', labels())) === 3 &&
        (await sample(bridge, 'pool_bridge_gearman_jobs_running', labels())) === 1,
      'queued 3, running 1 in /metrics',
    );
    // gearmand's TOTAL counts the running job too: 4 in all, 1 running, 1 worker.
    assert.deepEqual((await gearadminStatus(gd)).get(GEARMAN_FUNCTION), [4, 1, 1]);
    release();
    for (const job of await Promise.all(jobs)) assert.equal((job.json as { response: string }).response, 'PASS');
    await until(async () => (await sample(bridge, 'pool_bridge_gearman_jobs_queued', labels())) === 0, 'queue drained');
    invoker.handler = passThrough;
  });

  test("every Gearman function of the server is reported, not only the bridge's", async () => {
    for (const i of [1, 2]) {
      const out = await run('gearman', ['-h', gd.host, '-p', String(gd.port), '-b', '-f', 'reverse', `text-${i}`]);
      assert.equal(out.code, 0, out.stderr);
    }
    const reverse = { server: gd.address, function: 'reverse' };
    await until(
      async () => (await sample(bridge, 'pool_bridge_gearman_jobs_queued', reverse)) === 2,
      'reverse queued 2',
    );
    assert.equal(await sample(bridge, 'pool_bridge_gearman_workers_available', reverse), 0);
    assert.deepEqual((await gearadminStatus(gd)).get('reverse'), [2, 0, 0]);
  });
});

describe('job servers that do not answer the admin protocol', { timeout: 30_000 }, () => {
  let gd: Gearmand;
  let bridge: BridgeHandle;
  const fakes: net.Server[] = [];
  let refusing = '';
  let garbage = '';
  let silent = '';
  const logger = captureLogger();

  const listen = async (onConnection: (socket: net.Socket) => void): Promise<string> => {
    const server = net.createServer(onConnection);
    fakes.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  };

  before(async () => {
    gd = await startGearmand();
    // Answers every line as gearmand does an unknown command.
    refusing = await listen((socket) =>
      socket.on('data', () => socket.write('ERR UNKNOWN_COMMAND Unknown+server+command\n')),
    );
    // Speaks something else entirely, and stays open.
    garbage = await listen((socket) => socket.on('data', () => socket.write('HTTP/1.1 400 Bad Request\r\n\r\n')));
    // Accepts and never says a word.
    silent = await listen(() => undefined);
    const closed = `127.0.0.1:${await freePort('127.0.0.1')}`;
    const servers = [gd.address, refusing, garbage, silent, closed];
    bridge = await startTestBridge(servers, new FakeInvoker(), { queuePollIntervalMs: 300 }, { logger });
    await until(() => bridge.state().servers.some((s) => s.state === 'connected'), 'gearmand registered');
  });
  after(async () => {
    await bridge.stop();
    for (const f of fakes) f.close();
    await gd.stop();
  });

  test('each is "unknown" (admin_up 0, no queue series); the real one is read; jobs run', async () => {
    const up = (server: string) => sample(bridge, 'pool_bridge_gearman_admin_up', { server });
    await until(async () => (await up(gd.address)) === 1, 'gearmand read');
    for (const server of [refusing, garbage, silent]) {
      await until(async () => (await up(server)) === 0, `${server} unknown`);
    }
    // Only gearmand's queue is known (once a poll has seen the bridge registered there).
    const known = [`{server="${gd.address}",function="${GEARMAN_FUNCTION}"}`];
    await until(
      async () => JSON.stringify(await series(bridge, 'pool_bridge_gearman_jobs_queued')) === JSON.stringify(known),
      'the queue series of gearmand alone',
    );
    // A poll over all five ends within its timeout (0.3 s), the silent server included.
    await within(bridge.queue?.pollOnce() ?? Promise.reject(new Error('no poller')), 5000, 'one poll');
    const client = await GearmanClient.connect(gd.address);
    try {
      const result = await client.submit(GEARMAN_FUNCTION, 'during-unknown', '{"action":"BUILD_IP"}', {
        timeoutMs: 10_000,
      });
      assert.equal((result.json as { response: string }).response, 'PASS');
    } finally {
      client.close();
    }
  });

  test('one warning per server, naming why, not one per poll', async () => {
    await bridge.queue?.pollOnce();
    await bridge.queue?.pollOnce();
    const warnings = logger.lines
      .filter((l) => l.level === 'warn' && /cannot read the job server queue/.test(l.message))
      .map((l) => Object.assign({}, ...l.extra) as Record<string, unknown>);
    const byServer = new Map(warnings.map((fields) => [String(fields.server), fields]));
    assert.equal(warnings.length, byServer.size, 'no server warned twice');
    assert.match(String(byServer.get(refusing)?.error), /refused "status": ERR UNKNOWN_COMMAND/);
    assert.equal(byServer.get(refusing)?.code, 'POOL_ERR_GEARMAN_ADMIN_REFUSED');
    assert.equal(byServer.get(silent)?.code, 'POOL_ERR_GEARMAN_ADMIN_TIMEOUT');
    assert.ok(byServer.has(garbage));
    assert.equal(byServer.has(gd.address), false);
  });
});

describe('a job server that goes away and comes back', { timeout: 30_000 }, () => {
  test('its queue turns unknown and back; its lost registration is counted once, a stop not at all', async () => {
    const gd = await startGearmand();
    const logger = captureLogger();
    const bridge = await startTestBridge(
      [gd.address],
      new FakeInvoker(),
      { reconnectMaxDelayMs: 200, queuePollIntervalMs: 100 },
      { logger },
    );
    try {
      const server = { server: gd.address };
      await until(async () => (await sample(bridge, 'pool_bridge_gearman_admin_up', server)) === 1, 'read');
      assert.equal(await sample(bridge, 'pool_bridge_server_disconnects_total', server), 0);
      await gd.stop();
      await until(async () => (await sample(bridge, 'pool_bridge_gearman_admin_up', server)) === 0, 'unknown');
      assert.deepEqual(await series(bridge, 'pool_bridge_gearman_jobs_queued'), []);
      await gd.start();
      await until(async () => (await sample(bridge, 'pool_bridge_gearman_admin_up', server)) === 1, 'read again');
      await until(() => allConnected(bridge), 'registered again');
      assert.equal(await sample(bridge, 'pool_bridge_server_disconnects_total', server), 1);
      assert.ok(logger.lines.some((l) => l.level === 'info' && l.message === 'job server queue status answers again'));
      const registry = bridge.metrics.registry;
      await bridge.stop();
      const after = (await registry.getSingleMetric('pool_bridge_server_disconnects_total')?.get())?.values;
      assert.deepEqual(
        after?.map((v) => v.value),
        [1],
        'stopping the bridge is not a lost connection',
      );
    } finally {
      await bridge.stop();
      await gd.stop();
    }
  });
});

test('queue-poll-interval 0: no poller, no queue series, no admin connections', { timeout: 30_000 }, async () => {
  const gd = await startGearmand();
  const bridge = await startTestBridge([gd.address], new FakeInvoker(), { queuePollIntervalMs: 0 });
  try {
    await until(() => allConnected(bridge), 'registration');
    assert.equal(bridge.queue, undefined);
    assert.equal(await sample(bridge, 'pool_bridge_gearman_admin_up', { server: gd.address }), undefined);
    assert.deepEqual(await series(bridge, 'pool_bridge_gearman_workers_available'), []);
  } finally {
    await bridge.stop();
    await gd.stop();
  }
});

test('behind a TLS terminator the queue is read over TLS, as the worker connects', { timeout: 30_000 }, async () => {
  const gd = await startGearmand();
  // A self-signed server certificate, which is also the CA the bridge trusts.
  const cert = selfSigned();
  const proxy = await startRelay(gd, { tls: { cert: cert.cert, key: cert.key } });
  const bridge = await startTestBridge([proxy.address], new FakeInvoker(), {
    queuePollIntervalMs: 100,
    tls: { caFile: cert.certFile },
  });
  try {
    const labels = { server: proxy.address, function: GEARMAN_FUNCTION };
    await until(() => allConnected(bridge), 'registered over TLS');
    await until(
      async () => (await sample(bridge, 'pool_bridge_gearman_workers_available', labels)) === 1,
      'read over TLS',
    );
    assert.equal(await sample(bridge, 'pool_bridge_gearman_admin_up', { server: proxy.address }), 1);
  } finally {
    await bridge.stop();
    await proxy.close();
    await gd.stop();
    cert.remove();
  }
});
