/** Runs the bridge in-process against test job servers, with a quiet logger. */
import type { BridgeConfig } from '../../../bridge/config';
import { makeConfig, parseHostPort } from '../../../bridge/config';
import type { BridgeHandle } from '../../../bridge/index';
import { startBridge } from '../../../bridge/index';
import type { Invoker } from '../../../bridge/invoker';
import { DEFAULT_GEARMAN_PORT, createLogger } from '../../../contract';
import type { LogSink } from '../../../contract';
import type { LogLevel } from '../../../bridge/config';

export function quietLogger(): ReturnType<typeof createLogger> {
  const logger = createLogger('pool-bridge-test');
  logger.setLogLevel((process.env.TEST_BRIDGE_LOG as LogLevel | undefined) ?? 'SILENT');
  return logger;
}

/** The bridge on `servers` (host:port), its health endpoint on a free loopback port; quiet unless given a logger. */
export async function startTestBridge(
  servers: string[],
  invoker: Invoker,
  overrides: Partial<BridgeConfig> = {},
  deps: { logger?: LogSink } = {},
): Promise<BridgeHandle> {
  const config = makeConfig({
    servers: servers.map((s) => parseHostPort(s, DEFAULT_GEARMAN_PORT)),
    health: { host: '127.0.0.1', port: 0 },
    clientId: 'pool-bridge-test',
    reconnectMaxDelayMs: 400,
    ...overrides,
  });
  return startBridge(config, { invoker, logger: deps.logger ?? quietLogger() });
}

export function allConnected(bridge: BridgeHandle): boolean {
  return bridge.state().servers.every((s) => s.state === 'connected');
}
