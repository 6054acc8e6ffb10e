/**
 * Device names: the one derivation both halves use (contract/naming.ts). The functions boot
 * `<POOL_NODE_BASENAME>-<UUIDv5 of the unique id>`; pool-bridge names the same device when
 * a BUILD_DEVICE's answer is lost. A change here renames every device: a rerun after an
 * upgrade would no longer find the server its first run booted.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { v5 as uuidv5 } from 'uuid';
import {
  DEVICE_UUID_NAMESPACE,
  describeUnique,
  deviceName,
  deviceUuid,
  uniqueBytes,
  uniqueFromDescription,
} from '../../contract';
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
  assert.equal(deviceName('libra-stg-haproxy', 'u'), 'libra-stg-haproxy-u');
  assert.equal(deviceName('', 'u'), 'u');
});

test('the same unique id always gives the same UUIDv5, another id another; none (or empty) a fresh one', () => {
  const job = (text: string) => uniqueBytes(text);
  assert.equal(deviceUuid(job('job-1')), deviceUuid(job('job-1')));
  assert.notEqual(deviceUuid(job('job-1')), deviceUuid(job('job-2')));
  assert.match(deviceUuid(job('job-1')), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(deviceUuid(undefined), deviceUuid(undefined));
  assert.notEqual(deviceUuid(''), deviceUuid(''));
});

test('a unique id as text and as its UTF-8 bytes give the same uuid; ids that differ in one byte do not', () => {
  assert.equal(deviceUuid(new TextEncoder().encode('job-ops-1')), deviceUuid('job-ops-1'));
  assert.equal(deviceUuid(uniqueBytes('job-ops-1')), '0cdc0c9a-df1a-5d03-a28f-1f08aa094faa', 'docs/operations.md');
  // The names of devices built before unique ids were bytes: a UUIDv5 of the text.
  for (const text of ['job-1', 'retry-42', 'Überprüfung ✓', '0cdc0c9a-df1a-5d03-a28f-1f08aa094faa']) {
    assert.equal(deviceUuid(uniqueBytes(text)), uuidv5(text, DEVICE_UUID_NAMESPACE), text);
  }
  const ff = Uint8Array.of(0x6a, 0xff);
  const fe = Uint8Array.of(0x6a, 0xfe);
  // Decoded as UTF-8 both were "j\uFFFD", one device name for two jobs.
  assert.equal(Buffer.from(ff).toString('utf8'), Buffer.from(fe).toString('utf8'));
  assert.notEqual(deviceUuid(ff), deviceUuid(fe));
});

test('the functions name devices with the same functions', () => {
  assert.equal(functionsNaming.deviceUuid, deviceUuid);
  assert.equal(functionsNaming.deviceName, deviceName);
});

test('a unique id as logs describe it (base64: for bytes that are not UTF-8) names the same device as the id', () => {
  const bytes = Uint8Array.of(0xff, 0x00, 0x41, 0xc3);
  assert.equal(describeUnique(bytes), 'base64:/wBBww==');
  assert.deepEqual(uniqueFromDescription(describeUnique(bytes)), bytes);
  assert.equal(deviceUuid(uniqueFromDescription('base64:/wBBww==')), deviceUuid(bytes));
  assert.equal(deviceUuid(bytes), '1286acff-a38f-5303-99ff-89ae0e5ff813');
  // Text ids are taken as they are, a text that is not the base64: form included.
  assert.equal(uniqueFromDescription('job-ops-1'), 'job-ops-1');
  assert.equal(uniqueFromDescription('base64:not base64!'), 'base64:not base64!');
});
