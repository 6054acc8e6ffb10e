/**
 * The harness: how the local fleet, the tests and the benchmarks start and stop the real
 * parts, one way each.
 *
 * - children.ts: child processes (spawnChild, startService with readiness, run to the end),
 *   process groups, output kept and logged, the exit-time kill and the reaper;
 * - gearmand.ts: a real gearmand on a free loopback port;
 * - net.ts: free ports and readiness probes (TCP, HTTP);
 * - wait.ts: sleep, until, within;
 * - env.ts: the environment a child gets;
 * - loopback.ts: the loopback connect guard, preloaded into children or installed here.
 */
export type {
  Child,
  ChildOptions,
  Exit,
  OutputTarget,
  Readiness,
  RunResult,
  Service,
  ServiceOptions,
} from './children';
export { StartError, groupAlive, pidAlive, run, signalGroup, spawnChild, startService } from './children';
export type { Gearmand, GearmandOptions } from './gearmand';
export { GEARMAND, startGearmand } from './gearmand';
export { accepts, answers, freePort, onFreePorts } from './net';
export { HarnessTimeoutError, sleep, until, within } from './wait';
export { envWithoutServices, minimalEnv } from './env';
export type { ConnectionRecord } from './loopback';
export { allConnections, guardFile, installLoopbackGuard, removeGuardFile } from './loopback';
