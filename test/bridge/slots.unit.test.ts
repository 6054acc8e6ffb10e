/**
 * The slot limit against a job server that does not play by gearmand's rules (a scripted
 * one, test/bridge/helpers/scripted-server.ts): jobs it hands out without being asked never
 * run beyond the slots; they wait for one, and too many of them mark the server as
 * misbehaving.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { PacketType } from '../../bridge/gearman/protocol/packets';
import { server as res } from '../../bridge/gearman/testing';
import { GEARMAN_FUNCTION } from '../../contract';
import { sleep, until } from '../../scripts/harness';
import { startTestBridge } from './helpers/bridge';
import { FakeInvoker, passThrough } from './helpers/fake-invoker';
import { startScriptedServer } from './helpers/scripted-server';

const job = (n: number): Buffer =>
  res.jobAssignUniq(`H:scripted:${n}`, GEARMAN_FUNCTION, `job-${n}`, JSON.stringify({ action: 'BUILD_IP', n }));

/** An invoker whose calls wait until released one by one (by unique id) or all at once. */
function heldInvoker(): { invoker: FakeInvoker; release: (unique: string) => void; releaseAll: () => void } {
  const gates = new Map<string, () => void>();
  let all = false;
  const invoker = new FakeInvoker(async (call) => {
    if (!all) await new Promise<void>((resolve) => gates.set(call.envelope.unique ?? '', resolve));
    return passThrough(call);
  });
  return {
    invoker,
    release: (unique) => gates.get(unique)?.(),
    releaseAll: () => {
      all = true;
      for (const open of gates.values()) open();
    },
  };
}

describe('jobs a job server sends without being asked', { timeout: 30_000 }, () => {
  test('they run only in free slots: the one over waits for a slot, then runs and is answered', async () => {
    let first = true;
    const srv = await startScriptedServer((req, socket) => {
      if (req.type !== PacketType.GRAB_JOB_UNIQ) return;
      // One grab, three jobs: two slots, so one of them must wait.
      socket.write(first ? Buffer.concat([job(1), job(2), job(3)]) : res.noJob());
      first = false;
    });
    const { invoker, release, releaseAll } = heldInvoker();
    const bridge = await startTestBridge([srv.address], invoker, { concurrency: 2 });
    try {
      await until(() => invoker.active === 2, 'two jobs running');
      await sleep(300);
      assert.equal(invoker.calls.length, 2, 'the third job waits: both slots are taken');
      release('job-1');
      await until(() => invoker.calls.length === 3, 'the third job to start once a slot frees');
      releaseAll();
      await until(() => srv.completed().length === 3, 'three answers');
      assert.deepEqual(srv.completed().sort(), ['H:scripted:1', 'H:scripted:2', 'H:scripted:3']);
      assert.equal(invoker.maxActive, 2, 'never more than the two slots at once');
      assert.equal(srv.closed, 0, 'a few unasked jobs are held, not treated as misbehaviour');
    } finally {
      releaseAll();
      await bridge.stop();
      await srv.close();
    }
  });

  test('more than the bridge would hold: the connection is recycled, and still no more than the slots run', async () => {
    let first = true;
    const srv = await startScriptedServer((req, socket) => {
      if (req.type !== PacketType.GRAB_JOB_UNIQ) return;
      socket.write(first ? Buffer.concat([1, 2, 3, 4, 5, 6].map(job)) : res.noJob());
      first = false;
    });
    const { invoker, releaseAll } = heldInvoker();
    const bridge = await startTestBridge([srv.address], invoker, { concurrency: 2 });
    try {
      await until(
        () => bridge.state().servers[0]?.state === 'backoff',
        'the bridge to close the misbehaving connection',
      );
      // Read while it waits to reconnect (a registration clears lastError).
      assert.match(String(bridge.state().servers[0]?.lastError), /sent more jobs than it was asked for/);
      assert.equal(invoker.maxActive, 2);
      assert.equal(invoker.calls.length, 2, 'two ran, two were held, the fifth was one too many');
      await until(() => srv.accepted >= 2, 'the bridge to reconnect');
    } finally {
      releaseAll();
      await bridge.stop();
      await srv.close();
    }
  });
});

describe('pipelined grabs never hold more jobs than slots', { timeout: 60_000 }, () => {
  test('2,000 jobs, NO_JOB and NOOP interleaved at random: jobs held plus grabs in flight never exceed the slots', async () => {
    const CONCURRENCY = 8;
    const TOTAL = 2000;
    let seed = 17;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    // The job server's view: grabs not yet answered, jobs handed out and not yet completed.
    let unanswered = 0;
    let held = 0;
    let assigned = 0;
    let mostInFlight = 0;
    let mostGrabs = 0;
    let noJobs = 0;
    let noops = 0;
    const violations: string[] = [];
    // Grabs are answered on the next turn of the event loop, all those that came together at
    // once (as a job server does), so several can be in flight.
    let pending: Socket[] = [];
    const answerGrabs = (): void => {
      for (const socket of pending) {
        unanswered -= 1;
        // A job for three grabs in four, while there are jobs; NO_JOB otherwise.
        if (assigned < TOTAL && random() < 0.75) {
          assigned += 1;
          held += 1;
          socket.write(job(assigned));
        } else {
          noJobs += 1;
          socket.write(res.noJob());
        }
      }
      pending = [];
    };
    const srv = await startScriptedServer((req, socket) => {
      if (req.type === PacketType.GRAB_JOB_UNIQ) {
        unanswered += 1;
        mostGrabs = Math.max(mostGrabs, unanswered);
        if (held + unanswered > CONCURRENCY) {
          violations.push(`grab with ${held} jobs held and ${unanswered} grabs unanswered`);
        }
        mostInFlight = Math.max(mostInFlight, held + unanswered);
        if (pending.length === 0) setImmediate(answerGrabs);
        pending.push(socket);
      } else if (req.type === PacketType.PRE_SLEEP) {
        if (unanswered !== 0) violations.push(`PRE_SLEEP with ${unanswered} grabs unanswered`);
        // Wake it soon (as gearmand does when a job comes in), if there is work left.
        if (assigned < TOTAL) {
          setTimeout(
            () => {
              noops += 1;
              socket.write(res.noop());
            },
            Math.floor(random() * 3),
          );
        }
      } else if (req.type === PacketType.WORK_COMPLETE) {
        held -= 1;
      }
    });
    const invoker = new FakeInvoker(async (call) => {
      await sleep(Math.floor(Math.random() * 3));
      return passThrough(call);
    });
    const bridge = await startTestBridge([srv.address], invoker, { concurrency: CONCURRENCY });
    try {
      await until(() => srv.completed().length === TOTAL, `${TOTAL} answers`, 50_000);
      assert.deepEqual(violations, []);
      assert.ok(mostInFlight <= CONCURRENCY, `at most ${mostInFlight} jobs and grabs at once`);
      assert.ok(invoker.maxActive <= CONCURRENCY, `at most ${invoker.maxActive} invokes at once`);
      assert.ok(mostGrabs > 1, `several grabs were in flight at once (${mostGrabs})`);
      assert.ok(noJobs > 100 && noops > 10, `NO_JOB (${noJobs}) and NOOP (${noops}) came in between`);
      assert.equal(new Set(srv.completed()).size, TOTAL, 'each job answered once');
      console.log(
        `${TOTAL} jobs, concurrency ${CONCURRENCY}: at most ${mostGrabs} grabs in flight, ${mostInFlight} jobs + grabs, ${noJobs} NO_JOB, ${noops} NOOP`,
      );
    } finally {
      await bridge.stop();
      await srv.close();
    }
  });
});
