/**
 * Bridge benchmark, through a real gearmand:
 *  1. jobs/s with a no-op invoker (the bridge in-process, clients pipelining jobs);
 *  2. RSS of the pool-bridge command with 1,000 jobs in flight (real LambdaInvoker against
 *     a local Lambda-compatible endpoint that holds every request open).
 *
 *   npx tsx bench/bridge-throughput.ts [--jobs 20000] [--clients 16] [--window 64] [--concurrency 64] [--inflight 1000]
 *
 * Logs are off in part 1 (BENCH_LOG_LEVEL=INFO to include their cost; they go to stdout).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { LogLevel } from '../bridge/config';
import { makeConfig, parseHostPort } from '../bridge/config';
import { startBridge } from '../bridge/index';
import type { InvokeOutcome, Invoker } from '../bridge/invoker';
import { createLogger } from '../functions/observability/logger';
import { startFakeLambda } from '../test/bridge/helpers/fake-lambda';
import { GearmanClient } from '../test/bridge/helpers/gearman-client';
import { startGearmand } from '../test/bridge/helpers/gearmand';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    clients: { type: 'string', default: '16' },
    window: { type: 'string', default: '64' },
    concurrency: { type: 'string', default: '64' },
    inflight: { type: 'string', default: '1000' },
  },
});
const JOBS = Number(values.jobs);
const CLIENTS = Number(values.clients);
const WINDOW = Number(values.window);
const CONCURRENCY = Number(values.concurrency);
const INFLIGHT = Number(values.inflight);
const FN = 'libra_pool_mgm';
const report = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function throughput(): Promise<void> {
  const gd = await startGearmand({ threads: 4 });
  const noop: Invoker = {
    invoke: async (_name, payload): Promise<InvokeOutcome> => {
      const env = JSON.parse(Buffer.from(payload).toString()) as { message: Record<string, unknown> };
      return { status: 'returned', payload: Buffer.from(JSON.stringify({ ...env.message, response: 'PASS' })) };
    },
  };
  const logger = createLogger('pool-bridge-bench');
  logger.setLogLevel((process.env.BENCH_LOG_LEVEL as LogLevel | undefined) ?? 'SILENT');
  const bridge = await startBridge(
    makeConfig({ servers: [parseHostPort(gd.address, 4730)], concurrency: CONCURRENCY, health: undefined }),
    { invoker: noop, logger },
  );
  try {
    await until(() => bridge.state().status === 'ok', 'registration');
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => GearmanClient.connect(gd.address)));
    // Warm-up.
    await Promise.all(clients.map((c, i) => c.submit(FN, `warm-${i}`, '{"action":"BUILD_IP"}')));
    let next = 0;
    let failed = 0;
    const t0 = performance.now();
    await Promise.all(
      clients.map(async (c) => {
        const lane = async (): Promise<void> => {
          while (next < JOBS) {
            const i = next++;
            const r = await c.submit(FN, `job-${i}`, `{"action":"BUILD_IP","i":${i}}`);
            if ((r.json as { response?: string } | undefined)?.response !== 'PASS') failed += 1;
          }
        };
        await Promise.all(Array.from({ length: Math.max(1, Math.floor(WINDOW / CLIENTS)) }, lane));
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    for (const c of clients) c.close();
    report(
      `throughput: ${JOBS} jobs in ${seconds.toFixed(2)} s = ${Math.round(JOBS / seconds)} jobs/s ` +
        `(no-op invoker, concurrency ${CONCURRENCY}, ${CLIENTS} client connections, ${WINDOW} jobs outstanding, ` +
        `log level ${process.env.BENCH_LOG_LEVEL ?? 'SILENT'}; ${failed} not PASS)`,
    );
  } finally {
    await bridge.stop();
    await gd.stop();
  }
}

async function rssInFlight(): Promise<void> {
  const gd = await startGearmand({ threads: 4 });
  const lambda = await startFakeLambda(() => ({ kind: 'hang' }));
  const root = path.join(import.meta.dirname, '..');
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('POOL_BRIDGE_') && !k.startsWith('AWS_')) env[k] = v;
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'bridge/bin/pool-bridge.mjs'),
      '--gearman', gd.address,
      '--lambda-endpoint', lambda.url,
      '--concurrency', String(INFLIGHT),
      '--health-listen', 'off',
      '--log-level', 'WARN',
      '--drain-timeout', '0',
    ],
    { cwd: root, env: { ...env, NODE_NO_WARNINGS: '1', AWS_EC2_METADATA_DISABLED: 'true' }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const rss = (): number => {
    const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  };
  const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  const clients: GearmanClient[] = [];
  try {
    await until(async () => {
      // Registered once gearmand lists a worker for the function.
      const c = await GearmanClient.connect(gd.address).catch(() => undefined);
      c?.close();
      return child.exitCode === null && fs.existsSync(`/proc/${child.pid}`) && (await workers(gd.host, gd.port)) > 0;
    }, 'the bridge to register');
    await new Promise((r) => setTimeout(r, 500));
    const idle = rss();
    for (let i = 0; i < 10; i += 1) clients.push(await GearmanClient.connect(gd.address));
    const t0 = performance.now();
    const jobs = Array.from({ length: INFLIGHT }, (_, i) =>
      (clients[i % clients.length] as GearmanClient).submit(FN, `inflight-${i}`, '{"action":"BUILD_DEVICE"}').catch(() => undefined),
    );
    await until(() => lambda.requests.length >= INFLIGHT, `${INFLIGHT} invokes in flight`);
    const took = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 1000));
    const busy = rss();
    report(
      `rss: pool-bridge idle ${mib(idle)}; with ${lambda.requests.length} jobs in flight (${INFLIGHT} open invoke connections) ${mib(busy)} ` +
        `(+${((busy - idle) / INFLIGHT / 1024).toFixed(1)} KiB per job); ${INFLIGHT} jobs reached the endpoint in ${Math.round(took)} ms`,
    );
    void jobs;
  } finally {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    for (const c of clients) c.close();
    await lambda.close();
    await gd.stop();
  }
}

/** Number of workers registered for FN, from gearmand's text admin protocol ("status"). */
async function workers(host: string, port: number): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => s.write('status\n'));
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n.\n') || text.startsWith('.\n')) {
        s.destroy();
        const line = text.split('\n').find((l) => l.startsWith(`${FN}\t`));
        resolve(Number(line?.split('\t')[3] ?? 0));
      }
    });
    s.on('error', () => resolve(0));
  });
}

await throughput();
await rssInFlight();
