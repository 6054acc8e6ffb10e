/**
 * What serverless.yml's CloudWatch alarms and dashboard need computed, read through
 * `${file(./ops/cloudwatch/monitoring.cjs):...}` when the stack is packaged. Serverless
 * variables cannot do arithmetic, and the numbers must follow contract/deadlines.json, so
 * they are derived here rather than written twice:
 *
 * - durationAlarmMs: per function, the Duration (ms) that alarms: 90% of its timeout;
 * - alarmActions: [ALARM_TOPIC_ARN] when that parameter names an SNS topic, else [] (the
 *   alarms still exist and show, and the template stays valid);
 * - dashboardBody: the CloudWatch dashboard (JSON text) for the stage being packaged.
 *
 * test/deploy/template.test.ts checks both in the packaged template.
 */
'use strict';

const deadlines = require('../../contract/deadlines.json');

/** A function whose slowest run in 5 minutes reaches this share of its timeout alarms. */
const DURATION_ALARM_SHARE = 0.9;
const FUNCTIONS = Object.keys(deadlines.functions);

const durationAlarmMs = Object.fromEntries(
  FUNCTIONS.map((fn) => [fn, Math.round(deadlines.functions[fn].timeout * 1000 * DURATION_ALARM_SHARE)]),
);

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

async function alarmActions({ resolveVariable }) {
  const topic = String((await resolveVariable('param:ALARM_TOPIC_ARN')) ?? '').trim();
  if (topic === '') return [];
  if (!TOPIC_ARN.test(topic)) {
    throw new Error(
      `ALARM_TOPIC_ARN must be the ARN of an SNS topic (arn:aws:sns:REGION:ACCOUNT:NAME), or empty for no alarm actions; got ${JSON.stringify(topic)}`,
    );
  }
  return [topic];
}

/** One graph widget; `metrics` in CloudWatch's array form. */
function graph(title, metrics, x, y, extra = {}) {
  return {
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: { title, view: 'timeSeries', stacked: false, period: 300, metrics, ...extra },
  };
}

/**
 * The stage's dashboard: per function invocations, errors, throttles and duration against
 * its alarm threshold; the business figures the functions publish (builds PASS/FAIL,
 * seconds to ACTIVE, floating IP operations); jobs and FAILs per action.
 */
async function dashboardBody({ resolveVariable }) {
  const service = await resolveVariable('self:service');
  const stage = await resolveVariable('sls:stage');
  const region = await resolveVariable('self:provider.region');
  // The namespace the functions publish their business figures in.
  const namespace = await resolveVariable('self:provider.environment.POWERTOOLS_METRICS_NAMESPACE');
  const name = (fn) => `${service}-${stage}-${fn}`;
  const lambda = (metric, stat) =>
    FUNCTIONS.map((fn) => ['AWS/Lambda', metric, 'FunctionName', name(fn), { stat, label: fn }]);
  const widgets = [
    {
      type: 'text',
      x: 0,
      y: 0,
      width: 24,
      height: 2,
      properties: {
        markdown: `## Pool manager ${stage}: the six functions\nAlarms: \`${service}-${stage}-<function>-errors|throttles|duration\`. Runbooks: docs/operations.md, sections 5.5 and 7. The bridge side (Gearman backlog, slots) is on Prometheus: ops/prometheus/alerts.yml, ops/grafana/pool-manager.json.`,
      },
    },
    graph('Invocations', lambda('Invocations', 'Sum'), 0, 2),
    graph('Errors (a function that threw or timed out; FAIL results are not errors)', lambda('Errors', 'Sum'), 12, 2),
    graph('Throttles', lambda('Throttles', 'Sum'), 0, 8),
    graph('Duration, maximum (ms), and the alarm thresholds', lambda('Duration', 'Maximum'), 12, 8, {
      annotations: {
        horizontal: FUNCTIONS.map((fn) => ({ label: `${fn} alarm`, value: durationAlarmMs[fn] })),
      },
    }),
    graph(
      'Device builds: PASS and FAIL',
      ['PASS', 'FAIL'].map((outcome) => [
        namespace,
        'DeviceBuilds',
        'service',
        service,
        'outcome',
        outcome,
        { stat: 'Sum', label: outcome },
      ]),
      0,
      14,
    ),
    graph(
      'Seconds from a build request to ACTIVE',
      ['Average', 'p90', 'Maximum'].map((stat) => [
        namespace,
        'SecondsToActive',
        'service',
        service,
        { stat, label: stat },
      ]),
      12,
      14,
    ),
    graph(
      'Floating IP operations',
      ['BUILD_IP', 'ASSIGN_IP', 'REMOVE_IP', 'DELETE_IP'].flatMap((operation) =>
        ['PASS', 'FAIL'].map((outcome) => [
          namespace,
          'FloatingIpOperations',
          'service',
          service,
          'operation',
          operation,
          'outcome',
          outcome,
          { stat: 'Sum', label: `${operation} ${outcome}` },
        ]),
      ),
      0,
      20,
    ),
    graph(
      'FAIL results per action',
      Object.values(ACTION_OF).map((action) => [
        namespace,
        'Failures',
        'service',
        service,
        'action',
        action,
        { stat: 'Sum', label: action },
      ]),
      12,
      20,
    ),
  ];
  return JSON.stringify({ start: '-PT12H', periodOverride: 'inherit', region, widgets: withRegion(widgets, region) });
}

/** The action each function serves (contract/actions.ts; the Failures metric is per action). */
const ACTION_OF = {
  buildDevice: 'BUILD_DEVICE',
  deleteDevice: 'DELETE_DEVICE',
  buildIp: 'BUILD_IP',
  assignIp: 'ASSIGN_IP',
  removeIp: 'REMOVE_IP',
  deleteIp: 'DELETE_IP',
};

function withRegion(widgets, region) {
  return widgets.map((w) => (w.type === 'metric' ? { ...w, properties: { region, ...w.properties } } : w));
}

module.exports = { durationAlarmMs, alarmActions, dashboardBody };
