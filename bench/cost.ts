/**
 * Cost model: `npm run cost`. What one webhook costs on AWS, from the requests the real Lambda
 * entry modules make in an integrated run, priced with the list prices (us-east-1) in
 * shared/reference/aws.md.
 *
 * How each figure is obtained:
 * - EventBridge, SQS (handler-sent) and Secrets Manager: every SDK command the functions send is
 *   recorded by aws-sdk-client-mock.
 * - DynamoDB: the functions talk to dynalite through a loopback proxy that asks for
 *   ReturnConsumedCapacity on every request and sums what dynalite reports; write units of the
 *   GSIs an item lands in (dynalite does not report those) are added from each item's size.
 * - Lambda: one request per invocation; GB-s from the measured handler time at 256 MB (this
 *   machine's time, an approximation of Lambda's).
 * - API Gateway: one request per ingest call.
 * - Work AWS does around the functions, modelled: the rule's delivery to the fanout queue (one
 *   SQS SendMessage per event), and the event source mappings' ReceiveMessage and
 *   DeleteMessageBatch (one each per invocation of a full batch of 10).
 * - CloudWatch Logs: the bytes the functions log at INFO.
 *
 * Environment: COST_EVENTS (default 200 per scenario), COST_PAYLOAD_BYTES (default 1024).
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
// @ts-expect-error dynalite ships no types for its internals; itemSize is DynamoDB's size rule.
import { itemSize } from 'dynalite/db/index.js';
import { TABLE_KEYS } from '../functions/adapters/dynamodb/table.ts';
import { ensureTable, localDynamoClient, startDynalite } from '../functions/local/dynalite.ts';
import { apiGatewayEvent, ruleDelivery, sqsRecord } from '../test/support/lambda-events.ts';

const EVENTS = Number(process.env.COST_EVENTS ?? 200);
const PAYLOAD_BYTES = Number(process.env.COST_PAYLOAD_BYTES ?? 1024);
const MEMORY_GB = 0.25;
/** The admin key in Secrets Manager; the measured traffic uses a tenant key made with it. */
const ADMIN_KEY = 'cost-admin-key';
let tenantKey = '';

/** List prices, us-east-1 (shared/reference/aws.md). */
const PRICE = {
  apiGatewayRequest: 1.0 / 1e6,
  lambdaRequest: 0.2 / 1e6,
  lambdaGbSecondArm: 0.0000133334,
  eventBridgeEvent: 1.0 / 1e6, // per 64 KB chunk
  sqsRequest: 0.4 / 1e6, // per 64 KB chunk
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  logsGb: 0.5,
  secretsManagerCall: 0.05 / 10_000,
};

// ---- DynamoDB: dynalite behind a proxy that measures consumed capacity --------------------
const usage = { dynamoRead: 0, dynamoWrite: 0, dynamoRequests: 0 };
const indexKeys = TABLE_KEYS.indexes.map((i) => i.partitionKey);

type AttributeMap = Record<string, unknown>;
function gsiWriteUnits(item: AttributeMap): number {
  const kb = Math.ceil(itemSize(item) / 1024);
  return indexKeys.filter((k) => k in item).length * kb;
}

async function startMeteredDynamo(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const db = await startDynalite();
  const target = new URL(db.endpoint);
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const op = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      if (
        [
          'GetItem',
          'PutItem',
          'UpdateItem',
          'DeleteItem',
          'Query',
          'BatchGetItem',
          'BatchWriteItem',
        ].includes(op)
      ) {
        body.ReturnConsumedCapacity = 'TOTAL';
        usage.dynamoRequests++;
      }
      if (op === 'PutItem') usage.dynamoWrite += gsiWriteUnits(body.Item as AttributeMap);
      if (op === 'BatchWriteItem') {
        for (const writes of Object.values(
          body.RequestItems as Record<string, Array<{ PutRequest?: { Item: AttributeMap } }>>,
        )) {
          for (const w of writes) if (w.PutRequest) usage.dynamoWrite += gsiWriteUnits(w.PutRequest.Item);
        }
      }
      const payload = JSON.stringify(body);
      const headers = { ...req.headers, 'content-length': String(Buffer.byteLength(payload)) };
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
        (up) => {
          const out: Buffer[] = [];
          up.on('data', (c: Buffer) => out.push(c));
          up.on('end', () => {
            const text = Buffer.concat(out).toString('utf8');
            try {
              const parsed = JSON.parse(text) as { ConsumedCapacity?: unknown };
              for (const c of [parsed.ConsumedCapacity ?? []].flat() as Array<{ CapacityUnits?: number }>) {
                if (['GetItem', 'Query', 'BatchGetItem'].includes(op))
                  usage.dynamoRead += c.CapacityUnits ?? 0;
                else usage.dynamoWrite += c.CapacityUnits ?? 0;
              }
            } catch {
              // not JSON: nothing to count
            }
            res.writeHead(up.statusCode ?? 500, up.headers);
            res.end(text);
          });
        },
      );
      upstream.end(payload);
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    close: async () => {
      proxy.close();
      proxy.closeAllConnections();
      await db.close();
    },
  };
}

// ---- the rest of AWS, mocked and counted ----------------------------------------------------
const eventBridge = mockClient(EventBridgeClient);
const sqs = mockClient(SQSClient);
const secrets = mockClient(SecretsManagerClient);
secrets.on(GetSecretValueCommand).resolves({ SecretString: ADMIN_KEY });
eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
  FailedEntryCount: 0,
  Entries: input.Entries.map((_, i) => ({ EventId: `e${i}` })),
}));
sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: Array<{ Id: string }> }) => ({
  Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: e.Id, MD5OfMessageBody: '' })),
  Failed: [],
}));
sqs.on(ChangeMessageVisibilityCommand).resolves({});

const chunks64k = (bytes: number) => Math.max(1, Math.ceil(bytes / (64 * 1024)));

// ---- the run ------------------------------------------------------------------------------
const dynamo = await startMeteredDynamo();
{
  const client = localDynamoClient(dynamo.endpoint);
  await ensureTable(client, 'relay-table');
  client.destroy();
}
Object.assign(process.env, {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'cost',
  AWS_SECRET_ACCESS_KEY: 'cost',
  AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
  RELAY_TABLE_NAME: 'relay-table',
  RELAY_EVENT_BUS_NAME: 'relay-events',
  RELAY_DELIVERY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/relay-delivery',
  RELAY_DELIVERY_DLQ_ARN: 'arn:aws:sqs:us-east-1:123456789012:relay-delivery-dlq',
  // As the stack sets it (20 invocations x 10): endpoints below 200 in flight need no count.
  RELAY_DELIVERY_SLOTS: '200',
  RELAY_ADMIN_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:k',
  // The SSRF defence is always on in Lambda; the receiver here is on loopback.
  RELAY_ALLOWED_TARGET_CIDRS: '127.0.0.0/8',
  RELAY_ARCHIVE_ARN: 'arn:aws:events:us-east-1:123456789012:archive/a',
  RELAY_EVENT_BUS_ARN: 'arn:aws:events:us-east-1:123456789012:event-bus/b',
  RELAY_FANOUT_RULE_ARN: 'arn:aws:events:us-east-1:123456789012:rule/b/r',
  POWERTOOLS_LOG_LEVEL: 'INFO',
});

// Count what the functions log (Lambda sends stdout to CloudWatch Logs), without printing it.
let logBytes = 0;
const write = process.stdout.write.bind(process.stdout);
let capturing = false;
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  if (capturing) {
    logBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return true;
  }
  return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

const { handler: ingest } = await import('../functions/lambda/ingest.ts');
const { handler: api } = await import('../functions/lambda/api.ts');
const { handler: fanout } = await import('../functions/lambda/fanout.ts');
const { handler: delivery } = await import('../functions/lambda/delivery.ts');

// A receiver on loopback that accepts everything.
const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.end('ok'));
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

const httpEvent = (method: string, path: string, body: unknown, key = tenantKey) =>
  apiGatewayEvent(method, path, body, key);

interface Scenario {
  name: string;
  subscribers: number;
  batch: number;
}

interface Counts {
  webhooks: number;
  apiRequests: number;
  invocations: Record<string, number>;
  gbSeconds: number;
  ebEvents: number;
  sqsHandlerRequests: number;
  sqsModelled: number;
  dynamoRead: number;
  dynamoWrite: number;
  dynamoRequests: number;
  logBytes: number;
  secretsCalls: number;
}

async function timed<T>(counts: Counts, fn: string, run: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await run();
  counts.invocations[fn] = (counts.invocations[fn] ?? 0) + 1;
  counts.gbSeconds += ((performance.now() - t0) / 1000) * MEMORY_GB;
  return result;
}

const data = { note: 'x'.repeat(Math.max(0, PAYLOAD_BYTES - 40)), shipmentId: 'S-1' };

// As an operator would after deploying: a tenant key, made with the admin key.
{
  const made = await api(httpEvent('POST', '/v1/admin/api-keys', { tenant: 'cost' }, ADMIN_KEY));
  if (made.statusCode !== 201) throw new Error(`could not create a tenant key: ${made.body}`);
  tenantKey = JSON.parse(made.body ?? '{}').key;
}

async function runScenario(s: Scenario, tenantSubs: number): Promise<Counts> {
  // Fresh subscriptions for this scenario: only its own type matches them.
  const type = `cost.s${tenantSubs}.b${s.batch}`;
  for (let i = 0; i < s.subscribers; i++) {
    await api(httpEvent('POST', '/v1/subscriptions', { url: receiverUrl, eventTypes: [type] }));
  }
  eventBridge.resetHistory();
  sqs.resetHistory();
  secrets.resetHistory();
  const before = { ...usage };
  const counts: Counts = {
    webhooks: 0,
    apiRequests: 0,
    invocations: {},
    gbSeconds: 0,
    ebEvents: 0,
    sqsHandlerRequests: 0,
    sqsModelled: 0,
    dynamoRead: 0,
    dynamoWrite: 0,
    dynamoRequests: 0,
    logBytes: 0,
    secretsCalls: 0,
  };
  const logBefore = logBytes;
  capturing = true;

  // Ingest.
  for (let i = 0; i < EVENTS; i += s.batch) {
    const n = Math.min(s.batch, EVENTS - i);
    const res =
      s.batch === 1
        ? await timed(counts, 'ingest', () => ingest(httpEvent('POST', '/v1/events', { type, data })))
        : await timed(counts, 'ingest', () =>
            ingest(
              httpEvent('POST', '/v1/events/batch', {
                events: Array.from({ length: n }, () => ({ type, data })),
              }),
            ),
          );
    if (res.statusCode !== 202) throw new Error(`ingest failed: ${res.body}`);
    counts.apiRequests++;
  }
  const entries = eventBridge.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);
  counts.ebEvents = entries.reduce((sum, e) => sum + chunks64k(Buffer.byteLength(e.Detail ?? '')), 0);
  // The rule sends each event to the fanout queue: one SendMessage each.
  counts.sqsModelled += entries.length;

  // Fanout, in full batches of 10 as the event source mapping delivers them under load.
  const sentBefore = sqs.commandCalls(SendMessageBatchCommand).length;
  for (let i = 0; i < entries.length; i += 10) {
    const batch = entries.slice(i, i + 10).map((e) => sqsRecord(ruleDelivery(e)));
    const r = await timed(counts, 'fanout', () => fanout({ Records: batch }));
    if (r.batchItemFailures.length) throw new Error('fanout failed');
    counts.sqsModelled += 2; // ReceiveMessage + DeleteMessageBatch by the event source mapping
  }
  const tasks = sqs
    .commandCalls(SendMessageBatchCommand)
    .slice(sentBefore)
    .flatMap((c) => c.args[0].input.Entries ?? []);

  // Delivery, in full batches of 10.
  for (let i = 0; i < tasks.length; i += 10) {
    const batch = tasks.slice(i, i + 10).map((t) => sqsRecord(t.MessageBody ?? ''));
    const r = await timed(counts, 'delivery', () => delivery({ Records: batch }));
    if (r.batchItemFailures.length) throw new Error('delivery failed');
    counts.sqsModelled += 2;
  }
  capturing = false;
  counts.webhooks = tasks.length;
  counts.sqsHandlerRequests =
    sqs
      .commandCalls(SendMessageBatchCommand)
      .reduce((sum, c) => sum + chunks64k(JSON.stringify(c.args[0].input.Entries).length), 0) +
    sqs.commandCalls(ChangeMessageVisibilityCommand).length;
  counts.dynamoRead = usage.dynamoRead - before.dynamoRead;
  counts.dynamoWrite = usage.dynamoWrite - before.dynamoWrite;
  counts.dynamoRequests = usage.dynamoRequests - before.dynamoRequests;
  counts.logBytes = logBytes - logBefore;
  counts.secretsCalls = secrets.commandCalls(GetSecretValueCommand).length;
  return counts;
}

const scenarios: Scenario[] = [
  { name: '1 subscriber, single ingest', subscribers: 1, batch: 1 },
  { name: '1 subscriber, batch ingest (100)', subscribers: 1, batch: 100 },
  { name: '3 subscribers, single ingest', subscribers: 3, batch: 1 },
  { name: '3 subscribers, batch ingest (100)', subscribers: 3, batch: 100 },
];

const TARGETS: Record<string, number> = {
  '1 subscriber, single ingest': 3.0,
  '1 subscriber, batch ingest (100)': 2.0,
};

const perMillion = (x: number, webhooks: number) => (x / webhooks) * 1e6;
const lines: string[] = [];
lines.push(
  `Cost per million webhooks delivered (us-east-1 list prices; ${PAYLOAD_BYTES} B payload; ${EVENTS} events per scenario)`,
);
lines.push('');
const summary: string[] = [];
for (const s of scenarios) {
  const c = await runScenario(s, s.subscribers);
  const invocations = Object.values(c.invocations).reduce((a, b) => a + b, 0);
  const rows: Array<[string, string, number]> = [
    [
      'API Gateway',
      `${(c.apiRequests / c.webhooks).toFixed(3)} requests/webhook`,
      c.apiRequests * PRICE.apiGatewayRequest,
    ],
    [
      'EventBridge',
      `${(c.ebEvents / c.webhooks).toFixed(3)} events/webhook`,
      c.ebEvents * PRICE.eventBridgeEvent,
    ],
    [
      'SQS',
      `${((c.sqsHandlerRequests + c.sqsModelled) / c.webhooks).toFixed(3)} requests/webhook (${c.sqsHandlerRequests} sent by functions, ${c.sqsModelled} by rule/pollers)`,
      (c.sqsHandlerRequests + c.sqsModelled) * PRICE.sqsRequest,
    ],
    [
      'Lambda requests',
      `${(invocations / c.webhooks).toFixed(3)} invocations/webhook (${Object.entries(c.invocations)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
      invocations * PRICE.lambdaRequest,
    ],
    [
      'Lambda duration',
      `${((c.gbSeconds / c.webhooks) * 1000).toFixed(3)} GB-ms/webhook (arm64, 256 MB)`,
      c.gbSeconds * PRICE.lambdaGbSecondArm,
    ],
    [
      'DynamoDB writes',
      `${(c.dynamoWrite / c.webhooks).toFixed(2)} WCU/webhook (tables + GSIs; ${(c.dynamoRequests / c.webhooks).toFixed(2)} requests/webhook in all)`,
      c.dynamoWrite * PRICE.dynamoWriteUnit,
    ],
    [
      'DynamoDB reads',
      `${(c.dynamoRead / c.webhooks).toFixed(2)} RCU/webhook`,
      c.dynamoRead * PRICE.dynamoReadUnit,
    ],
    [
      'CloudWatch Logs',
      `${(c.logBytes / c.webhooks).toFixed(0)} bytes/webhook`,
      (c.logBytes / 1e9) * PRICE.logsGb,
    ],
    [
      'Secrets Manager',
      `${c.secretsCalls} calls (cached per container)`,
      c.secretsCalls * PRICE.secretsManagerCall,
    ],
  ];
  const total = rows.reduce((sum, r) => sum + r[2], 0);
  lines.push(`${s.name}: ${c.webhooks} webhooks`);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  for (const [service, detail, cost] of rows) {
    lines.push(`  ${service.padEnd(w0)}  $${perMillion(cost, c.webhooks).toFixed(3).padStart(6)}  ${detail}`);
  }
  const target = TARGETS[s.name];
  const verdict =
    target === undefined
      ? ''
      : `  (target <= $${target.toFixed(2)}: ${perMillion(total, c.webhooks) <= target ? 'PASS' : 'MISS'})`;
  lines.push(`  ${'total'.padEnd(w0)}  $${perMillion(total, c.webhooks).toFixed(3).padStart(6)}${verdict}`);
  lines.push('');
  summary.push(`${s.name.padEnd(36)} $${perMillion(total, c.webhooks).toFixed(2)} per million${verdict}`);
}
lines.push('Summary');
lines.push(...summary.map((l) => `  ${l}`));
lines.push('');
lines.push('Reference: EventBridge API destinations ~$1.20 per million (no signing, no subscription store);');
lines.push("Svix's first paid tier $490/month.");
write(`${lines.join('\n')}\n`);

receiver.close();
receiver.closeAllConnections();
await dynamo.close();
process.exit(0);
