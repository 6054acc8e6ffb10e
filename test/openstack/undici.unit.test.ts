import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import * as undici from 'undici';
import { Agent, request } from '../../functions/openstack/undici';
import { json, startServer } from './helpers';

const root = join(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);

// functions/openstack/undici.ts loads two of undici's internal files instead of its public
// entry. These tests fail on an undici upgrade that moves or changes them.

test('the Agent the functions load is the very class undici exports as Agent', () => {
  assert.equal(Agent, undici.Agent);
});

test("the request the functions call is the one undici's public entry gives every dispatcher", () => {
  // index.js assigns its api to Dispatcher.prototype: agent.request is this function.
  const requestWith: unknown = require('undici/lib/api/api-request.js');
  assert.equal(undici.Dispatcher.prototype.request, requestWith);
});

test('package.json pins undici to the exact version installed', () => {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const installed = JSON.parse(readFileSync(join(root, 'node_modules/undici/package.json'), 'utf8')) as {
    version: string;
  };
  assert.equal(manifest.dependencies.undici, installed.version, 'an exact version, not a range');
});

test('request sends the path under a base URL and its query as given, and reads the answer', async () => {
  const server = await startServer((_req, res) => json(res, 201, { ok: true }, { 'x-openstack-request-id': 'req-1' }));
  const agent = new Agent();
  try {
    const res = await request(`${server.url}/v2.1/servers/detail?name=a%20b&all_tenants=1`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ x: 1 }),
    });
    assert.equal(res.statusCode, 201);
    assert.equal(res.headers['x-openstack-request-id'], 'req-1');
    assert.deepEqual(await res.body.json(), { ok: true });
    const [sent] = server.requests;
    assert.equal(sent?.method, 'POST');
    assert.equal(sent?.url, '/v2.1/servers/detail?name=a%20b&all_tenants=1');
    assert.deepEqual(sent?.body, { x: 1 });
  } finally {
    await agent.close();
    await server.close();
  }
});
