/** The project's version, from package.json (read once; "unknown" if it cannot be read). */
import fs from 'node:fs';

let cached: string | undefined;

export function bridgeVersion(): string {
  if (cached === undefined) {
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
