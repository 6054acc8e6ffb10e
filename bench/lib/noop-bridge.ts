/**
 * The bridge (startBridge, as the pool-bridge command runs it) in a process of its own with
 * a no-op invoker that answers every job at once with the same PASS object: the bridge's own
 * cost, without Lambda. Logs go to stdout at the given level (the command's
 * default is INFO: two lines per job). Prints "READY" once registered with gearmand.
 *
 *   tsx bench/lib/noop-bridge.ts --gearman 127.0.0.1:4730 --function bench_echo --concurrency 64 --log-level INFO
 */
import fs from 'node:fs';
import { Session } from 'node:inspector';
import { parseArgs } from 'node:util';
import type { LogLevel } from '../../bridge/config';
import { makeConfig, parseHostPort } from '../../bridge/config';
import { startBridge } from '../../bridge/index';
import type { InvokeOutcome, Invoker } from '../../bridge/invoker';
import { createLogger } from '../../contract/logger';

const { values } = parseArgs({
  options: {
    gearman: { type: 'string' },
    function: { type: 'string', default: 'libra_pool_mgm' },
    concurrency: { type: 'string', default: '64' },
    'log-level': { type: 'string', default: 'INFO' },
    /** Write a CPU profile of the time from READY to SIGTERM (startup excluded) to this file. */
    profile: { type: 'string' },
  },
});
if (!values.gearman) throw new Error('--gearman host:port is required');

// The same PASS object for every job: the invoker does nothing (a real one sends the envelope's
// bytes and returns the function's bytes; neither parses JSON).
const PASS = Buffer.from('{"action":"BUILD_IP","id":"0","ip":"192.0.2.1","response":"PASS"}');
const noop: Invoker = {
  invoke: async (): Promise<InvokeOutcome> => ({ status: 'returned', payload: PASS }),
};
const logger = createLogger('pool-bridge');
logger.setLogLevel(values['log-level'] as LogLevel);
const bridge = await startBridge(
  makeConfig({
    servers: [parseHostPort(values.gearman, 4730)],
    functionName: values.function,
    concurrency: Number(values.concurrency),
    health: undefined,
    logLevel: values['log-level'] as LogLevel,
  }),
  { invoker: noop, logger },
);
const deadline = Date.now() + 30_000;
while (bridge.state().status !== 'ok') {
  if (Date.now() > deadline) throw new Error('the bridge did not connect to gearmand within 30 s');
  await new Promise((r) => setTimeout(r, 20));
}
let profiler: Session | undefined;
if (values.profile) {
  profiler = new Session();
  profiler.connect();
  await post(profiler, 'Profiler.enable');
  await post(profiler, 'Profiler.start');
}
process.stderr.write('READY\n');
const stop = (): void => {
  void (async () => {
    if (profiler && values.profile) {
      const { profile } = (await post(profiler, 'Profiler.stop')) as { profile: unknown };
      fs.writeFileSync(values.profile, JSON.stringify(profile));
    }
    await bridge.stop();
    process.exit(0);
  })();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

function post(session: Session, method: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    session.post(method, (error, result) => (error ? reject(error) : resolve(result)));
  });
}
