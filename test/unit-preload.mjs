/**
 * Preloaded by `npm run test:unit` (node --import): inside each test file's process, any
 * attempt to start a process (child_process spawn, exec, execFile, fork and their Sync
 * forms) throws. So a *.unit.test.ts file that needs gearmand, a bridge, serverless or any
 * other child process fails at once instead of quietly depending on it: unit tests are
 * unit tests by construction. (The test runner's own process starts one process per test
 * file; NODE_TEST_CONTEXT, which it sets for them, tells the two apart.)
 */
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import process from 'node:process';

if (process.env.NODE_TEST_CONTEXT) {
  for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
    childProcess[name] = () => {
      throw new Error(
        `a unit test starts no process, but child_process.${name} was called: ` +
          'a test that needs one is named *.test.ts, not *.unit.test.ts',
      );
    };
  }
  syncBuiltinESMExports();
}
