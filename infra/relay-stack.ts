import {
  ArnFormat,
  Aws,
  type CfnElement,
  CfnOutput,
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import { type CfnStage, HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, Billing, ProjectionType, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { TABLE_KEYS } from '../functions/adapters/dynamodb/table.ts';
import { ORDERED_MAX_RECEIVES } from '../functions/core/delivery/ordering.ts';
import { DEFAULT_RETRY_SCHEDULE, parseSchedule } from '../functions/core/delivery/retry.ts';
import { MAX_RECEIVES } from '../functions/core/delivery/scheduling.ts';
import { BUS_SOURCE } from '../functions/core/event.ts';
import { parseFrameAncestors } from '../functions/core/portal/frame-ancestors.ts';
import { ROUTES } from '../functions/handlers/routes.ts';
import { ENTRIES, OPENAPI_HOOKS } from './bundling.ts';
import { QueueWithDlq } from './constructs/queue-with-dlq.ts';
import { RelayFunction } from './constructs/relay-function.ts';
import { RelayMonitoring } from './constructs/relay-monitoring.ts';

export interface RelayStackProps extends StackProps {
  /** Prefix of resource names (queues), so several stages fit one account. @default 'relay' */
  readonly stageName?: string;
  /**
   * Seconds between delivery attempts, as RELAY_RETRY_SCHEDULE; each at most MAX_DELAY_SECONDS
   * (42,480 s), or the synth fails. @default 5,300,1800,7200,18000,36000,36000
   */
  readonly retrySchedule?: string;
  /** Delivery invocations at once (event source maximum concurrency). @default 20 */
  readonly deliveryConcurrency?: number;
  /** Fanout invocations at once. @default 5 */
  readonly fanoutConcurrency?: number;
  /** Ordered-delivery invocations at once (event source maximum concurrency). @default 20 */
  readonly orderedConcurrency?: number;
  /**
   * How long the fanout and delivery event sources gather messages before invoking
   * (MaximumBatchingWindowInSeconds, 0-300 whole seconds). @default 1 (DEFAULT_BATCHING_WINDOW_SECONDS)
   */
  readonly batchingWindowSeconds?: number;
  /** Subscribes this address to the alarm topic (confirm the mail SNS sends). @default none */
  readonly alarmEmail?: string;
  /** Age of the oldest fanout message that alarms. @default 5 minutes */
  readonly fanoutQueueAgeAlarm?: Duration;
  /** Age of the oldest delivery task that alarms, never below 20 minutes (one delayed hop). @default 20 minutes */
  readonly deliveryQueueAgeAlarm?: Duration;
  /** Share of failed delivery attempts (%) that alarms when sustained 15 minutes. @default 25 */
  readonly failureRateAlarmPercent?: number;
  /**
   * Private ranges deliveries may reach anyway (comma-separated CIDRs), e.g. a receiver inside
   * your VPC's peered network. Everything else private, loopback or metadata stays refused.
   * @default none
   */
  readonly allowedTargetCidrs?: string;
  /** Who may frame the endpoint portal (CSP frame-ancestors): `https://dash.example.com ...`. */
  readonly portalFrameAncestors?: string;
}

/**
 * Tasks per delivery invocation (the event source's batch size), attempted in parallel, 15 s each
 * at most. With the maximum concurrency it bounds what the fleet holds in flight at once.
 */
const DELIVERY_BATCH_SIZE = 10;
/** Delivery invocations at once unless configured (the event source's maximum concurrency). */
const DEFAULT_DELIVERY_CONCURRENCY = 20;
// A full batch of one slow endpoint's tasks runs two at a time (the per-endpoint lane): five
// waves of up to 15 s each must fit, with room for the batch's reads and writes.
const DELIVERY_TIMEOUT = Duration.seconds(90);

/**
 * The fanout and delivery event sources' batching window. An SQS event source polls with at
 * least five pollers, so with no window a batch holds what one poll found: 1-3 messages at
 * ordinary rates, each webhook paying its own ReceiveMessage, DeleteMessageBatch and
 * invocation. With 1 s a batch closes when it holds 10 (in ~50 ms at 1,000 webhooks/s, so almost
 * nothing is added there) or after 1 s (~3 messages at 10/s): at most 1 s per hop, 2 s end to
 * end at low rates, for fewer requests and invocations per webhook (`npm run cost` shows both).
 * AWS documents one exception: on a queue with very little traffic, Lambda may wait up to 20 s
 * (its long poll) before invoking, even with a shorter window. 0 restores the lowest latency.
 * The ordered source keeps none: it takes one wake-up per invocation, and a window applies to
 * standard queues only (CDK refuses one on a FIFO source).
 */
export const DEFAULT_BATCHING_WINDOW_SECONDS = 1;

/**
 * A queue's visibility timeout for a consumer: AWS's guidance for Lambda event sources, six times
 * the function timeout plus the batching window (a message waits in the window while invisible).
 * Lambda itself only refuses a mapping whose function timeout exceeds the visibility timeout.
 */
const visibilityFor = (timeout: Duration, windowSeconds = 0) =>
  Duration.seconds(timeout.toSeconds() * 6 + windowSeconds);
const FANOUT_TIMEOUT = Duration.seconds(30);
/**
 * The ordered function's timeout, the delivery function's: a drain starts no new delivery after
 * ORDERED_DRAIN_MS (45 s), so the last one's attempt (15 s at most), its reads and writes and the
 * hand-on to a fresh wake-up end well within it.
 */
const ORDERED_TIMEOUT = DELIVERY_TIMEOUT;
/**
 * Wake-ups per ordered invocation: one. The event source deletes a batch's messages only when the
 * whole batch returns, so in a batch of several subscriptions one slow drain (up to 90 s) would
 * keep the others' wake-ups in flight, and their subscriptions asleep, that long. A subscription
 * has one wake-up at a time (its awake flag), so batches would save little anyway.
 */
const ORDERED_BATCH_SIZE = 1;
/**
 * Ordered invocations at once unless configured: ordered subscriptions sending at the same time,
 * one POST at a time each. A held subscription (waiting for its retry) holds no invocation, so
 * this bounds only those actually sending.
 */
const DEFAULT_ORDERED_CONCURRENCY = 20;

/**
 * The relay on AWS:
 * HTTP API -> ingest λ -> EventBridge bus (+ archive) -> rule -> fanout queue (+DLQ) -> fanout λ
 * -> delivery queue (+DLQ) -> delivery λ -> receivers; ordered subscriptions: fanout λ -> pending
 * list (table) + wake-up -> ordered FIFO queue (+FIFO DLQ) -> ordered λ -> receivers, one at a
 * time; management λ behind the same API; one DynamoDB table. The functions are the handlers
 * local mode runs, wired to AWS adapters.
 */

export class RelayStack extends Stack {
  readonly table: TableV2;
  readonly monitoring: RelayMonitoring;

  constructor(scope: Construct, id: string, props: RelayStackProps = {}) {
    super(scope, id, props);
    const stage = props.stageName ?? 'relay';
    const schedule = props.retrySchedule ?? DEFAULT_RETRY_SCHEDULE.join(',');
    // Refuses, at synth, a schedule the functions would refuse at start: an entry that is not
    // seconds from 0 to MAX_DELAY_SECONDS.
    parseSchedule(schedule);
    const deliveryConcurrency = props.deliveryConcurrency ?? DEFAULT_DELIVERY_CONCURRENCY;
    // Tasks the delivery fleet can hold at once: every invocation with a full batch.
    const deliverySlots = deliveryConcurrency * DELIVERY_BATCH_SIZE;

    // Storage: subscriptions, events and the delivery log.
    const key = (name: string) => ({ name, type: AttributeType.STRING });
    this.table = new TableV2(this, 'Table', {
      partitionKey: key(TABLE_KEYS.partitionKey),
      sortKey: key(TABLE_KEYS.sortKey),
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE_KEYS.ttlAttribute,
      globalSecondaryIndexes: TABLE_KEYS.indexes.map((i) => ({
        indexName: i.name,
        partitionKey: key(i.partitionKey),
        sortKey: key(i.sortKey),
        ...(i.include
          ? { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...i.include] }
          : { projectionType: ProjectionType.ALL }),
      })),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // The admin key, generated at deploy (read it with the CLI, see the output): it creates and
    // revokes tenant API keys and starts DLQ redrives and replays.
    const adminKey = new Secret(this, 'AdminKey', {
      description: 'Admin key of the webhook relay: tenant API keys, DLQ redrive, replay',
      generateSecretString: { passwordLength: 40, excludePunctuation: true },
    });

    const batchingWindow = props.batchingWindowSeconds ?? DEFAULT_BATCHING_WINDOW_SECONDS;
    // Queues: fanout (one message per event) and delivery (one per event x subscription).
    const busDlqName = `${stage}-bus-dlq`;
    const fanout = new QueueWithDlq(this, 'Fanout', {
      queueName: `${stage}-fanout`,
      visibilityTimeout: visibilityFor(FANOUT_TIMEOUT, batchingWindow),
      maxReceiveCount: 5,
      otherSourceQueueNames: [busDlqName],
    });
    const delivery = new QueueWithDlq(this, 'Delivery', {
      queueName: `${stage}-delivery`,
      visibilityTimeout: visibilityFor(DELIVERY_TIMEOUT, batchingWindow),
      // No wait rides on a message's visibility: a retry, a park or any other wait is a new,
      // delayed copy of the task, and the received message is deleted. So a message normally
      // needs one receive; a second one means an invocation crashed, timed out or was throttled.
      // The handler marks a task dead on its POISON_RECEIVES-th receive and SQS moves it to the
      // DLQ on its MAX_RECEIVES-th (functions/core/delivery/scheduling.ts holds both).
      maxReceiveCount: MAX_RECEIVES,
      // Retention: SQS's default 4 days. A message lives one hop (at most 15 minutes of
      // DelaySeconds) plus its few receives, whatever the length of the round, so the retention
      // no longer has to hold a whole round of retries; the stack's deliveryRetention(), which
      // sized it to the round and refused rounds over 13 days, is gone. The DLQ keeps 14 days.
    });
    // Wake-ups of ordered subscriptions (functions/core/delivery/ordering.ts): one message group
    // per subscription, so one consumer drains it at a time; a head that must wait holds its
    // wake-up (ChangeMessageVisibility, up to 12 h) and with it the whole subscription.
    const ordered = new QueueWithDlq(this, 'Ordered', {
      queueName: `${stage}-ordered`,
      fifo: true,
      visibilityTimeout: Duration.seconds(ORDERED_TIMEOUT.toSeconds() * 6),
      // Every hold is a receive: a held wake-up is replaced by a fresh one after
      // ORDERED_RENEW_RECEIVES holds, so only failed receives (a crash, the table down) run up to
      // this many in a row.
      maxReceiveCount: ORDERED_MAX_RECEIVES,
      // SQS's maximum: a wake-up is held up to ten times (each at most 12 h, 5 days in all) before
      // it is renewed, and one that expired while held would leave its subscription asleep until
      // its next event. Longer than the delivery queue's 4 days for that reason only.
      retentionPeriod: Duration.days(14),
    });

    // Where EventBridge puts events it could not send to the fanout queue (after retrying for up
    // to 24 h). The fanout function reads it too, so such an event is still fanned out; one that
    // fails there as well ends in the fanout DLQ, whose redrive returns it here.
    const busDlq = new Queue(this, 'FanoutRuleDlq', {
      queueName: busDlqName,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(FANOUT_TIMEOUT.toSeconds() * 6),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: fanout.deadLetterQueue, maxReceiveCount: 5 },
    });

    // Bus: ingested events, archived for replay, routed to the fanout queue.
    const bus = new EventBus(this, 'Bus', { eventBusName: `${stage}-events` });
    const archive = bus.archive('Archive', {
      description: 'Every ingested event, for replay',
      eventPattern: { source: [BUS_SOURCE] },
      retention: Duration.days(30),
    });
    const toFanout = new Rule(this, 'EventsToFanout', {
      eventBus: bus,
      description: 'Ingested events to the fanout queue',
      eventPattern: { source: [BUS_SOURCE] },
      targets: [new SqsQueue(fanout.queue, { deadLetterQueue: busDlq })],
    });

    const common = {
      RELAY_TABLE_NAME: this.table.tableName,
      RELAY_RETRY_SCHEDULE: schedule,
      RELAY_DELIVERY_QUEUE_URL: delivery.queue.queueUrl,
      RELAY_DELIVERY_DLQ_ARN: delivery.deadLetterQueue.queueArn,
      // The SSRF defence is always on in Lambda; this only opens exceptions.
      ...(props.allowedTargetCidrs ? { RELAY_ALLOWED_TARGET_CIDRS: props.allowedTargetCidrs } : {}),
    };
    // Where fanout (new ordered deliveries) and the delivery function (redriven ones) wake an
    // ordered subscription, and where the ordered function holds and renews its wake-ups.
    const orderedQueue = { RELAY_ORDERED_QUEUE_URL: ordered.queue.queueUrl };
    // Every function reports its metrics under the stage, which the alarms and dashboard read.
    const serviceName = stage;

    const ingestFn = new RelayFunction(this, 'IngestFunction', {
      entry: ENTRIES.ingest,
      serviceName,
      description: 'Validates events and publishes them to the bus',
      timeout: Duration.seconds(10),
      environment: {
        RELAY_EVENT_BUS_NAME: bus.eventBusName,
        RELAY_ADMIN_KEY_SECRET_ARN: adminKey.secretArn,
        RELAY_TABLE_NAME: this.table.tableName,
      },
    });
    // The duplicate check of producer-chosen event ids: claim, confirm or release one item each;
    // and the tenant's event-type schemas, one Query of its catalog partition a minute (cached).
    this.table.grant(
      ingestFn,
      'dynamodb:PutItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
    );
    bus.grantPutEventsTo(ingestFn);
    adminKey.grantRead(ingestFn);

    const apiFn = new RelayFunction(this, 'ApiFunction', {
      entry: ENTRIES.api,
      // The OpenAPI document, generated from the schemas into the asset (functions/lambda/api.ts
      // serves it): the generator stays out of the function's bundle and cold start.
      bundling: { commandHooks: OPENAPI_HOOKS },
      serviceName,
      description: 'Subscriptions, deliveries, the DLQ and replays',
      timeout: Duration.seconds(29),
      environment: {
        ...common,
        RELAY_EVENT_BUS_NAME: bus.eventBusName,
        RELAY_ADMIN_KEY_SECRET_ARN: adminKey.secretArn,
        // Replays: from the archive, back onto the bus, to the fanout rule only.
        RELAY_ARCHIVE_ARN: archive.archiveArn,
        RELAY_EVENT_BUS_ARN: bus.eventBusArn,
        RELAY_FANOUT_RULE_ARN: toFanout.ruleArn,
        // Checked here too (context.ts checks -c): a bad list would fail every cold start.
        ...(props.portalFrameAncestors
          ? { RELAY_PORTAL_FRAME_ANCESTORS: parseFrameAncestors(props.portalFrameAncestors).join(' ') }
          : {}),
      },
    });
    this.table.grantReadWriteData(apiFn);
    bus.grantPutEventsTo(apiFn);
    adminKey.grantRead(apiFn);
    delivery.queue.grantSendMessages(apiFn);
    // DLQ redrive through the API: what StartMessageMoveTask needs on the DLQ (AWS docs).
    apiFn.addToRolePolicy(
      new PolicyStatement({
        actions: [
          'sqs:StartMessageMoveTask',
          'sqs:ListMessageMoveTasks',
          'sqs:CancelMessageMoveTask',
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
        ],
        resources: [delivery.deadLetterQueue.queueArn],
      }),
    );
    // Replay through the API. Replay names are made per request, hence replay/*.
    apiFn.addToRolePolicy(
      new PolicyStatement({
        actions: ['events:StartReplay', 'events:DescribeReplay'],
        resources: [archive.archiveArn, this.replayArns()],
      }),
    );
    // The console's list of replays: ListReplays has no resource type (IAM), so '*' is the only
    // resource it takes; the call reads replay names and states, nothing else.
    apiFn.addToRolePolicy(new PolicyStatement({ actions: ['events:ListReplays'], resources: ['*'] }));

    const fanoutFn = new RelayFunction(this, 'FanoutFunction', {
      entry: ENTRIES.fanout,
      serviceName,
      description: 'One delivery task per (event, matching subscription)',
      timeout: FANOUT_TIMEOUT,
      environment: { ...common, ...orderedQueue },
    });
    this.table.grantReadWriteData(fanoutFn);
    delivery.queue.grantSendMessages(fanoutFn);
    ordered.queue.grantSendMessages(fanoutFn);
    fanoutFn.addEventSource(
      new SqsEventSource(fanout.queue, {
        batchSize: 10,
        maxBatchingWindow: Duration.seconds(batchingWindow),
        reportBatchItemFailures: true,
        maxConcurrency: props.fanoutConcurrency ?? 5,
      }),
    );
    fanoutFn.addEventSource(
      new SqsEventSource(busDlq, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 2 }),
    );

    const deliveryFn = new RelayFunction(this, 'DeliveryFunction', {
      entry: ENTRIES.delivery,
      serviceName,
      description: 'Signs and POSTs webhooks; retries with backoff; dead-letters',
      timeout: DELIVERY_TIMEOUT,
      environment: {
        ...common,
        ...orderedQueue,
        RELAY_EVENT_BUS_NAME: bus.eventBusName,
        // Tasks the fleet attempts at once at most: an endpoint allowed at least this many in
        // flight cannot exceed its limit, so the core skips its fleet-wide concurrency check.
        RELAY_DELIVERY_SLOTS: String(deliverySlots),
      },
    });
    // Every wait (retry, park, Retry-After, rate-limit or concurrency wait) is a delayed copy of
    // the task on its own queue; a dead endpoint's disabling is announced on the bus
    // (relay.subscription.disabled); per-endpoint limit items live in the same table.
    delivery.queue.grantSendMessages(deliveryFn);
    bus.grantPutEventsTo(deliveryFn);
    this.table.grantReadWriteData(deliveryFn);
    // A redriven ordered delivery goes back to its pending list and wakes its subscription.
    ordered.queue.grantSendMessages(deliveryFn);
    // A batch shares one read of the store and one group-committed write; the maximum
    // concurrency bounds the load on receivers, the queue's in-flight count (deliverySlots) and
    // keeps invocations from being throttled (throttled receives count toward maxReceiveCount).
    deliveryFn.addEventSource(
      new SqsEventSource(delivery.queue, {
        batchSize: DELIVERY_BATCH_SIZE,
        maxBatchingWindow: Duration.seconds(batchingWindow),
        reportBatchItemFailures: true,
        maxConcurrency: deliveryConcurrency,
      }),
    );

    const orderedFn = new RelayFunction(this, 'OrderedFunction', {
      entry: ENTRIES.ordered,
      serviceName,
      description: 'POSTs the webhooks of ordered subscriptions one at a time, in ingest order',
      timeout: ORDERED_TIMEOUT,
      // The delivery function's settings but RELAY_DELIVERY_SLOTS, which sizes that fleet's
      // concurrency checks: an ordered subscription has one delivery in flight at most.
      environment: { ...common, ...orderedQueue, RELAY_EVENT_BUS_NAME: bus.eventBusName },
    });
    // The delivery function's grants: the table (pending lists, delivery log, limits), the bus
    // (a dead endpoint's disabling) and the delivery queue, where a dead head goes on its way to
    // the DLQ. On its own queue, besides consuming (the event source's grant, which includes
    // ChangeMessageVisibility: a hold), it sends the fresh wake-ups that replace held ones.
    this.table.grantReadWriteData(orderedFn);
    bus.grantPutEventsTo(orderedFn);
    delivery.queue.grantSendMessages(orderedFn);
    ordered.queue.grantSendMessages(orderedFn);
    // A FIFO event source has no batching window. A failed item (a held wake-up) stays in flight
    // until its hold ends, and keeps its message group back meanwhile.
    orderedFn.addEventSource(
      new SqsEventSource(ordered.queue, {
        batchSize: ORDERED_BATCH_SIZE,
        reportBatchItemFailures: true,
        maxConcurrency: props.orderedConcurrency ?? DEFAULT_ORDERED_CONCURRENCY,
      }),
    );

    // HTTP API: every route of the contract, ingest to its own function, the rest (and any
    // unknown route, for a JSON 404) to the management function.
    const accessLogs = new LogGroup(this, 'ApiAccessLogs', {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const apiIntegration = new HttpLambdaIntegration('Api', apiFn);
    const ingestIntegration = new HttpLambdaIntegration('Ingest', ingestFn);
    const api = new HttpApi(this, 'HttpApi', {
      apiName: `${stage}-api`,
      description: 'Webhook relay: ingest and management',
      defaultIntegration: apiIntegration,
    });
    for (const route of ROUTES) {
      api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: route.target === 'ingest' ? ingestIntegration : apiIntegration,
      });
    }
    const defaultStage = api.defaultStage?.node.defaultChild as CfnStage;
    defaultStage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        routeKey: '$context.routeKey',
        status: '$context.status',
        latency: '$context.responseLatency',
        integrationError: '$context.integrationErrorMessage',
      }),
    };

    this.monitoring = new RelayMonitoring(this, 'Monitoring', {
      stageName: stage,
      fanout,
      delivery,
      ordered,
      busDeadLetterQueue: busDlq,
      functions: {
        ingest: ingestFn,
        api: apiFn,
        fanout: fanoutFn,
        delivery: deliveryFn,
        ordered: orderedFn,
      },
      httpApi: api,
      apiAccessLogs: accessLogs,
      deliverySlots,
      alarmEmail: props.alarmEmail,
      fanoutQueueAgeAlarm: props.fanoutQueueAgeAlarm,
      deliveryQueueAgeAlarm: props.deliveryQueueAgeAlarm,
      failureRateAlarmPercent: props.failureRateAlarmPercent,
    });

    this.acknowledgeNagFindings(adminKey, apiFn);

    new CfnOutput(this, 'ApiUrl', { value: api.apiEndpoint, description: 'Base URL of the relay API' });
    new CfnOutput(this, 'AdminKeySecretArn', {
      value: adminKey.secretArn,
      description:
        'The admin key: aws secretsmanager get-secret-value --query SecretString --output text --secret-id <this>',
    });
    new CfnOutput(this, 'FanoutQueueName', { value: fanout.queue.queueName });
    new CfnOutput(this, 'FanoutDlqName', { value: fanout.deadLetterQueue.queueName });
    new CfnOutput(this, 'BusDlqName', { value: busDlq.queueName });
    new CfnOutput(this, 'DeliveryQueueName', { value: delivery.queue.queueName });
    new CfnOutput(this, 'DeliveryDlqName', { value: delivery.deadLetterQueue.queueName });
    new CfnOutput(this, 'OrderedQueueName', { value: ordered.queue.queueName });
    new CfnOutput(this, 'OrderedDlqName', { value: ordered.deadLetterQueue.queueName });
    new CfnOutput(this, 'EventBusName', { value: bus.eventBusName });
    new CfnOutput(this, 'TableName', { value: this.table.tableName });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.monitoring.topic.topicArn,
      description:
        'Every alarm notifies this topic; subscribe on-call to it (or deploy with -c alarmEmail=...)',
    });
    const dashboardName = this.monitoring.dashboard.dashboardName;
    new CfnOutput(this, 'DashboardName', { value: dashboardName });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${dashboardName}`,
    });
  }

  /** Every replay of this account and region: StartReplay names a replay that does not exist yet. */
  private replayArns(): string {
    return this.formatArn({
      service: 'events',
      resource: 'replay',
      resourceName: '*',
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  /** cdk-nag AwsSolutions findings that are deliberate, each with its reason. */
  private acknowledgeNagFindings(adminKey: Secret, apiFn: RelayFunction): void {
    Validations.of(adminKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The secret is the operator-held admin bearer key; automatic rotation would lock operators out. ' +
        'Rotate it by hand (console or CLI); functions re-read it within 5 minutes.',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'The basic execution role only lets each function write its own CloudWatch logs.',
    });
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.table.node.defaultChild as CfnElement)}.Arn>/index/*]`,
      reason:
        "grantReadWriteData covers the table's three GSIs (listing by subscription, by event, the DLQ).",
    });
    Validations.of(apiFn).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:replay/*]',
      reason:
        'StartReplay creates the replay it names and the API function generates a fresh name per ' +
        'request, so no replay ARN is known at deploy time; the statement allows only StartReplay ' +
        'and DescribeReplay, on replays of this account and region.',
    });
    Validations.of(apiFn).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'events:ListReplays supports no resource-level permission, so its statement names *; it is ' +
        "the only action on * and reads replays' names and states (the operator console's list).",
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Every /v1 route checks the bearer API key in the function (401 JSON error otherwise); ' +
        '/health and /openapi.json (the API description) are public on purpose.',
    });
  }
}
