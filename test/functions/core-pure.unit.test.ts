import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normaliseAction, unwrap, wrap, fail } from '../../contract';
import { isPrivateIpv4, selectAddress } from '../../functions/core/addresses';
import { deviceName, deviceUuid } from '../../functions/core/naming';
import { validate } from '../../contract';

test('device uuid: the same unique id always gives the same uuid, none gives a fresh one', () => {
  assert.equal(deviceUuid('job-1'), deviceUuid('job-1'));
  assert.notEqual(deviceUuid('job-1'), deviceUuid('job-2'));
  assert.notEqual(deviceUuid(undefined), deviceUuid(undefined));
  assert.match(deviceUuid('job-1'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(deviceName('libra-stg-haproxy', 'u'), 'libra-stg-haproxy-u');
  assert.equal(deviceName('', 'u'), 'u');
});

test('action is matched case-insensitively', () => {
  assert.equal(normaliseAction('build_device'), 'BUILD_DEVICE');
  assert.equal(normaliseAction(' Delete_Ip '), 'DELETE_IP');
  assert.equal(normaliseAction('toString'), undefined);
  assert.equal(normaliseAction(7), undefined);
});

test('envelope: a plain message and a wrapped one unwrap to the same message', () => {
  const message = { action: 'BUILD_IP', extra: [1] };
  assert.deepEqual(unwrap(message), { message, unique: undefined, handle: undefined });
  assert.deepEqual(unwrap(wrap(message, 'u-1', 'H:x:1')), { message, unique: 'u-1', handle: 'H:x:1' });
  assert.equal(unwrap([1, 2]), undefined);
  assert.equal(unwrap('BUILD_IP'), undefined);
  assert.equal(unwrap(null), undefined);
});

test('addr: configured network, then public IPv4, then fixed IPv4', () => {
  const server = {
    addresses: {
      private: [
        { addr: '10.0.0.5', version: 4 as const, type: 'fixed' as const },
        { addr: 'fd00::5', version: 6 as const, type: 'fixed' as const },
      ],
      internal: [{ addr: '172.20.0.9', version: 4 as const, type: 'fixed' as const }],
      public: [{ addr: '203.0.113.7', version: 4 as const, type: 'fixed' as const }],
    },
  };
  assert.equal(selectAddress(server, 'internal'), '172.20.0.9');
  assert.equal(selectAddress(server), '203.0.113.7');
  assert.equal(selectAddress(server, 'absent'), '203.0.113.7');
  assert.equal(selectAddress({ addresses: { private: server.addresses.private } }), '10.0.0.5');
  assert.equal(selectAddress({ addresses: {} }), undefined);
  assert.ok(isPrivateIpv4('192.168.1.1') && isPrivateIpv4('172.31.0.1') && !isPrivateIpv4('172.32.0.1'));
});

test('validation names the field and what is wrong with it', () => {
  assert.equal(validate('BUILD_DEVICE', { action: 'BUILD_DEVICE' }), undefined);
  assert.match(validate('DELETE_DEVICE', { action: 'DELETE_DEVICE' }) ?? '', /'name' is missing/);
  assert.match(validate('DELETE_DEVICE', { action: 'DELETE_DEVICE', name: '' }) ?? '', /'name' is empty/);
  assert.match(validate('DELETE_DEVICE', { action: 'DELETE_DEVICE', name: 42 }) ?? '', /'name' must be a string/);
  assert.match(validate('DELETE_DEVICE', { action: 'DELETE_DEVICE', name: 'x'.repeat(256) }) ?? '', /255/);
  assert.match(validate('ASSIGN_IP', { action: 'ASSIGN_IP', name: 'a' }) ?? '', /'ip' is missing/);
  assert.match(
    validate('ASSIGN_IP', { action: 'ASSIGN_IP', name: 'a', ip: '1.2.3' }) ?? '',
    /'ip' is not an IPv4 address/,
  );
  assert.match(validate('REMOVE_IP', { action: 'REMOVE_IP', ip: '127.0.100.1' }) ?? '', /'name' is missing/);
  assert.match(validate('DELETE_IP', { action: 'DELETE_IP', ip: ['127.0.100.1'] }) ?? '', /'ip' must be a string/);
});

test('a FAIL keeps every field of the message and flattens the error to one line', () => {
  const result = fail({ action: 'x', keep: { nested: true } }, 'first line\n  second line');
  assert.deepEqual(result, { action: 'x', keep: { nested: true }, response: 'FAIL', error: 'first line second line' });
});
