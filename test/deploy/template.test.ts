/**
 * The stack an operator deploys, checked without deploying it: `serverless package` runs
 * here (offline, dummy credentials, ~10 s) for a default stage and for prod with
 * parameters, and the CloudFormation templates it writes are read for the runtime,
 * the deadlines, log retention, and least privilege:
 *
 * - each function has a role of its own: logs:CreateLogStream + logs:PutLogEvents on its
 *   own log group, ssm:GetParameter on the stage's one credentials parameter, and
 *   kms:Decrypt (through SSM only) on a customer key only when one is configured;
 * - no action or resource is "*" anywhere; no cloudwatch:PutMetricData (EMF goes through logs);
 * - the bridge's managed policy allows lambda:InvokeFunction on exactly the six functions
 *   and is a stack output;
 * - each function has its Errors, Throttles and Duration alarms, the Duration threshold 90% of
 *   its timeout in contract/deadlines.json, notifying the ALARM_TOPIC_ARN topic or nobody; the
 *   stage's CloudWatch dashboard shows the six functions and the business metrics.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { before, describe, test } from 'node:test';
import YAML from 'yaml';
import {
  ACTIONS,
  BUILD_DEADLINE_SECONDS,
  DEFAULT_FUNCTION_PREFIX,
  DEFAULT_STAGE,
  FUNCTION_LIMITS,
  LAMBDA_MAX_TIMEOUT_SECONDS,
  SERVICE_NAME,
  functionPrefix,
} from '../../contract';
import { mapStackTrace } from '../../scripts/stack-trace';
import type { CfnResource, CfnTemplate, Packaged } from './package';
import { packageStack, root } from './package';

const FUNCTIONS = Object.values(ACTIONS);
const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const KMS_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
/** Zipped code may be 50 MB for a direct upload; a bundle near even 10 MB means something went wrong. */
const MAX_ZIP_BYTES = 10 * 1024 * 1024;

const logicalId = (fn: string) => fn.charAt(0).toUpperCase() + fn.slice(1);

type Json = unknown;

/** Evaluates Ref/Fn::Join/Fn::GetAtt far enough to compare ARNs as strings. */
function evaluate(value: Json): Json {
  if (Array.isArray(value)) return value.map(evaluate);
  if (typeof value !== 'object' || value === null) return value;
  const object = value as Record<string, Json>;
  if ('Ref' in object) {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': REGION,
      'AWS::AccountId': ACCOUNT,
    };
    return pseudo[String(object.Ref)] ?? `Ref(${String(object.Ref)})`;
  }
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, Json[]];
    return (parts.map(evaluate) as string[]).join(separator);
  }
  if ('Fn::GetAtt' in object) {
    const [id, attribute] = object['Fn::GetAtt'] as [string, string];
    return `GetAtt(${id}.${attribute})`;
  }
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, evaluate(v)]));
}

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: Json;
  Condition?: Record<string, Record<string, Json>>;
  /** Set when the statement sits in an Fn::If: the condition's name. */
  onlyIf?: string;
}

/** A policy document's statements, an Fn::If's true branch included and marked. */
function statements(document: { Statement: Json[] }): Statement[] {
  const out: Statement[] = [];
  for (const item of document.Statement) {
    const object = item as Record<string, Json>;
    if ('Fn::If' in object) {
      const [condition, whenTrue, whenFalse] = object['Fn::If'] as [string, Json, Json];
      assert.deepEqual(whenFalse, { Ref: 'AWS::NoValue' }, 'a conditional statement is either there or not at all');
      out.push({ ...(whenTrue as Statement), onlyIf: condition });
    } else {
      out.push(object as unknown as Statement);
    }
  }
  return out;
}

const asList = (value: Json): Json[] => (Array.isArray(value) ? value : [value]);

function byType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

interface Expected {
  retention: number;
  buildDeadline: string;
  image: string;
  kmsKey: string;
  /** '' when no ALARM_TOPIC_ARN is given. */
  alarmTopic: string;
}

/** The share of a function's timeout its Duration alarm fires at (docs/operations.md 5.5). */
const DURATION_ALARM_SHARE = 0.9;
const ALARM_TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:pool-manager-oncall`;

interface Alarm {
  AlarmName: string;
  Namespace: string;
  MetricName: string;
  Statistic: string;
  Dimensions: { Name: string; Value: Json }[];
  Threshold: number;
  ComparisonOperator: string;
  Period: number;
  EvaluationPeriods: number;
  DatapointsToAlarm?: number;
  TreatMissingData: string;
  AlarmActions: Json;
  OKActions: Json;
  AlarmDescription: string;
}

/** Registers the checks of one packaged stage; `load` packages it once, on first use. */
function checkStack(stage: string, load: () => Promise<Packaged>, expect: Expected): void {
  const parameterArn = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/pool-manager/${stage}/openstack`;

  test('each function: nodejs22.x on arm64, timeout and memory from deadlines.json, its own role, no retries', async () => {
    const { template } = await load();
    const resources = template.Resources;
    for (const fn of FUNCTIONS) {
      const id = logicalId(fn);
      const properties = resources[`${id}LambdaFunction`]?.Properties as Record<string, Json>;
      assert.ok(properties, fn);
      assert.equal(properties.FunctionName, `${functionPrefix(stage)}${fn}`);
      assert.equal(properties.Runtime, 'nodejs22.x');
      assert.deepEqual(properties.Architectures, ['arm64']);
      assert.equal(properties.Timeout, FUNCTION_LIMITS[fn].timeout);
      assert.ok((properties.Timeout as number) <= LAMBDA_MAX_TIMEOUT_SECONDS);
      assert.equal(properties.MemorySize, FUNCTION_LIMITS[fn].memorySize);
      assert.deepEqual(properties.Role, { 'Fn::GetAtt': [`${id}Role`, 'Arn'] });
      assert.equal(properties.ReservedConcurrentExecutions, undefined, 'none reserved by default (docs/operations.md)');
      const invokeConfig = resources[`${id}LambdaEvConf`]?.Properties as Record<string, Json>;
      assert.equal(invokeConfig?.MaximumRetryAttempts, 0);
    }
    assert.equal(byType(template, 'AWS::Lambda::Function').length, 6);
    assert.equal(byType(template, 'AWS::Lambda::Version').length, 0, 'versionFunctions: false');
    assert.equal(byType(template, 'AWS::Lambda::ProvisionedConcurrencyConfig').length, 0);
  });

  test('the environment names the credentials parameter and carries no secret', async () => {
    const resources = (await load()).template.Resources;
    for (const fn of FUNCTIONS) {
      const variables = (
        resources[`${logicalId(fn)}LambdaFunction`]?.Properties as {
          Environment: { Variables: Record<string, string> };
        }
      ).Environment.Variables;
      assert.equal(variables.OS_CREDENTIALS_PARAMETER, `/pool-manager/${stage}/openstack`);
      assert.equal(variables.POOL_BUILD_DEADLINE_SECONDS, expect.buildDeadline);
      assert.equal(variables.POOL_IMAGE, expect.image);
      for (const name of Object.keys(variables)) {
        assert.doesNotMatch(
          name,
          /PASSWORD|SECRET|TOKEN|^OS_(AUTH_URL|USERNAME|APPLICATION_CREDENTIAL)|^POOL_USER_DATA$/,
          `${fn}: ${name} must come from the parameter`,
        );
      }
    }
  });

  test('log groups keep logs for the stage retention', async () => {
    const resources = (await load()).template.Resources;
    for (const fn of FUNCTIONS) {
      const properties = resources[`${logicalId(fn)}LogGroup`]?.Properties as Record<string, Json>;
      assert.equal(properties.LogGroupName, `/aws/lambda/pool-manager-${stage}-${fn}`);
      assert.equal(properties.RetentionInDays, expect.retention);
    }
  });

  test('each role: its own logs, the one parameter, the key only through SSM, nothing else', async () => {
    const { template } = await load();
    const resources = template.Resources;
    const roles = byType(template, 'AWS::IAM::Role');
    assert.deepEqual(roles.map(([id]) => id).sort(), FUNCTIONS.map((fn) => `${logicalId(fn)}Role`).sort());
    assert.equal(resources.IamRoleLambdaExecution, undefined, "serverless's shared role is not created");
    assert.deepEqual(template.Conditions?.UseCustomerKey, { 'Fn::Not': [{ 'Fn::Equals': [expect.kmsKey, ''] }] });
    for (const fn of FUNCTIONS) {
      const id = logicalId(fn);
      const properties = resources[`${id}Role`]?.Properties as Record<string, Json>;
      assert.deepEqual(properties.AssumeRolePolicyDocument, {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      });
      assert.equal(
        properties.ManagedPolicyArns,
        undefined,
        'no managed policies (AWSLambdaBasicExecutionRole allows all log groups)',
      );
      const policies = properties.Policies as { PolicyDocument: { Statement: Json[] } }[];
      assert.equal(policies.length, 1);
      const found = statements(policies[0]!.PolicyDocument).map((s) => ({
        ...s,
        Resource: evaluate(s.Resource),
        Condition: evaluate(s.Condition),
      }));
      assert.deepEqual(found, [
        {
          Sid: 'WriteOwnLogs',
          Effect: 'Allow',
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: `GetAtt(${id}LogGroup.Arn)`,
          Condition: undefined,
        },
        {
          Sid: 'ReadOpenStackCredentials',
          Effect: 'Allow',
          Action: 'ssm:GetParameter',
          Resource: parameterArn,
          Condition: undefined,
        },
        {
          Sid: 'DecryptOpenStackCredentialsThroughSsm',
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: expect.kmsKey,
          Condition: { StringEquals: { 'kms:ViaService': `ssm.${REGION}.amazonaws.com` } },
          onlyIf: 'UseCustomerKey',
        },
      ]);
    }
  });

  test('the bridge policy allows lambda:InvokeFunction on exactly the six functions, and is an output', async () => {
    const { template } = await load();
    const resources = template.Resources;
    const policies = byType(template, 'AWS::IAM::ManagedPolicy');
    assert.deepEqual(
      policies.map(([id]) => id),
      ['BridgeInvokePolicy'],
    );
    const properties = resources.BridgeInvokePolicy?.Properties as Record<string, Json>;
    for (const attachment of ['Roles', 'Users', 'Groups'])
      assert.equal(properties[attachment], undefined, 'the operator attaches it');
    const found = statements(properties.PolicyDocument as { Statement: Json[] });
    assert.equal(found.length, 1);
    assert.equal(found[0]?.Effect, 'Allow');
    assert.deepEqual(asList(found[0]?.Action), ['lambda:InvokeFunction']);
    assert.equal(found[0]?.Condition, undefined);
    assert.deepEqual(
      (asList(evaluate(found[0]?.Resource)) as string[]).sort(),
      FUNCTIONS.map((fn) => `GetAtt(${logicalId(fn)}LambdaFunction.Arn)`).sort(),
    );
    const outputs = template.Outputs ?? {};
    assert.deepEqual(outputs.BridgeInvokePolicyArn?.Value, { Ref: 'BridgeInvokePolicy' });
    assert.equal(outputs.BridgeInvokePolicyArn?.Export?.Name, `pool-manager-${stage}-BridgeInvokePolicyArn`);
    assert.equal(outputs.BridgeFunctionPrefix?.Value, functionPrefix(stage));
    assert.deepEqual(outputs.BridgeLambdaRegion?.Value, { Ref: 'AWS::Region' });
    assert.equal(outputs.OpenStackCredentialsParameter?.Value, `/pool-manager/${stage}/openstack`);
  });

  test('no wildcard action or resource, no Deny tricks, no cloudwatch:PutMetricData anywhere', async () => {
    const { template } = await load();
    const resources = template.Resources;
    const all: Statement[] = [];
    for (const [, role] of byType(template, 'AWS::IAM::Role')) {
      for (const policy of (role.Properties?.Policies ?? []) as { PolicyDocument: { Statement: Json[] } }[])
        all.push(...statements(policy.PolicyDocument));
    }
    for (const [, policy] of byType(template, 'AWS::IAM::ManagedPolicy'))
      all.push(...statements(policy.Properties?.PolicyDocument as { Statement: Json[] }));
    assert.equal(all.length, 6 * 3 + 1);
    for (const statement of all) {
      assert.equal(statement.Effect, 'Allow');
      assert.ok(!('NotAction' in statement) && !('NotResource' in statement));
      for (const action of asList(statement.Action) as string[])
        assert.doesNotMatch(action, /\*/, `wildcard action ${action}`);
      for (const resource of asList(evaluate(statement.Resource)) as string[]) {
        assert.notEqual(resource, '*');
        assert.doesNotMatch(resource, /^arn:[^:]*:[^:]*:[^:]*:[^:]*:\*$/, `wildcard resource ${resource}`);
      }
    }
    // Only serverless's deployment-bucket policy remains, and it is a Deny on non-TLS access.
    assert.doesNotMatch(JSON.stringify(template), /cloudwatch:PutMetricData|"Action":"\*"|"\*:\*"/);
    const iamTypes = Object.values(resources)
      .map((r) => r.Type)
      .filter((type) => type.startsWith('AWS::IAM::'));
    assert.deepEqual(iamTypes.sort(), [...Array(6).fill('AWS::IAM::Role'), 'AWS::IAM::ManagedPolicy'].sort());
  });

  test('each zip holds its bundle alone; the source map is built beside it and maps a trace to the TypeScript', async () => {
    const packaged = await load();
    const resources = packaged.template.Resources;
    const work = mkdtempSync(join(tmpdir(), 'pool-manager-maps-'));
    try {
      for (const fn of FUNCTIONS) {
        const bundlePath = `functions/handlers/${fn}.cjs`;
        const zip = packaged.zipContents[`${fn}.zip`] ?? {};
        assert.deepEqual(Object.keys(zip), [bundlePath], `${fn}.zip: the bundle and nothing else`);
        const bundle = String(zip[bundlePath]);
        assert.doesNotMatch(bundle, /sourceMappingURL/, 'no map to look for at run time');
        const variables = (
          resources[`${logicalId(fn)}LambdaFunction`]?.Properties as {
            Environment: { Variables: Record<string, string> };
          }
        ).Environment.Variables;
        assert.equal(variables.NODE_OPTIONS, undefined, 'no --enable-source-maps where no map ships');

        const map = packaged.sourceMaps[`${bundlePath}.map`];
        assert.ok(map, `sourcemaps/${bundlePath}.map beside the zips`);
        const file = join(work, 'sourcemaps', `${bundlePath}.map`);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, map);
        // A production frame: where the handler logs that it serves another action, as Lambda prints it.
        const at = bundle.indexOf('this function serves ');
        const before = bundle.slice(0, at).split('\n');
        const frame = `/var/task/${bundlePath}:${before.length}:${(before.at(-1) ?? '').length + 1}`;
        const mapped = mapStackTrace(`Error: boom\n    at run (${frame})\n`, join(work, 'sourcemaps'));
        const source = /at run \((\S+):(\d+):\d+\)/.exec(mapped);
        assert.ok(source, mapped);
        assert.match(String(source[1]), /functions\/handlers\/make-handler\.ts$/, mapped);
        const line = readFileSync(join(root, 'functions/handlers/make-handler.ts'), 'utf8').split('\n')[
          Number(source[2]) - 1
        ];
        assert.match(String(line), /this function serves /, `line ${source[2]} of make-handler.ts`);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test('alarms: Errors, Throttles and Duration of each function, Duration at 90% of its timeout; actions only with a topic', async () => {
    const { template } = await load();
    const alarms = byType(template, 'AWS::CloudWatch::Alarm');
    assert.equal(alarms.length, FUNCTIONS.length * 3);
    const actions = expect.alarmTopic ? [expect.alarmTopic] : [];
    for (const fn of FUNCTIONS) {
      const id = logicalId(fn);
      const timeoutMs = FUNCTION_LIMITS[fn].timeout * 1000;
      for (const metric of ['Errors', 'Throttles', 'Duration']) {
        const alarm = template.Resources[`${id}${metric}Alarm`]?.Properties as unknown as Alarm | undefined;
        assert.ok(alarm, `${fn} has a ${metric} alarm`);
        assert.equal(alarm.AlarmName, `${functionPrefix(stage)}${fn}-${metric.toLowerCase()}`);
        assert.equal(alarm.Namespace, 'AWS/Lambda');
        assert.equal(alarm.MetricName, metric);
        assert.deepEqual(alarm.Dimensions, [{ Name: 'FunctionName', Value: { Ref: `${id}LambdaFunction` } }]);
        assert.equal(alarm.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
        assert.equal(alarm.TreatMissingData, 'notBreaching', 'an idle function is not alarming');
        assert.deepEqual(alarm.AlarmActions, actions);
        assert.deepEqual(alarm.OKActions, actions);
        assert.match(alarm.AlarmDescription, /docs\/operations\.md/, 'says where to read on');
        assert.ok(alarm.Period * alarm.EvaluationPeriods <= 600, `${fn} ${metric} alarms within 10 minutes`);
      }
      const errors = template.Resources[`${id}ErrorsAlarm`]?.Properties as unknown as Alarm;
      assert.deepEqual([errors.Statistic, errors.Threshold], ['Sum', 1], 'one error alarms');
      const throttles = template.Resources[`${id}ThrottlesAlarm`]?.Properties as unknown as Alarm;
      assert.deepEqual([throttles.Statistic, throttles.Threshold], ['Sum', 1]);
      const duration = template.Resources[`${id}DurationAlarm`]?.Properties as unknown as Alarm;
      assert.equal(duration.Statistic, 'Maximum');
      assert.equal(duration.Threshold, Math.round(timeoutMs * DURATION_ALARM_SHARE), `${fn}: 90% of its timeout`);
      assert.ok(duration.Threshold < timeoutMs, `${fn}: alarms before Lambda stops it`);
    }
    // A build may wait its whole deadline for ACTIVE and still finish in time: no alarm for that.
    const build = template.Resources.BuildDeviceDurationAlarm?.Properties as unknown as Alarm;
    assert.ok(build.Threshold > BUILD_DEADLINE_SECONDS * 1000, `${build.Threshold} ms is past the build deadline`);
  });

  test('the CloudWatch dashboard shows the six functions and the business metrics', async () => {
    const { template } = await load();
    const [dashboards, outputs] = [byType(template, 'AWS::CloudWatch::Dashboard'), template.Outputs ?? {}];
    assert.deepEqual(
      dashboards.map(([id]) => id),
      ['MonitoringDashboard'],
    );
    const properties = template.Resources.MonitoringDashboard?.Properties as {
      DashboardName: string;
      DashboardBody: string;
    };
    assert.equal(properties.DashboardName, `pool-manager-${stage}-${REGION}`);
    assert.deepEqual(outputs.MonitoringDashboardName?.Value, { Ref: 'MonitoringDashboard' });
    const body = JSON.parse(properties.DashboardBody) as {
      widgets: { type: string; properties: { title?: string; region?: string; metrics?: (string | object)[][] } }[];
    };
    const metrics = body.widgets.flatMap((w) => w.properties.metrics ?? []);
    assert.ok(body.widgets.every((w) => w.type !== 'metric' || w.properties.region === REGION));
    const lambda = (name: string) => metrics.filter((m) => m[0] === 'AWS/Lambda' && m[1] === name).map((m) => m[3]);
    for (const name of ['Invocations', 'Errors', 'Throttles', 'Duration'])
      assert.deepEqual(
        lambda(name),
        FUNCTIONS.map((fn) => `${functionPrefix(stage)}${fn}`),
        name,
      );
    // The functions publish in the namespace serverless.yml gives them.
    const environment = (
      template.Resources.BuildDeviceLambdaFunction?.Properties as { Environment: { Variables: Record<string, string> } }
    ).Environment.Variables;
    const namespace = environment.POWERTOOLS_METRICS_NAMESPACE;
    const business = new Set(metrics.filter((m) => m[0] === namespace).map((m) => m[1]));
    assert.deepEqual([...business].sort(), ['DeviceBuilds', 'Failures', 'FloatingIpOperations', 'SecondsToActive']);
    const failures = metrics.filter((m) => m[1] === 'Failures').map((m) => m[5]);
    assert.deepEqual(failures.sort(), Object.keys(ACTIONS).sort(), 'FAILs of every action');
  });

  test('the packaged zips are reported and small', async (t) => {
    const packaged = await load();
    assert.deepEqual(Object.keys(packaged.zips).sort(), FUNCTIONS.map((fn) => `${fn}.zip`).sort());
    for (const [name, bytes] of Object.entries(packaged.zips)) {
      t.diagnostic(`${stage} ${name}: ${(bytes / 1024 / 1024).toFixed(2)} MB`);
      assert.ok(bytes < MAX_ZIP_BYTES, `${name} is ${bytes} bytes`);
    }
  });
}

test("serverless.yml's service and default stage give the functions pool-bridge invokes by default", () => {
  const config = YAML.parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as {
    service: string;
    provider: { stage: string };
    functions: Record<string, unknown>;
  };
  assert.equal(config.service, SERVICE_NAME, 'contract/actions.ts SERVICE_NAME is the service serverless deploys');
  assert.equal(config.provider.stage, `\${opt:stage, '${DEFAULT_STAGE}'}`, 'the stage deployed without --stage');
  assert.deepEqual(Object.keys(config.functions).sort(), Object.values(ACTIONS).sort());
  // What a default `serverless deploy` names buildDevice, by the rule the packaged stages check.
  assert.equal(`${functionPrefix(DEFAULT_STAGE)}buildDevice`, 'pool-manager-dev-buildDevice');
  assert.equal(DEFAULT_FUNCTION_PREFIX, functionPrefix(DEFAULT_STAGE));
});

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= make());
}

const ci = once(() => packageStack({ stage: 'ci', region: REGION }));
const prod = once(() =>
  packageStack({
    stage: 'prod',
    region: REGION,
    params: {
      POOL_IMAGE: 'haproxy-lb',
      POOL_BUILD_DEADLINE_SECONDS: '600',
      OS_CREDENTIALS_KMS_KEY_ARN: KMS_KEY,
      ALARM_TOPIC_ARN: ALARM_TOPIC,
    },
  }),
);
// Both stages package in parallel; each test awaits its own.
before(() => {
  for (const load of [ci, prod]) load().catch(() => undefined);
});

describe('stage ci, all defaults', { timeout: 240_000 }, () => {
  checkStack('ci', ci, {
    retention: 30,
    buildDeadline: String(BUILD_DEADLINE_SECONDS),
    image: '',
    kmsKey: '',
    alarmTopic: '',
  });
});

describe(
  'stage prod: its retention, --param overrides, a customer-managed key, an alarm topic',
  { timeout: 240_000 },
  () => {
    checkStack('prod', prod, {
      retention: 90,
      buildDeadline: '600',
      image: 'haproxy-lb',
      kmsKey: KMS_KEY,
      alarmTopic: ALARM_TOPIC,
    });
  },
);

test(
  'an ALARM_TOPIC_ARN that is not an SNS topic ARN stops the packaging and says what it must be',
  { timeout: 240_000 },
  async () => {
    await assert.rejects(
      packageStack({ stage: 'ci', region: REGION, params: { ALARM_TOPIC_ARN: 'oncall-topic' } }),
      (error: Error & { stdout?: string; stderr?: string }) => {
        assert.match(
          `${error.message}${error.stdout ?? ''}${error.stderr ?? ''}`,
          /ALARM_TOPIC_ARN must be the ARN of an SNS topic \(arn:aws:sns:REGION:ACCOUNT:NAME\), or empty for no alarm actions; got "oncall-topic"/,
        );
        return true;
      },
    );
  },
);
