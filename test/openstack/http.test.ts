import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Logger } from '@aws-lambda-powertools/logger';
import { Agent } from 'undici';
import { PoolManagerError } from '../../contract/errors';
import {
  ConflictError,
  PreconditionFailedError,
  ConnectionError,
  NotFoundError,
  OpenStackError,
  QuotaError,
  TimeoutError,
  clearTokenCache,
  createOpenStack,
} from '../../functions/openstack/index';
import type { OpenStackClient, OpenStackOptions } from '../../functions/openstack/index';
import {
  HttpClient,
  extractFault,
  isRetryable,
  resetInsecureWarning,
  retryAfterMs,
} from '../../functions/openstack/http';
import type { CloudSettings } from '../../functions/openstack/types';
import { captureLogger, json, passwordSettings, startFakeCloud, startServer } from './helpers';
import type { FakeCloud, Handler } from './helpers';
import type { SelfSigned } from '../helpers/certs';
import { selfSigned } from '../helpers/certs';

const FAST: OpenStackOptions = { retryBaseDelayMs: 1, retryMaxDelayMs: 20 };
const SERVER = { server: { id: 's1', name: 'n', status: 'ACTIVE', addresses: {} } };

describe('http', () => {
  let cloud: FakeCloud | undefined;
  const clients: OpenStackClient[] = [];
  const open = (settings: CloudSettings, options: OpenStackOptions = FAST) => {
    const c = createOpenStack(settings, options);
    clients.push(c);
    return c;
  };
  const withRoutes = async (routes: Record<string, Handler>, overrides: Partial<CloudSettings> = {}) => {
    cloud = await startFakeCloud({ routes });
    return passwordSettings(cloud.authUrl, overrides);
  };

  beforeEach(() => clearTokenCache());
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await cloud?.close();
    cloud = undefined;
  });

  it('retries a GET on 503 up to `retries` extra attempts, then fails naming the attempts', async () => {
    let calls = 0;
    const settings = await withRoutes({
      'GET /compute/v2.1/servers/s1': (_r, res) => {
        calls++;
        json(res, 503, { computeFault: { code: 503, message: 'Service Unavailable' } });
      },
    });
    await assert.rejects(open({ ...settings, retries: 3 }).compute.getServer('s1'), (e: unknown) => {
      assert.ok(e instanceof OpenStackError);
      assert.equal(e.code, 'POOL_ERR_OPENSTACK');
      assert.equal(e.status, 503);
      assert.equal(e.retryable, true);
      assert.equal(e.message, 'Nova GET /servers/s1 failed: 503 Service Unavailable (after 4 attempts)');
      return true;
    });
    assert.equal(calls, 4);
  });

  it('a GET that gets 502 then 200 succeeds', async () => {
    let calls = 0;
    const settings = await withRoutes({
      'GET /compute/v2.1/servers/s1': (_r, res) => (++calls === 1 ? json(res, 502, {}) : json(res, 200, SERVER)),
    });
    assert.equal((await open(settings).compute.getServer('s1'))?.id, 's1');
    assert.equal(calls, 2);
  });

  it('retries a GET on a connection reset', async () => {
    let calls = 0;
    const settings = await withRoutes({
      'GET /compute/v2.1/servers/s1': (_r, res) => {
        calls++;
        res.socket?.destroy();
      },
    });
    await assert.rejects(open({ ...settings, retries: 2 }).compute.getServer('s1'), (e: unknown) => {
      assert.ok(e instanceof ConnectionError);
      assert.equal(e.code, 'POOL_ERR_OPENSTACK_CONNECTION');
      assert.equal(e.retryable, true);
      assert.match(e.message, /^Nova GET \/servers\/s1 failed: UND_ERR_SOCKET .* \(after 3 attempts\)$/);
      return true;
    });
    assert.equal(calls, 3);
  });

  it('retries a DELETE that was reset once, and succeeds', async () => {
    let calls = 0;
    const settings = await withRoutes({
      'DELETE /compute/v2.1/servers/s1': (_r, res) => {
        if (++calls === 1) res.socket?.destroy();
        else json(res, 204, undefined);
      },
    });
    assert.equal(await open(settings).compute.deleteServer('s1'), 'deleted');
    assert.equal(calls, 2);
  });

  it('never retries a POST, on 500 or on a reset', async () => {
    let calls = 0;
    const settings = await withRoutes({
      'POST /compute/v2.1/servers': (req, res) => {
        calls++;
        if (req.body && (req.body as { server: { name: string } }).server.name === 'reset') res.socket?.destroy();
        else json(res, 500, { computeFault: { code: 500, message: 'Unexpected API Error.' } });
      },
    });
    const client = open({ ...settings, retries: 5 });
    await assert.rejects(client.compute.createServer({ name: 'x', imageRef: 'i', flavorRef: 'f' }), (e: unknown) => {
      assert.ok(e instanceof OpenStackError);
      assert.equal(e.message, 'Nova POST /servers failed: 500 Unexpected API Error.');
      return true;
    });
    assert.equal(calls, 1);
    await assert.rejects(
      client.compute.createServer({ name: 'reset', imageRef: 'i', flavorRef: 'f' }),
      (e: unknown) => {
        assert.ok(e instanceof ConnectionError);
        assert.equal(e.requestSent, true, 'reset after the request was sent: Nova may have stored the server');
        return true;
      },
    );
    assert.equal(calls, 2);
  });

  it('a connection refused is a retried ConnectionError', async () => {
    const dead = await startServer((_r, res) => json(res, 200, {}));
    const url = dead.url;
    await dead.close();
    const settings = await withRoutes({}, { endpointOverrides: { compute: `${url}/v2.1` }, retries: 1 });
    const logger = captureLogger();
    await assert.rejects(open(settings, { ...FAST, logger }).compute.getServer('s1'), (e: unknown) => {
      assert.ok(e instanceof ConnectionError);
      assert.match(e.message, /^Nova GET \/servers\/s1 failed: ECONNREFUSED .*\(after 2 attempts\)$/);
      assert.equal(e.requestSent, false, 'a refused connection sent nothing');
      return true;
    });
    const retries = logger.lines.filter((l) => l.message === 'openstack request retry');
    assert.deepEqual(
      retries.map((l) => l.extra[0]?.reason),
      ['POOL_ERR_OPENSTACK_CONNECTION'],
      'logs carry the stable code, which survives the bundle minifying class names',
    );
    assert.equal(
      logger.lines.find((l) => l.message === 'openstack request' && l.extra[0]?.service === 'Nova')?.extra[0]?.error,
      'POOL_ERR_OPENSTACK_CONNECTION',
    );
  });

  it('no response within the timeout is a TimeoutError', async () => {
    let calls = 0;
    const settings = await withRoutes(
      {
        'GET /compute/v2.1/servers/s1': () => {
          calls++; // never answers
        },
      },
      { requestTimeoutMs: 150, retries: 1 },
    );
    const started = Date.now();
    await assert.rejects(open(settings).compute.getServer('s1'), (e: unknown) => {
      assert.ok(e instanceof TimeoutError);
      assert.equal(e.code, 'POOL_ERR_OPENSTACK_TIMEOUT');
      assert.equal(e.retryable, true);
      assert.equal(e.message, 'Nova GET /servers/s1 failed: no complete response within 150 ms (after 2 attempts)');
      return true;
    });
    assert.equal(calls, 2);
    assert.ok(Date.now() - started < 2_000);
  });

  it('a body that stalls is a TimeoutError too', async () => {
    const settings = await withRoutes(
      {
        'GET /compute/v2.1/servers/s1': (_r, res) => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.write('{"server": ');
        },
      },
      { requestTimeoutMs: 150, retries: 0 },
    );
    await assert.rejects(open(settings).compute.getServer('s1'), TimeoutError);
  });

  it('a GET rate limited with 429 is retried after its Retry-After and succeeds; a POST is not retried', async () => {
    let gets = 0;
    let posts = 0;
    const settings = await withRoutes({
      'GET /compute/v2.1/servers/s1': (_r, res) =>
        ++gets === 1
          ? json(res, 429, { overLimit: { code: 429, message: 'Rate limit exceeded' } }, { 'Retry-After': '0.03' })
          : json(res, 200, SERVER),
      'POST /compute/v2.1/servers': (_r, res) => {
        posts++;
        json(res, 429, { overLimit: { code: 429, message: 'Rate limit exceeded' } }, { 'Retry-After': '0' });
      },
    });
    const logger = captureLogger();
    const client = open({ ...settings, retries: 3 }, { retryBaseDelayMs: 1, retryMaxDelayMs: 1_000, logger });
    assert.equal((await client.compute.getServer('s1'))?.id, 's1');
    assert.equal(gets, 2);
    const retries = logger.lines.filter((l) => l.message === 'openstack request retry');
    assert.deepEqual(
      retries.map((l) => [l.extra[0]?.reason, l.extra[0]?.delayMs]),
      [['status 429', 30]],
    );
    await assert.rejects(client.compute.createServer({ name: 'x', imageRef: 'i', flavorRef: 'f' }), (e: unknown) => {
      assert.ok(e instanceof OpenStackError);
      assert.equal(e.code, 'POOL_ERR_OPENSTACK');
      assert.equal(e.status, 429);
      assert.equal(e.retryable, true, 'a later, separate request may succeed');
      assert.equal(e.message, 'Nova POST /servers failed: 429 Rate limit exceeded');
      return true;
    });
    assert.equal(posts, 1, 'a create is never repeated by the client');
  });

  it('marks an error retryable exactly when the client would repeat it', () => {
    for (const status of [400, 401, 403, 404, 409, 413, 422, 501]) {
      assert.equal(isRetryable({ kind: 'status', status }), false, `status ${status}`);
    }
    for (const status of [429, 500, 502, 503, 504]) {
      assert.equal(isRetryable({ kind: 'status', status }), true, `status ${status}`);
    }
    assert.equal(isRetryable({ kind: 'timeout' }), true);
    assert.equal(isRetryable({ kind: 'connection', code: 'ECONNRESET' }), true);
    assert.equal(isRetryable({ kind: 'connection', code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), false);
    assert.equal(isRetryable({ kind: 'connection', code: 'ENOTFOUND' }), false);
  });

  it('does not repeat what is not retryable, even an idempotent request', async () => {
    let calls = 0;
    const settings = await withRoutes({
      'GET /compute/v2.1/servers/s1': (_r, res) => {
        calls++;
        json(res, 400, { badRequest: { code: 400, message: 'bad' } });
      },
    });
    await assert.rejects(open({ ...settings, retries: 3 }).compute.getServer('s1'), (e: unknown) => {
      assert.ok(e instanceof OpenStackError);
      assert.equal(e.retryable, false);
      return true;
    });
    assert.equal(calls, 1);
  });

  it('honours Retry-After, capped', async () => {
    let calls = 0;
    const settings = await withRoutes({
      'GET /compute/v2.1/servers/s1': (_r, res) =>
        ++calls === 1 ? json(res, 503, {}, { 'Retry-After': '30' }) : json(res, 200, SERVER),
    });
    const logger = captureLogger();
    await open(settings, { retryBaseDelayMs: 1, retryMaxDelayMs: 40, logger }).compute.getServer('s1');
    const retry = logger.lines.find((l) => l.message === 'openstack request retry');
    assert.equal(retry?.extra[0]?.delayMs, 40);
    assert.equal(retryAfterMs({ 'retry-after': '2' }), 2_000);
    assert.ok((retryAfterMs({ 'retry-after': new Date(Date.now() + 3_000).toUTCString() }) ?? 0) > 1_000);
    assert.equal(retryAfterMs({ 'retry-after': 'soon' }), undefined);
  });

  it('backs off exponentially with full jitter', async () => {
    const delays: number[] = [];
    const server = await startServer((_r, res) => json(res, 503, {}));
    const agent = new Agent();
    try {
      const http = new HttpClient({
        dispatcher: agent,
        timeoutMs: 1_000,
        retries: 4,
        retryBaseDelayMs: 2,
        retryMaxDelayMs: 10,
        random: () => 1,
        secrets: () => [],
        logger: { ...captureLogger(), debug: (m, ...x) => m.endsWith('retry') && delays.push(Number(x[0]?.delayMs)) },
      });
      await assert.rejects(http.send({ service: 'Nova', method: 'GET', baseUrl: server.url, path: '/x' }));
      assert.deepEqual(delays, [2, 4, 8, 10]);
    } finally {
      await agent.close();
      await server.close();
    }
  });

  it('logs each request at debug with method, service, path, status and duration, no headers', async () => {
    const settings = await withRoutes({
      'GET /compute/v2.1/servers/detail': (_r, res) => json(res, 200, { servers: [] }),
    });
    const logger = captureLogger();
    await open(settings, { ...FAST, logger }).compute.findServersByName('libra-1');
    const requests = logger.lines.filter((l) => l.message === 'openstack request');
    assert.equal(requests.length, 2);
    assert.deepEqual(Object.keys(requests[1]?.extra[0] ?? {}).sort(), [
      'attempt',
      'durationMs',
      'method',
      'path',
      'service',
      'status',
    ]);
    assert.deepEqual(
      { ...requests[1]?.extra[0], durationMs: 0 },
      {
        service: 'Nova',
        method: 'GET',
        path: '/servers/detail',
        status: 200,
        durationMs: 0,
        attempt: 1,
      },
    );
    assert.equal(requests[0]?.extra[0]?.service, 'Keystone');
    assert.ok(logger.lines.every((l) => l.level === 'debug'));
  });

  it("accepts Powertools' Logger as the logger", async () => {
    const settings = await withRoutes({ 'GET /compute/v2.1/servers/s1': (_r, res) => json(res, 200, SERVER) });
    const logger = new Logger({ serviceName: 'openstack-test', logLevel: 'SILENT' });
    assert.equal((await open(settings, { ...FAST, logger }).compute.getServer('s1'))?.id, 's1');
  });

  describe('error mapping', () => {
    const cases: [string, number, unknown, new (...a: never[]) => Error, string, string][] = [
      [
        'Nova quota 403',
        403,
        {
          forbidden: {
            code: 403,
            message: 'Quota exceeded for instances: Requested 1, but already used 10 of 10 instances',
          },
        },
        QuotaError,
        'POOL_ERR_OPENSTACK_QUOTA',
        'Nova POST /servers failed: 403 Quota exceeded for instances: Requested 1, but already used 10 of 10 instances',
      ],
      [
        'Nova overLimit 413',
        413,
        {
          overLimit: {
            code: 413,
            message: 'Quota exceeded for ram: Requested 2048, but already used 4096 of 4096 ram',
          },
        },
        QuotaError,
        'POOL_ERR_OPENSTACK_QUOTA',
        'Nova POST /servers failed: 413 Quota exceeded for ram: Requested 2048, but already used 4096 of 4096 ram',
      ],
      [
        'Nova forbidden without quota',
        403,
        { forbidden: { code: 403, message: "Policy doesn't allow os_compute_api:servers:create to be performed." } },
        OpenStackError,
        'POOL_ERR_OPENSTACK',
        "Nova POST /servers failed: 403 Policy doesn't allow os_compute_api:servers:create to be performed.",
      ],
      [
        'Nova conflict',
        409,
        { conflictingRequest: { code: 409, message: 'Cannot boot' } },
        ConflictError,
        'POOL_ERR_OPENSTACK_CONFLICT',
        'Nova POST /servers failed: 409 Cannot boot',
      ],
      [
        'bad request',
        400,
        { badRequest: { code: 400, message: 'Invalid imageRef provided.' } },
        OpenStackError,
        'POOL_ERR_OPENSTACK',
        'Nova POST /servers failed: 400 Invalid imageRef provided.',
      ],
      [
        'plain text',
        400,
        'Bad things <b>happened</b>\n\n here',
        OpenStackError,
        'POOL_ERR_OPENSTACK',
        'Nova POST /servers failed: 400 Bad things happened here',
      ],
      ['empty', 400, '', OpenStackError, 'POOL_ERR_OPENSTACK', 'Nova POST /servers failed: 400 Bad Request'],
    ];
    for (const [title, status, body, Type, code, message] of cases) {
      it(title, async () => {
        const settings = await withRoutes({
          'POST /compute/v2.1/servers': (_r, res) => {
            if (typeof body === 'string') {
              res.writeHead(status, { 'Content-Type': 'text/html' });
              res.end(body);
            } else json(res, status, body);
          },
        });
        await assert.rejects(
          open(settings).compute.createServer({ name: 'x', imageRef: 'i', flavorRef: 'f' }),
          (e: unknown) => {
            assert.ok(e instanceof Type, `${String(e)} is a ${Type.name}`);
            assert.ok(e instanceof PoolManagerError);
            assert.equal(e.code, code);
            assert.equal((e as Error).message, message);
            assert.equal((e as OpenStackError).status, status);
            assert.equal((e as OpenStackError).service, 'Nova');
            assert.equal((e as OpenStackError).path, '/servers');
            return true;
          },
        );
      });
    }

    it('Neutron 409 OverQuota is a QuotaError', async () => {
      const settings = await withRoutes({
        'GET /network/v2.0/networks': (_r, res) =>
          json(res, 200, { networks: [{ id: 'ext', name: 'public', 'router:external': true }] }),
        'POST /network/v2.0/floatingips': (_r, res) =>
          json(res, 409, {
            NeutronError: { type: 'OverQuota', message: "Quota exceeded for resources: ['floatingip'].", detail: '' },
          }),
      });
      const fips = await open(settings).floatingIps();
      await assert.rejects(fips.allocate({}), (e: unknown) => {
        assert.ok(e instanceof QuotaError);
        assert.equal(e.code, 'POOL_ERR_OPENSTACK_QUOTA');
        assert.equal(
          e.message,
          "Neutron POST /v2.0/floatingips failed: 409 Quota exceeded for resources: ['floatingip'].",
        );
        return true;
      });
    });

    it('a 404 is a NotFoundError where the caller does not expect it', async () => {
      const settings = await withRoutes({});
      const fips = await open(settings).floatingIps();
      await assert.rejects(
        fips.disassociate(
          {
            id: 'f1',
            ip: '1.2.3.4',
            serverId: 's',
            portId: 'p',
            fixedIp: undefined,
            description: undefined,
            revision: undefined,
            createdAt: undefined,
          },
          's',
        ),
        (e: unknown) =>
          e instanceof NotFoundError &&
          e.code === 'POOL_ERR_OPENSTACK_NOT_FOUND' &&
          e.message.startsWith('Neutron PUT /v2.0/floatingips/f1 failed: 404 '),
      );
    });

    it('a 412 to a conditional write is a PreconditionFailedError, and the write is not repeated', async () => {
      let puts = 0;
      const settings = await withRoutes({
        'PUT /network/v2.0/floatingips/f1': (_r, res) => {
          puts += 1;
          json(res, 412, {
            NeutronError: {
              type: 'RevisionNumberConstraintFailed',
              message: 'Constrained to 4, but current revision is 5',
              detail: '',
            },
          });
        },
      });
      const fips = await open(settings).floatingIps();
      await assert.rejects(
        fips.disassociate(
          {
            id: 'f1',
            ip: '1.2.3.4',
            serverId: 's',
            portId: 'p',
            fixedIp: undefined,
            description: undefined,
            revision: 4,
            createdAt: undefined,
          },
          's',
        ),
        (e: unknown) =>
          e instanceof PreconditionFailedError &&
          e.code === 'POOL_ERR_OPENSTACK_PRECONDITION_FAILED' &&
          e.retryable === false &&
          e.message === 'Neutron PUT /v2.0/floatingips/f1 failed: 412 Constrained to 4, but current revision is 5',
      );
      assert.equal(puts, 1, 'a refused conditional write is read again by the caller, never repeated blindly');
    });

    it('paths in messages have no query string', async () => {
      const settings = await withRoutes({
        'GET /compute/v2.1/servers/detail': (_r, res) => json(res, 400, { badRequest: { message: 'bad' } }),
      });
      await assert.rejects(
        open(settings).compute.findServersByName('x'),
        /^OpenStackError: Nova GET \/servers\/detail failed: 400 bad$/,
      );
    });

    it('extracts the fault text of each service', () => {
      assert.deepEqual(extractFault({ error: { code: 401, title: 'Unauthorized', message: 'm' } }, ''), {
        message: 'm',
        kind: 'Unauthorized',
      });
      assert.deepEqual(extractFault({ NeutronError: { type: 'OverQuota', message: 'q' } }, ''), {
        message: 'q',
        kind: 'OverQuota',
      });
      assert.deepEqual(extractFault({ itemNotFound: { code: 404, message: 'gone' } }, ''), {
        message: 'gone',
        kind: 'itemNotFound',
      });
      assert.equal(extractFault(undefined, 'x'.repeat(300)).message.length, 200);
    });
  });

  describe('TLS', () => {
    let made: SelfSigned | undefined;
    afterEach(() => {
      made?.remove();
      made = undefined;
    });

    function pemPair(): { key: string; cert: string } | undefined {
      try {
        made = selfSigned();
        return { key: made.key.toString('utf8'), cert: made.cert.toString('utf8') };
      } catch {
        return undefined;
      }
    }

    it('trusts caCertPem, refuses an unknown CA, and skips verification only when insecure (warning once)', async (t) => {
      const pem = pemPair();
      if (!pem) return t.skip('openssl is not available');
      const https = createHttpsServer({ key: pem.key, cert: pem.cert }, (req, res) => {
        if (req.url === '/v3/auth/tokens') {
          res.writeHead(201, { 'Content-Type': 'application/json', 'X-Subject-Token': 'tls-token' });
          res.end(
            JSON.stringify({ token: { expires_at: new Date(Date.now() + 3_600_000).toISOString(), catalog: [] } }),
          );
        } else {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(SERVER));
        }
      });
      await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
      const url = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
      try {
        const settings = passwordSettings(`${url}/v3`, { endpointOverrides: { compute: `${url}/v2.1` }, retries: 0 });
        await assert.rejects(open(settings).compute.getServer('s1'), (e: unknown) => {
          assert.ok(e instanceof ConnectionError);
          assert.match(e.message, /^Keystone POST \/v3\/auth\/tokens failed: .*OS_CACERT/);
          assert.equal(e.requestSent, false, 'a failed TLS handshake sent nothing');
          return true;
        });
        assert.equal((await open({ ...settings, caCertPem: pem.cert }).compute.getServer('s1'))?.id, 's1');
        clearTokenCache();
        resetInsecureWarning();
        const logger = captureLogger();
        assert.equal(
          (await open({ ...settings, insecure: true }, { ...FAST, logger }).compute.getServer('s1'))?.id,
          's1',
        );
        open({ ...settings, insecure: true }, { ...FAST, logger });
        assert.equal(logger.lines.filter((l) => l.level === 'warn').length, 1);
      } finally {
        https.closeAllConnections();
        await new Promise<void>((resolve) => https.close(() => resolve()));
      }
    });
  });
});
