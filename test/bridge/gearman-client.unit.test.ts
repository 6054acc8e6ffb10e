/**
 * The Gearman client (bridge/gearman/client.ts) against a scripted job server in this
 * process: what it sends, several jobs on one connection answered out of order, WORK_DATA,
 * WORK_STATUS and WORK_WARNING, and every way a job can end without a result (timeout,
 * abort, a lost connection, an ERROR packet, bytes that are not Gearman, no server).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { GearmanClient, GearmanClientError, submitJob } from '../../bridge/gearman';
import { PacketType, ProtocolError } from '../../bridge/gearman/protocol/packets';
import { PacketParser, splitArguments } from '../../bridge/gearman/protocol/parser';
import { server as respond } from '../../bridge/gearman/testing';
import { PoolManagerError } from '../../contract/errors';
import { freePort, until } from '../../scripts/harness';
import type { ScriptedServer } from './helpers/scripted-server';
import { startScriptedServer } from './helpers/scripted-server';

interface Submitted {
  functionName: string;
  unique: string;
  payload: string;
  handle: string;
  /** Writes to the client's connection. */
  reply: (bytes: Buffer) => void;
  socket: net.Socket;
}

/** A job server (the scripted one) that answers SUBMIT_JOB with JOB_CREATED and hands each job to `onJob`. */
async function startJobServer(onJob: (job: Submitted) => void): Promise<ScriptedServer> {
  let next = 1;
  return startScriptedServer((request, socket) => {
    if (request.type !== PacketType.SUBMIT_JOB) return;
    const [fn, unique, payload] = (splitArguments(request.data, 3) ?? []).map(String);
    const handle = `H:scripted:${next++}`;
    socket.write(respond.jobCreated(handle));
    onJob({
      functionName: fn ?? '',
      unique: unique ?? '',
      payload: payload ?? '',
      handle,
      reply: (bytes) => socket.write(bytes),
      socket,
    });
  });
}

async function rejection(promise: Promise<unknown>): Promise<GearmanClientError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof GearmanClientError, String(error));
  assert.ok(error instanceof PoolManagerError, 'under the one error root');
  return error;
}

describe('Gearman client: jobs on one connection', () => {
  let held: Submitted[] = [];
  let srv: ScriptedServer;
  before(async () => {
    srv = await startJobServer((job) => held.push(job));
  });
  after(() => srv.close());

  test('SUBMIT_JOB carries the function, the unique id and the payload as given', async () => {
    held = [];
    const c = await GearmanClient.connect(srv.address);
    try {
      const before = performance.now();
      const pending = c.submit('libra_pool_mgm', 'uuid-1', '{"action":"BUILD_IP"}');
      const submitted = performance.now();
      await until(() => held.length === 1, 'the job to reach the server', 5000, 5);
      const job = held[0] as Submitted;
      assert.deepEqual(
        { functionName: job.functionName, unique: job.unique, payload: job.payload },
        { functionName: 'libra_pool_mgm', unique: 'uuid-1', payload: '{"action":"BUILD_IP"}' },
      );
      const replied = performance.now();
      job.reply(respond.workComplete(job.handle, '{"response":"PASS"}'));
      const r = await pending;
      const settled = performance.now();
      assert.equal(r.packet, 'WORK_COMPLETE');
      assert.equal(r.handle, job.handle);
      assert.deepEqual(r.json, { response: 'PASS' });
      // From submission to the outcome: no less than the server held the job, no more than the call took.
      assert.ok(r.ms >= replied - submitted && r.ms <= settled - before, `ms: ${r.ms}`);
    } finally {
      c.close();
    }
  });

  test('three jobs at once, answered in reverse order: each gets its own outcome', async () => {
    held = [];
    const c = await GearmanClient.connect(srv.address);
    try {
      const created: string[] = [];
      const results = ['a', 'b', 'c'].map((u) => c.submit('f', u, u, { onCreated: (h) => created.push(h) }));
      await until(() => held.length === 3, 'the jobs to reach the server', 5000, 5);
      const [a, b, cc] = held as [Submitted, Submitted, Submitted];
      cc.reply(respond.workException(cc.handle, 'boom'));
      b.reply(respond.workFail(b.handle));
      a.reply(respond.workComplete(a.handle, 'result of a'));
      const [ra, rb, rc] = await Promise.all(results);
      assert.deepEqual(created, [a.handle, b.handle, cc.handle], 'onCreated in submission order');
      assert.deepEqual([ra?.packet, ra?.data.toString()], ['WORK_COMPLETE', 'result of a']);
      assert.deepEqual([rb?.packet, rb?.data.length], ['WORK_FAIL', 0]);
      assert.deepEqual([rc?.packet, rc?.data.toString()], ['WORK_EXCEPTION', 'boom']);
      assert.equal(ra?.json, undefined, 'not JSON: json is undefined, data is kept');
    } finally {
      c.close();
    }
  });

  test('WORK_DATA chunks come before the WORK_COMPLETE data; WORK_STATUS and WORK_WARNING reach the callbacks', async () => {
    held = [];
    const statuses: string[] = [];
    const warnings: string[] = [];
    const pending = submitJob({
      server: srv.address,
      functionName: 'f',
      unique: 'streamed',
      payload: 'x',
      onStatus: (n, d) => statuses.push(`${n}/${d}`),
      onWarning: (text) => warnings.push(text),
    });
    await until(() => held.length === 1, 'the job to reach the server', 5000, 5);
    const job = held[0] as Submitted;
    job.reply(
      Buffer.concat([
        respond.workStatus(job.handle, '1', '3'),
        respond.workData(job.handle, '{"a":'),
        respond.workWarning(job.handle, 'slow cloud'),
        respond.workData(job.handle, '1,'),
        respond.workStatus('H:someone-else', '9', '9'),
        respond.workComplete(job.handle, '"b":2}'),
      ]),
    );
    const r = await pending;
    assert.deepEqual(r.json, { a: 1, b: 2 });
    assert.deepEqual(statuses, ['1/3'], "another job's status is not ours");
    assert.deepEqual(warnings, ['slow cloud']);
  });

  test('a job that times out before its JOB_CREATED does not shift the handles of the next', async () => {
    // This server holds JOB_CREATED of the first job back until the second is submitted.
    const sockets: net.Socket[] = [];
    const packets: Buffer[][] = [];
    const slow = net.createServer((socket) => {
      sockets.push(socket);
      const parser = new PacketParser({ expect: 'REQ' });
      socket.on('data', (chunk: Buffer) => {
        for (const p of parser.parse(chunk).packets) {
          const args = splitArguments(p.data, 3) ?? [];
          packets.push(args);
          if (packets.length === 2) {
            socket.write(Buffer.concat([respond.jobCreated('H:1'), respond.jobCreated('H:2')]));
            socket.write(Buffer.concat([respond.workComplete('H:1', 'first'), respond.workComplete('H:2', 'second')]));
          }
        }
      });
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const c = await GearmanClient.connect({ host: '127.0.0.1', port: (slow.address() as AddressInfo).port });
    try {
      const first = await rejection(c.submit('f', 'one', 'x', { timeoutMs: 50 }));
      assert.equal(first.code, 'POOL_ERR_GEARMAN_TIMEOUT');
      assert.match(first.message, /no result for the job \(not queued yet\) on 127\.0\.0\.1:\d+ within 50 ms/);
      const second = await c.submit('f', 'two', 'x', { timeoutMs: 5000 });
      assert.equal(second.handle, 'H:2');
      assert.equal(second.data.toString(), 'second');
    } finally {
      c.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => slow.close(() => resolve()));
    }
  });

  test('an AbortSignal stops the wait, naming the job', async () => {
    held = [];
    const abort = new AbortController();
    const pending = submitJob({
      server: srv.address,
      functionName: 'f',
      unique: 'u',
      payload: 'x',
      signal: abort.signal,
    });
    await until(() => held.length === 1, 'the job to reach the server', 5000, 5);
    abort.abort();
    const error = await rejection(pending);
    assert.equal(error.code, 'POOL_ERR_GEARMAN_ABORTED');
    assert.equal(error.handle, (held[0] as Submitted).handle);
  });
});

describe('Gearman client: a connection that goes wrong', () => {
  test('nothing listening: POOL_ERR_GEARMAN_CONNECT, "connection refused (is gearmand running there?)"', async () => {
    const port = await freePort();
    const error = await rejection(GearmanClient.connect(`127.0.0.1:${port}`));
    assert.equal(error.code, 'POOL_ERR_GEARMAN_CONNECT');
    assert.equal(
      error.message,
      `cannot connect to the job server at 127.0.0.1:${port}: connection refused (is gearmand running there?)`,
    );
  });

  test('a handshake that never completes: the connect timeout says so', async () => {
    const accepted = new Set<net.Socket>();
    const silent = net.createServer((socket) => accepted.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      // TLS to a plain socket that never answers: TCP connects, the TLS handshake never ends.
      const started = Date.now();
      const error = await rejection(
        GearmanClient.connect(
          { host: '127.0.0.1', port },
          { tls: { rejectUnauthorized: false }, connectTimeoutMs: 200 },
        ),
      );
      assert.equal(error.code, 'POOL_ERR_GEARMAN_CONNECT');
      assert.match(error.message, /no answer within 0\.2 s/);
      assert.ok(Date.now() - started < 5000);
    } finally {
      for (const socket of accepted) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('the server closes the connection: every job in flight fails naming its handle, later submits fail too', async () => {
    const srv = await startJobServer((job) => {
      if (job.unique === 'b') job.socket.destroy();
    });
    try {
      const c = await GearmanClient.connect(srv.address);
      const a = c.submit('f', 'a', 'x');
      const b = c.submit('f', 'b', 'x');
      const [ea, eb] = await Promise.all([rejection(a), rejection(b)]);
      assert.equal(ea.code, 'POOL_ERR_GEARMAN_CONNECTION_LOST');
      assert.equal(ea.handle, 'H:scripted:1');
      assert.match(ea.message, /the job server at 127\.0\.0\.1:\d+ closed the connection while job H:scripted:1 ran/);
      assert.equal(eb.code, 'POOL_ERR_GEARMAN_CONNECTION_LOST');
      const later = await rejection(c.submit('f', 'c', 'x'));
      assert.equal(later.code, 'POOL_ERR_GEARMAN_CONNECTION_LOST');
      c.close();
    } finally {
      await srv.close();
    }
  });

  test('an ERROR packet fails the jobs with its code and text', async () => {
    const srv = await startJobServer((job) => job.reply(respond.error('ERR_QUEUE_FULL', 'queue is full')));
    try {
      const error = await rejection(submitJob({ server: srv.address, functionName: 'f', unique: 'u', payload: 'x' }));
      assert.equal(error.code, 'POOL_ERR_GEARMAN_SERVER_ERROR');
      assert.match(error.message, /answered ERROR ERR_QUEUE_FULL: queue is full/);
    } finally {
      await srv.close();
    }
  });

  test('bytes that are not Gearman: POOL_ERR_GEARMAN_PROTOCOL, caused by the ProtocolError', async () => {
    const srv = await startJobServer((job) => job.reply(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')));
    try {
      const error = await rejection(submitJob({ server: srv.address, functionName: 'f', unique: 'u', payload: 'x' }));
      assert.equal(error.code, 'POOL_ERR_GEARMAN_PROTOCOL');
      assert.ok(error.cause instanceof ProtocolError);
      assert.equal(error.cause.code, 'POOL_ERR_GEARMAN_BAD_MAGIC');
    } finally {
      await srv.close();
    }
  });
});
