/** Configuration: defaults, precedence CLI > env > file, validation naming the setting. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { BridgeConfig, LoadResult } from '../../bridge/config';
import { DEFAULTS, SETTINGS, envName, helpText, loadConfig, parseHostPort } from '../../bridge/config';
import { ConfigurationError } from '../../contract/errors';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-config-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function yamlFile(name: string, content: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

function run(argv: string[], env: NodeJS.ProcessEnv = {}): Extract<LoadResult, { kind: 'run' }> {
  const r = loadConfig(argv, env);
  assert.equal(r.kind, 'run');
  return r as Extract<LoadResult, { kind: 'run' }>;
}

function config(argv: string[], env: NodeJS.ProcessEnv = {}): BridgeConfig {
  return run(argv, env).config;
}

function rejects(argv: string[], env: NodeJS.ProcessEnv, setting: string | undefined, pattern: RegExp): void {
  assert.throws(
    () => loadConfig(argv, env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigurationError, String(error));
      assert.equal(error.code, 'POOL_ERR_CONFIGURATION');
      assert.equal(error.setting, setting);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

describe('defaults', () => {
  test('as documented', () => {
    const c = config([]);
    assert.deepEqual(c.servers, [{ host: '127.0.0.1', port: 4730 }]);
    assert.equal(c.functionName, 'libra_pool_mgm');
    assert.equal(c.functionPrefix, 'pool-manager-dev-');
    assert.equal(c.concurrency, 64);
    assert.equal(c.invokeTimeoutMs, 960_000);
    assert.deepEqual(c.health, { host: '127.0.0.1', port: 9464 });
    assert.equal(c.clientId, os.hostname());
    assert.equal(c.keepAlive, true);
    assert.equal(c.tls, undefined);
    assert.equal(c.lambdaEndpoint, undefined);
    assert.equal(c.lambdaRegion, undefined);
    assert.deepEqual(c, DEFAULTS);
  });

  test('--help and --version', () => {
    assert.deepEqual(loadConfig(['--help']), { kind: 'help' });
    assert.deepEqual(loadConfig(['-h']), { kind: 'help' });
    assert.deepEqual(loadConfig(['--version']), { kind: 'version' });
  });
});

describe('precedence: command line > environment > file > defaults', () => {
  const file = yamlFile(
    'layers.yaml',
    [
      'gearman:',
      '  - 10.0.0.1:4730',
      '  - "[::1]:4731"',
      'concurrency: 8',
      'function-prefix: from-file-',
      'keepalive: false',
    ].join('\n'),
  );

  test('file over defaults, with a YAML list of servers', () => {
    const c = config(['--config', file]);
    assert.deepEqual(c.servers, [
      { host: '10.0.0.1', port: 4730 },
      { host: '::1', port: 4731 },
    ]);
    assert.equal(c.concurrency, 8);
    assert.equal(c.functionPrefix, 'from-file-');
    assert.equal(c.keepAlive, false);
  });

  test('environment over file; POOL_BRIDGE_CONFIG names the file', () => {
    const r = run([], { POOL_BRIDGE_CONFIG: file, POOL_BRIDGE_CONCURRENCY: '16', POOL_BRIDGE_KEEPALIVE: 'yes' });
    assert.equal(r.config.concurrency, 16);
    assert.equal(r.config.keepAlive, true);
    assert.equal(r.config.functionPrefix, 'from-file-');
    assert.equal(r.sources.concurrency, 'POOL_BRIDGE_CONCURRENCY in the environment');
  });

  test('command line over environment', () => {
    const r = run(['--config', file, '--concurrency', '32', '--no-keepalive', '--gearman', 'a:1,b'], {
      POOL_BRIDGE_CONCURRENCY: '16',
      POOL_BRIDGE_KEEPALIVE: 'true',
    });
    assert.equal(r.config.concurrency, 32);
    assert.equal(r.config.keepAlive, false);
    assert.deepEqual(r.config.servers, [
      { host: 'a', port: 1 },
      { host: 'b', port: 4730 },
    ]);
    assert.equal(r.sources.concurrency, '--concurrency on the command line');
  });

  test('durations are seconds', () => {
    const c = config([
      '--invoke-timeout',
      '900.5',
      '--drain-timeout',
      '0',
      '--reconnect-max-delay',
      '5',
      '--keepalive-idle',
      '30',
    ]);
    assert.equal(c.invokeTimeoutMs, 900_500);
    assert.equal(c.drainTimeoutMs, 0);
    assert.equal(c.reconnectMaxDelayMs, 5000);
    assert.equal(c.keepAliveIdleMs, 30_000);
  });

  test('Lambda endpoint, region, TLS files', () => {
    const pem = yamlFile('x.pem', 'not really a pem');
    const c = config([
      '--lambda-endpoint',
      'http://127.0.0.1:3002',
      '--lambda-region',
      'eu-west-1',
      '--gearman-ssl-ca',
      pem,
      '--gearman-ssl-cert',
      pem,
      '--gearman-ssl-key',
      pem,
    ]);
    assert.equal(c.lambdaEndpoint, 'http://127.0.0.1:3002');
    assert.equal(c.lambdaRegion, 'eu-west-1');
    assert.deepEqual(c.tls, { caFile: pem, certFile: pem, keyFile: pem });
    assert.deepEqual(config(['--gearman-ssl']).tls, {});
  });

  test('health-listen: off, IPv6, port 0, and a warning for a non-loopback address', () => {
    assert.equal(config(['--health-listen', 'off']).health, undefined);
    assert.deepEqual(config(['--health-listen', '[::1]:0']).health, { host: '::1', port: 0 });
    const r = run(['--health-listen', '0.0.0.0:9464']);
    assert.deepEqual(r.config.health, { host: '0.0.0.0', port: 9464 });
    assert.match(r.warnings.join('\n'), /not a loopback address/);
    assert.deepEqual(run([]).warnings, []);
  });
});

describe('invalid configuration names the setting and where it came from', () => {
  test('command line', () => {
    rejects(
      ['--concurrency', '0'],
      {},
      'concurrency',
      /invalid concurrency \(--concurrency on the command line\): must be an integer from 1/,
    );
    rejects(['--gearman', 'host:port'], {}, 'gearman', /invalid gearman .*port must be a number/);
    rejects(['--gearman', '::1:4730'], {}, 'gearman', /IPv6 address in brackets/);
    rejects(['--lambda-endpoint', 'ftp://x'], {}, 'lambda-endpoint', /http/);
    rejects(['--invoke-timeout=-1'], {}, 'invoke-timeout', /seconds/);
    rejects(['--invoke-timeout'], {}, 'invoke-timeout', /argument missing/);
    rejects(['--log-level', 'LOUD'], {}, 'log-level', /must be one of/);
    rejects(['--gearman-ssl-ca', '/nonexistent/ca.pem'], {}, 'gearman-ssl-ca', /readable file/);
    rejects(['--function-prefix', 'bad prefix!'], {}, 'function-prefix', /letters, digits/);
  });

  test('environment', () => {
    rejects(
      [],
      { POOL_BRIDGE_INVOKE_TIMEOUT: 'soon' },
      'invoke-timeout',
      /POOL_BRIDGE_INVOKE_TIMEOUT in the environment/,
    );
    rejects([], { POOL_BRIDGE_KEEPALIVE: 'maybe' }, 'keepalive', /true or false/);
    rejects([], { POOL_BRIDGE_CONCURRANCY: '4' }, 'POOL_BRIDGE_CONCURRANCY', /unknown environment variable/);
  });

  test('file', () => {
    const bad = yamlFile('bad.yaml', 'concurrency: lots\n');
    rejects(
      ['--config', bad],
      {},
      'concurrency',
      new RegExp(`"concurrency" in ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
    rejects(
      ['--config', yamlFile('unknown.yaml', 'concurency: 4\n')],
      {},
      'concurency',
      /unknown setting "concurency"/,
    );
    rejects(['--config', yamlFile('list.yaml', '- a\n- b\n')], {}, 'config', /mapping/);
    rejects(['--config', yamlFile('broken.yaml', 'a: [\n')], {}, 'config', /not valid YAML/);
    rejects(['--config', path.join(dir, 'missing.yaml')], {}, 'config', /cannot read/);
  });

  test('unknown options and stray arguments', () => {
    rejects(['--concurency', '4'], {}, undefined, /Unknown option '--concurency'/);
    rejects(['serve'], {}, undefined, /serve/);
  });

  test('a client certificate without its key', () => {
    const pem = yamlFile('y.pem', 'x');
    rejects(['--gearman-ssl-cert', pem], {}, 'gearman-ssl-key', /go together/);
  });
});

test('parseHostPort', () => {
  assert.deepEqual(parseHostPort('gearman.example.net', 4730), { host: 'gearman.example.net', port: 4730 });
  assert.deepEqual(parseHostPort('[fe80::1]:1', 4730), { host: 'fe80::1', port: 1 });
  assert.throws(() => parseHostPort('h:0', 4730), /port must be from 1/);
  assert.throws(() => parseHostPort('h:65536', 4730), /port/);
});

test('--help lists every option, its environment variable and default', () => {
  const help = helpText('1.2.3');
  for (const s of SETTINGS) {
    assert.match(help, new RegExp(`--(\\[no-\\])?${s.flag}\\b`), s.flag);
    assert.ok(help.includes(envName(s.flag)), envName(s.flag));
  }
  for (const flag of ['--config', '--help', '--version']) assert.ok(help.includes(flag), flag);
  assert.match(help, /POOL_BRIDGE_CONFIG/);
  assert.match(help, /YAML/);
});

test('the example YAML file is valid and matches the documented defaults where it repeats them', () => {
  const example = path.join(import.meta.dirname, '../../bridge/pool-bridge.example.yaml');
  const c = config(['--config', example]);
  assert.ok(c.servers.length >= 1);
  assert.equal(c.functionName, DEFAULTS.functionName);
});

test('queue-poll-interval: 15 s by default, 0 turns it off, anything under 0.1 s or not a number is refused', () => {
  assert.equal(config([]).queuePollIntervalMs, 15_000);
  assert.equal(config(['--queue-poll-interval', '0']).queuePollIntervalMs, 0);
  assert.equal(config([], { POOL_BRIDGE_QUEUE_POLL_INTERVAL: '2.5' }).queuePollIntervalMs, 2500);
  assert.equal(config(['--config', yamlFile('poll.yaml', 'queue-poll-interval: 60\n')]).queuePollIntervalMs, 60_000);
  rejects(
    ['--queue-poll-interval', '0.05'],
    {},
    'queue-poll-interval',
    /^invalid queue-poll-interval \(--queue-poll-interval on the command line\): must be 0 \(off\) or from 0\.1 to 3600 seconds; got "0\.05"$/,
  );
  rejects([], { POOL_BRIDGE_QUEUE_POLL_INTERVAL: 'often' }, 'queue-poll-interval', /must be a number of seconds/);
});
