/**
 * The process harness (scripts/harness/children.ts): what a caller relies on when it
 * starts a child. Output lines are seen whenever the caller starts waiting for them; a
 * child that exits first is reported with its output; output kept in memory is bounded
 * unless asked; a command run to its end is bounded in time; and the process groups of a
 * process that is SIGKILLed are stopped by the reaper, so `npm start` killed with -9 leaves
 * nothing running.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HarnessTimeoutError, StartError, pidAlive, run, spawnChild, until } from '../../scripts/harness';

const node = process.execPath;

test('waitForLine finds a line printed before the wait began, and one printed after', async () => {
  const child = spawnChild({
    command: node,
    args: ['-e', 'console.log("early"); setTimeout(() => console.error("late 42"), 300); setTimeout(() => {}, 1000);'],
  });
  try {
    await until(() => child.output().includes('early'), 'the first line');
    assert.equal((await child.waitForLine(/^early$/, 1000))[0], 'early');
    assert.equal((await child.waitForLine(/late (\d+)/, 5000))[1], '42');
    assert.equal(child.output('stdout'), 'early');
    assert.equal(child.output('stderr'), 'late 42');
  } finally {
    await child.stop();
  }
});

test('a child that exits before the line: StartError with how it ended and what it printed', async () => {
  const child = spawnChild({ name: 'quitter', command: node, args: ['-e', 'console.log("bye"); process.exit(4)'] });
  await assert.rejects(child.waitForLine(/never/, 10_000), (error: unknown) => {
    assert.ok(error instanceof StartError);
    assert.match(error.message, /^quitter exited \(exit code 4\) before printing a line matching \/never\/:\nbye$/);
    return true;
  });
  assert.deepEqual(await child.exited, { code: 4, signal: null });
});

test('no line in time: HarnessTimeoutError, and the child is still there to stop', async () => {
  const child = spawnChild({ command: node, args: ['-e', 'setTimeout(() => {}, 10_000)'] });
  await assert.rejects(child.waitForLine(/never/, 200), HarnessTimeoutError);
  assert.ok(child.alive());
  assert.equal((await child.stop(2000)).signal, 'SIGTERM');
  assert.equal(pidAlive(child.pid), false);
});

test('output kept in memory is the latest within the budget; keepOutput "all" keeps every line', async () => {
  const script = 'for (let i = 0; i < 2000; i += 1) console.log("line " + i);';
  const bounded = spawnChild({ command: node, args: ['-e', script], keepOutput: 1000 });
  const all = spawnChild({ command: node, args: ['-e', script], keepOutput: 'all' });
  await Promise.all([bounded.exited, all.exited]);
  assert.ok(bounded.output().length <= 1000, `${bounded.output().length} characters kept`);
  assert.match(bounded.output(), /line 1999$/);
  assert.equal(all.output().split('\n').length, 2000);
});

test('run: stdout and stderr exactly as written; killed at its timeout', async () => {
  const r = await run(node, ['-e', 'process.stdout.write("a\\nb"); process.stderr.write("c\\n"); process.exit(2)']);
  assert.deepEqual([r.code, r.stdout, r.stderr, r.timedOut], [2, 'a\nb', 'c\n', false]);
  const slow = await run(node, ['-e', 'setTimeout(() => {}, 10_000)'], { timeoutMs: 200 });
  assert.deepEqual([slow.signal, slow.timedOut], ['SIGKILL', true]);
});

test('a process SIGKILLed with process groups running: the reaper stops them', async () => {
  // The parent starts `sleep 60` in a group of its own through the harness, prints its PID,
  // and waits; then it is SIGKILLed, so no exit handler of its runs.
  const parent = spawnChild({
    name: 'parent',
    command: node,
    args: [
      '--import',
      'tsx',
      '-e',
      `import('${new URL('../../scripts/harness/index.ts', import.meta.url).pathname}').then(({ spawnChild }) => {
        const c = spawnChild({ command: 'sleep', args: ['60'], group: true });
        console.log('GROUP ' + c.pid);
        setInterval(() => {}, 1000);
      });`,
    ],
  });
  const pgid = Number((await parent.waitForLine(/^GROUP (\d+)$/, 20_000))[1]);
  assert.ok(pidAlive(pgid));
  parent.signal('SIGKILL');
  await parent.exited;
  await until(() => !pidAlive(pgid), 'the reaper to stop the orphaned group', 10_000, 50);
});
