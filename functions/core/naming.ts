import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';

/** Fixed namespace for UUIDv5 device ids derived from Gearman unique ids. Never change it:
 * a rerun of a job after an upgrade must still find the server its first run booted. */
const DEVICE_UUID_NAMESPACE = '3a4f1a3c-6a1e-5b8e-9a43-6c1d0b7f5e21';

/** The same unique id always gives the same uuid; no unique id gives a fresh one. */
export function deviceUuid(unique: string | undefined): string {
  return unique ? uuidv5(unique, DEVICE_UUID_NAMESPACE) : randomUUID();
}

/** `<basename>-<uuid>` (underscores in the basename already became dashes), or the uuid alone. */
export function deviceName(basename: string, uuid: string): string {
  return basename ? `${basename}-${uuid}` : uuid;
}

/** Stored as a floating IP's description so a rerun of BUILD_IP finds the address again. */
export function floatingIpDescription(unique: string): string {
  return `libra-pool-manager job ${unique}`;
}
