import { Annotations, ArnFormat, Aws, Duration, Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ORDERED_MAX_RECEIVES } from '../../functions/core/delivery/ordering.ts';
import {
  MAX_DELAY_SECONDS,
  MAX_QUEUE_DELAY_SECONDS,
  MAX_RECEIVES,
  POISON_RECEIVES,
} from '../../functions/core/delivery/scheduling.ts';
import { METRICS, METRICS_NAMESPACE } from '../../functions/core/metrics.ts';

/**
 * The dimension Powertools Metrics puts on every metric: the function's POWERTOOLS_SERVICE_NAME,
 * which the stack sets to the stage. Metric names and namespace come from the functions'
 * own contract (functions/core/metrics.ts), so the alarms read exactly what the code emits.
 */
export const SERVICE_DIMENSION = 'service';

/** A work queue and its DLQ (a QueueWithDlq fits). */
export interface MonitoredQueue {
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
}

/** The relay's five functions; the keys name their alarms (`<stage>-<key>-function-errors`). */
export interface MonitoredFunctions {
  readonly ingest: IFunction;
  readonly api: IFunction;
  readonly fanout: IFunction;
  readonly delivery: IFunction;
  readonly ordered: IFunction;
}

export interface RelayMonitoringProps {
  /** Prefix of the topic, alarm and dashboard names; the `service` dimension of the metrics. @default 'relay' */
  readonly stageName?: string;
  readonly fanout: MonitoredQueue;
  readonly delivery: MonitoredQueue;
  /** The FIFO queue of ordered subscriptions' wake-ups and its FIFO DLQ. */
  readonly ordered: MonitoredQueue;
  /** EventBridge's dead-letter queue for the fanout rule's target. @default no alarm */
  readonly busDeadLetterQueue?: IQueue;
  readonly functions: MonitoredFunctions;
  readonly httpApi: IHttpApi;
  /** The HTTP API's access log group, named in the 5xx alarm. @default not named */
  readonly apiAccessLogs?: ILogGroup;
  /**
   * Delivery tasks the fleet holds at once at most: the event source's maximum concurrency x its
   * batch size. It sizes the delivery queue's in-flight alarm.
   */
  readonly deliverySlots: number;
  /** Subscribes this address to the alarm topic (SNS sends a confirmation mail first). @default no subscription */
  readonly alarmEmail?: string;
  /** Alarm when an event has waited this long for fan-out. @default 5 minutes */
  readonly fanoutQueueAgeAlarm?: Duration;
  /**
   * Alarm when a delivery task has waited this long; raised to DELIVERY_QUEUE_AGE_FLOOR (20
   * minutes) when lower.
   * @default DELIVERY_QUEUE_AGE_FLOOR (20 minutes)
   */
  readonly deliveryQueueAgeAlarm?: Duration;
  /** Alarm when more than this share of delivery attempts fail for 15 minutes. @default 25 */
  readonly failureRateAlarmPercent?: number;
}

/**
 * The lowest age threshold of the delivery queue: 20 minutes, one delayed hop (900 s) plus five
 * minutes for the poll, the function's run (at most 90 s) and the metric's one-minute granularity.
 *
 * No task waits in flight any more: every wait is a new copy sent with DelaySeconds (at most
 * 900 s) and the received message is deleted. A message's age runs from when it was sent (its
 * enqueue timestamp, which SQS also expires it by), so a copy is up to 900 s old when it becomes
 * visible, and on a healthy queue the oldest message is one hop plus its processing old at most,
 * whatever the retry schedule.
 * What AWS documents (SQS Developer Guide, "Available CloudWatch metrics for Amazon SQS",
 * docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html,
 * checked for this change): ApproximateAgeOfOldestMessage is the age of the oldest unprocessed
 * (older wording: non-deleted) message; a standard-queue message received three or more times
 * without being deleted is moved to the back and left out until processed. The page does not say
 * whether a message still within its DelaySeconds counts; the floor holds either way, since a
 * copy is at most 900 s old while delayed. A task whose invocation crashes or times out comes back
 * after the 9-minute visibility timeout, well past the floor, so that does alarm (before its third
 * receive takes it out of the metric).
 */
export const DELIVERY_QUEUE_AGE_FLOOR = Duration.seconds(MAX_QUEUE_DELAY_SECONDS + 5 * 60);

/**
 * The age of the ordered queue's oldest wake-up that alarms: the longest hold, MAX_DELAY_SECONDS
 * (a retry or a Retry-After; an open circuit holds at most 30 minutes), plus five minutes for the
 * poll, the drain (at most 90 s) and the metric's granularity: 11 h 53 min.
 *
 * A held wake-up is in flight. A subscription normally has one wake-up at a time (its awake flag:
 * fanout sends none while it is set), but a fanout that arrives just as a drain empties the list
 * may send a second one, which then waits visible behind the held one until the hold ends. So on
 * a healthy queue a wake-up waits one hold at most, and anything lower could page for one
 * ordered endpoint's trouble (which the failure-rate and DLQ alarms cover). The price: a stalled consumer (event
 * source disabled, concurrency exhausted) shows here only after hours; crashes, timeouts and
 * throttles alarm within 5 minutes through the ordered function's alarms.
 */
export const ORDERED_QUEUE_AGE_THRESHOLD = Duration.seconds(MAX_DELAY_SECONDS + 5 * 60);

/** The in-flight alarm never goes below this many messages (small fleets have noisy counts). */
const MIN_IN_FLIGHT_ALARM = 1_000;

/**
 * In-flight delivery messages worth a page: 5x what the fleet can hold (deliverySlots), at least
 * 1,000. Healthy consumers delete every message they receive within one run (each wait is a new
 * delayed copy, which is not in flight), so in flight stays under deliverySlots. Past 5x, receives
 * are not being deleted: invocations that all time out keep about 6x (each slot takes a new batch
 * every 90 s while the last stays hidden for the 540 s visibility timeout), a crash loop far more.
 */
export function deliveryInFlightAlarmThreshold(deliverySlots: number): number {
  return Math.max(MIN_IN_FLIGHT_ALARM, 5 * deliverySlots);
}

const RUNBOOK = 'Runbook: README, section "Runbook".';

/**
 * What on-call sees of the relay: one SNS topic that every alarm notifies (on ALARM and on OK),
 * the alarms (dead letters, queues falling behind, function errors and throttles, API 5xx,
 * delivery failure rate) and one dashboard. Alarm descriptions say what broke and the next step.
 */
export class RelayMonitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: readonly Alarm[];
  readonly dashboard: Dashboard;

  private readonly stage: string;
  private readonly action: SnsAction;
  private readonly created: Alarm[] = [];

  constructor(scope: Construct, id: string, props: RelayMonitoringProps) {
    super(scope, id);
    const stage = props.stageName ?? 'relay';
    this.stage = stage;
    const failurePercent = props.failureRateAlarmPercent ?? 25;
    if (!(failurePercent > 0 && failurePercent < 100)) {
      throw new Error(`failureRateAlarmPercent must be above 0 and below 100, got ${failurePercent}`);
    }
    const fanoutAge = props.fanoutQueueAgeAlarm ?? Duration.minutes(5);
    if (fanoutAge.toSeconds() <= 0) throw new Error('fanoutQueueAgeAlarm must be longer than 0 seconds');
    const deliveryAge = this.deliveryAgeThreshold(props);
    if (!(Number.isInteger(props.deliverySlots) && props.deliverySlots > 0)) {
      throw new Error(`deliverySlots must be a whole number above 0, got ${props.deliverySlots}`);
    }
    const inFlightAlarm = deliveryInFlightAlarmThreshold(props.deliverySlots);

    this.topic = this.createTopic(stage, props.alarmEmail);
    this.action = new SnsAction(this.topic);

    const { fanout, delivery, ordered, functions, httpApi } = props;
    const accessLogs = props.apiAccessLogs ? ` (log group ${props.apiAccessLogs.logGroupName})` : '';
    const human = (d: Duration) => d.toHumanString();

    // a. Dead letters: one visible message is worth a page. NumberOfMessagesSent does not count
    // moves into a DLQ, so the depth is the signal.
    this.addAlarm('DeliveryDlqNotEmpty', {
      name: 'delivery-dlq-not-empty',
      metric: delivery.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 0,
      description:
        `Deliveries were dead-lettered into ${delivery.deadLetterQueue.queueName}: their retry schedule ` +
        'ran out, the receiver refused them for good (410 Gone, unusable URL), or the delivery function ' +
        `failed on the same task ${POISON_RECEIVES} times (crash, timeout). They are kept 14 days. ` +
        'Next: list dead deliveries: `npx relay dlq list` (each shows its lastError); fix or disable the ' +
        'receiver; when the endpoint is healthy again: `npx relay dlq redrive`.',
    });
    this.addAlarm('FanoutDlqNotEmpty', {
      name: 'fanout-dlq-not-empty',
      metric: fanout.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 0,
      description:
        `Events failed fan-out on every receive and were parked in ${fanout.deadLetterQueue.queueName}: ` +
        'no delivery was created for them yet. Usually the table or the delivery queue refused writes, ' +
        "or a bug. Next: read ERROR lines in the fanout function's logs " +
        `(${functions.fanout.functionName}); after the fix, redrive: SQS console, queue ` +
        `${fanout.deadLetterQueue.queueName}, "Start DLQ redrive" (or aws sqs start-message-move-task ` +
        `--source-arn ${fanout.deadLetterQueue.queueArn}). Fan-out is idempotent.`,
    });
    this.addAlarm('OrderedDlqNotEmpty', {
      name: 'ordered-dlq-not-empty',
      metric: ordered.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 0,
      description:
        `Wake-ups of ordered subscriptions failed ${ORDERED_MAX_RECEIVES} receives in a row and were ` +
        `parked in ${ordered.deadLetterQueue.queueName}: the ordered function crashed, timed out or could ` +
        'not read the table. Their pending deliveries stay in the table, but those subscriptions send ' +
        'nothing until another event wakes them. (Dead deliveries go to the delivery DLQ, not here.) ' +
        'Next: read ERROR lines ("ordered drain failed") in the ordered function\'s logs ' +
        `(${functions.ordered.functionName}); after the fix, redrive: SQS console, queue ` +
        `${ordered.deadLetterQueue.queueName}, "Start DLQ redrive" (or aws sqs start-message-move-task ` +
        `--source-arn ${ordered.deadLetterQueue.queueArn}). Wake-ups are idempotent.`,
    });

    if (props.busDeadLetterQueue) {
      // The fanout function drains this queue too, so its depth stays near 0: count arrivals.
      this.addAlarm('BusDlqReceiving', {
        name: 'bus-dlq-receiving',
        metric: props.busDeadLetterQueue.metricNumberOfMessagesSent({
          period: Duration.minutes(5),
          statistic: 'Sum',
        }),
        threshold: 0,
        description:
          `EventBridge could not put ingested events on ${fanout.queue.queueName} and sent them to ` +
          `${props.busDeadLetterQueue.queueName} instead. The fanout function reads that queue too, so ` +
          'the events are still fanned out, but the bus-to-queue path is broken. Next: read the ' +
          'ERROR_CODE and ERROR_MESSAGE attributes of a message there (SQS console, "Send and receive ' +
          'messages", poll) and the rule\'s FailedInvocations metric; usual causes: the fanout ' +
          "queue's policy or encryption key was changed, or the queue was deleted.",
      });
    }

    // b. Work queues falling behind.
    this.addAlarm('FanoutQueueAge', {
      name: 'fanout-queue-age',
      metric: fanout.queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: fanoutAge.toSeconds(),
      evaluationPeriods: 3,
      description:
        `An ingested event has waited over ${human(fanoutAge)} in ${fanout.queue.queueName} for fan-out: ` +
        'the fanout function is failing, throttled or saturated at its maximum concurrency. ' +
        `Next: on the dashboard ${stage}-webhook-relay, check the fanout function's errors, throttles and ` +
        'concurrency; read its logs; if it is merely busy, deploy with a higher fanoutConcurrency.',
    });
    this.addAlarm('DeliveryQueueAge', {
      name: 'delivery-queue-age',
      metric: delivery.queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: deliveryAge.toSeconds(),
      evaluationPeriods: 3,
      description:
        `A delivery task has waited over ${human(deliveryAge)} in ${delivery.queue.queueName}. Waiting ` +
        'tasks are delayed copies at most 15 min old, so this is not a retry backlog: the delivery ' +
        'function is failing, timing out, throttled or saturated at its maximum concurrency, and ' +
        'webhooks go out late. ' +
        `Next: on the dashboard ${stage}-webhook-relay, check the delivery function's errors, throttles ` +
        'and concurrency; read its logs; if it is merely busy, deploy with -c deliveryConcurrency=<higher>.',
    });

    this.addAlarm('OrderedQueueAge', {
      name: 'ordered-queue-age',
      metric: ordered.queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: ORDERED_QUEUE_AGE_THRESHOLD.toSeconds(),
      evaluationPeriods: 3,
      description:
        `An ordered wake-up has waited over ${human(ORDERED_QUEUE_AGE_THRESHOLD)} in ` +
        `${ordered.queue.queueName}, longer than any hold (a held subscription's retry is at most ` +
        `${MAX_DELAY_SECONDS} s away): the ordered function is failing, throttled, saturated at its ` +
        'maximum concurrency or its event source is disabled, and ordered webhooks go out late. ' +
        'Next: on the dashboard ' +
        `${stage}-webhook-relay, check the ordered function's errors, throttles and concurrency and the ` +
        "queue's depth; read its logs; check its event source mapping is enabled; if it is merely " +
        'busy, deploy with a higher orderedConcurrency.',
    });

    // Waiting tasks are delayed copies, not in-flight messages: in flight is what the consumers
    // hold right now, at most deliverySlots. Far above that, received messages are not deleted
    // (see deliveryInFlightAlarmThreshold); at about 120,000 SQS would refuse receives (OverLimit).
    this.addAlarm('DeliveryInFlightHigh', {
      name: 'delivery-in-flight-high',
      metric: delivery.queue.metricApproximateNumberOfMessagesNotVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: inFlightAlarm,
      evaluationPeriods: 1,
      description:
        `Over ${inFlightAlarm.toLocaleString('en-US')} delivery tasks are in flight (received, not deleted) ` +
        `in ${delivery.queue.queueName}; healthy consumers hold at most ` +
        `${props.deliverySlots.toLocaleString('en-US')} (concurrency x batch), as waits are delayed copies. ` +
        'Consumers are not deleting what they receive: a crash loop, stuck invocations timing out, or ' +
        'every task failing back (table or queue refusing writes). Each return spends a receive: on receive ' +
        `${POISON_RECEIVES} a task is marked dead, on receive ${MAX_RECEIVES} it goes to the DLQ. Next: ` +
        `check ${stage}-delivery-function-errors and the function's logs (ERROR, "Task timed out"); ` +
        'roll back the last deploy if it started then; check the table for throttling.',
    });

    // c. Functions. Failed deliveries are not function errors (the queue handlers report them as
    // batch item failures and never throw on a fully failed batch); an error is a crash or a
    // timeout, rare enough that one is worth a look.
    const impact: Record<keyof MonitoredFunctions, string> = {
      ingest: 'producers got a 5xx and must resend those events',
      api: 'management calls (subscriptions, DLQ, replays) failed',
      fanout: 'the batch comes back later; an event that keeps failing lands in the fanout DLQ',
      delivery:
        "the batch comes back after the visibility timeout, each time spending one of its tasks' " +
        `${MAX_RECEIVES} receives; a task failed this way ${POISON_RECEIVES} times is marked dead and ` +
        'lands in the DLQ before all its attempts were made',
      ordered:
        "the batch's wake-ups come back after the visibility timeout and those subscriptions' ordered " +
        `deliveries wait meanwhile; a wake-up failed this way ${ORDERED_MAX_RECEIVES} times lands in the ` +
        'ordered DLQ',
    };
    for (const key of Object.keys(impact) as Array<keyof MonitoredFunctions>) {
      const fn = functions[key];
      const title = key.charAt(0).toUpperCase() + key.slice(1);
      this.addAlarm(`${title}FunctionErrors`, {
        name: `${key}-function-errors`,
        metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 0,
        description:
          `The ${key} function (${fn.functionName}) crashed or timed out in the last 5 minutes: ${impact[key]}. ` +
          'Next: Lambda console, the function, Monitor, "View CloudWatch logs"; look for level ERROR ' +
          'and "Task timed out"; roll back the last deploy if it started then.',
      });
      this.addAlarm(`${title}FunctionThrottles`, {
        name: `${key}-function-throttles`,
        metric: fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 0,
        description:
          `Lambda throttled the ${key} function (${fn.functionName}): ${impact[key]}. The account's ` +
          'concurrency in this region ran out (the queue consumers are capped, so look at other workloads ' +
          'too). Next: CloudWatch, AWS/Lambda ConcurrentExecutions of the account against the quota in ' +
          'Service Quotas; request a higher quota, or deploy with lower ' +
          'deliveryConcurrency/fanoutConcurrency/orderedConcurrency.',
      });
    }

    // d. API 5xx, a count rather than a rate: the relay has no expected 5xx (bad input is 4xx), each
    // one is an event a producer must resend, and at low traffic a rate would swing on one request.
    this.addAlarm('HttpApi5xx', {
      name: 'http-api-5xx',
      metric: httpApi.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 0,
      description:
        `The HTTP API (${httpApi.apiId}) answered 5xx in the last 5 minutes: producers whose events got a ` +
        `5xx must resend them. Next: in the API access logs${accessLogs}, find status 5xx with their ` +
        'routeKey and integrationError; then read the logs of the function behind the route (ingest or ' +
        `api); the ${stage}-*-function-errors alarms usually fire too.`,
    });

    // e. Delivery failure rate from the functions' own metrics. FILL makes a period with only
    // successes (or only failures) count instead of dropping out; a period with no attempts at all
    // divides by zero, has no value, and treatMissingData keeps the alarm quiet.
    const custom = (metricName: string, statistic: string, period: Duration, label?: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { [SERVICE_DIMENSION]: stage },
        statistic,
        period,
        ...(label ? { label } : {}),
      });
    const failureRate = new MathExpression({
      expression: '100 * FILL(failed, 0) / (FILL(succeeded, 0) + FILL(failed, 0))',
      usingMetrics: {
        failed: custom(METRICS.deliveriesFailed, 'Sum', Duration.minutes(5)),
        succeeded: custom(METRICS.deliveriesSucceeded, 'Sum', Duration.minutes(5)),
      },
      period: Duration.minutes(5),
      label: 'Failed attempts (%)',
    });
    this.addAlarm('DeliveryFailureRate', {
      name: 'delivery-failure-rate',
      metric: failureRate,
      threshold: failurePercent,
      evaluationPeriods: 3,
      description:
        `More than ${failurePercent}% of delivery attempts failed in each of the last three 5-minute ` +
        'periods: receivers are down, slow (15 s timeout) or refusing (wrong secret, 4xx). Failed attempts ' +
        'are retried on schedule; nothing is dead yet. One busy failing endpoint can cause this. Next: find ' +
        'the failing endpoints: `npx relay subscriptions list`, then `npx relay deliveries list <id>` (or ' +
        "subscriptionId in the delivery function's logs); disable endpoints that are gone: " +
        '`npx relay subscriptions update <id> --disable`.',
    });
    this.alarms = this.created;

    this.dashboard = this.createDashboard(stage, props, custom, failureRate);
  }

  /**
   * The configured threshold, clamped up to DELIVERY_QUEUE_AGE_FLOOR (with a synth warning when
   * it is): below the floor, healthy delayed copies would page on-call.
   */
  private deliveryAgeThreshold(props: RelayMonitoringProps): Duration {
    const wanted = props.deliveryQueueAgeAlarm ?? DELIVERY_QUEUE_AGE_FLOOR;
    if (wanted.toSeconds() <= 0) throw new Error('deliveryQueueAgeAlarm must be longer than 0 seconds');
    const floor = DELIVERY_QUEUE_AGE_FLOOR;
    if (wanted.toSeconds() >= floor.toSeconds()) return wanted;
    Annotations.of(this).addWarningV2(
      'relay:deliveryQueueAgeAlarmRaised',
      `deliveryQueueAgeAlarm raised from ${wanted.toSeconds()} s to ${floor.toSeconds()} s: a delayed ` +
        `copy of a waiting task is up to ${MAX_QUEUE_DELAY_SECONDS} s old when it becomes visible, ` +
        'and then takes a poll and a run.',
    );
    return floor;
  }

  private createTopic(stage: string, alarmEmail: string | undefined): Topic {
    // No SSE: CloudWatch cannot publish to a topic under the AWS managed key (its key policy
    // cannot admit cloudwatch.amazonaws.com), and alarm messages hold names and numbers only.
    // cdk-nag 3's AwsSolutions pack asks for TLS on publish (SNS3), which enforceSSL gives.
    // enforceSSL replaces SNS's default access policy, so CloudWatch needs its own allow, kept to
    // this stage's alarms in this account.
    const topic = new Topic(this, 'Topic', {
      topicName: `${stage}-alarms`,
      displayName: `Webhook relay alarms (${stage})`,
      enforceSSL: true,
    });
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: {
            'aws:SourceArn': Stack.of(this).formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: `${stage}-*`,
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    if (alarmEmail) topic.addSubscription(new EmailSubscription(alarmEmail));
    return topic;
  }

  private addAlarm(
    id: string,
    props: {
      name: string;
      metric: IMetric;
      threshold: number;
      description: string;
      evaluationPeriods?: number;
    },
  ): Alarm {
    const periods = props.evaluationPeriods ?? 1;
    const alarm = new Alarm(this, id, {
      alarmName: `${this.stage}-${props.name}`,
      alarmDescription: `${props.description} ${RUNBOOK}`,
      metric: props.metric,
      threshold: props.threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: periods,
      datapointsToAlarm: periods,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.created.push(alarm);
    return alarm;
  }

  private createDashboard(
    stage: string,
    props: RelayMonitoringProps,
    custom: (name: string, statistic: string, period: Duration, label?: string) => Metric,
    failureRate: MathExpression,
  ): Dashboard {
    const minute = Duration.minutes(1);
    const { fanout, delivery, ordered, functions, httpApi } = props;
    const fns = Object.entries(functions) as Array<[string, IFunction]>;
    // Ordered: in flight are the subscriptions being drained or held (waiting for a retry).
    const queues = [
      ['fanout', fanout],
      ['delivery', delivery],
      ['ordered', ordered],
    ] as const;
    const percentiles = (name: string) => [
      custom(name, 'p50', minute, 'p50'),
      custom(name, 'p99', minute, 'p99'),
    ];
    const perFunction = (title: string, metric: (fn: IFunction, label: string) => IMetric) =>
      new GraphWidget({ title, width: 8, left: fns.map(([key, fn]) => metric(fn, key)) });

    const dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${stage}-webhook-relay`,
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: [...this.created], width: 24, height: 4 }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Events ingested (per minute)',
        width: 8,
        left: [custom(METRICS.eventsIngested, 'Sum', minute, 'ingested')],
      }),
      new GraphWidget({
        title: 'Delivery attempts by outcome (per minute)',
        width: 8,
        left: [
          custom(METRICS.deliveriesSucceeded, 'Sum', minute, 'succeeded'),
          custom(METRICS.deliveriesFailed, 'Sum', minute, 'failed'),
          custom(METRICS.deliveriesDeadLettered, 'Sum', minute, 'dead-lettered'),
        ],
      }),
      new GraphWidget({
        title: 'Failed attempts (%, 5 min)',
        width: 8,
        left: [failureRate],
        leftYAxis: { min: 0, max: 100 },
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Attempt duration (ms)',
        width: 12,
        left: percentiles(METRICS.attemptDuration),
      }),
      new GraphWidget({
        title: 'End-to-end latency, accepted to 2xx (ms)',
        width: 12,
        left: percentiles(METRICS.endToEndLatency),
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Work queue depth (visible + in flight + delayed)',
        width: 8,
        left: [
          ...queues.flatMap(([name, q]) => [
            q.queue.metricApproximateNumberOfMessagesVisible({ period: minute, label: `${name} visible` }),
            q.queue.metricApproximateNumberOfMessagesNotVisible({
              period: minute,
              label: `${name} in flight`,
            }),
          ]),
          // Waiting delivery tasks (retries, parks, rate-limit waits) are delayed copies.
          delivery.queue.metricApproximateNumberOfMessagesDelayed({
            period: minute,
            label: 'delivery delayed',
          }),
        ],
        stacked: true,
      }),
      new GraphWidget({
        title: 'Age of oldest message (s)',
        width: 8,
        left: queues.map(([name, q]) =>
          q.queue.metricApproximateAgeOfOldestMessage({ period: minute, label: name }),
        ),
      }),
      new GraphWidget({
        title: 'DLQ depth',
        width: 8,
        left: queues.map(([name, q]) =>
          q.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: minute,
            label: `${name} DLQ`,
          }),
        ),
      }),
    );
    dashboard.addWidgets(
      perFunction('Function errors', (fn, label) => fn.metricErrors({ period: minute, label })),
      perFunction('Function throttles', (fn, label) => fn.metricThrottles({ period: minute, label })),
      perFunction('Concurrent executions (max)', (fn, label) =>
        fn.metric('ConcurrentExecutions', { period: minute, statistic: 'Maximum', label }),
      ),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'HTTP API 4xx / 5xx (per minute)',
        width: 12,
        left: [
          httpApi.metricClientError({ period: minute, label: '4xx' }),
          httpApi.metricServerError({ period: minute, label: '5xx' }),
        ],
      }),
      new GraphWidget({
        title: 'HTTP API latency (ms)',
        width: 12,
        left: [
          httpApi.metricLatency({ period: minute, statistic: 'p50', label: 'p50' }),
          httpApi.metricLatency({ period: minute, statistic: 'p99', label: 'p99' }),
        ],
      }),
    );
    return dashboard;
  }
}
