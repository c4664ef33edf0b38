import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { createTableInput } from '../../functions/adapters/dynamodb/table.ts';
import { configFromEnv } from '../../functions/core/config.ts';
import { ORDERED_DRAIN_MS, ORDERED_MAX_RECEIVES } from '../../functions/core/delivery/ordering.ts';
import { MAX_DELAY_SECONDS, MAX_RECEIVES } from '../../functions/core/delivery/scheduling.ts';
import { ROUTES } from '../../functions/handlers/routes.ts';
import { stackPropsFromContext } from '../../infra/context.ts';
import { DEFAULT_BATCHING_WINDOW_SECONDS, RelayStack } from '../../infra/relay-stack.ts';

// Template tests skip esbuild (the bundle report builds the real bundles).
const newApp = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

type Resource = { Type: string; Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

describe('RelayStack', () => {
  const app = newApp();
  const stack = new RelayStack(app, 'Test');
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const logicalIdOf = (prefix: string) => Object.keys(resources).find((k) => k.startsWith(prefix)) as string;
  const queueIdNamed = (name: string) => {
    const id = ofType('AWS::SQS::Queue').find(([, q]) => q.Properties.QueueName === name)?.[0];
    if (!id) throw new Error(`no queue ${name}`);
    return id;
  };
  /** The statements of the inline policy on the role of the function whose id starts with `fn`. */
  const statementsOf = (fn: string): Statement[] => {
    const role = logicalIdOf(`${fn}ServiceRole`);
    return ofType('AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(role))
      .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  };
  /** What the function may do `action` on, as the template's JSON. */
  const resourcesAllowing = (fn: string, action: string) =>
    JSON.stringify(
      statementsOf(fn)
        .filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes(action))
        .map((s) => s.Resource),
    );
  /** The function itself, not its log group or role (`<id><8 hex digits>`). */
  const functionNamed = (id: string) => {
    const found = ofType('AWS::Lambda::Function').find(([k]) => new RegExp(`^${id}[0-9A-F]{8}$`).test(k));
    if (!found) throw new Error(`no function ${id}`);
    return found[1].Properties;
  };
  const envOf = (id: string) =>
    (functionNamed(id).Environment as { Variables: Record<string, unknown> }).Variables;
  const orderedQueueId = queueIdNamed('relay-ordered.fifo');
  const orderedDlqId = queueIdNamed('relay-ordered-dlq.fifo');

  it('has exactly the deployed shape: API, five functions, bus with rule and archive, three queue pairs (one FIFO) and the rule DLQ, one table', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.resourceCountIs('AWS::Lambda::Function', 5);
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.resourceCountIs('AWS::Events::Archive', 1);
    template.resourceCountIs('AWS::SQS::Queue', 7);
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 4);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
  });

  it('runs every function on Node 24, arm64, with JSON logs into a log group with retention', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        LoggingConfig: { LogFormat: 'JSON', LogGroup: expect.anything() },
      });
    }
    for (const [, group] of ofType('AWS::Logs::LogGroup')) {
      expect(group.Properties.RetentionInDays).toBe(30);
    }
  });

  it('routes every route of the HTTP contract, ingest to its function and the rest (and $default) to the API function', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey as string);
    for (const route of ROUTES) expect(routes).toContain(`${route.method} ${route.path}`);
    expect(routes).toContain('$default');
    const targetOf = (routeKey: string) =>
      JSON.stringify(
        ofType('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === routeKey)?.[1].Properties
          .Target,
      );
    expect(targetOf('POST /v1/events')).toBe(targetOf('POST /v1/events/batch'));
    expect(targetOf('POST /v1/events')).not.toBe(targetOf('$default'));
    expect(targetOf('GET /v1/dlq')).toBe(targetOf('$default'));
  });

  it('routes ingested events from the bus to the fanout queue and archives them', () => {
    const bus = logicalIdOf('Bus');
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: bus },
      EventPattern: { source: ['webhook-relay'] },
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FanoutQueue'), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalIdOf('FanoutRuleDlq'), 'Arn'] } },
        },
      ],
    });
    template.hasResourceProperties('AWS::Events::Archive', {
      SourceArn: { 'Fn::GetAtt': [bus, 'Arn'] },
      EventPattern: { source: ['webhook-relay'] },
      RetentionDays: 30,
    });
  });

  it('consumes every queue with partial batch responses, batches of 10 (the ordered queue: 1) and a concurrency cap', () => {
    for (const [, esm] of ofType('AWS::Lambda::EventSourceMapping')) {
      const ordered = JSON.stringify(esm.Properties.EventSourceArn).includes('Ordered');
      expect(esm.Properties).toMatchObject({
        BatchSize: ordered ? 1 : 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: expect.any(Number) },
      });
    }
  });

  it("keeps each queue's visibility timeout at least 6x its consumer's timeout plus its batching window", () => {
    for (const stack of [
      template,
      Template.fromStack(new RelayStack(newApp(), 'Wide', { batchingWindowSeconds: 300 })),
    ]) {
      const all = stack.toJSON().Resources as Record<
        string,
        { Type: string; Properties: Record<string, unknown> }
      >;
      for (const esm of Object.values(all).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping')) {
        const queueId = (esm.Properties.EventSourceArn as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
        const fnId = (esm.Properties.FunctionName as { Ref: string }).Ref;
        const visibility = all[queueId]?.Properties.VisibilityTimeout as number;
        const timeout = all[fnId]?.Properties.Timeout as number;
        const window = (esm.Properties.MaximumBatchingWindowInSeconds as number | undefined) ?? 0;
        expect(visibility).toBeGreaterThanOrEqual(6 * timeout + window);
      }
    }
  });

  it('gathers fanout and delivery batches for 1 s by default, -c batchingWindowSeconds otherwise (0 allowed)', () => {
    const windows = (t: Template) =>
      Object.values(
        t.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
      )
        .filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping')
        .map((r) => {
          const arn = JSON.stringify(r.Properties.EventSourceArn);
          const source = ['Ordered', 'FanoutRuleDlq', 'Fanout', 'Delivery'].find((q) => arn.includes(q));
          return `${source}:${r.Properties.MaximumBatchingWindowInSeconds ?? '-'}`;
        })
        .sort();
    expect(DEFAULT_BATCHING_WINDOW_SECONDS).toBe(1);
    expect(windows(template)).toEqual(['Delivery:1', 'Fanout:1', 'FanoutRuleDlq:-', 'Ordered:-']);
    const off = Template.fromStack(new RelayStack(newApp(), 'Off', { batchingWindowSeconds: 0 }));
    expect(windows(off)).toEqual(['Delivery:0', 'Fanout:0', 'FanoutRuleDlq:-', 'Ordered:-']);
  });

  it('dead-letters a delivery task after MAX_RECEIVES receives (every wait is a new message), and fanout messages after 5', () => {
    const queue = (prefix: string) => resources[logicalIdOf(prefix)]?.Properties as Record<string, unknown>;
    expect(MAX_RECEIVES).toBe(5);
    expect(queue('DeliveryQueue').RedrivePolicy).toMatchObject({
      maxReceiveCount: MAX_RECEIVES,
      deadLetterTargetArn: { 'Fn::GetAtt': [logicalIdOf('DeliveryDlq'), 'Arn'] },
    });
    expect(queue('FanoutQueue').RedrivePolicy).toMatchObject({ maxReceiveCount: 5 });
  });

  it('keeps maxReceiveCount at MAX_RECEIVES whatever the retry schedule, and passes the schedule to the functions', () => {
    const custom = Template.fromStack(new RelayStack(newApp(), 'Custom', { retrySchedule: '10,60' }));
    custom.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'relay-delivery',
      RedrivePolicy: { maxReceiveCount: MAX_RECEIVES },
    });
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ RELAY_RETRY_SCHEDULE: '10,60' }) },
    });
  });

  it('pairs each work queue with its own DLQ both ways, and keeps DLQ messages 14 days, longer than the source', () => {
    for (const name of ['relay-fanout', 'relay-delivery']) {
      const [dlqId, dlq] =
        ofType('AWS::SQS::Queue').find(([, q]) => q.Properties.QueueName === `${name}-dlq`) ?? [];
      const source = ofType('AWS::SQS::Queue').find(([, q]) => q.Properties.QueueName === name)?.[1];
      // The source dead-letters into this DLQ, and the DLQ redrives only back to that source.
      expect(source?.Properties.RedrivePolicy).toMatchObject({
        deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
      });
      expect(dlq?.Properties.RedriveAllowPolicy).toMatchObject({
        redrivePermission: 'byQueue',
        sourceQueueArns: expect.arrayContaining([{ 'Fn::Join': ['', expect.arrayContaining([`:${name}`])] }]),
      });
      expect(dlq?.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
      expect(source?.Properties.MessageRetentionPeriod as number).toBeLessThan(14 * 24 * 3600);
    }
  });

  it("never drops an event EventBridge cannot put on the fanout queue: the rule's DLQ is fanned out too", () => {
    const [ruleDlqId, ruleDlq] =
      ofType('AWS::SQS::Queue').find(([, q]) => q.Properties.QueueName === 'relay-bus-dlq') ?? [];
    const [fanoutDlqId, fanoutDlq] =
      ofType('AWS::SQS::Queue').find(([, q]) => q.Properties.QueueName === 'relay-fanout-dlq') ?? [];
    // The fanout function reads it like the fanout queue...
    const sources = ofType('AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);
    const fromRuleDlq = sources.find((m) => JSON.stringify(m.EventSourceArn).includes(String(ruleDlqId)));
    expect(fromRuleDlq).toMatchObject({
      FunctionName: { Ref: expect.stringMatching(/^FanoutFunction[0-9A-F]{8}$/) },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    // ...what fails there too lands in the fanout DLQ, which redrives back to either source.
    expect(ruleDlq?.Properties.RedrivePolicy).toMatchObject({
      deadLetterTargetArn: { 'Fn::GetAtt': [fanoutDlqId, 'Arn'] },
      maxReceiveCount: 5,
    });
    const allowed = JSON.stringify(fanoutDlq?.Properties.RedriveAllowPolicy);
    expect(allowed).toContain(':relay-bus-dlq');
    expect(allowed).toContain(':relay-fanout"');
    expect(ruleDlq?.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });

  it("keeps delivery tasks SQS's default 4 days whatever the schedule (each wait is a new message), and refuses an entry over MAX_DELAY_SECONDS", () => {
    const retention = (schedule: string) => {
      const stack = new RelayStack(newApp(), 'S', { retrySchedule: schedule });
      const queues = Template.fromStack(stack).findResources('AWS::SQS::Queue');
      const byName = (name: string) =>
        Object.values(queues).find((q) => q.Properties.QueueName === name)?.Properties.MessageRetentionPeriod;
      return { queue: byName('relay-delivery'), dlq: byName('relay-delivery-dlq') };
    };
    for (const schedule of [
      '5,300',
      '5,300,1800,7200,18000,36000,36000',
      // 30 delays of 10 h: a round of 12.5 days, which the queue no longer has to hold.
      Array(30).fill(36_000).join(','),
      Array(7).fill(MAX_DELAY_SECONDS).join(','),
    ]) {
      expect(retention(schedule), schedule).toEqual({ queue: 4 * 86_400, dlq: 14 * 86_400 });
    }
    expect(() => retention(`5,${MAX_DELAY_SECONDS + 1}`)).toThrow(
      `retry schedule entry 2 ("${MAX_DELAY_SECONDS + 1}") must be seconds between 0 and ${MAX_DELAY_SECONDS}`,
    );
    expect(() => retention('5,x')).toThrow(/retry schedule entry 2/);
  });

  it('tells the delivery function how many tasks the fleet attempts at once (RELAY_DELIVERY_SLOTS = concurrency x batch)', () => {
    const slotsOf = (t: Template) =>
      Object.values(t.findResources('AWS::Lambda::Function')).map((f) => ({
        fn: f.Properties.Description as string,
        slots: f.Properties.Environment.Variables.RELAY_DELIVERY_SLOTS as string | undefined,
      }));
    const deliveryOnly = (slots: string) => [
      { fn: 'Signs and POSTs webhooks; retries with backoff; dead-letters', slots },
    ];
    // Default: 20 invocations x batches of 10.
    expect(slotsOf(template).filter((f) => f.slots !== undefined)).toEqual(deliveryOnly('200'));
    // -c deliveryConcurrency=50, through the context reader as `cdk synth` does.
    const props = stackPropsFromContext((key) => ({ deliveryConcurrency: '50' })[key]);
    const custom = Template.fromStack(new RelayStack(newApp(), 'Custom', props));
    expect(slotsOf(custom).filter((f) => f.slots !== undefined)).toEqual(deliveryOnly('500'));
    custom.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 50 },
      FunctionName: { Ref: Match.stringLikeRegexp('^DeliveryFunction') },
    });
  });

  it('passes the SSRF allow-list to the functions that check targets, and nothing when none is set', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new RelayStack(app, 'S', { allowedTargetCidrs: '10.20.0.0/16' });
    const fns = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    const withList = fns.filter(
      (f) => f.Properties.Environment.Variables.RELAY_ALLOWED_TARGET_CIDRS === '10.20.0.0/16',
    );
    expect(withList.map((f) => f.Properties.Description).sort()).toEqual([
      'One delivery task per (event, matching subscription)',
      'POSTs the webhooks of ordered subscriptions one at a time, in ingest order',
      'Signs and POSTs webhooks; retries with backoff; dead-letters',
      'Subscriptions, deliveries, the DLQ and replays',
    ]);
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env.RELAY_ALLOWED_TARGET_CIDRS).toBeUndefined();
      expect(env.RELAY_ALLOW_PRIVATE_TARGETS).toBeUndefined();
    }
  });

  it('grants through least-privilege statements: no wildcard actions on data services', () => {
    for (const [id, policy] of ofType('AWS::IAM::Policy')) {
      const statements = (
        policy.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[] }> }
      ).Statement;
      for (const s of statements) {
        for (const action of [s.Action].flat()) {
          expect(action, `${id}: ${action}`).not.toMatch(/^(dynamodb|sqs|events|secretsmanager):\*$|^\*$/);
        }
      }
    }
  });

  it('gives the API function what a DLQ redrive needs, on the delivery DLQ only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['sqs:StartMessageMoveTask', 'sqs:ListMessageMoveTasks']),
            Resource: { 'Fn::GetAtt': [logicalIdOf('DeliveryDlq'), 'Arn'] },
          }),
        ]),
      },
    });
  });

  it('lets the delivery function park tasks on its queue and announce disabled subscriptions on the bus', () => {
    const role = logicalIdOf('DeliveryFunctionServiceRole');
    const policy = ofType('AWS::IAM::Policy').find(([, p]) =>
      JSON.stringify(p.Properties.Roles).includes(role),
    )?.[1];
    if (!policy) throw new Error('no policy for the delivery function');
    const statements = (
      policy.Properties.PolicyDocument as {
        Statement: Array<{ Action: string | string[]; Resource: unknown }>;
      }
    ).Statement;
    const allowing = (action: string) => statements.filter((s) => [s.Action].flat().includes(action));
    expect(JSON.stringify(allowing('sqs:SendMessage').map((s) => s.Resource))).toContain(
      logicalIdOf('DeliveryQueue'),
    );
    expect(JSON.stringify(allowing('events:PutEvents').map((s) => s.Resource))).toContain(logicalIdOf('Bus'));
  });

  it('gives the ingest function only the bus, the API key, single-item writes for the duplicate check and a Query for the catalog', () => {
    const ingestRole = logicalIdOf('IngestFunctionServiceRole');
    const policy = ofType('AWS::IAM::Policy').find(([, p]) =>
      JSON.stringify(p.Properties.Roles).includes(ingestRole),
    )?.[1];
    if (!policy) throw new Error('no policy for the ingest function');
    const actions = (
      policy.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[] }> }
    ).Statement.flatMap((s) => [s.Action].flat());
    expect(actions.sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
  });

  it('outputs the API URL, where the first API key is, and the queue and DLQ names', () => {
    const outputs = Object.keys(template.toJSON().Outputs ?? {});
    expect(outputs).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'AdminKeySecretArn',
        'FanoutQueueName',
        'FanoutDlqName',
        'DeliveryQueueName',
        'DeliveryDlqName',
        'OrderedQueueName',
        'OrderedDlqName',
      ]),
    );
  });

  describe('ordered delivery', () => {
    it('queues wake-ups on a FIFO queue without content-based deduplication, encrypted, kept 14 days', () => {
      expect(resources[orderedQueueId]?.Properties).toMatchObject({
        QueueName: 'relay-ordered.fifo',
        FifoQueue: true,
        ContentBasedDeduplication: false,
        SqsManagedSseEnabled: true,
        // Held up to ten times, 12 h at most each, before a fresh wake-up replaces it.
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
    });

    it('dead-letters a wake-up into a FIFO DLQ after ORDERED_MAX_RECEIVES receives, and the DLQ redrives only back to it', () => {
      expect(ORDERED_MAX_RECEIVES).toBe(30);
      expect(resources[orderedQueueId]?.Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [orderedDlqId, 'Arn'] },
        maxReceiveCount: ORDERED_MAX_RECEIVES,
      });
      const dlq = resources[orderedDlqId]?.Properties;
      expect(dlq).toMatchObject({
        QueueName: 'relay-ordered-dlq.fifo',
        FifoQueue: true,
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
        RedriveAllowPolicy: { redrivePermission: 'byQueue' },
      });
      const allowed = (dlq?.RedriveAllowPolicy as { sourceQueueArns?: unknown[] } | undefined)
        ?.sourceQueueArns;
      expect(allowed).toHaveLength(1);
      expect(JSON.stringify(allowed)).toContain(':relay-ordered.fifo"');
    });

    it('refuses plain-HTTP access to the ordered queue and its DLQ, like every queue', () => {
      const policies = ofType('AWS::SQS::QueuePolicy').map(([, p]) => p.Properties);
      for (const id of [orderedQueueId, orderedDlqId]) {
        const policy = policies.find((p) => JSON.stringify(p.Queues) === JSON.stringify([{ Ref: id }]));
        expect(policy?.PolicyDocument, id).toMatchObject({
          Statement: expect.arrayContaining([
            expect.objectContaining({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        });
      }
    });

    it('runs the ordered function from the FIFO queue: one wake-up per invocation, partial batch responses, no batching window, at most 20 at once', () => {
      const fromOrdered = ofType('AWS::Lambda::EventSourceMapping')
        .map(([, m]) => m.Properties)
        .filter((m) => JSON.stringify(m.EventSourceArn).includes(orderedQueueId));
      expect(fromOrdered).toHaveLength(1);
      expect(fromOrdered[0]).toMatchObject({
        FunctionName: { Ref: expect.stringMatching(/^OrderedFunction[0-9A-F]{8}$/) },
        BatchSize: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 20 },
      });
      expect(fromOrdered[0]?.MaximumBatchingWindowInSeconds).toBeUndefined();
      const custom = Template.fromStack(new RelayStack(newApp(), 'Custom', { orderedConcurrency: 25 }));
      custom.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        ScalingConfig: { MaximumConcurrency: 25 },
        FunctionName: { Ref: Match.stringLikeRegexp('^OrderedFunction') },
      });
    });

    it("runs the ordered function like the delivery function, with a timeout that outlasts a drain and one attempt, and 6x that as the queue's visibility", () => {
      const fn = functionNamed('OrderedFunction');
      const deliveryFn = functionNamed('DeliveryFunction');
      for (const key of ['Runtime', 'Architectures', 'MemorySize', 'Timeout', 'TracingConfig', 'Handler']) {
        expect(fn[key], key).toEqual(deliveryFn[key]);
      }
      expect(fn.LoggingConfig).toMatchObject({ LogFormat: 'JSON', LogGroup: expect.anything() });
      const timeout = fn.Timeout as number;
      expect(timeout * 1000).toBeGreaterThan(ORDERED_DRAIN_MS + configFromEnv({}).attemptTimeoutMs);
      expect(resources[orderedQueueId]?.Properties.VisibilityTimeout).toBe(6 * timeout);
    });

    it("gives the ordered function the delivery function's settings (but its fleet's slots) and the ordered queue's URL", () => {
      const { RELAY_DELIVERY_SLOTS: _slots, ...delivery } = envOf('DeliveryFunction');
      expect(envOf('OrderedFunction')).toEqual(delivery);
      expect(envOf('OrderedFunction')).toMatchObject({
        RELAY_ORDERED_QUEUE_URL: { Ref: orderedQueueId },
        RELAY_DELIVERY_QUEUE_URL: { Ref: queueIdNamed('relay-delivery') },
        RELAY_EVENT_BUS_NAME: { Ref: logicalIdOf('Bus') },
        RELAY_TABLE_NAME: { Ref: logicalIdOf('Table') },
      });
    });

    it('lets the ordered function consume, hold and renew wake-ups on its FIFO queue and send dead heads to the delivery queue', () => {
      const on = (action: string) => resourcesAllowing('OrderedFunction', action);
      for (const action of [
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:ChangeMessageVisibility',
        'sqs:SendMessage',
      ]) {
        expect(on(action), action).toContain(`"${orderedQueueId}"`);
      }
      expect(on('sqs:SendMessage')).toContain(`"${queueIdNamed('relay-delivery')}"`);
      // Only the delivery function consumes the delivery queue.
      expect(on('sqs:ReceiveMessage')).not.toContain(`"${queueIdNamed('relay-delivery')}"`);
    });

    it('lets the ordered function read and write the table and announce disabled subscriptions on the bus, like the delivery function', () => {
      const table = logicalIdOf('Table');
      for (const action of [
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:PutItem',
        'dynamodb:BatchWriteItem',
      ]) {
        expect(resourcesAllowing('OrderedFunction', action), action).toContain(`"${table}"`);
      }
      expect(resourcesAllowing('OrderedFunction', 'events:PutEvents')).toContain(`"${logicalIdOf('Bus')}"`);
    });

    it('lets fanout and delivery functions wake ordered subscriptions (the URL and SendMessage on the FIFO queue), and no other function', () => {
      for (const fn of ['FanoutFunction', 'DeliveryFunction', 'OrderedFunction']) {
        expect(envOf(fn).RELAY_ORDERED_QUEUE_URL, fn).toEqual({ Ref: orderedQueueId });
        expect(resourcesAllowing(fn, 'sqs:SendMessage'), fn).toContain(`"${orderedQueueId}"`);
      }
      for (const fn of ['IngestFunction', 'ApiFunction']) {
        expect(envOf(fn).RELAY_ORDERED_QUEUE_URL, fn).toBeUndefined();
        expect(JSON.stringify(statementsOf(fn)), fn).not.toContain(orderedQueueId);
      }
    });
  });

  it('declares the table with the keys and indexes local mode creates in dynalite', () => {
    const local = createTableInput('relay');
    const [, table] = ofType('AWS::DynamoDB::GlobalTable')[0] ?? [];
    if (!table) throw new Error('no table in the template');
    expect(table.Properties.KeySchema).toEqual(local.KeySchema);
    const indexes = (
      table.Properties.GlobalSecondaryIndexes as Array<{
        IndexName: string;
        KeySchema: unknown;
        Projection: unknown;
      }>
    ).map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema, Projection: i.Projection }));
    expect(indexes).toEqual(
      local.GlobalSecondaryIndexes?.map((i) => ({
        IndexName: i.IndexName,
        KeySchema: i.KeySchema,
        Projection: i.Projection,
      })),
    );
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      Replicas: [{ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }],
    });
  });

  it('passes cdk-nag AwsSolutions checks with no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks().validateScope(app) as unknown as {
      violations: Array<{ ruleName: string; description: string }>;
    };
    expect(report.violations.map((v) => `${v.ruleName}: ${v.description}`)).toEqual([]);
  });
});
