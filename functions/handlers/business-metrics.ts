/**
 * The pool manager's business figures, as CloudWatch metrics (EMF log lines through
 * Powertools Metrics) in the handlers' namespace, next to the per-action Jobs, Failures and
 * Duration that make-handler.ts publishes:
 *
 * - DeviceBuilds {outcome: PASS|FAIL}: one per BUILD_DEVICE answered;
 * - SecondsToActive: how long a build waited for its server to be ACTIVE;
 * - FloatingIpOperations {operation: BUILD_IP|ASSIGN_IP|REMOVE_IP|DELETE_IP, outcome}.
 *
 * Each is a single metric of its own (its own dimension set; `service` is the default
 * dimension), published at once. The CloudWatch dashboard (ops/cloudwatch/monitoring.cjs)
 * graphs exactly these names and dimensions.
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Action, Result } from '../../contract';

const FLOATING_IP_OPERATIONS: ReadonlySet<Action> = new Set(['BUILD_IP', 'ASSIGN_IP', 'REMOVE_IP', 'DELETE_IP']);

/** A build reached ACTIVE after `ms` (the core's onBuildWait). */
export function recordSecondsToActive(metrics: Metrics, ms: number): void {
  metrics.singleMetric().addMetric('SecondsToActive', MetricUnit.Seconds, ms / 1000);
}

/** The answer of one job of `action`, whatever its outcome. */
export function recordOutcome(metrics: Metrics, action: Action, result: Result): void {
  const outcome = result.response === 'PASS' ? 'PASS' : 'FAIL';
  if (action === 'BUILD_DEVICE') {
    metrics.singleMetric().addDimension('outcome', outcome).addMetric('DeviceBuilds', MetricUnit.Count, 1);
  } else if (FLOATING_IP_OPERATIONS.has(action)) {
    metrics
      .singleMetric()
      .addDimensions({ operation: action, outcome })
      .addMetric('FloatingIpOperations', MetricUnit.Count, 1);
  }
}
