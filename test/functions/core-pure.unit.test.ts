import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normaliseAction, unwrap, wrap, fail, uniqueBytes, describeUnique } from '../../contract';
import { isPrivateIpv4, selectAddress } from '../../functions/core/addresses';
import { floatingIpDescription } from '../../functions/core/naming';
import { validate } from '../../contract';

test('floating IP descriptions over the bytes: distinct for unique ids that differ in one byte', () => {
  const ff = Uint8Array.of(0x6a, 0xff);
  const fe = Uint8Array.of(0x6a, 0xfe);
  assert.notEqual(floatingIpDescription(ff), floatingIpDescription(fe));
  assert.equal(floatingIpDescription(uniqueBytes('job-1')), 'libra-pool-manager job job-1');
  assert.equal(floatingIpDescription(ff), 'libra-pool-manager job-bytes av8=');
  assert.equal(describeUnique(ff), 'base64:av8=');
});

test('addr and the fixed address a floating IP goes to: on POOL_ADDR_NETWORK, else the first public, never a floating one', () => {
  const fixed = { addr: '10.0.0.5', version: 4 as const, type: 'fixed' as const };
  const floating = { addr: '127.0.100.9', version: 4 as const, type: 'floating' as const };
  const mgmt = [{ addr: '10.1.0.7', version: 4 as const, type: 'fixed' as const }];
  const server = { addresses: { 'lb-mgmt': mgmt, private: [fixed, floating] } };
  assert.equal(selectAddress(server, 'private'), '10.0.0.5');
  assert.equal(selectAddress(server, 'lb-mgmt'), '10.1.0.7');
  // No setting: the floating address is public but left out, so the device's addr is the
  // one BUILD_DEVICE answered before ASSIGN_IP put the floating address on it.
  assert.equal(selectAddress(server), '10.1.0.7');
  assert.equal(selectAddress(server), selectAddress({ addresses: { 'lb-mgmt': mgmt, private: [fixed] } }));
  assert.equal(selectAddress({ addresses: { private: [floating, fixed] } }), '10.0.0.5');
  assert.equal(selectAddress({ addresses: {} }), undefined);
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
  assert.deepEqual(unwrap(wrap(message, 'u-1', 'H:x:1')), { message, unique: uniqueBytes('u-1'), handle: 'H:x:1' });
  // UTF-8 ids travel as the string, as before; other bytes as base64, losslessly.
  assert.deepEqual(wrap(message, uniqueBytes('u-1')), { envelope: 'libra-pool-manager/v1', message, unique: 'u-1' });
  const bytes = Uint8Array.of(0x6a, 0xff, 0x00, 0x80);
  const envelope = wrap(message, bytes);
  assert.deepEqual(envelope, { envelope: 'libra-pool-manager/v1', message, uniqueBase64: 'av8AgA==' });
  assert.deepEqual(unwrap(JSON.parse(JSON.stringify(envelope)))?.unique, bytes);
  assert.equal(unwrap({ envelope: 'libra-pool-manager/v1', message, uniqueBase64: 'not base64!' }), undefined);
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
