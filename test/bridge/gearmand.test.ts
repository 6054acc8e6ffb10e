/**
 * The Gearman client and the admin calls against a real gearmand (Debian's 1.1.20) and
 * its C worker (`gearman -w`): what `status` reports for a job waiting and a job running
 * (gearmand's TOTAL column counts both), what `workers` and `version` say, how an unknown
 * command is refused, and that a job given up on by the client is still on the server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FunctionStatus } from '../../bridge/gearman';
import {
  GearmanAdminError,
  GearmanClient,
  GearmanClientError,
  adminCommand,
  gearmanStatus,
  gearmanVersion,
  gearmanWorkers,
} from '../../bridge/gearman';
import type { Child, Gearmand } from '../../scripts/harness';
import { spawnChild, startGearmand, until } from '../../scripts/harness';

describe('a real gearmand through bridge/gearman', { timeout: 60_000 }, () => {
  let gd: Gearmand;
  let client: GearmanClient;
  let worker: Child | undefined;
  before(async () => {
    gd = await startGearmand();
    client = await GearmanClient.connect(gd.address);
  });
  after(async () => {
    client.close();
    await worker?.stop(2000);
    await gd.stop();
  });

  const statusOf = async (fn: string): Promise<FunctionStatus | undefined> =>
    (await gearmanStatus(gd)).find((f) => f.function === fn);

  test('status: a job nobody serves is queued; one a worker runs counts as queued and running', async () => {
    const first = client.submit('slow_fn', 'first', 'x');
    await until(async () => (await statusOf('slow_fn'))?.queued === 1, 'the job to be queued');
    assert.deepEqual(await statusOf('slow_fn'), { function: 'slow_fn', queued: 1, running: 0, availableWorkers: 0 });

    // The C worker runs `sleep 2` for each job, one job at a time.
    worker = spawnChild({
      name: 'gearman -w',
      command: 'gearman',
      args: ['-w', '-h', gd.host, '-p', String(gd.port), '-f', 'slow_fn', '--', 'sleep', '2'],
    });
    await until(async () => (await statusOf('slow_fn'))?.running === 1, 'the worker to take the job');
    const second = client.submit('slow_fn', 'second', 'x');
    await until(async () => (await statusOf('slow_fn'))?.queued === 2, 'the second job to be queued');
    assert.deepEqual(await statusOf('slow_fn'), { function: 'slow_fn', queued: 2, running: 1, availableWorkers: 1 });

    const workers = await gearmanWorkers(gd);
    assert.equal(workers.filter((w) => w.functions.includes('slow_fn')).length, 1, JSON.stringify(workers));

    const results = await Promise.all([first, second]);
    assert.deepEqual(
      results.map((r) => r.packet),
      ['WORK_COMPLETE', 'WORK_COMPLETE'],
    );
    await until(async () => (await statusOf('slow_fn'))?.queued === 0, 'the queue to empty');
  });

  test('a job the client stops waiting for stays on the server', async () => {
    const error = await client.submit('nobody_serves_this', 'given-up', 'x', { timeoutMs: 200 }).then(
      () => assert.fail('no worker: no result'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof GearmanClientError);
    assert.equal(error.code, 'POOL_ERR_GEARMAN_TIMEOUT');
    assert.match(error.handle ?? '', /^H:/);
    assert.equal((await statusOf('nobody_serves_this'))?.queued, 1);
  });

  test('version answers OK and the version; an unknown command is refused', async () => {
    assert.match(await gearmanVersion(gd), /^OK \d+\.\d+/);
    const error = await adminCommand(gd, 'no_such_command').then(
      () => assert.fail('refused'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof GearmanAdminError);
    assert.equal(error.code, 'POOL_ERR_GEARMAN_ADMIN_REFUSED');
    assert.match(error.message, /ERR UNKNOWN_COMMAND/);
  });
});
