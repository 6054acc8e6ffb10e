/** The device name derivation is the contract's: pool-bridge names the same device in a FAIL. */
export { deviceName, deviceUuid } from '../../contract';

/** Stored as a floating IP's description so a rerun of BUILD_IP finds the address again. */
export function floatingIpDescription(unique: string): string {
  return `libra-pool-manager job ${unique}`;
}
