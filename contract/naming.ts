/**
 * Device names, derived from a job's Gearman unique id: BUILD_DEVICE names the server it
 * boots `<node basename>-<UUIDv5 of the unique id>`, and pool-bridge names the same device in
 * a FAIL whose function may have run (its answer was lost). One derivation for both halves.
 */
import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';

/** Fixed namespace for UUIDv5 device ids derived from Gearman unique ids. Never change it:
 * a rerun of a job after an upgrade must still find the server its first run booted. */
export const DEVICE_UUID_NAMESPACE = '3a4f1a3c-6a1e-5b8e-9a43-6c1d0b7f5e21';

/**
 * The same unique id always gives the same uuid, a UUIDv5 over its bytes (a unique id given
 * as text is its UTF-8 bytes, so text and bytes agree); no unique id gives a fresh one.
 */
export function deviceUuid(unique: string | Uint8Array | undefined): string {
  return unique !== undefined && unique.length > 0 ? uuidv5(unique, DEVICE_UUID_NAMESPACE) : randomUUID();
}

/** POOL_NODE_BASENAME as names use it: underscores become dashes (Nova host names). */
export function nodeBasename(raw: string): string {
  return raw.replace(/_/g, '-');
}

/** `<basename>-<uuid>` (underscores in the basename become dashes), or the uuid alone. */
export function deviceName(basename: string, uuid: string): string {
  const base = nodeBasename(basename);
  return base ? `${base}-${uuid}` : uuid;
}
