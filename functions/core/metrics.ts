/**
 * The relay's own metrics, the port the core owns. On AWS they become CloudWatch metrics
 * (EMF through Powertools Metrics, namespace `WebhookRelay`, one dimension `service`); locally
 * they are counted in memory. No per-subscription dimensions: that detail lives in the
 * delivery log, and a dimension per endpoint would cost a metric per endpoint.
 */
export const METRICS = {
  /** Events accepted by ingest (202). */
  eventsIngested: 'EventsIngested',
  /** Attempts answered with 2xx. */
  deliveriesSucceeded: 'DeliveriesSucceeded',
  /** Attempts that failed (non-2xx, network error, timeout, refused), retried or not. */
  deliveriesFailed: 'DeliveriesFailed',
  /** Deliveries sent to the DLQ (schedule exhausted or permanent failure). */
  deliveriesDeadLettered: 'DeliveriesDeadLettered',
  /** One HTTP attempt, request to response (ms). */
  attemptDuration: 'AttemptDuration',
  /** From the relay accepting the event (202) to the receiver's 2xx (ms). */
  endToEndLatency: 'EndToEndLatency',
} as const;

export const METRICS_NAMESPACE = 'WebhookRelay';

type Names = typeof METRICS;
export type CountMetric = Names[
  | 'eventsIngested'
  | 'deliveriesSucceeded'
  | 'deliveriesFailed'
  | 'deliveriesDeadLettered'];
export type DurationMetric = Names['attemptDuration' | 'endToEndLatency'];

export interface RelayMetrics {
  count(name: CountMetric, value?: number): void;
  duration(name: DurationMetric, ms: number): void;
  /** Publishes what is buffered; handlers call it at the end of every invocation. */
  flush(): void;
}

/** For wiring that does not care (unit tests of other things). */
export const noMetrics: RelayMetrics = {
  count() {},
  duration() {},
  flush() {},
};
