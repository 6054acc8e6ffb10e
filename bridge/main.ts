/** Entry point of the pool-bridge command (see cli.ts; bin/pool-bridge.mjs loads this). */
import { runCli } from './cli';

void runCli(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`pool-bridge: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
