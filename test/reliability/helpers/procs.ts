/**
 * Child processes of the reliability tests, started with the harness (scripts/harness):
 * the loopback guard preloaded, every line of their output kept (for secret scans),
 * stopped by PID, and killed by PID when the test process exits whatever happened.
 */
import path from 'node:path';
import type { HealthReport } from '../../../bridge/health';
import type { Readiness, Service } from '../../../scripts/harness';
import { freePort, minimalEnv, startService } from '../../../scripts/harness';
import { BRIDGE_BIN, ROOT } from '../../../scripts/fleet';

export { ROOT };

export const GC_HOOK = path.join(import.meta.dirname, 'gc-on-signal.mjs');

/**
 * A Node process with the loopback guard, recording its connections in guardFile when given,
 * resolved once ready (else stopped, with a StartError showing the end of its output).
 */
export function startNode(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { ready: Readiness; readyTimeoutMs: number; pollMs?: number; guardFile?: string; nodeArgs?: string[] },
): Promise<Service> {
  return startService({
    name,
    command: process.execPath,
    args: [...(options.nodeArgs ?? []), ...args],
    cwd: ROOT,
    env,
    loopbackGuard: options.guardFile ? { file: options.guardFile } : true,
    keepOutput: 'all',
    graceMs: 10_000,
    ready: options.ready,
    readyTimeoutMs: options.readyTimeoutMs,
    pollMs: options.pollMs,
  });
}

export interface BridgeProc extends Service {
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
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  const health = async (): Promise<{ status: number; body: HealthReport }> => {
    const res = await fetch(`${healthUrl}/healthz`);
    return { status: res.status, body: (await res.json()) as HealthReport };
  };
  const want = options.waitConnected ?? true;
  const child = await startNode(`bridge ${options.clientId ?? ''}`, args, minimalEnv(options.env), {
    guardFile: options.guardFile,
    nodeArgs: options.nodeArgs,
    ready: {
      http: { url: `${healthUrl}/healthz` },
      check: want
        ? async () => {
            const { body } = await health();
            return want === 'any'
              ? body.servers.some((s) => s.state === 'connected')
              : body.servers.every((s) => s.state === 'connected');
          }
        : undefined,
    },
    readyTimeoutMs: options.timeoutMs ?? 20_000,
    pollMs: 50,
  });
  return {
    ...child,
    healthUrl,
    health,
    metrics: async () => (await fetch(`${healthUrl}/metrics`)).text(),
  };
}
