/**
 * Device names: the one derivation both halves use (contract/naming.ts). The functions boot
 * `<POOL_NODE_BASENAME>-<UUIDv5 of the unique id>`; pool-bridge names the same device when
 * a BUILD_DEVICE's answer is lost. A change here renames every device: a rerun after an
 * upgrade would no longer find the server its first run booted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEVICE_UUID_NAMESPACE, deviceName, deviceUuid } from '../../contract';
import * as functionsNaming from '../../functions/core/naming';

test('a fixed unique id gives a fixed name (the runbook example of docs/operations.md)', () => {
  assert.equal(DEVICE_UUID_NAMESPACE, '3a4f1a3c-6a1e-5b8e-9a43-6c1d0b7f5e21');
  assert.equal(deviceUuid('job-ops-1'), '0cdc0c9a-df1a-5d03-a28f-1f08aa094faa');
  assert.equal(
    deviceName('libra-stg-haproxy', deviceUuid('job-ops-1')),
    'libra-stg-haproxy-0cdc0c9a-df1a-5d03-a28f-1f08aa094faa',
  );
});

test('underscores in the basename become dashes; no basename: the uuid alone', () => {
  assert.equal(deviceName('libra_stg_haproxy', 'u'), 'libra-stg-haproxy-u');
  assert.equal(deviceName('', 'u'), 'u');
});

test('a unique id as text and as its UTF-8 bytes give the same uuid', () => {
  assert.equal(deviceUuid(new TextEncoder().encode('job-ops-1')), deviceUuid('job-ops-1'));
  assert.notEqual(deviceUuid(undefined), deviceUuid(undefined));
  assert.notEqual(deviceUuid(''), deviceUuid(''));
});

test('the functions name devices with the same functions', () => {
  assert.equal(functionsNaming.deviceUuid, deviceUuid);
  assert.equal(functionsNaming.deviceName, deviceName);
});
