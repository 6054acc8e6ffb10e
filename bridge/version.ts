/**
 * The project's version: written into the built file at build time (esbuild `define`, see
 * scripts/build/bridge.ts), so dist/pool-bridge.mjs needs no package.json beside it; from
 * the source tree (tsx), read from package.json once ("unknown" if it cannot be read).
 */
import fs from 'node:fs';

declare const __POOL_BRIDGE_VERSION__: string | undefined;

let cached: string | undefined;

export function bridgeVersion(): string {
  if (cached === undefined) {
    if (typeof __POOL_BRIDGE_VERSION__ === 'string') {
      cached = __POOL_BRIDGE_VERSION__;
      return cached;
    }
    try {
      const pkg: unknown = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
      const version = typeof pkg === 'object' && pkg !== null ? (pkg as { version?: unknown }).version : undefined;
      cached = typeof version === 'string' ? version : 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
