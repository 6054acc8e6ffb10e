/**
 * `npm run test:unit` runs the *.unit.test.ts files with test/unit-preload.mjs, which makes
 * every way of starting a process throw: a unit test cannot depend on gearmand, a bridge
 * or any other child process without failing. (`npm test` runs these files without it.)
 */
import assert from 'node:assert/strict';
import childProcess from 'node:child_process';
import { exec, execFile, execFileSync, execSync, fork, spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';

const preloaded = process.execArgv.some((arg) => arg.includes('unit-preload'));

test(
  'under npm run test:unit every child_process entry point throws, naming the rule',
  { skip: !preloaded && 'only under npm run test:unit' },
  () => {
    const calls: [string, () => unknown][] = [
      ['spawn', () => spawn('true')],
      ['spawnSync', () => spawnSync('true')],
      ['exec', () => exec('true')],
      ['execSync', () => execSync('true')],
      ['execFile', () => execFile('true')],
      ['execFileSync', () => execFileSync('true')],
      ['fork', () => fork('-e')],
      ['the default export too', () => childProcess.spawn('true')],
    ];
    for (const [name, call] of calls) assert.throws(call, /a unit test starts no process/, name);
  },
);
