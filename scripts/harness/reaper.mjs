/**
 * The reaper: stops the process groups of a process that died without stopping them.
 *
 *   node reaper.mjs      (started by children.ts, its stdin a pipe from the parent)
 *
 * The parent writes "+PGID" when it starts a process group and "-PGID" once the group is
 * gone. When stdin ends (the parent is gone, however it ended: SIGKILL included, which no
 * exit handler sees), the reaper SIGTERMs every group left, SIGKILLs them 3 s later, and
 * exits. It stays in the parent's process group and ignores SIGINT, SIGHUP and SIGTERM, so
 * a signal to the whole group (a Ctrl-C, a test runner stopping a test file) does not take
 * it away before it has done its job; it always exits once stdin ends.
 */
import process from 'node:process';
import { setTimeout } from 'node:timers';

const GRACE_MS = 3000;
const groups = new Set();

for (const signal of ['SIGINT', 'SIGHUP', 'SIGTERM']) process.on(signal, () => undefined);

let partial = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (partial + chunk).split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) {
    const pgid = Number(line.slice(1));
    if (!Number.isInteger(pgid) || pgid <= 1) continue;
    if (line.startsWith('+')) groups.add(pgid);
    else if (line.startsWith('-')) groups.delete(pgid);
  }
});

function signalAll(signal) {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, signal);
    } catch {
      // the group is gone already
    }
  }
}

function parentGone() {
  if (groups.size === 0) process.exit(0);
  signalAll('SIGTERM');
  setTimeout(() => {
    signalAll('SIGKILL');
    process.exit(0);
  }, GRACE_MS);
}

process.stdin.on('end', parentGone);
process.stdin.on('error', parentGone);
