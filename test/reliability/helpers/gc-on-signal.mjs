/**
 * Test instrumentation preloaded into a child (with --expose-gc): SIGUSR2 runs a full
 * garbage collection, so a memory measurement compares live data, not GC timing.
 */
import process from 'node:process';

process.on('SIGUSR2', () => {
  if (typeof globalThis.gc === 'function') globalThis.gc();
});
