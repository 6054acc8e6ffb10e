/** The timestamp spellings the OpenStack services use. */

/** Nova, Neutron and Glance: '2024-05-01T10:20:30Z' (whole seconds). */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Keystone: '2024-05-01T10:20:30.123000Z' (microseconds). */
export function isoMicros(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Nova's OS-SRV-USG timestamps: a naive datetime, '2024-05-01T10:20:30.123000'. */
export function naiveMicros(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000');
}
