import { utf8Text } from '../../contract';

/** The device name derivation is the contract's: pool-bridge names the same device in a FAIL. */
export { deviceName, deviceUuid } from '../../contract';

/**
 * Stored as a floating IP's description so a rerun of BUILD_IP finds the address again:
 * `libra-pool-manager job <unique id>` for a UTF-8 unique id (as before), and
 * `libra-pool-manager job-bytes <base64>` for other bytes, a form no text unique id gives.
 */
export function floatingIpDescription(unique: Uint8Array): string {
  const text = utf8Text(unique);
  return text !== undefined
    ? `libra-pool-manager job ${text}`
    : `libra-pool-manager job-bytes ${Buffer.from(unique).toString('base64')}`;
}
