/**
 * Child processes of the reliability tests, started with the harness (scripts/harness):
 * the loopback guard preloaded, every line of their output kept (for secret scans),
 * stopped by PID, and killed by PID when the test process exits whatever happened.
 */
import path from 'node:path';
import type { HealthReport } from '../../../bridge/health';
import type { Child } from '../../../scripts/harness';
import { HarnessTimeoutError, answers, freePort, minimalEnv, spawnChild, until } from '../../../scripts/harness';
import { BRIDGE_BIN, ROOT } from '../../../scripts/fleet';

export { BRIDGE_BIN, ROOT };

export const GC_HOOK = path.join(import.meta.dirname, 'gc-on-signal.mjs');

/** A Node process with the loopback guard, recording its connections in guardFile when given. */
export function spawnNode(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { guardFile?: string; nodeArgs?: string[] } = {},
): Child {
  return spawnChild({
    name,
    command: process.execPath,
    args: [...(options.nodeArgs ?? []), ...args],
    cwd: ROOT,
    env,
    loopbackGuard: options.guardFile ? { file: options.guardFile } : true,
    keepOutput: 'all',
    graceMs: 10_000,
  });
}

export interface BridgeProc extends Child {
  /** http://127.0.0.1:N of its /healthz and /metrics. */
  readonly healthUrl: string;
  health(): Promise<{ status: number; body: HealthReport }>;
  metrics(): Promise<string>;
}

/**
 * The pool-bridge command as a child process, pointed at job servers and a Lambda
 * endpoint; resolves once its health endpoint is up (and, unless `waitConnected` is
 * false, once every job server is registered).
 */
export async function startBridgeProcess(options: {
  servers: string[];
  lambdaUrl: string;
  clientId?: string;
  args?: string[];
  env?: Record<string, string>;
  guardFile?: string;
  waitConnected?: boolean | 'any';
  timeoutMs?: number;
  /** Extra node options, e.g. ['--expose-gc', '--import', GC_HOOK]. */
  nodeArgs?: string[];
}): Promise<BridgeProc> {
  // A known port: the 'health endpoint listening' line is not logged below INFO.
  const healthPort = await freePort();
  const args = [
    BRIDGE_BIN,
    '--gearman',
    options.servers.join(','),
    '--lambda-endpoint',
    options.lambdaUrl,
    '--health-listen',
    `127.0.0.1:${healthPort}`,
    '--client-id',
    options.clientId ?? 'reliability',
    '--reconnect-max-delay',
    '0.5',
    ...(options.args ?? []),
  ];
  const child = spawnNode(`bridge ${options.clientId ?? ''}`, args, minimalEnv(options.env), {
    guardFile: options.guardFile,
    nodeArgs: options.nodeArgs,
  });
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  try {
    await until(
      async () => {
        if (!child.alive()) throw new Error(`bridge exited at startup:\n${child.output()}`);
        return answers(`${healthUrl}/healthz`);
      },
      "the bridge's health endpoint",
      timeoutMs,
      50,
    );
  } catch (error) {
    child.signal('SIGKILL');
    if (error instanceof HarnessTimeoutError) {
      throw new HarnessTimeoutError(`${error.message}; its output:\n${child.output().slice(-500)}`);
    }
    throw error;
  }
  const health = async (): Promise<{ status: number; body: HealthReport }> => {
    const res = await fetch(`${healthUrl}/healthz`);
    return { status: res.status, body: (await res.json()) as HealthReport };
  };
  const bridge: BridgeProc = {
    ...child,
    healthUrl,
    health,
    metrics: async () => (await fetch(`${healthUrl}/metrics`)).text(),
  };
  const want = options.waitConnected ?? true;
  if (want) {
    try {
      await until(
        async () => {
          const { body } = await health();
          return want === 'any'
            ? body.servers.some((s) => s.state === 'connected')
            : body.servers.every((s) => s.state === 'connected');
        },
        'the bridge to register',
        deadline - Date.now(),
      );
    } catch (error) {
      child.signal('SIGKILL');
      throw error;
    }
  }
  return bridge;
}
