import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  type CountMetric,
  type DurationMetric,
  METRICS_NAMESPACE,
  type RelayMetrics,
} from '../../core/metrics.ts';

/**
 * The relay's metrics as CloudWatch Embedded Metric Format, through Powertools Metrics: values
 * are buffered during an invocation and written to stdout as one EMF document by `flush()`;
 * CloudWatch Logs turns them into metrics with no API call on the hot path. Namespace
 * `WebhookRelay` (or POWERTOOLS_METRICS_NAMESPACE), dimension `service` from
 * POWERTOOLS_SERVICE_NAME (the stage).
 */
export class EmfMetrics implements RelayMetrics {
  constructor(
    readonly metrics = new Metrics({
      namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
      serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'relay',
    }),
  ) {}

  count(name: CountMetric, value = 1): void {
    this.metrics.addMetric(name, MetricUnit.Count, value);
  }

  duration(name: DurationMetric, ms: number): void {
    this.metrics.addMetric(name, MetricUnit.Milliseconds, ms);
  }

  flush(): void {
    // Nothing recorded (a batch of skipped duplicates, say): no empty EMF document, no warning.
    if (this.metrics.hasStoredMetrics()) this.metrics.publishStoredMetrics();
  }
}
