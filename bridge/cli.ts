/**
 * The pool-bridge command: configuration, logger, the Lambda invoker, startBridge, and
 * the life cycle (first SIGTERM/SIGINT drains and exits 0; a second exits at once).
 * Exit status: 0 after a drain, 2 for invalid configuration, 1 for an unexpected failure,
 * 128+signal for a second signal.
 */
import os from 'node:os';
import { ConfigurationError, createLogger, deviceName, deviceUuid, uniqueFromDescription } from '../contract';
import type { BridgeConfig } from './config';
import { helpText, loadConfig } from './config';
import { isLoopback } from './health';
import { startBridge } from './index';
import { JobLineWriter, afterJobLines } from './job-lines';
import type { Invoker } from './invoker';
import { dryRunInvoker } from './invoker';
import type { LambdaInvoker, LambdaInvokerOptions } from './lambda-invoker';
import { BridgeMetrics } from './metrics';
import { bridgeVersion } from './version';

const SERVICE = 'pool-bridge';

export async function runCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const configError = (error: unknown): never => {
    process.stderr.write(`pool-bridge: ${(error as Error).message}\n`);
    process.exit(error instanceof ConfigurationError ? 2 : 1);
  };

  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(argv, env);
  } catch (error) {
    return configError(error);
  }
  if (loaded.kind === 'help') {
    process.stdout.write(helpText(bridgeVersion()));
    return;
  }
  if (loaded.kind === 'version') {
    process.stdout.write(`${bridgeVersion()}\n`);
    return;
  }
  if (loaded.kind === 'device-name') {
    // The runbook's question: which server would a BUILD_DEVICE of this unique id have made?
    // As the log lines show a unique id: its text, or base64:<bytes> when it is not UTF-8.
    const uuid = deviceUuid(uniqueFromDescription(loaded.unique));
    if (loaded.deviceBasename === undefined) {
      process.stderr.write(
        "pool-bridge: device-basename is not set (the functions' POOL_NODE_BASENAME); the name is <POOL_NODE_BASENAME>-<uuid>:\n",
      );
    }
    process.stdout.write(`${loaded.deviceBasename === undefined ? uuid : deviceName(loaded.deviceBasename, uuid)}\n`);
    return;
  }
  const { config, warnings } = loaded;

  const powertools = createLogger(SERVICE);
  powertools.setLogLevel(config.logLevel);
  powertools.appendPersistentKeys({ pid: process.pid, host: os.hostname() });
  const jobLines = JobLineWriter.forLogger(powertools, SERVICE, env);
  const logger = afterJobLines(powertools, jobLines);
  for (const warning of warnings) logger.warn(warning);

  process.on('uncaughtException', (error) => {
    logger.critical('unexpected error; exiting', { error: error.stack ?? String(error) });
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.critical('unexpected rejection; exiting', {
      error: reason instanceof Error ? (reason.stack ?? reason.message) : String(reason),
    });
    process.exit(1);
  });

  const metrics = new BridgeMetrics();
  let invoker: Invoker;
  let lambda: LambdaInvoker | undefined;
  if (config.dryRun) {
    invoker = dryRunInvoker;
    logger.warn('dry run: no function is invoked; every job is answered FAIL "dry run: no function invoked"');
  } else {
    // The AWS SDK is most of the bridge's code and memory: loaded only when invoking Lambda.
    const { LambdaInvoker } = await import('./lambda-invoker');
    lambda = new LambdaInvoker({
      ...invokerOptions(config, env),
      onThrottle: ({ functionName, attempt, delayMs }) => {
        metrics.throttleRetries.inc({ function: functionName });
        logger.warn('Lambda throttled the invoke; retrying (the function did not run)', {
          function: functionName,
          attempt,
          delayMs,
        });
      },
      onLostAnswer: ({ functionName, attempt, delayMs, error }) => {
        metrics.lostAnswerRetries.inc({ function: functionName });
        logger.warn('the invoke lost its answer (the function may have run); invoking again with the same envelope', {
          function: functionName,
          attempt,
          delayMs,
          error,
        });
      },
    });
    invoker = lambda;
    try {
      const region = await lambda.region();
      logger.info('invoking Lambda', {
        region,
        endpoint: config.lambdaEndpoint ?? 'AWS',
        functionPrefix: config.functionPrefix,
      });
    } catch (error) {
      return configError(
        new ConfigurationError(
          `invalid lambda-region: no region configured (${(error as Error).message}); set --lambda-region or AWS_REGION`,
          'lambda-region',
        ),
      );
    }
  }

  let bridge: Awaited<ReturnType<typeof startBridge>>;
  try {
    bridge = await startBridge(config, { invoker, logger, jobLines, metrics });
  } catch (error) {
    return configError(error);
  }

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      logger.error('second signal: exiting now, abandoning jobs in flight (gearmand re-queues them)', {
        signal,
        inFlight: bridge.worker.inFlight,
      });
      process.exit(128 + (os.constants.signals[signal] ?? 1));
    }
    signalled = true;
    logger.info('signal received: draining (send it again to exit at once)', { signal });
    void bridge
      .drain()
      .then((result) => {
        lambda?.destroy();
        logger.info('exiting', { unfinished: result.unfinished });
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error('drain failed', { error: String(error) });
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * Region and credentials: the SDK's default chain for real AWS. For a local endpoint
 * (serverless-offline on loopback) any credentials do, so placeholder ones are used
 * when the environment has none, and the region defaults to us-east-1.
 */
function invokerOptions(config: BridgeConfig, env: NodeJS.ProcessEnv): LambdaInvokerOptions {
  const options: LambdaInvokerOptions = {
    invokeTimeoutMs: config.invokeTimeoutMs,
    // A socket per job in flight, and per orphaned invoke (at most as many again: worker.ts).
    maxSockets: 2 * config.concurrency,
    throttle: { maxRetries: config.throttleRetries },
  };
  if (config.lambdaEndpoint) options.endpoint = config.lambdaEndpoint;
  const region =
    config.lambdaRegion ??
    (config.lambdaEndpoint ? (env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1') : undefined);
  if (region) options.region = region;
  if (
    config.lambdaEndpoint &&
    isLoopback(new URL(config.lambdaEndpoint).hostname) &&
    !env.AWS_ACCESS_KEY_ID &&
    !env.AWS_PROFILE
  ) {
    options.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  }
  return options;
}
