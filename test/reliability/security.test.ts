/**
 * Security properties, end to end: names that are regular expressions or prefixes never
 * touch a server of another name; no password, token, application-credential secret or
 * AWS secret appears in any log line or result at DEBUG, on PASS or on error paths;
 * OpenStack TLS is verified unless OS_INSECURE says otherwise (one warning per process);
 * and every test talks to loopback only (a source scan here, a connect() guard in every
 * reliability test and its child processes).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Result } from '../../contract';
import type { CloudSim } from '../../scripts/cloud-sim';
import { startFakeLambda } from '../../scripts/lambda/fake-lambda';
import { GearmanClient } from '../../bridge/gearman';
import { POOL_MARK } from '../../functions/core/servers';
import { actionContext, functionEnv, startCloud } from '../helpers/cloud';
import type { Chain } from './helpers/chain';
import { FN, report, startChain, useLoopbackGuard } from './helpers/chain';
import type { LocalLambda } from './helpers/local-lambda';
import { startLocalLambda } from './helpers/local-lambda';
import type { BridgeProc } from './helpers/procs';
import { ROOT, startBridgeProcess } from './helpers/procs';
import type { TlsFront } from './helpers/tls-front';
import type { SelfSigned } from '../helpers/certs';
import { selfSigned } from '../helpers/certs';
import { startFront } from './helpers/tls-front';
import { installLoopbackGuard, until } from '../../scripts/harness';

/** TEST-NET-1 (RFC 5737): the address the guard test tries, and the guard refuses. */
const PROBE = '192.0.2.1';
const guard = useLoopbackGuard({
  // Less the one probe the guard test below makes on purpose (and the guard refuses).
  ignore: (c) => c.host === PROBE && c.port === 9,
  report: 'loopback only (connect guard, security tests)',
});

describe('names that are regular expressions or prefixes', { timeout: 60_000 }, () => {
  let chain: Chain;
  const ids = new Map<string, string>();
  const EXISTING = [
    'libra-1',
    'libra-10',
    'libra-100',
    'LIBRA-1X',
    'x.y',
    'xzy',
    'a|b',
    'a',
    'b',
    '(paren',
    '[br',
    'twin',
    'twin',
  ];
  let ip = '';

  before(async () => {
    chain = await startChain({ guard, label: 'names' });
    const ctx = actionContext(chain.sim);
    const { compute } = ctx.openstack;
    const image = await ctx.openstack.image.resolveImage('haproxy-lb');
    const flavor = await compute.resolveFlavor('m1.small');
    // Marked as BUILD_DEVICE marks its servers: this test is about names.
    for (const name of EXISTING)
      ids.set(
        name,
        (await compute.createServer({ name, imageRef: image, flavorRef: flavor, metadata: { [POOL_MARK]: name } })).id,
      );
    await until(() => chain.sim.servers().every((s) => s.status === 'ACTIVE'), 'the servers to be active');
    const fip = await chain.job({ action: 'BUILD_IP' }, 'names-ip');
    ip = String(fip.ip);
    assert.equal((await chain.job({ action: 'ASSIGN_IP', ip, name: 'libra-10' }, 'names-assign')).response, 'PASS');
  });
  after(async () => {
    await chain.stop();
  });

  const names = (): string[] =>
    chain.sim
      .servers()
      .map((s) => s.name)
      .sort();
  const holder = (): string | null => {
    const serverId = chain.sim.floatingIps().find((f) => f.address === ip)?.serverId ?? null;
    return chain.sim.servers().find((s) => s.id === serverId)?.name ?? null;
  };

  test('DELETE_DEVICE, ASSIGN_IP and REMOVE_IP never act on a server whose name is not exactly the one given', async () => {
    const before = names();
    const tricky = [
      '.*',
      '.',
      '.+',
      'libra-',
      'libra',
      '^libra-1',
      'libra-1$',
      '^libra-1$',
      'libra-1|libra-10',
      'libra-1.',
      'libra-10*',
      'libra-1?',
      '^',
      '$',
      '|',
      '^$',
      '()',
      'x_y',
      'x?y',
      'Libra-1',
      'LIBRA-1',
      ' libra-1',
      'libra-1 ',
      'libra\\-1',
      '\\w+',
      '[a-z]+-1',
      '(paren)',
      '[br]',
      'a|b|twin',
      '%',
      '_',
      'libra-1%',
      "libra-1' OR '1'='1",
    ];
    let jobs = 0;
    for (const [i, name] of tricky.entries()) {
      const del = await chain.job({ action: 'DELETE_DEVICE', name }, `tricky-del-${i}`);
      const assign = await chain.job({ action: 'ASSIGN_IP', ip, name }, `tricky-assign-${i}`);
      const remove = await chain.job({ action: 'REMOVE_IP', ip, name }, `tricky-remove-${i}`);
      jobs += 3;
      // Nothing is named so: the device is already gone (PASS), and there is nothing to assign to or remove from.
      assert.equal(del.response, 'PASS', `DELETE_DEVICE ${JSON.stringify(name)}: ${JSON.stringify(del)}`);
      assert.equal(assign.response, 'FAIL', `ASSIGN_IP ${JSON.stringify(name)}`);
      assert.match(String(assign.error), /no server is named/);
      assert.equal(remove.response, 'FAIL', `REMOVE_IP ${JSON.stringify(name)}`);
      assert.deepEqual(names(), before, `${JSON.stringify(name)} deleted something`);
      assert.equal(holder(), 'libra-10', `${JSON.stringify(name)} moved the floating IP`);
    }

    // Two servers with exactly the name: a FAIL, never a guess.
    const twin = await chain.job({ action: 'DELETE_DEVICE', name: 'twin' }, 'twin-del');
    assert.equal(twin.response, 'FAIL');
    assert.match(String(twin.error), /2 servers are named twin/);
    assert.deepEqual(names(), before);

    // The address moves only to the server named exactly, and only that one gives it up.
    assert.equal((await chain.job({ action: 'ASSIGN_IP', ip, name: 'libra-1' }, 'exact-assign')).response, 'PASS');
    assert.equal(holder(), 'libra-1');
    const other = await chain.job({ action: 'REMOVE_IP', ip, name: 'libra-10' }, 'exact-remove-other');
    assert.equal(other.response, 'FAIL');
    assert.match(String(other.error), /associated with another server/);
    assert.equal(holder(), 'libra-1');
    assert.equal((await chain.job({ action: 'REMOVE_IP', ip, name: 'libra-1' }, 'exact-remove')).response, 'PASS');
    assert.equal(holder(), null);

    // Names with metacharacters that do exist are deleted, exactly them and nothing else.
    const left = new Set(before);
    for (const name of ['x.y', 'a|b', '(paren', '[br', 'libra-1']) {
      assert.equal((await chain.job({ action: 'DELETE_DEVICE', name }, `exact-del-${name}`)).response, 'PASS');
      left.delete(name);
      assert.deepEqual(
        names(),
        before.filter((n) => left.has(n)),
        `after deleting ${name}`,
      );
    }
    assert.deepEqual(names(), ['LIBRA-1X', 'a', 'b', 'libra-10', 'libra-100', 'twin', 'twin', 'xzy']);
    assert.ok(chain.sim.servers().every((s) => s.id === ids.get(s.name) || s.name === 'twin'));
    report('names that are regexes or prefixes', {
      trickyNames: tricky.length,
      jobs: jobs + 9,
      wrongServerTouched: 0,
      exactNamesDeleted: 5,
    });
  });
});

describe('no secret in any log line or result, at DEBUG, on PASS and on errors', { timeout: 90_000 }, () => {
  const PASSWORD = 'pw-Rel1ab1l1ty-S3cret-8841';
  const APP_SECRET = 'ac-Rel1ab1l1ty-S3cret-2207';
  const AWS_SECRET = 'awsSecretRel1ab1l1ty/5512+abcDEFghi';
  const AWS_TOKEN = 'IQoJb3JpZ2luX2VjERel1ab1l1tySessionToken9931';
  const AWS = {
    AWS_ACCESS_KEY_ID: 'AKIARELIABILITY00001',
    AWS_SECRET_ACCESS_KEY: AWS_SECRET,
    AWS_SESSION_TOKEN: AWS_TOKEN,
    AWS_REGION: 'us-east-1',
  };
  let chain: Chain;
  let appLambda: LocalLambda;
  let appBridge: BridgeProc;
  const results: Result[] = [];

  let front: TlsFront;

  before(async () => {
    const sim = await startCloud({
      bootDelayMs: 200,
      password: PASSWORD,
      applicationCredentials: [{ id: 'rel-appcred', secret: APP_SECRET, user: 'admin' }],
    });
    // A hostile cloud: every error quotes back the request's token and body (with the password).
    front = await startFront(sim.url, { echo: true });
    chain = await startChain({
      guard,
      label: 'secrets',
      cloud: sim,
      // As on Lambda, the function's environment holds AWS credentials of its own.
      env: {
        OS_AUTH_URL: `${front.url}/identity/v3`,
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
        OS_REQUEST_RETRIES: '1',
        OS_REQUEST_TIMEOUT_MS: '800',
        ...AWS,
      },
      bridgeArgs: ['--log-level', 'DEBUG', '--invoke-timeout', '20'],
      bridgeEnv: AWS,
    });
    const {
      OS_PASSWORD: _password,
      OS_USERNAME: _user,
      OS_PROJECT_NAME: _project,
      OS_PROJECT_DOMAIN_NAME: _domain,
      ...rest
    } = functionEnv(chain.sim);
    appLambda = await startLocalLambda({
      env: {
        ...rest,
        OS_AUTH_URL: `${front.url}/identity/v3`,
        OS_APPLICATION_CREDENTIAL_ID: 'rel-appcred',
        OS_APPLICATION_CREDENTIAL_SECRET: APP_SECRET,
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
        OS_REQUEST_RETRIES: '1',
        ...AWS,
      },
      guardFile: guard.file('secrets-appcred'),
    });
    appBridge = await startBridgeProcess({
      servers: [chain.gd.address],
      lambdaUrl: appLambda.url,
      clientId: 'appcred',
      args: ['--function-name', 'libra_pool_mgm_appcred', '--log-level', 'DEBUG'],
      env: AWS,
      guardFile: guard.file('secrets-appcred-bridge'),
    });
  });
  after(async () => {
    await appBridge.stop();
    await appLambda.stop();
    await chain.stop();
    await front.close();
  });

  const run = async (message: Record<string, unknown>, unique: string): Promise<Result> => {
    const r = await chain.job(message, unique);
    results.push(r);
    return r;
  };

  test('every output of the functions and the bridges is free of them', async () => {
    const { sim } = chain;
    // PASS: the whole life cycle.
    const dev = await run({ action: 'BUILD_DEVICE' }, 'sec-dev');
    const fip = await run({ action: 'BUILD_IP' }, 'sec-ip');
    assert.equal(dev.response, 'PASS');
    assert.equal(fip.response, 'PASS');
    const name = String(dev.name);
    const ip = String(fip.ip);
    for (const [i, m] of [
      { action: 'ASSIGN_IP', ip, name },
      { action: 'REMOVE_IP', ip, name },
    ].entries()) {
      assert.equal((await run(m, `sec-pass-${i}`)).response, 'PASS');
    }
    // Errors, each quoting back what its request sent (the front does that).
    sim.faults.add({
      service: 'compute',
      method: 'POST',
      path: '/servers$',
      times: 1,
      effect: { status: 500, body: { computeFault: { code: 500, message: 'boom' } } },
    });
    assert.equal((await run({ action: 'BUILD_DEVICE' }, 'sec-500')).response, 'FAIL');
    sim.faults.add({
      service: 'network',
      method: 'POST',
      times: 1,
      effect: {
        status: 409,
        body: { NeutronError: { type: 'OverQuota', message: "Quota exceeded for resources: ['floatingip']." } },
      },
    });
    assert.equal((await run({ action: 'BUILD_IP' }, 'sec-409')).response, 'FAIL');
    sim.faults.add({
      service: 'compute',
      method: 'GET',
      path: '/servers/detail',
      times: 1,
      effect: { status: 400, body: '<html>Bad Request</html>', headers: { 'content-type': 'text/html' } },
    });
    const badRequest = await run({ action: 'DELETE_DEVICE', name }, 'sec-400');
    assert.equal(badRequest.response, 'FAIL', JSON.stringify(badRequest));
    // Requests that never answer: timeouts.
    sim.faults.add({ service: 'compute', method: 'GET', times: 2, effect: { hang: true } });
    const timedOut = await run({ action: 'DELETE_DEVICE', name }, 'sec-timeout');
    assert.match(String(timedOut.error), /no complete response within 800 ms/);
    // Keystone refusing the password (and quoting the request with it), after every token expired.
    sim.expireTokens();
    sim.faults.add({
      service: 'identity',
      method: 'POST',
      times: 4,
      effect: {
        status: 401,
        body: {
          error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
        },
      },
    });
    const refused = await run({ action: 'DELETE_IP', ip }, 'sec-401');
    assert.equal(refused.response, 'FAIL');
    assert.match(String(refused.error), /401/);
    sim.faults.clear();

    // Application-credential auth, PASS and an echoing 500.
    const client = await GearmanClient.connect(chain.gd.address);
    const viaAppCred = async (message: Record<string, unknown>, unique: string): Promise<Result> => {
      const r = (await client.submit('libra_pool_mgm_appcred', unique, JSON.stringify(message))).json as Result;
      results.push(r);
      return r;
    };
    const appIp = await viaAppCred({ action: 'BUILD_IP' }, 'sec-app-ip');
    assert.equal(appIp.response, 'PASS', JSON.stringify(appIp));
    sim.faults.add({
      service: 'network',
      times: 10,
      effect: { status: 500, body: { NeutronError: { type: 'Internal', message: 'boom' } } },
    });
    sim.faults.add({
      service: 'identity',
      method: 'POST',
      times: 1,
      effect: { status: 500, body: { error: { code: 500, message: 'Keystone fell over' } } },
    });
    sim.expireTokens();
    assert.equal((await viaAppCred({ action: 'DELETE_IP', ip: appIp.ip }, 'sec-app-500')).response, 'FAIL');
    sim.faults.clear();
    assert.equal((await viaAppCred({ action: 'DELETE_IP', ip: appIp.ip }, 'sec-app-del')).response, 'PASS');

    // A Lambda endpoint that echoes the request's signature and session token in its error.
    const echoing = await startFakeLambda((req) => ({
      kind: 'error',
      status: 500,
      type: 'ServiceException',
      message: `you sent ${String(req.headers.authorization)} token ${String(req.headers['x-amz-security-token'])}`,
    }));
    const echoBridge = await startBridgeProcess({
      servers: [chain.gd.address],
      lambdaUrl: echoing.url,
      clientId: 'echo',
      args: ['--function-name', 'libra_pool_mgm_echo', '--log-level', 'DEBUG'],
      env: AWS,
      guardFile: guard.file('secrets-echo-bridge'),
    });
    try {
      // A job without a unique id makes each bridge log a DEBUG line: proof the level is on.
      for (const fn of [FN, 'libra_pool_mgm_appcred', 'libra_pool_mgm_echo']) {
        results.push((await client.submit(fn, '', '{"action":"NOPE"}')).json as Result);
      }
      const r = (await client.submit('libra_pool_mgm_echo', 'sec-echo', '{"action":"BUILD_IP"}')).json as Result;
      results.push(r);
      assert.equal(r.response, 'FAIL');
      assert.match(String(r.error), /ServiceException: you sent AWS4-HMAC-SHA256 Credential=AKIARELIABILITY00001/);
      assert.ok(
        echoing.requests[0]?.headers['x-amz-security-token'] === AWS_TOKEN,
        'the bridge did sign with the session token',
      );
    } finally {
      client.close();
      await echoBridge.stop();
      await echoing.close();
    }
    // Clean up what passed.
    assert.equal((await run({ action: 'DELETE_IP', ip }, 'sec-del-ip')).response, 'PASS');
    assert.equal((await run({ action: 'DELETE_DEVICE', name }, 'sec-del-dev')).response, 'PASS');

    // The scan: every byte the functions and the bridges printed, and every result.
    const secrets = [PASSWORD, APP_SECRET, AWS_SECRET, AWS_TOKEN, ...sim.issuedTokens()];
    assert.ok(sim.issuedTokens().length >= 2, 'tokens were issued');
    const outputs: [string, string][] = [
      ['password-auth functions', chain.lambda.proc.output()],
      ['application-credential functions', appLambda.proc.output()],
      ['bridge', chain.bridge?.output() ?? ''],
      ['application-credential bridge', appBridge.output()],
      ['echo bridge', echoBridge.output()],
      ['results', JSON.stringify(results)],
    ];
    for (const [what, text] of outputs) {
      assert.ok(text.length > 0, `${what}: captured`);
      for (const secret of secrets) {
        const at = text.indexOf(secret);
        assert.ok(
          at < 0,
          `${what} contains a secret (${secret.slice(0, 6)}…): …${text
            .slice(Math.max(0, at - 300), at)
            .split(secret)
            .join('<SECRET>')}<SECRET>${text.slice(at + secret.length, at + secret.length + 100)}…`,
        );
      }
    }
    // DEBUG was really on, in the functions and in the bridges.
    for (const [what, text] of outputs.slice(0, 5)) assert.match(text, /"level":"DEBUG"/, `${what} logged at DEBUG`);
    report('no secret in logs or results', {
      secretsSearched: secrets.length,
      bytesScanned: outputs.reduce((n, [, t]) => n + t.length, 0),
      jobs: results.length,
      failJobs: results.filter((r) => r.response === 'FAIL').length,
      found: 0,
    });
  });
});

describe('OpenStack TLS', { timeout: 60_000 }, () => {
  let sim: CloudSim;
  let cert: SelfSigned | undefined;
  let other: SelfSigned | undefined;
  let front: TlsFront | undefined;
  let skip: string | undefined;
  const lambdas: LocalLambda[] = [];

  before(async () => {
    sim = await startCloud();
    try {
      cert = selfSigned('cloud-sim');
      other = selfSigned('someone-else');
    } catch (error) {
      skip = `no openssl to make a certificate: ${(error as Error).message.split('\n')[0]}`;
      return;
    }
    front = await startFront(sim.url, { tls: cert });
  });
  after(async () => {
    for (const l of lambdas) await l.stop();
    await front?.close();
    await sim.close();
    cert?.remove();
    other?.remove();
  });

  const lambda = async (extra: Record<string, string>, authUrl = `${front?.url}/identity/v3`): Promise<LocalLambda> => {
    const l = await startLocalLambda({
      env: functionEnv(sim, { OS_AUTH_URL: authUrl, OS_REQUEST_RETRIES: '0', ...extra }),
      guardFile: guard.file('tls'),
    });
    lambdas.push(l);
    return l;
  };
  const WARNING = 'OpenStack TLS certificate verification is disabled';
  const warnings = (l: LocalLambda): number =>
    l.proc
      .output()
      .split('\n')
      .filter((line) => line.includes(WARNING)).length;

  test('verified by default: a self-signed certificate is refused with a clear error', async (t) => {
    if (skip || !front) return t.skip(skip);
    const l = await lambda({});
    const { body } = await l.invoke('buildIp', { action: 'BUILD_IP' });
    const r = body as Result;
    assert.equal(r.response, 'FAIL');
    assert.match(
      String(r.error),
      /^Keystone POST \/v3\/auth\/tokens failed: .*(self[- ]signed|certificate).*\(TLS: set the CA bundle, OS_CACERT\)/i,
    );
    assert.equal(warnings(l), 0);
    assert.equal(sim.counts().floatingIps, 0);
    report('TLS verified by default', { result: 'FAIL', error: String(r.error).slice(0, 140) });
  });

  test('OS_CACERT with that certificate: verified and working; another CA or another host name: refused', async (t) => {
    if (skip || !front || !cert || !other) return t.skip(skip);
    const good = await lambda({ OS_CACERT: cert.certFile });
    const before = front.requests();
    const pass = (await good.invoke('buildIp', { action: 'BUILD_IP' })).body as Result;
    assert.equal(pass.response, 'PASS', JSON.stringify(pass));
    assert.ok(front.requests() - before >= 3, 'Keystone and Neutron were reached over TLS');
    assert.equal(
      ((await good.invoke('deleteIp', { action: 'DELETE_IP', ip: pass.ip })).body as Result).response,
      'PASS',
    );
    assert.equal(warnings(good), 0);

    const wrongCa = (await (await lambda({ OS_CACERT: other.certFile })).invoke('buildIp', { action: 'BUILD_IP' }))
      .body as Result;
    assert.equal(wrongCa.response, 'FAIL');
    assert.match(String(wrongCa.error), /certificate|self[- ]signed/i);
    // The certificate names 127.0.0.1 only: the same server reached as "localhost" is refused.
    const port = new URL(front.url).port;
    const wrongName = (
      await (
        await lambda({ OS_CACERT: cert.certFile }, `https://localhost:${port}/identity/v3`)
      ).invoke('buildIp', { action: 'BUILD_IP' })
    ).body as Result;
    assert.equal(wrongName.response, 'FAIL');
    assert.match(String(wrongName.error), /ERR_TLS_CERT_ALTNAME_INVALID|altnames|does not match/i);
    assert.equal(sim.counts().floatingIps, 0);
    report('TLS with OS_CACERT', { withTheCert: 'PASS', otherCa: 'FAIL', otherHostName: 'FAIL' });
  });

  test('OS_INSECURE=true: works, and warns once per function process however many jobs it runs', async (t) => {
    if (skip || !front) return t.skip(skip);
    const l = await lambda({ OS_INSECURE: 'true' });
    const ips: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const r = (await l.invoke('buildIp', { action: 'BUILD_IP' })).body as Result;
      assert.equal(r.response, 'PASS', JSON.stringify(r));
      ips.push(String(r.ip));
    }
    assert.equal(warnings(l), 1, 'one warning for four jobs of the function');
    const line = JSON.parse(
      l.proc
        .output()
        .split('\n')
        .find((x) => x.includes(WARNING)) ?? '{}',
    ) as { level?: string };
    assert.equal(line.level, 'WARN');
    for (const ip of ips)
      assert.equal(((await l.invoke('deleteIp', { action: 'DELETE_IP', ip })).body as Result).response, 'PASS');
    // deleteIp is another function (its own process on Lambda): it warns once too, here in the same process.
    assert.equal(warnings(l), 2, 'one more for the second function, however many jobs');
    assert.equal(sim.counts().floatingIps, 0);
    report('TLS with OS_INSECURE', { jobs: 8, warnings: 2, functions: 2 });
  });
});

describe('only loopback in the test sources', () => {
  // Every host a test, a test helper, the simulator, the fleet or a benchmark connects to
  // is written in the source: scan test/, scripts/ and bench/ for addresses and URL hosts.
  // Addresses that are data, never connected to, are listed below with the reason.
  const DATA: { file: RegExp; literal: RegExp; why: string }[] = [
    {
      file: /^scripts\/cloud-sim\//,
      literal: /^(10\.|172\.(1[6-9]|2\d|3[01])\.|192\.168\.|0\.0\.0\.0$|255\.)/,
      why: "the simulator's fixed IPs, subnets, CIDRs and masks are data in its JSON answers",
    },
    {
      file: /^scripts\/cloud-sim\//,
      literal: /^docs\.openstack\.org$/,
      why: 'links inside the API version documents the simulator serves, as the real APIs do',
    },
    {
      file: /^(test|scripts|bench)\//,
      literal: /^(192\.0\.2\.|198\.51\.100\.|203\.0\.113\.)\d+$/,
      why: 'RFC 5737 documentation addresses: examples and result data, unroutable (the guard test probes 192.0.2.1 and is refused)',
    },
    {
      file: /^(test|scripts|bench)\//,
      literal: /(^|\.)(invalid|example)$|^example\.(com|net|org)$|\.example\.(com|net|org)$/,
      why: 'RFC 2606 names, which never resolve',
    },
    { file: /^(test|scripts|bench)\//, literal: /^(HOST|host)$/, why: 'placeholders in help texts and comments' },
    {
      file: /^test\//,
      literal:
        /^(10\.|172\.\d+\.|192\.168\.|100\.64\.|0\.0\.0\.0$|255\.|1\.2\.3\.|15\.185\.234\.125$|8\.8\.8\.8$|5\.6\.7\.8$|fe80::1$)/,
      why: 'addresses asserted as data (address selection, validation, parsing, the spec example), never connected to',
    },
    {
      file: /^test\//,
      literal: /^(k|x|h|a|b|nohost|gm1|gm2|keystone|nova|neutron|glance|cloud)$/,
      why: 'host names in URL and configuration parsing tests, never resolved',
    },
    {
      file: /^scripts\/lambda\/fake-lambda\.ts$/,
      literal: /^internal\.amazon\.com$/,
      why: 'part of the x-amzn-ErrorType header value that AWS sends',
    },
    {
      file: /^test\/reliability\/helpers\/fuzz\.ts$/,
      literal: /.*/,
      why: 'bad input: strings that are not valid IPv4 addresses',
    },
    {
      file: /^(test|scripts|bench)\//,
      literal: /^169\.254\.169\.254$/,
      why: 'the instance metadata address, in the guard test (refused) and comments; AWS_EC2_METADATA_DISABLED=true in every child',
    },
  ];
  const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\]|0:0:0:0:0:0:0:1)$/i;

  const files = (dir: string): string[] =>
    fs.existsSync(path.join(ROOT, dir))
      ? fs
          .readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile() && /\.(ts|mts|cts|js|mjs|cjs|sh|ya?ml|json)$/.test(e.name))
          .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)))
      : [];

  test('every address or URL host in test/, scripts/ and bench/ is loopback, or data listed with its reason', () => {
    const found: string[] = [];
    let checked = 0;
    for (const file of [...files('test'), ...files('scripts'), ...files('bench')]) {
      const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
      const literals = new Set<string>();
      for (const m of text.matchAll(/(?<![\w.])(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\w.])/g))
        literals.add(m[1] ?? '');
      for (const m of text.matchAll(/\b(?:https?|wss?|tcp|tls):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)/g))
        literals.add((m[1] ?? '').replace(/^\[|\]$/g, ''));
      for (const m of text.matchAll(/\b(?:host|hostname)\s*[:=]\s*['"`]([^'"`$]+)['"`]/g)) literals.add(m[1] ?? '');
      for (const literal of literals) {
        checked += 1;
        if (LOOPBACK.test(literal)) continue;
        if (DATA.some((d) => d.file.test(file) && d.literal.test(literal))) continue;
        found.push(`${file}: ${literal}`);
      }
    }
    assert.ok(checked > 50, `scanned ${checked} literals`);
    assert.deepEqual(
      found,
      [],
      'non-loopback hosts in test sources (connect to loopback only, or list the data with its reason)',
    );
    report('loopback only (source scan)', { literalsChecked: checked, nonLoopbackTargets: 0 });
  });

  test('the connect guard refuses anything but loopback', async () => {
    const installed = await installLoopbackGuard();
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '::ffff:127.0.0.1'])
      assert.equal(installed.isLoopbackHost(host), true, host);
    for (const host of [
      '10.0.0.1',
      '169.254.169.254',
      'example.com',
      '::',
      '0.0.0.0',
      '::ffff:10.0.0.1',
      '2001:db8::1',
    ])
      assert.equal(installed.isLoopbackHost(host), false, host);
    const { connect } = await import('node:net');
    const error = await new Promise<Error>((resolve) => {
      const socket = connect({ host: PROBE, port: 9 });
      socket.once('error', resolve);
      socket.once('connect', () => resolve(new Error('connected!')));
    });
    assert.match(error.message, /loopback guard: refused a connection to 192\.0\.2\.1:9/);
  });
});
