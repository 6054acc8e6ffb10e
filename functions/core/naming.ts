import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { uniqueText } from '../../contract';

/** Fixed namespace for UUIDv5 device ids derived from Gearman unique ids. Never change it:
 * a rerun of a job after an upgrade must still find the server its first run booted. */
const DEVICE_UUID_NAMESPACE = '3a4f1a3c-6a1e-5b8e-9a43-6c1d0b7f5e21';

/**
 * The same unique id always gives the same uuid, a UUIDv5 over its bytes (for a unique id
 * that is UTF-8 text, the same uuid as over the text); no unique id gives a fresh one.
 */
export function deviceUuid(unique: Uint8Array | undefined): string {
  return unique && unique.length > 0 ? uuidv5(unique, DEVICE_UUID_NAMESPACE) : randomUUID();
}

/** `<basename>-<uuid>` (underscores in the basename already became dashes), or the uuid alone. */
export function deviceName(basename: string, uuid: string): string {
  return basename ? `${basename}-${uuid}` : uuid;
}

/**
 * Stored as a floating IP's description so a rerun of BUILD_IP finds the address again:
 * `libra-pool-manager job <unique id>` for a UTF-8 unique id (as before), and
 * `libra-pool-manager job-bytes <base64>` for other bytes, a form no text unique id gives.
 */
export function floatingIpDescription(unique: Uint8Array): string {
  const text = uniqueText(unique);
  return text !== undefined
    ? `libra-pool-manager job ${text}`
    : `libra-pool-manager job-bytes ${Buffer.from(unique).toString('base64')}`;
}
