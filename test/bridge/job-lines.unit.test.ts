/**
 * The per-job log lines (bridge/job-lines.ts): the lean writer writes what the bridge's
 * Powertools logger would, key for key and in the same order, at the levels it would, and
 * gives way to Powertools where Powertools would write something else.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LineStreams } from '../../bridge/job-lines';
import { afterJobLines, JobLineWriter, jobLinesVia } from '../../bridge/job-lines';
import { createLogger } from '../../contract';

type Line = Record<string, unknown>;

/** What the Powertools logger writes to stdout and to stderr while `fn` runs, one object per line. */
function powertools(fn: () => void): { stdout: Line[]; stderr: Line[] } {
  const out: string[] = [];
  const err: string[] = [];
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  const capture =
    (to: string[]) =>
    (chunk: string | Uint8Array): boolean => {
      to.push(String(chunk));
      return true;
    };
  process.stdout.write = capture(out) as typeof process.stdout.write;
  process.stderr.write = capture(err) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
  }
  return { stdout: parse(out.join('')), stderr: parse(err.join('')) };
}

function powertoolsLines(fn: () => void): Line[] {
  const { stdout, stderr } = powertools(fn);
  return [...stdout, ...stderr];
}

/** Streams that keep what is written to them. */
function capture(): { stdout: string[]; stderr: string[]; streams: LineStreams } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    streams: { stdout: { write: (t: string) => stdout.push(t) }, stderr: { write: (t: string) => stderr.push(t) } },
  };
}

function parse(text: string): Line[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line);
}

function logger(level: 'DEBUG' | 'INFO' | 'WARN') {
  const l = createLogger('pool-bridge');
  l.setLogLevel(level);
  l.appendPersistentKeys({ pid: 4242, host: 'localhost' });
  return l;
}

const fields = {
  unique: 'job-1',
  handle: 'H:gm:7',
  server: '127.0.0.1:4730',
  action: 'BUILD_IP',
  outcome: 'fail',
  durationMs: 12,
  error: 'Nova said "no"\\nthen nothing',
};

test('the same keys, in the same order, with the same values as a Powertools line', () => {
  const l = logger('INFO');
  const pt = powertools(() => {
    l.warn('job answered', fields);
    l.info('job answered', { ...fields, outcome: 'pass', error: undefined });
  });
  const c = capture();
  const writer = JobLineWriter.forLogger(l, 'pool-bridge', {}, c.streams);
  writer.answered('WARN', 'job answered', fields);
  writer.answered('INFO', 'job answered', { ...fields, outcome: 'pass', error: undefined });
  writer.flush();
  // WARN to stderr and INFO to stdout, as Powertools' console writes them.
  assert.equal(pt.stderr.length, 1);
  assert.equal(pt.stdout.length, 1);
  const [expected] = pt.stderr;
  const [actual] = parse(c.stderr.join(''));
  assert.ok(expected && actual);
  const [expectedInfo] = pt.stdout;
  const [actualInfo] = parse(c.stdout.join(''));
  assert.ok(expectedInfo && actualInfo);
  assert.deepEqual({ ...actualInfo, timestamp: 'T' }, { ...expectedInfo, timestamp: 'T' });
  assert.deepEqual(Object.keys(actualInfo), Object.keys(expectedInfo));
  assert.deepEqual(Object.keys(actual), Object.keys(expected));
  assert.deepEqual({ ...actual, timestamp: 'T' }, { ...expected, timestamp: 'T' });
  assert.match(String(actual.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Math.abs(Date.parse(String(actual.timestamp)) - Date.parse(String(expected.timestamp))) < 1000);
});

test('one write for the lines of one turn of the event loop; levels as the logger has them', async () => {
  const c = capture();
  const writer = JobLineWriter.forLogger(logger('INFO'), 'pool-bridge', {}, c.streams);
  writer.taken({ unique: 'a' });
  writer.answered('INFO', 'job answered', { unique: 'a' });
  writer.answered('INFO', 'job answered', { unique: 'b' });
  writer.answered('WARN', 'job answered', { unique: 'c' });
  assert.equal(c.stdout.length + c.stderr.length, 0, 'nothing written yet');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(c.stdout.length, 1, 'one write for both INFO lines');
  assert.deepEqual(
    parse(c.stdout[0] ?? '').map((l) => [l.level, l.unique]),
    [
      ['INFO', 'a'],
      ['INFO', 'b'],
    ],
    'no DEBUG line at INFO',
  );
  assert.deepEqual(
    parse(c.stderr.join('')).map((l) => [l.level, l.unique]),
    [['WARN', 'c']],
  );
  const q = capture();
  const quiet = JobLineWriter.forLogger(logger('WARN'), 'pool-bridge', {}, q.streams);
  quiet.answered('INFO', 'job answered', { unique: 'd' });
  quiet.answered('WARN', 'job answered', { unique: 'e' });
  quiet.flush();
  assert.deepEqual(q.stdout, []);
  assert.deepEqual(
    parse(q.stderr.join('')).map((l) => l.unique),
    ['e'],
  );
  const v = capture();
  const verbose = JobLineWriter.forLogger(logger('DEBUG'), 'pool-bridge', {}, v.streams);
  verbose.taken({ unique: 'f' });
  verbose.flush();
  assert.deepEqual(
    parse(v.stdout.join('')).map((l) => [l.level, l.message]),
    [['DEBUG', 'job taken']],
  );
});

test('where Powertools would write differently (POWERTOOLS_DEV, a sample rate, an X-Ray trace id), it writes', () => {
  for (const env of [
    { POWERTOOLS_DEV: 'true' },
    { POWERTOOLS_LOGGER_SAMPLE_RATE: '0.5' },
    { _X_AMZN_TRACE_ID: 'Root=1' },
  ]) {
    const c = capture();
    const lines = JobLineWriter.forLogger(logger('INFO'), 'pool-bridge', env, c.streams);
    const written = powertoolsLines(() => lines.answered('INFO', 'job answered', { unique: 'x' }));
    assert.equal(c.stdout.length, 0, JSON.stringify(env));
    assert.equal(written.length, 1, JSON.stringify(env));
  }
  assert.equal(typeof jobLinesVia(logger('INFO')).flush, 'function');
});

test('any other line goes after the job lines buffered before it', () => {
  const c = capture();
  const l = logger('INFO');
  const writer = JobLineWriter.forLogger(l, 'pool-bridge', {}, c.streams);
  const ordered = afterJobLines(l, writer);
  writer.answered('INFO', 'job answered', { unique: 'first' });
  const other = powertoolsLines(() => ordered.info('bridge stopped'));
  assert.equal(other.length, 1);
  assert.equal(parse(c.stdout.join('')).length, 1, 'the job line was flushed before the other one');
});
