import { execSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../functions/handlers/openapi.ts';
import { ensureTable, localDynamoClient, startDynalite } from '../../functions/local/dynalite.ts';
import { OPENAPI_HOOKS } from '../../infra/bundling.ts';
import { captureEmf } from '../support/emf.ts';
import { apiGatewayEvent, ruleDelivery, sqsRecord } from '../support/lambda-events.ts';
import { startReceiver, waitFor } from '../support/receiver.ts';

let openApiDir = '';

/**
 * The Lambda entry modules exactly as deployed, fed Lambda-shaped events: DynamoDB is dynalite
 * (through AWS_ENDPOINT_URL_DYNAMODB, no test hook in the code), EventBridge, SQS and Secrets
 * Manager are mocked, the receiver is a real HTTP server on loopback.
 */
/** The admin key, as Secrets Manager holds it; tenant keys are created with it. */
const ADMIN_KEY = 'aws-admin-key';
let tenantKey = '';
const DELIVERY_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/relay-delivery';
const ORDERED_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/relay-ordered.fifo';

const eventBridge = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);
const secrets = mockClient(SecretsManagerClient);

type Handler<E, R> = (event: E) => Promise<R>;
let ingest: Handler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
let api: Handler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;
let fanout: Handler<SQSEvent, { batchItemFailures: Array<{ itemIdentifier: string }> }>;
let delivery: Handler<SQSEvent, { batchItemFailures: Array<{ itemIdentifier: string }> }>;
let ordered: Handler<SQSEvent, { batchItemFailures: Array<{ itemIdentifier: string }> }>;
let closeDb: () => Promise<void>;
/** The handlers' EMF metric lines: checked here rather than printed in the test output. */
let emf: ReturnType<typeof captureEmf>;

const httpEvent = (method: string, path: string, body?: unknown, key = tenantKey) =>
  apiGatewayEvent(method, path, body, key);

const putEntries = () =>
  eventBridge.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
const sentTasks = () =>
  sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((c) => c.args[0].input.Entries ?? []) as SendMessageBatchRequestEntry[];

beforeAll(async () => {
  emf = captureEmf();
  const db = await startDynalite();
  const client = localDynamoClient(db.endpoint);
  await ensureTable(client, 'relay-table');
  client.destroy();
  closeDb = db.close;
  // What the API function's bundling hook writes beside its bundle (infra/bundling.ts).
  openApiDir = mkdtempSync(join(tmpdir(), 'relay-openapi-'));
  execSync(OPENAPI_HOOKS.afterBundling(process.cwd(), openApiDir).join(' && '));
  Object.assign(process.env, {
    RELAY_OPENAPI_FILE: join(openApiDir, 'openapi.json'),
    RELAY_PORTAL_DIR: join(openApiDir, 'portal'),
    RELAY_CONSOLE_DIR: join(openApiDir, 'console'),
    RELAY_PORTAL_FRAME_ANCESTORS: 'https://dash.example.com',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    RELAY_TABLE_NAME: 'relay-table',
    RELAY_EVENT_BUS_NAME: 'relay-events',
    RELAY_DELIVERY_QUEUE_URL: DELIVERY_QUEUE_URL,
    RELAY_ORDERED_QUEUE_URL: ORDERED_QUEUE_URL,
    RELAY_DELIVERY_DLQ_ARN: 'arn:aws:sqs:us-east-1:123456789012:relay-delivery-dlq',
    RELAY_ADMIN_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:relay-key',
    RELAY_RETRY_SCHEDULE: '5,300',
    // The SSRF defence is always on in Lambda; the receivers here are on loopback.
    RELAY_ALLOWED_TARGET_CIDRS: '127.0.0.0/8,::1/128',
    RELAY_ARCHIVE_ARN: 'arn:aws:events:us-east-1:123456789012:archive/relay-events-archive',
    RELAY_EVENT_BUS_ARN: 'arn:aws:events:us-east-1:123456789012:event-bus/relay-events',
    RELAY_FANOUT_RULE_ARN: 'arn:aws:events:us-east-1:123456789012:rule/relay-events/to-fanout',
  });
  ({ handler: ingest } = await import('../../functions/lambda/ingest.ts'));
  ({ handler: api } = await import('../../functions/lambda/api.ts'));
  ({ handler: fanout } = await import('../../functions/lambda/fanout.ts'));
  ({ handler: delivery } = await import('../../functions/lambda/delivery.ts'));
  ({ handler: ordered } = await import('../../functions/lambda/ordered.ts'));
  // The operator's first step after a deploy: a key for a tenant, made with the admin key.
  secrets.on(GetSecretValueCommand).resolves({ SecretString: ADMIN_KEY });
  const created = await api(httpEvent('POST', '/v1/admin/api-keys', { tenant: 'acme' }, ADMIN_KEY));
  expect(created.statusCode).toBe(201);
  tenantKey = JSON.parse(created.body ?? '{}').key;
});

afterAll(async () => {
  emf.restore();
  await closeDb();
});

beforeEach(() => {
  emf.clear();
  eventBridge.reset();
  sqs.reset();
  secrets.reset();
  secrets.on(GetSecretValueCommand).resolves({ SecretString: ADMIN_KEY });
  eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
    FailedEntryCount: 0,
    Entries: input.Entries.map((_, i) => ({ EventId: `eb-${i}` })),
  }));
  sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => ({
    Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `sqs-${e.Id}`, MD5OfMessageBody: '' })),
    Failed: [],
  }));
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
});

describe('Lambda entry modules, wired to AWS adapters', () => {
  it('serves the endpoint portal its bundling step built, with the strict CSP and the configured frame ancestors', async () => {
    const page = await api(apiGatewayEvent('GET', '/portal', undefined, 'no-key'));
    expect(page.statusCode).toBe(200);
    expect(page.headers?.['content-type']).toMatch(/^text\/html/);
    expect(String(page.headers?.['content-security-policy'])).toContain("script-src 'self'");
    expect(String(page.headers?.['content-security-policy'])).toContain(
      'frame-ancestors https://dash.example.com',
    );
    const script = await api(apiGatewayEvent('GET', '/portal/app.js', undefined, 'no-key'));
    expect(script.statusCode).toBe(200);
    expect(script.headers?.['content-type']).toMatch(/^text\/javascript/);
  });

  it('serves the operator console its bundling step built, never framed', async () => {
    const page = await api(apiGatewayEvent('GET', '/console', undefined, 'no-key'));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('/console/app.js?v=');
    expect(String(page.headers?.['content-security-policy'])).toContain("frame-ancestors 'none'");
    for (const file of ['/console/app.js', '/console/app.css']) {
      expect((await api(apiGatewayEvent('GET', file, undefined, 'no-key'))).statusCode).toBe(200);
    }
  });

  it('serves the OpenAPI document its bundling step generated, without a key', async () => {
    const res = await api(apiGatewayEvent('GET', '/openapi.json', undefined, 'no-key'));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body as string)).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });

  it('carries one event from ingest through the bus and fanout to a signed delivery at a real receiver', async () => {
    const rx = await startReceiver();
    try {
      const created = await api(
        httpEvent('POST', '/v1/subscriptions', { url: `${rx.url}/hook`, eventTypes: ['order.*'] }),
      );
      expect(created.statusCode).toBe(201);
      const sub = JSON.parse(created.body ?? '{}') as { id: string; secret: string };

      const accepted = await ingest(
        httpEvent('POST', '/v1/events', { type: 'order.created', data: { orderId: 'O-1' } }),
      );
      expect(accepted.statusCode).toBe(202);
      const { id } = JSON.parse(accepted.body ?? '{}') as { id: string };
      const [entry] = putEntries();
      expect(entry).toMatchObject({
        EventBusName: 'relay-events',
        Source: 'webhook-relay',
        DetailType: 'order.created',
      });

      const fanned = await fanout({ Records: [sqsRecord(ruleDelivery(entry ?? {}))] });
      expect(fanned.batchItemFailures).toEqual([]);
      const [task] = sentTasks();
      expect(sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.QueueUrl).toBe(DELIVERY_QUEUE_URL);
      expect(JSON.parse(task?.MessageBody ?? '{}')).toMatchObject({ eventId: id, subscriptionId: sub.id });

      const delivered = await delivery({ Records: [sqsRecord(task?.MessageBody ?? '')] });
      expect(delivered.batchItemFailures).toEqual([]);
      const [got] = await waitFor('the webhook', () => (rx.received.length ? rx.received : undefined));
      expect(got?.headers['webhook-id']).toBe(id);
      expect(
        new Webhook(sub.secret).verify(got?.body ?? '', got?.headers as Record<string, string>),
      ).toMatchObject({
        type: 'order.created',
        data: { orderId: 'O-1' },
      });

      const log = await api(httpEvent('GET', `/v1/events/${id}`));
      expect(JSON.parse(log.body ?? '{}').deliveries[0]).toMatchObject({
        status: 'succeeded',
        attempts: [{ status: 200 }],
      });
      // Each invocation flushed its metrics as one EMF document in the WebhookRelay namespace.
      expect(emf.values('EventsIngested')).toEqual([1]);
      expect(emf.values('DeliveriesSucceeded')).toEqual([1]);
      expect(emf.documents.map((d) => d._aws.CloudWatchMetrics[0]?.Namespace)).toEqual([
        'WebhookRelay',
        'WebhookRelay',
      ]);
    } finally {
      await rx.close();
    }
  });

  it('routes an ordered subscription’s event to a FIFO wake-up, and the ordered entry holds the subscription while its head fails', async () => {
    const rx = await startReceiver((n) => (n === 1 ? 503 : 200));
    try {
      const created = await api(
        httpEvent('POST', '/v1/subscriptions', { url: rx.url, eventTypes: ['fifo.*'], ordering: 'fifo' }),
      );
      const sub = JSON.parse(created.body ?? '{}') as { id: string };
      await ingest(httpEvent('POST', '/v1/events', { type: 'fifo.one', data: {} }));
      const fanned = await fanout({ Records: [sqsRecord(ruleDelivery(putEntries()[0] ?? {}))] });
      expect(fanned.batchItemFailures).toEqual([]);
      const batches = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
      // Nothing on the delivery queue: one wake-up on the FIFO queue, in the subscription's group.
      expect(batches.map((b) => b.QueueUrl)).toEqual([ORDERED_QUEUE_URL]);
      const [wake] = batches[0]?.Entries ?? [];
      expect(wake?.MessageGroupId).toMatch(new RegExp(`#${sub.id}$`));
      // The id the subscription's awake flag keeps for this wake-up (a retried fanout reuses it).
      expect(wake?.MessageDeduplicationId).toMatch(/^[0-9a-f-]{36}$/);

      // The first attempt fails: the wake-up is held for the retry (5 s) and reported failed.
      const record = sqsRecord(wake?.MessageBody ?? '');
      const held = await ordered({ Records: [record] });
      expect(held.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      const [hold] = sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input);
      expect(hold).toMatchObject({ QueueUrl: ORDERED_QUEUE_URL, ReceiptHandle: record.receiptHandle });
      expect(hold?.VisibilityTimeout).toBeGreaterThanOrEqual(4);
      expect(rx.received).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });

  it('schedules a retry as a delayed copy of the task (DelaySeconds) and acknowledges the received one', async () => {
    const rx = await startReceiver(() => 503);
    try {
      await api(httpEvent('POST', '/v1/subscriptions', { url: rx.url, eventTypes: ['retry.*'] }));
      await ingest(httpEvent('POST', '/v1/events', { type: 'retry.me', data: {} }));
      await fanout({ Records: [sqsRecord(ruleDelivery(putEntries()[0] ?? {}))] });
      const [first] = sentTasks();
      const record = sqsRecord(first?.MessageBody ?? '');
      const result = await delivery({ Records: [record] });
      // Nothing waits in flight: the received message is done with.
      expect(result.batchItemFailures).toEqual([]);
      expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
      const [, copy] = sentTasks();
      const entry = sqs.commandCalls(SendMessageBatchCommand)[1]?.args[0].input;
      expect(entry?.QueueUrl).toBe(DELIVERY_QUEUE_URL);
      // 5 s +/- 20 % jitter, rounded up to whole seconds; the copy counts the attempt made.
      expect(copy?.DelaySeconds).toBeGreaterThanOrEqual(4);
      expect(copy?.DelaySeconds).toBeLessThanOrEqual(6);
      expect(copy?.MessageGroupId).toBe(first?.MessageGroupId);
      expect(JSON.parse(copy?.MessageBody ?? '{}')).toMatchObject({ attempt: 1, due: expect.any(Number) });
    } finally {
      await rx.close();
    }
  });

  it('answers 5xx, never 202, when the bus keeps refusing an event, so the producer retries', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }],
    });
    const res = await ingest(httpEvent('POST', '/v1/events', { type: 'order.created', data: {} }));
    expect(res.statusCode).toBeGreaterThanOrEqual(500);
    expect(JSON.parse(res.body ?? '{}').error.code).toBe('internal_error');
  });

  it('refuses a request without a valid key, and the admin key on tenant routes', async () => {
    const event = httpEvent('POST', '/v1/events', { type: 'a.b', data: {} });
    event.headers.authorization = 'Bearer not-the-key';
    expect((await ingest(event)).statusCode).toBe(401);
    const asAdmin = await ingest(httpEvent('POST', '/v1/events', { type: 'a.b', data: {} }, ADMIN_KEY));
    expect(asAdmin.statusCode).toBe(403);
    expect(JSON.parse(asAdmin.body ?? '{}').error.code).toBe('tenant_key_required');
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('stops accepting a revoked tenant key', async () => {
    const made = await api(httpEvent('POST', '/v1/admin/api-keys', { tenant: 'short-lived' }, ADMIN_KEY));
    const { id, key } = JSON.parse(made.body ?? '{}') as { id: string; key: string };
    expect((await api(httpEvent('GET', '/v1/subscriptions', undefined, key))).statusCode).toBe(200);
    expect(
      (await api(httpEvent('DELETE', `/v1/admin/api-keys/${id}`, undefined, ADMIN_KEY))).statusCode,
    ).toBe(204);
    // The ingest function never saw the key, so nothing is cached there: refused at once.
    expect((await ingest(httpEvent('POST', '/v1/events', { type: 'a.b', data: {} }, key))).statusCode).toBe(
      401,
    );
  });

  it("checks data against the tenant's catalog schema, read from the table by the ingest function", async () => {
    const made = await api(httpEvent('POST', '/v1/admin/api-keys', { tenant: 'catalogued' }, ADMIN_KEY));
    const { key } = JSON.parse(made.body ?? '{}') as { key: string };
    const schema = { type: 'object', required: ['amount'], properties: { amount: { type: 'number' } } };
    const created = await api(httpEvent('POST', '/v1/event-types', { name: 'order.created', schema }, key));
    expect(created.statusCode).toBe(201);
    const refused = await ingest(
      httpEvent('POST', '/v1/events', { type: 'order.created', data: { amount: 'ten' } }, key),
    );
    expect(refused.statusCode).toBe(400);
    expect(JSON.parse(refused.body ?? '{}').error.details).toEqual([
      { path: 'data.amount', message: 'must be a number' },
    ]);
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
    const accepted = await ingest(
      httpEvent('POST', '/v1/events', { type: 'order.created', data: { amount: 10 } }, key),
    );
    expect(accepted.statusCode).toBe(202);
  });
});
