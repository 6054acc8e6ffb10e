/**
 * The Lambda side of every action: unwrap the event, check it, run the core action,
 * log with the Gearman unique id as correlation id, and emit EMF metrics. Returns a result
 * object on every path; never throws.
 *
 * A warm function repeats none of its set-up: the settings are parsed once and the
 * OpenStack client (its connection pool, its image and flavor lookups) made once, both
 * kept for as long as the variables they came from stay the same (settingsVariables); the
 * Keystone token is cached in module scope by the credentials, the SSM parameter by
 * Powertools for OS_CREDENTIALS_MAX_AGE_SECONDS.
 */
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { Env, Settings } from '../config';
import { loadSettings } from '../config';
import type { Action, JobContext, Result } from '../../contract';
import {
  functionNameFor,
  normaliseAction,
  unwrap,
  fail,
  isMessage,
  reserveMs,
  createLogger,
  describeUnique,
  unwrapFailure,
  DEFAULT_REQUEST_POLICY,
  SERVICE_NAME,
} from '../../contract';
import { recordOutcome, recordSecondsToActive } from './business-metrics';
import { systemClock } from '../core/context';
import { describeError } from '../core/errors';
import { runAction } from '../core/run';
import { createOpenStack } from '../openstack';
import type { ParameterFetcher } from '../secrets';
import { resolveEnv, ssmFetcher } from '../secrets';

export type PoolManagerHandler = (event: unknown, context?: Partial<Context>) => Promise<Result>;

/** Settings parsed from the variables in `key`, and what is computed from them once. */
interface Parsed {
  key: string;
  settings: Settings;
  /** The cloud settings as a key: the client is kept while it stays the same. */
  cloudKey: string;
  /** The cleanup reserve kept from Lambda's remaining time (contract reserveMs). */
  cleanupReserveMs: number;
}

export interface HandlerOptions {
  /** The environment settings are read from, per invocation (default: process.env). */
  env?: () => Env;
  /** Reads the SSM parameter of OS_CREDENTIALS_PARAMETER (default: Powertools, cached). */
  fetchParameter?: ParameterFetcher;
}

export function makeHandler(action: Action, options: HandlerOptions = {}): PoolManagerHandler {
  const readEnv = options.env ?? (() => process.env);
  const fetchParameter = options.fetchParameter ?? ssmFetcher;
  const logger = createLogger(SERVICE_NAME);
  const metrics = new Metrics({ namespace: 'LibraPoolManager', serviceName: SERVICE_NAME });
  // The settings of the last environment seen (with what is derived from them), and one
  // client (one connection pool, one set of image and flavor lookups) for their cloud
  // settings: both replaced when they change, so a POOL_*-only change keeps the client.
  let parsed: Parsed | undefined;
  let client: { cloudKey: string; openstack: ReturnType<typeof createOpenStack> } | undefined;
  const settingsFor = async (env: Env): Promise<Parsed> => {
    const variables = settingsVariables(env);
    const key = JSON.stringify(variables);
    // Parsed from exactly the variables in the key, so nothing else can go stale. A failed
    // load is not kept: the next invocation reports the problem again.
    if (parsed?.key !== key) {
      const settings = await loadSettings(Object.fromEntries(variables));
      parsed = {
        key,
        settings,
        cloudKey: JSON.stringify(settings.cloud),
        // Kept from Lambda's own timeout whatever the build deadline says, sized from the
        // request policy in use.
        cleanupReserveMs: reserveMs(functionNameFor(action), {
          ...DEFAULT_REQUEST_POLICY,
          timeoutMs: settings.cloud.requestTimeoutMs,
          retries: settings.cloud.retries,
        }),
      };
    }
    return parsed;
  };
  const openstackFor = ({ cloudKey, settings }: Parsed) => {
    if (client?.cloudKey !== cloudKey) {
      void client?.openstack.close();
      client = { cloudKey, openstack: createOpenStack(settings.cloud, { logger }) };
    }
    return client.openstack;
  };

  return async (event, context) => {
    const started = Date.now();
    const job = unwrap(event);
    logger.resetKeys();
    if (context?.awsRequestId) logger.addContext(context as Context);
    const unique = job?.unique && describeUnique(job.unique);
    logger.appendKeys({ action, unique, handle: job?.handle });
    if (unique) logger.setCorrelationId(unique);

    const result = job ? await run(action, job, logger, context) : fail(undefined, unwrapFailure(event));
    const failed = result.response === 'FAIL';
    if (failed) logger.warn('job failed', { error: result.error });
    else logger.info('job passed');

    metrics.addDimension('action', action);
    metrics.addMetric('Jobs', MetricUnit.Count, 1);
    metrics.addMetric('Failures', MetricUnit.Count, failed ? 1 : 0);
    metrics.addMetric('Duration', MetricUnit.Milliseconds, Date.now() - started);
    metrics.publishStoredMetrics();
    recordOutcome(metrics, action, result);
    return result;
  };

  async function run(
    action: Action,
    job: JobContext,
    logger: ReturnType<typeof createLogger>,
    context: Partial<Context> | undefined,
  ): Promise<Result> {
    const { message } = job;
    const asked = normaliseAction(message.action);
    if (asked !== action) {
      const sent = typeof message.action === 'string' ? `'${message.action}'` : 'no action';
      return fail(message, `this function serves ${action}, the message has ${sent}`);
    }
    try {
      // The secret fetch is cached (OS_CREDENTIALS_MAX_AGE_SECONDS); settings stay pure.
      const current = await settingsFor(await resolveEnv(readEnv(), fetchParameter));
      const { settings, cleanupReserveMs } = current;
      const remaining = context?.getRemainingTimeInMillis?.();
      const lambdaBudget =
        remaining !== undefined && Number.isFinite(remaining) ? remaining - cleanupReserveMs : Number.POSITIVE_INFINITY;
      const deadlineAt = Date.now() + Math.min(settings.pool.buildDeadlineMs, lambdaBudget);
      return await runAction(
        action,
        {
          openstack: openstackFor(current),
          pool: settings.pool,
          logger,
          unique: job.unique,
          deadlineAt,
          clock: systemClock,
          onBuildWait: (ms) => recordSecondsToActive(metrics, ms),
        },
        message,
      );
    } catch (error) {
      // Configuration errors and anything unforeseen: still a result, never a throw.
      logger.error('job could not run', { error: describeError(error) });
      return fail(isMessage(message) ? message : undefined, describeError(error));
    }
  }
}

/**
 * The variables settings are made of: every OS_* and POOL_* one (after an SSM parameter's
 * were merged in), in a stable order. Not the rest of the environment: Lambda changes
 * _X_AMZN_TRACE_ID on every invocation. clouds.yaml and the OS_CACERT file are read again
 * only when a variable changes: in Lambda they are part of the code package, which only a
 * new execution environment brings.
 */
function settingsVariables(env: Env): [string, string][] {
  const variables: [string, string][] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (name.startsWith('OS_') || name.startsWith('POOL_'))) variables.push([name, value]);
  }
  return variables.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
