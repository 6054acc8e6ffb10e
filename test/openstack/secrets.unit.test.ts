/**
 * A hostile cloud that echoes the credentials and the token in every error it returns:
 * no error message, stack, fault, cause or log line of the client may contain them.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { clearTokenCache, createOpenStack } from '../../functions/openstack/index';
import type { OpenStackClient } from '../../functions/openstack/index';
import type { CloudSettings } from '../../functions/openstack/types';
import { APP_SECRET, PASSWORD, captureLogger, json, leaks, passwordSettings, startFakeCloud } from './helpers';
import type { FakeCloud, Handler, Recorded } from './helpers';

function echo(req: Recorded): string {
  return `you sent token ${String(req.headers['x-auth-token'])} and ${JSON.stringify(req.body ?? null)}`;
}

describe('secrets never leak', () => {
  let cloud: FakeCloud | undefined;
  const clients: OpenStackClient[] = [];
  const logger = captureLogger();
  const errors: unknown[] = [];

  const capture = async (promise: Promise<unknown>) => {
    try {
      await promise;
      assert.fail('expected a failure');
    } catch (error) {
      errors.push(error);
    }
  };
  const open = (settings: CloudSettings) => {
    const c = createOpenStack(settings, { logger, retryBaseDelayMs: 1, retryMaxDelayMs: 2 });
    clients.push(c);
    return c;
  };
  const secrets = () => [PASSWORD, APP_SECRET, ...(cloud?.issued ?? [])];
  const assertNoLeak = () => {
    assert.ok(errors.length > 0);
    for (const error of errors) {
      const e = error as Error & { fault?: string };
      const texts = [e.message, String(e.stack), String(e.fault), inspect(e, { depth: 10 }), JSON.stringify(e)];
      for (const text of texts) assert.deepEqual(leaks(text, secrets()), [], `leak in ${text}`);
    }
    const logText = JSON.stringify(logger.lines);
    assert.deepEqual(leaks(logText, secrets()), [], 'leak in a log line');
  };

  beforeEach(() => {
    clearTokenCache();
    errors.length = 0;
    logger.lines.length = 0;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await cloud?.close();
    cloud = undefined;
  });

  for (const status of [400, 401, 403, 500]) {
    it(`Keystone ${status} echoing the password`, async () => {
      cloud = await startFakeCloud({
        keystone: (req, res) => json(res, status, { error: { code: status, message: echo(req) } }),
      });
      await capture(open(passwordSettings(cloud.authUrl)).compute.getServer('s1'));
      assert.match(
        (errors[0] as Error).message,
        /^Keystone POST \/v3\/auth\/tokens failed: \d+ you sent token undefined and .*\*\*\*/,
      );
      assertNoLeak();
    });
  }

  it('Keystone echoing the application credential secret, as text', async () => {
    cloud = await startFakeCloud({
      keystone: (req, res) => {
        res.writeHead(401, { 'Content-Type': 'text/plain' });
        res.end(echo(req));
      },
    });
    const settings = passwordSettings(cloud.authUrl, {
      auth: {
        method: 'applicationCredential',
        authUrl: cloud.authUrl,
        applicationCredentialId: 'ac',
        applicationCredentialSecret: APP_SECRET,
      },
    });
    await capture(open(settings).compute.getServer('s1'));
    assertNoLeak();
  });

  it('every service error path echoing the token and the password', async () => {
    const hostile =
      (status: number, kind = 'badRequest'): Handler =>
      (req, res) =>
        json(res, status, { [kind]: { code: status, message: `${echo(req)} ${PASSWORD} quota` } });
    const plain: Handler = (req, res) => {
      res.writeHead(400, { 'Content-Type': 'text/html' });
      res.end(`<h1>${echo(req)}</h1>`);
    };
    let unauthorized = 0;
    cloud = await startFakeCloud({
      routes: {
        'GET /compute/v2.1/servers/s500': hostile(500, 'computeFault'),
        'GET /compute/v2.1/servers/s404': hostile(404, 'itemNotFound'),
        'DELETE /compute/v2.1/servers/s409': hostile(409, 'conflictingRequest'),
        'POST /compute/v2.1/servers': hostile(403, 'forbidden'),
        'GET /compute/v2.1/servers/detail': plain,
        'GET /compute/v2.1/flavors/f1': hostile(413, 'overLimit'),
        'GET /compute/v2.1/servers/s401': (req, res) => {
          unauthorized++;
          json(res, 401, { error: { code: 401, message: echo(req) } });
        },
        'GET /network/v2.0/networks': (_r, res) =>
          json(res, 200, { networks: [{ id: 'ext', name: 'public', 'router:external': true }] }),
        'POST /network/v2.0/floatingips': (req, res) =>
          json(res, 409, { NeutronError: { type: 'OverQuota', message: echo(req) } }),
        'GET /network/v2.0/floatingips/f2': (req, res) => json(res, 200, { floatingip: { note: echo(req) } }),
        'GET /compute/v2.1/servers/reset': (_r, res) => {
          res.socket?.destroy();
        },
        'GET /compute/v2.1/servers/hang': () => undefined,
      },
    });
    const client = open(passwordSettings(cloud.authUrl, { requestTimeoutMs: 200, retries: 1 }));
    const compute = client.compute;
    await capture(compute.getServer('s500'));
    await capture(compute.deleteServer('s409'));
    await capture(compute.createServer({ name: 'n', imageRef: 'i', flavorRef: 'f', userData: PASSWORD }));
    await capture(compute.findServersByName('n'));
    await capture(compute.resolveFlavor('f1'));
    await capture(compute.getServer('s401'));
    await capture(compute.getServer('reset'));
    await capture(compute.getServer('hang'));
    await capture(client.image.resolveImage('no-such-image'));
    const fips = await client.floatingIps();
    await capture(fips.allocate({ description: PASSWORD }));
    await capture(fips.get('f2'));
    assert.equal(unauthorized, 2);
    assert.equal(await compute.getServer('s404'), undefined);
    assert.equal(errors.length, 11);
    // The fault text is kept, with the secrets masked.
    assert.match(
      (errors[0] as Error).message,
      /^Nova GET \/servers\/s500 failed: 500 you sent token \*\*\* and null \*\*\* quota \(after 2 attempts\)$/,
    );
    assertNoLeak();
  });

  it('a bad endpoint or configuration', async () => {
    cloud = await startFakeCloud();
    await capture(open(passwordSettings(cloud.authUrl, { regionName: 'Nowhere' })).compute.getServer('x'));
    await capture(
      open(
        passwordSettings(cloud.authUrl, { endpointOverrides: { compute: 'http://127.0.0.1:1/v2.1' }, retries: 0 }),
      ).compute.getServer('x'),
    );
    const noDomain = passwordSettings(cloud.authUrl, {
      auth: { method: 'password', authUrl: cloud.authUrl, username: 'u', password: PASSWORD },
    });
    await capture(open(noDomain).compute.getServer('x'));
    assertNoLeak();
  });
});
