/**
 * Superseded by bench/bridge-overhead.ts (question 2 of `npm run bench`), which folds in this
 * script's two measurements (no-op-invoker throughput through a real gearmand, and the RSS of
 * the pool-bridge command with 1,000 jobs in flight against a Lambda endpoint that holds every
 * invoke) and adds the C reference worker, latency percentiles and a CPU profile.
 * Kept so that `npx tsx bench/bridge-throughput.ts` (bridge/README.md) still works: the old
 * options map onto the new ones (--clients → --connections, --window → --outstanding;
 * --concurrency is ignored: the bridge runs at its shipped default, 64).
 */
const renamed: Record<string, string> = { '--clients': '--connections', '--window': '--outstanding' };
const args: string[] = [];
const given = process.argv.slice(2);
for (let i = 0; i < given.length; i += 1) {
  const arg = given[i] as string;
  const [flag = '', inline] = arg.split('=', 2);
  if (flag === '--concurrency') {
    if (inline === undefined) i += 1;
    continue;
  }
  args.push(inline === undefined ? (renamed[flag] ?? flag) : `${renamed[flag] ?? flag}=${inline}`);
}
process.stderr.write('bench/bridge-throughput.ts is now bench/bridge-overhead.ts: running that.\n');
process.argv.splice(2, process.argv.length - 2, ...args);
await import('./bridge-overhead');
export {};
