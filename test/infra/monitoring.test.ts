import { App, Duration } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ORDERED_MAX_RECEIVES } from '../../functions/core/delivery/ordering.ts';
import { MAX_DELAY_SECONDS, MAX_QUEUE_DELAY_SECONDS } from '../../functions/core/delivery/scheduling.ts';
import { METRICS, METRICS_NAMESPACE } from '../../functions/core/metrics.ts';
import {
  DELIVERY_QUEUE_AGE_FLOOR,
  deliveryInFlightAlarmThreshold,
  ORDERED_QUEUE_AGE_THRESHOLD,
} from '../../infra/constructs/relay-monitoring.ts';
import { stackPropsFromContext } from '../../infra/context.ts';
import { RelayStack, type RelayStackProps } from '../../infra/relay-stack.ts';

// Template tests skip esbuild (the bundle report builds the real bundles).
const newApp = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

type Resource = { Type: string; Properties: Record<string, unknown> };
type Alarm = Record<string, unknown> & { AlarmName: string };

/** A synthesized stack with lookups by type, logical id prefix and alarm name. */
function synth(props: RelayStackProps = {}) {
  const app = newApp();
  const stack = new RelayStack(app, 'Test', props);
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const alarms = ofType('AWS::CloudWatch::Alarm').map(([, r]) => r.Properties as Alarm);
  const alarm = (name: string) => {
    const found = alarms.find((a) => a.AlarmName === name);
    if (!found) throw new Error(`no alarm ${name}; have ${alarms.map((a) => a.AlarmName).join(', ')}`);
    return found;
  };
  const queueId = (name: string) => {
    const id = ofType('AWS::SQS::Queue').find(([, q]) => q.Properties.QueueName === name)?.[0];
    if (!id) throw new Error(`no queue ${name}`);
    return id;
  };
  /** The logical id of the one resource of `type` whose id starts with `prefix`. */
  const idOf = (type: string, prefix: string) => {
    const ids = ofType(type)
      .map(([id]) => id)
      .filter((id) => id.startsWith(prefix));
    if (ids.length !== 1)
      throw new Error(`expected one ${type} ${prefix}*, found ${ids.join(', ') || 'none'}`);
    return ids[0] as string;
  };
  return { app, stack, template, resources, ofType, alarms, alarm, queueId, idOf };
}

const FUNCTIONS = ['ingest', 'api', 'fanout', 'delivery', 'ordered'] as const;
const titled = (key: string) => key.charAt(0).toUpperCase() + key.slice(1);

describe('RelayStack monitoring', () => {
  const t = synth();
  const topicId = t.idOf('AWS::SNS::Topic', 'MonitoringTopic');

  it('has one alarm per DLQ, work queue, function error and throttle, API 5xx and the failure rate', () => {
    expect(t.alarms.map((a) => a.AlarmName).sort()).toEqual(
      [
        'relay-delivery-dlq-not-empty',
        'relay-fanout-dlq-not-empty',
        'relay-ordered-dlq-not-empty',
        'relay-bus-dlq-receiving',
        'relay-delivery-in-flight-high',
        'relay-delivery-queue-age',
        'relay-fanout-queue-age',
        'relay-ordered-queue-age',
        ...FUNCTIONS.flatMap((f) => [`relay-${f}-function-errors`, `relay-${f}-function-throttles`]),
        'relay-http-api-5xx',
        'relay-delivery-failure-rate',
      ].sort(),
    );
  });

  it('notifies the alarm topic from every alarm, on ALARM and back on OK', () => {
    expect(t.alarms.length).toBeGreaterThan(0);
    for (const a of t.alarms) {
      expect(a.AlarmActions, a.AlarmName).toEqual([{ Ref: topicId }]);
      expect(a.OKActions, a.AlarmName).toEqual([{ Ref: topicId }]);
    }
  });

  it('tells on-call in every alarm what to do next and where the runbook is', () => {
    for (const a of t.alarms) {
      const text = JSON.stringify(a.AlarmDescription);
      expect(text, a.AlarmName).toContain('Next:');
      expect(text, a.AlarmName).toContain('section \\"Runbook\\"');
    }
    expect(JSON.stringify(t.alarm('relay-delivery-dlq-not-empty').AlarmDescription)).toMatch(
      /npx relay dlq list.*npx relay dlq redrive/,
    );
  });

  it("keeps every alarm description within CloudWatch's 1024 characters, with long resource names", () => {
    for (const a of t.alarms) {
      const parts = a.AlarmDescription as string | { 'Fn::Join': [string, unknown[]] };
      const text =
        typeof parts === 'string'
          ? parts
          : parts['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'x'.repeat(100))).join('');
      expect(text.length, a.AlarmName).toBeLessThanOrEqual(1024);
    }
  });

  it('alarms on every DLQ as soon as one message is visible', () => {
    const dlqs = t.ofType('AWS::SQS::Queue').filter(([, q]) => q.Properties.RedriveAllowPolicy);
    expect(dlqs).toHaveLength(3);
    for (const [dlqId, dlq] of dlqs) {
      const name = (dlq.Properties.QueueName as string)
        .replace(/\.fifo$/, '')
        .replace(/-dlq$/, '')
        .replace(/^relay-/, '');
      expect(t.alarm(`relay-${name}-dlq-not-empty`)).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it("alarms when a work queue's oldest message is older than 5 minutes (fanout) or 20 minutes (delivery, one delayed hop)", () => {
    for (const [name, seconds] of [
      ['fanout', 300],
      ['delivery', 1200],
    ] as const) {
      expect(t.alarm(`relay-${name}-queue-age`)).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [
          { Name: 'QueueName', Value: { 'Fn::GetAtt': [t.queueId(`relay-${name}`), 'QueueName'] } },
        ],
        Statistic: 'Maximum',
        Threshold: seconds,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('alarms when the delivery queue holds over 5x what the consumers can (20 x 10 = 200 in flight): 1,000 by default', () => {
    const a = t.alarm('relay-delivery-in-flight-high');
    expect(a).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesNotVisible',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [t.queueId('relay-delivery'), 'QueueName'] } },
      ],
      Statistic: 'Maximum',
      Threshold: 1_000,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    const text = JSON.stringify(a.AlarmDescription);
    expect(text).toContain('Over 1,000 delivery tasks are in flight');
    expect(text).toContain('at most 200');
    expect(text).toMatch(/not deleting what they receive: a crash loop, stuck invocations/);
    expect(text).not.toMatch(/waiting for a retry/);
  });

  it('alarms when an ordered wake-up has waited longer than the longest hold (MAX_DELAY_SECONDS) plus five minutes', () => {
    expect(ORDERED_QUEUE_AGE_THRESHOLD.toSeconds()).toBe(MAX_DELAY_SECONDS + 300);
    const a = t.alarm('relay-ordered-queue-age');
    expect(a).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [t.queueId('relay-ordered.fifo'), 'QueueName'] } },
      ],
      Statistic: 'Maximum',
      Period: 60,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 42_780,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    const text = JSON.stringify(a.AlarmDescription);
    expect(text).toContain('over 11 hours 53 minutes');
    expect(text).toContain('orderedConcurrency');
  });

  it('says in the ordered DLQ alarm that wake-ups, not deliveries, are parked there, and how to redrive them', () => {
    const text = JSON.stringify(t.alarm('relay-ordered-dlq-not-empty').AlarmDescription);
    expect(text).toContain(`failed ${ORDERED_MAX_RECEIVES} receives in a row`);
    expect(text).toContain('Dead deliveries go to the delivery DLQ');
    expect(text).toContain('start-message-move-task');
    expect(text).toContain(t.idOf('AWS::Lambda::Function', 'OrderedFunction'));
  });

  it('shows the ordered queue, its DLQ and the ordered function on the dashboard', () => {
    const [, dashboard] = t.ofType('AWS::CloudWatch::Dashboard')[0] as [string, Resource];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    expect(body).toContain(`"${t.queueId('relay-ordered.fifo')}"`);
    expect(body).toContain(`"${t.queueId('relay-ordered-dlq.fifo')}"`);
    expect(body).toContain(`"${t.idOf('AWS::Lambda::Function', 'OrderedFunction')}"`);
    for (const label of ['ordered visible', 'ordered in flight', 'ordered DLQ'])
      expect(body).toContain(label);
  });

  it('shows the delayed delivery copies (waiting tasks) on the dashboard', () => {
    const [, dashboard] = t.ofType('AWS::CloudWatch::Dashboard')[0] as [string, Resource];
    expect(JSON.stringify(dashboard.Properties.DashboardBody)).toContain(
      'ApproximateNumberOfMessagesDelayed',
    );
  });

  it('alarms on errors and on throttles of each of the five functions', () => {
    expect(t.ofType('AWS::Lambda::Function')).toHaveLength(FUNCTIONS.length);
    for (const key of FUNCTIONS) {
      const fnId = t.idOf('AWS::Lambda::Function', `${titled(key)}Function`);
      for (const [suffix, metric] of [
        ['errors', 'Errors'],
        ['throttles', 'Throttles'],
      ]) {
        expect(t.alarm(`relay-${key}-function-${suffix}`)).toMatchObject({
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
          Statistic: 'Sum',
          Period: 300,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          TreatMissingData: 'notBreaching',
        });
      }
    }
  });

  it('alarms on any 5xx answer of the HTTP API', () => {
    expect(t.alarm('relay-http-api-5xx')).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: [{ Name: 'ApiId', Value: { Ref: t.idOf('AWS::ApiGatewayV2::Api', 'HttpApi') } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it("alarms when over 25% of delivery attempts fail for three 5-minute periods, from the functions' metrics", () => {
    const a = t.alarm('relay-delivery-failure-rate');
    expect(a).toMatchObject({
      Threshold: 25,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
    });
    expect(a.MetricName).toBeUndefined();
    const metrics = a.Metrics as Array<Record<string, unknown>>;
    expect(metrics.filter((m) => m.ReturnData !== false)).toEqual([
      expect.objectContaining({
        Expression: '100 * FILL(failed, 0) / (FILL(succeeded, 0) + FILL(failed, 0))',
      }),
    ]);
    for (const [id, name] of [
      ['failed', METRICS.deliveriesFailed],
      ['succeeded', METRICS.deliveriesSucceeded],
    ]) {
      expect(metrics).toContainEqual({
        Id: id,
        ReturnData: false,
        MetricStat: {
          Metric: {
            Namespace: METRICS_NAMESPACE,
            MetricName: name,
            Dimensions: [{ Name: 'service', Value: 'relay' }],
          },
          Period: 300,
          Stat: 'Sum',
        },
      });
    }
  });

  it('sends every function its metrics namespace and the stage as the service dimension', () => {
    for (const [id, fn] of t.ofType('AWS::Lambda::Function')) {
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.POWERTOOLS_SERVICE_NAME, id).toBe('relay');
      expect(env.POWERTOOLS_METRICS_NAMESPACE, id).toBe(METRICS_NAMESPACE);
    }
  });

  it('does not subscribe anyone to the alarm topic unless an alarm e-mail is given', () => {
    t.template.resourceCountIs('AWS::SNS::Subscription', 0);
    const withEmail = synth({ alarmEmail: 'ops@example.com' });
    withEmail.template.resourceCountIs('AWS::SNS::Subscription', 1);
    withEmail.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: withEmail.idOf('AWS::SNS::Topic', 'MonitoringTopic') },
    });
  });

  it("names the topic after the stage and lets only this stage's alarms publish to it, over TLS", () => {
    t.template.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'relay-alarms' });
    t.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: {
                'aws:SourceArn': { 'Fn::Join': ['', Match.arrayWith([':alarm:relay-*'])] },
              },
            },
          }),
        ]),
      },
    });
  });

  it('builds a dashboard showing every custom metric, the queues, the functions, the API and all alarms', () => {
    const dashboards = t.ofType('AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    const [, dashboard] = dashboards[0] as [string, Resource];
    expect(dashboard.Properties.DashboardName).toBe('relay-webhook-relay');
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    expect(body).toContain(METRICS_NAMESPACE);
    for (const name of Object.values(METRICS)) expect(body).toContain(`\\"${name}\\"`);
    for (const name of [
      'ApproximateNumberOfMessagesVisible',
      'ApproximateNumberOfMessagesNotVisible',
      'ApproximateAgeOfOldestMessage',
      'ConcurrentExecutions',
      'Throttles',
      '4xx',
      '5xx',
      'Latency',
    ]) {
      expect(body).toContain(name);
    }
    for (const [id] of t.ofType('AWS::CloudWatch::Alarm')) expect(body).toContain(`"${id}"`);
  });

  it('outputs the alarm topic, the dashboard name and a console link to it', () => {
    const outputs = t.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.AlarmTopicArn?.Value).toEqual({ Ref: topicId });
    expect(outputs.DashboardName?.Value).toEqual({
      Ref: t.idOf('AWS::CloudWatch::Dashboard', 'MonitoringDashboard'),
    });
    expect(JSON.stringify(outputs.DashboardUrl?.Value)).toContain('#dashboards:name=');
  });

  it('passes cdk-nag with an alarm e-mail subscribed too', () => {
    const withEmail = synth({ alarmEmail: 'ops@example.com' });
    const report = new AwsSolutionsChecks().validateScope(withEmail.app) as unknown as {
      violations: Array<{ ruleName: string; description: string }>;
    };
    expect(report.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
  });
});

describe('RelayStack monitoring settings', () => {
  it('follows the stage and the configured thresholds', () => {
    const t = synth({
      stageName: 'staging',
      failureRateAlarmPercent: 10,
      fanoutQueueAgeAlarm: Duration.minutes(2),
      deliveryQueueAgeAlarm: Duration.minutes(30),
    });
    expect(t.alarms.every((a) => a.AlarmName.startsWith('staging-'))).toBe(true);
    expect(t.alarm('staging-fanout-queue-age').Threshold).toBe(120);
    expect(t.alarm('staging-delivery-queue-age').Threshold).toBe(1800);
    const rate = t.alarm('staging-delivery-failure-rate');
    expect(rate.Threshold).toBe(10);
    expect(JSON.stringify(rate.Metrics)).toContain('{"Name":"service","Value":"staging"}');
    t.template.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'staging-alarms' });
    t.template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: 'staging-webhook-relay',
    });
    t.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'staging' }) },
    });
  });

  it('raises a delivery-queue age threshold below 20 minutes to the floor, with a synth warning', () => {
    const t = synth({ deliveryQueueAgeAlarm: Duration.minutes(15) });
    expect(t.alarm('relay-delivery-queue-age').Threshold).toBe(1200);
    Annotations.fromStack(t.stack).hasWarning(
      '/Test/Monitoring',
      Match.stringLikeRegexp('deliveryQueueAgeAlarm raised from 900 s to 1200 s'),
    );
  });

  it('no longer floors the delivery-queue age by the retry schedule: long first delays keep 20 minutes, without warning', () => {
    const t = synth({ retrySchedule: '36000,36000' });
    expect(t.alarm('relay-delivery-queue-age').Threshold).toBe(1200);
    Annotations.fromStack(t.stack).hasNoWarning('*', Match.stringLikeRegexp('deliveryQueueAgeAlarm raised'));
  });

  it('keeps a configured delivery-queue age threshold that is above the floor', () => {
    const t = synth({ retrySchedule: '600,900', deliveryQueueAgeAlarm: Duration.hours(1) });
    expect(t.alarm('relay-delivery-queue-age').Threshold).toBe(3600);
  });

  it('floors the delivery-queue age at one delayed hop (900 s) plus five minutes: 20 minutes', () => {
    expect(DELIVERY_QUEUE_AGE_FLOOR.toSeconds()).toBe(MAX_QUEUE_DELAY_SECONDS + 300);
    expect(DELIVERY_QUEUE_AGE_FLOOR.toSeconds()).toBe(20 * 60);
  });

  it('sizes the in-flight alarm at 5x the delivery slots, never under 1,000', () => {
    expect(deliveryInFlightAlarmThreshold(20 * 10)).toBe(1_000);
    expect(deliveryInFlightAlarmThreshold(2 * 10)).toBe(1_000);
    expect(deliveryInFlightAlarmThreshold(50 * 10)).toBe(2_500);
    expect(deliveryInFlightAlarmThreshold(1000 * 10)).toBe(50_000);
  });

  it('follows -c deliveryConcurrency in the in-flight alarm (50 x 10 slots: over 2,500)', () => {
    const props = stackPropsFromContext((key) => ({ deliveryConcurrency: '50' })[key]);
    const a = synth(props).alarm('relay-delivery-in-flight-high');
    expect(a.Threshold).toBe(2_500);
    const text = JSON.stringify(a.AlarmDescription);
    expect(text).toContain('Over 2,500 delivery tasks are in flight');
    expect(text).toContain('at most 500');
    const small = synth(stackPropsFromContext((key) => ({ deliveryConcurrency: '2' })[key]));
    expect(small.alarm('relay-delivery-in-flight-high').Threshold).toBe(1_000);
  });

  it('refuses a failure-rate threshold outside 0-100%', () => {
    for (const bad of [0, 100, -5, Number.NaN]) {
      expect(() => synth({ failureRateAlarmPercent: bad })).toThrow(/failureRateAlarmPercent/);
    }
  });
});

describe('RelayStack replay support', () => {
  const t = synth();
  const apiFnId = t.idOf('AWS::Lambda::Function', 'ApiFunction');
  const archiveArn = { 'Fn::GetAtt': [t.idOf('AWS::Events::Archive', 'Bus'), 'Arn'] };

  it('tells the API function which archive to replay, onto which bus, through which rule', () => {
    const env = (
      t.resources[apiFnId]?.Properties.Environment as { Variables: Record<string, unknown> } | undefined
    )?.Variables;
    expect(env).toMatchObject({
      RELAY_ARCHIVE_ARN: archiveArn,
      RELAY_EVENT_BUS_ARN: { 'Fn::GetAtt': [t.idOf('AWS::Events::EventBus', 'Bus'), 'Arn'] },
      RELAY_FANOUT_RULE_ARN: { 'Fn::GetAtt': [t.idOf('AWS::Events::Rule', 'EventsToFanout'), 'Arn'] },
    });
  });

  it('lets only the API function start and describe replays, of the archive and replay/*', () => {
    const statements = t
      .ofType('AWS::IAM::Policy')
      .flatMap(([, p]) =>
        (p.Properties.PolicyDocument as { Statement: Array<Record<string, unknown>> }).Statement.map(
          (statement) => ({ roles: JSON.stringify(p.Properties.Roles), statement }),
        ),
      );
    const replay = statements.filter(({ statement }) =>
      JSON.stringify(statement.Action).includes('StartReplay'),
    );
    expect(replay).toHaveLength(1);
    // Listing replays (the console) is a statement of its own: ListReplays takes no resource.
    const listing = statements.filter(({ statement }) =>
      JSON.stringify(statement.Action).includes('ListReplays'),
    );
    expect(listing.map(({ statement }) => statement)).toEqual([
      { Effect: 'Allow', Action: 'events:ListReplays', Resource: '*' },
    ]);
    expect(listing[0]?.roles).toContain(t.idOf('AWS::IAM::Role', 'ApiFunctionServiceRole'));
    expect(replay[0]?.roles).toContain(t.idOf('AWS::IAM::Role', 'ApiFunctionServiceRole'));
    expect(replay[0]?.statement).toMatchObject({
      Effect: 'Allow',
      Action: ['events:StartReplay', 'events:DescribeReplay'],
      Resource: [
        archiveArn,
        {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':events:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':replay/*',
            ],
          ],
        },
      ],
    });
  });
});
