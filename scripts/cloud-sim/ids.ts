/** Identifier, secret and random-number helpers. */
import { createHash, randomBytes, randomUUID } from 'node:crypto';

export function newUuid(): string {
  return randomUUID();
}

/** A 32-hex id that is the same on every run for the same seed text (Keystone-style ids). */
export function stableHexId(seedText: string): string {
  return createHash('sha256').update(seedText).digest('hex').slice(0, 32);
}

/** A Fernet-looking opaque token id. */
export function newTokenId(): string {
  return `gAAAAAB${randomBytes(135).toString('base64url')}`;
}

export function newAuditId(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}

export function newRequestId(): string {
  return `req-${randomUUID()}`;
}

const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

export function newAdminPass(): string {
  const bytes = randomBytes(12);
  let out = '';
  for (const byte of bytes) out += PASSWORD_ALPHABET[byte % PASSWORD_ALPHABET.length];
  return out;
}

/** MAC addresses with the OpenStack default base 'fa:16:3e'. */
export function newMacAddress(): string {
  const tail = [...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0'));
  return ['fa', '16', '3e', ...tail].join(':');
}

export function hostIdFor(projectId: string, host: string): string {
  return createHash('sha224')
    .update(projectId + host)
    .digest('hex');
}

/** mulberry32: a tiny seeded PRNG, so fault `rate` draws are reproducible. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function ipv4ToInt(address: string): number {
  const parts = address.split('.').map(Number);
  return (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
}

export function intToIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}
