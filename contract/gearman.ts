/** How clients reach the pool manager over Gearman. */

/** The Gearman function the pool manager registers; clients submit every message to it. */
export const GEARMAN_FUNCTION = 'libra_pool_mgm';

/** gearmand's IANA port, used when an address names no port. */
export const DEFAULT_GEARMAN_PORT = 4730;
