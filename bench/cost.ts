/**
 * Cost model: `npm run cost` (`-- --markdown` for the README table). What a million webhooks
 * cost on AWS: the real Lambda entry modules run against dynalite and mocked SDK clients and are
 * measured; bench/cost-model.ts prices the counts at two arrival rates (10 and 1,000 webhooks/s)
 * with the stack's batching window, and lists the fixed monthly items apart.
 *
 * Measured here, per webhook: ingest requests; PutEvents entries, their 64 KB chunks and bytes;
 * tasks per fanout message; DynamoDB write and read units as dynalite reports them through a
 * metering proxy (ReturnConsumedCapacity, plus index write units from item sizes); CPU per
 * message of each function (dynalite runs in a child process, so it is not counted; the proxy
 * is, a little); bytes the functions log at INFO; bytes each webhook leaves in the table (a scan
 * after the scenario, DynamoDB's size rule + 100 B per item); bytes of the POST the receiver
 * gets. Modelled (bench/cost-model.ts, ASSUMED): batch fill from the rate, AWS call latencies,
 * platform log lines, cold starts, transfer overhead; the failing scenario from the retry
 * schedule and real record sizes.
 *
 * Environment: COST_EVENTS (default 200 per scenario), COST_PAYLOAD_BYTES (default 1024).
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
// @ts-expect-error dynalite ships no types for its internals; itemSize is DynamoDB's size rule.
import { itemSize } from 'dynalite/db/index.js';
import { deliveryItem } from '../functions/adapters/dynamodb/deliveries.ts';
import { indexEntry, TABLE_KEYS } from '../functions/adapters/dynamodb/table.ts';
import type { Delivery } from '../functions/core/delivery/model.ts';
import { DEFAULT_RETRY_SCHEDULE } from '../functions/core/delivery/retry.ts';
import { MAX_DELAY_SECONDS, MAX_RECEIVES } from '../functions/core/delivery/scheduling.ts';
import { METRICS } from '../functions/core/metrics.ts';
import { ensureTable, localDynamoClient, startDynalite } from '../functions/local/dynalite.ts';
import { DEFAULT_BATCHING_WINDOW_SECONDS, RelayStack } from '../infra/relay-stack.ts';
import { apiGatewayEvent, ruleDelivery, sqsRecord } from '../test/support/lambda-events.ts';
import { samplePayload } from '../test/support/sample-payload.ts';
import {
  ASSUMED,
  failingLines,
  fixedMonthly,
  floorOf,
  type Line,
  type Measured,
  PRICE,
  priceLines,
  totalOf,
} from './cost-model.ts';

const EVENTS = Number(process.env.COST_EVENTS ?? 200);
const PAYLOAD_BYTES = Number(process.env.COST_PAYLOAD_BYTES ?? 1024);
const MARKDOWN = process.argv.includes('--markdown');
/** The admin key in Secrets Manager; the measured traffic uses a tenant key made with it. */
const ADMIN_KEY = 'cost-admin-key';
let tenantKey = '';

// ---- DynamoDB: dynalite behind a proxy that measures consumed capacity --------------------
const usage = { dynamoRead: 0, dynamoWrite: 0, dynamoRequests: 0 };
type AttributeMap = Record<string, unknown>;
/** Write units of an item's index entries: each index's projection of it, by its own size. */
function gsiWriteUnits(item: AttributeMap): number {
  return TABLE_KEYS.indexes.reduce((units, index) => {
    const entry = indexEntry(item, index);
    return units + (entry ? Math.ceil(itemSize(entry) / 1024) : 0);
  }, 0);
}

async function startMeteredDynamo(): Promise<{ endpoint: string; close(): Promise<void> }> {
  const db = await startDynalite(undefined, true);
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
      if (process.env.COST_DEBUG && ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'].includes(op)) {
        const keys =
          op === 'BatchWriteItem'
            ? Object.values(
                body.RequestItems as Record<string, Array<{ PutRequest?: { Item: AttributeMap } }>>,
              )
                .flat()
                .map((w) => (w.PutRequest?.Item as { pk?: { S?: string } } | undefined)?.pk?.S)
            : [((body.Item ?? body.Key) as { pk?: { S?: string } } | undefined)?.pk?.S];
        for (const k of keys) process.stderr.write(`${op} ${String(k).split('#')[0]}\n`);
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
  RELAY_ORDERED_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/relay-ordered.fifo',
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
    if (process.env.COST_DEBUG) process.stderr.write(`LOG ${String(chunk).slice(0, 400)}\n`);
    return true;
  }
  return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

const { handler: ingest } = await import('../functions/lambda/ingest.ts');
const { handler: api } = await import('../functions/lambda/api.ts');
const { handler: fanout } = await import('../functions/lambda/fanout.ts');
const { handler: delivery } = await import('../functions/lambda/delivery.ts');

// A receiver on loopback that accepts everything and notes the size of what it got.
let requestBytes = 0;
const receiver = createServer((req, res) => {
  let bytes = `${req.method} ${req.url} HTTP/1.1\r\n`.length + 2;
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    bytes += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`.length;
  req.on('data', (c: Buffer) => {
    bytes += c.length;
  });
  req.on('end', () => {
    requestBytes = bytes;
    res.end('ok');
  });
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

type Fn = 'ingest' | 'fanout' | 'delivery';
const cpu = { ingest: 0, fanout: 0, delivery: 0 };
const reads = { ingest: 0, fanout: 0, delivery: 0 };
async function timed<T>(fn: Fn, run: () => Promise<T>): Promise<T> {
  const c0 = process.cpuUsage();
  const r0 = usage.dynamoRead;
  const result = await run();
  const c = process.cpuUsage(c0);
  cpu[fn] += (c.user + c.system) / 1000;
  reads[fn] += usage.dynamoRead - r0;
  return result;
}

/** Bytes of every item in the table, DynamoDB's way (+100 B of overhead per item). */
async function tableBytes(): Promise<number> {
  const client = localDynamoClient(dynamo.endpoint);
  let total = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const res = await client.send(
      new ScanCommand({ TableName: 'relay-table', ExclusiveStartKey: start as never }),
    );
    for (const item of res.Items ?? []) {
      // An index holds its projection of each item carrying its keys, with the same overhead.
      total += itemSize(item) + 100;
      for (const index of TABLE_KEYS.indexes) {
        const entry = indexEntry(item as AttributeMap, index);
        if (entry) total += itemSize(entry) + 100;
      }
    }
    start = res.LastEvaluatedKey;
  } while (start);
  client.destroy();
  return total;
}

const data = samplePayload(PAYLOAD_BYTES);

// As an operator would after deploying: a tenant key, made with the admin key.
{
  const made = await api(httpEvent('POST', '/v1/admin/api-keys', { tenant: 'cost' }, ADMIN_KEY));
  if (made.statusCode !== 201) throw new Error(`could not create a tenant key: ${made.body}`);
  tenantKey = JSON.parse(made.body ?? '{}').key;
}

async function runScenario(s: Scenario): Promise<Measured> {
  // Fresh subscriptions for this scenario: only its own type matches them.
  const type = `cost.s${s.subscribers}.b${s.batch}`;
  for (let i = 0; i < s.subscribers; i++) {
    await api(httpEvent('POST', '/v1/subscriptions', { url: receiverUrl, eventTypes: [type] }));
  }
  eventBridge.resetHistory();
  sqs.resetHistory();
  const before = { ...usage };
  const bytesBefore = await tableBytes();
  const logBefore = logBytes;
  for (const k of Object.keys(cpu) as Fn[]) {
    cpu[k] = 0;
    reads[k] = 0;
  }
  capturing = true;
  let apiRequests = 0;

  for (let i = 0; i < EVENTS; i += s.batch) {
    const n = Math.min(s.batch, EVENTS - i);
    const res =
      s.batch === 1
        ? await timed('ingest', () => ingest(httpEvent('POST', '/v1/events', { type, data })))
        : await timed('ingest', () =>
            ingest(
              httpEvent('POST', '/v1/events/batch', {
                events: Array.from({ length: n }, () => ({ type, data })),
              }),
            ),
          );
    if (res.statusCode !== 202) throw new Error(`ingest failed: ${res.body}`);
    apiRequests++;
  }
  const entries = eventBridge.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries ?? []);

  // Fanout and delivery in full batches of 10: CPU and reads are taken per message.
  const sentBefore = sqs.commandCalls(SendMessageBatchCommand).length;
  let fanoutInvocations = 0;
  for (let i = 0; i < entries.length; i += 10) {
    const batch = entries.slice(i, i + 10).map((e) => sqsRecord(ruleDelivery(e)));
    const r = await timed('fanout', () => fanout({ Records: batch }));
    if (r.batchItemFailures.length) throw new Error('fanout failed');
    fanoutInvocations++;
  }
  const tasks = sqs
    .commandCalls(SendMessageBatchCommand)
    .slice(sentBefore)
    .flatMap((c) => c.args[0].input.Entries ?? []);
  for (let i = 0; i < tasks.length; i += 10) {
    const batch = tasks.slice(i, i + 10).map((t) => sqsRecord(t.MessageBody ?? ''));
    const r = await timed('delivery', () => delivery({ Records: batch }));
    if (r.batchItemFailures.length) throw new Error('delivery failed');
  }
  capturing = false;
  const webhooks = tasks.length;
  const busBytes = entries.reduce((sum, e) => sum + Buffer.byteLength(e.Detail ?? ''), 0);
  return {
    apiRequests: apiRequests / webhooks,
    busEntries: entries.length / webhooks,
    busChunks: entries.reduce((sum, e) => sum + chunks64k(Buffer.byteLength(e.Detail ?? '')), 0) / webhooks,
    busBytes: busBytes / webhooks,
    tasksPerFanoutMessage: webhooks / entries.length,
    writeUnits: (usage.dynamoWrite - before.dynamoWrite) / webhooks,
    fanoutReadUnitsPerInvocation: reads.fanout / fanoutInvocations,
    deliveryReadUnitsPerTask: reads.delivery / webhooks,
    cpuMs: {
      ingest: cpu.ingest / (apiRequests * (webhooks / apiRequests)),
      fanout: cpu.fanout / entries.length,
      delivery: cpu.delivery / webhooks,
    },
    logBytes: (logBytes - logBefore) / webhooks,
    storedBytes: ((await tableBytes()) - bytesBefore) / webhooks,
    requestBytes,
    accessLogBytes: ACCESS_LOG_LINE_BYTES,
  };
}

/**
 * One API access log line in the stack's format (infra/relay-stack.ts) with typical values, plus
 * CloudWatch's 26 bytes of overhead per log event.
 */
const ACCESS_LOG_LINE_BYTES =
  JSON.stringify({
    requestId: 'Xk3fLgH2IAMEbQw=',
    ip: '203.0.113.10',
    routeKey: 'POST /v1/events',
    status: '202',
    latency: '31',
    integrationError: '-',
  }).length + 26;

const scenarios: Array<Scenario & { target?: number; stretch?: number }> = [
  { name: '1 subscriber, single ingest', subscribers: 1, batch: 1, target: 4.5 },
  { name: '1 subscriber, batch ingest (100)', subscribers: 1, batch: 100, target: 2.0, stretch: 1.2 },
  { name: '3 subscribers, single ingest', subscribers: 3, batch: 1 },
  { name: '3 subscribers, batch ingest (100)', subscribers: 3, batch: 100 },
];
const RATES = [10, 1000];
const WINDOW = DEFAULT_BATCHING_WINDOW_SECONDS;

const money = (x: number) => `$${x.toFixed(3)}`;
const out: string[] = [];
const md: string[] = [];
out.push(
  `Cost per million webhooks (us-east-1 list prices; ${PAYLOAD_BYTES} B payload; ${EVENTS} events measured per scenario; batching window ${WINDOW} s; ${ASSUMED.retentionDays}-day retention)`,
);
out.push('');
md.push(
  '| scenario | at 10/s | at 1,000/s | at 1,000/s, no window | floor | target (1,000/s) |',
  '|---|---|---|---|---|---|',
);
const measuredAll: Array<[string, Measured]> = [];
for (const s of scenarios) {
  const m = await runScenario(s);
  measuredAll.push([s.name, m]);
  const at = (rate: number, window = WINDOW) => priceLines(m, rate, window);
  const full = at(1000);
  const t1000 = totalOf(full);
  const t10 = totalOf(at(10));
  const t0 = totalOf(at(1000, 0));
  const floor = floorOf(m);
  const verdict =
    s.target === undefined
      ? ''
      : `target <= $${s.target.toFixed(2)}: ${t1000 <= s.target ? 'met' : 'NOT met'}${
          s.stretch === undefined
            ? ''
            : `; stretch <= $${s.stretch.toFixed(2)}: ${t1000 <= s.stretch ? 'met' : 'not met'}`
        }`;
  out.push(
    `${s.name} (measured: ${m.writeUnits.toFixed(2)} WU, ${m.storedBytes.toFixed(0)} B stored, ${m.logBytes.toFixed(0)} B logged per webhook)`,
  );
  out.push('  at 1,000 webhooks/s:');
  const w = Math.max(...full.map((l) => l.item.length));
  for (const l of full) {
    out.push(
      `    ${l.item.padEnd(w)}  ${money(l.cost).padStart(7)}  = ${l.count.toPrecision(4).padStart(10)} ${l.unit} x $${l.unitPrice.toPrecision(4)}${l.note ? `  (${l.note})` : ''}`,
    );
  }
  out.push(`    ${'total'.padEnd(w)}  ${money(t1000).padStart(7)}${verdict ? `  ${verdict}` : ''}`);
  out.push(`    ${'floor (pipeline only)'.padEnd(w)}  ${money(floor).padStart(7)}`);
  out.push(`  at 10 webhooks/s: ${money(t10)}; at 1,000/s with no batching window: ${money(t0)}`);
  out.push('');
  md.push(
    `| ${s.name} | $${t10.toFixed(2)} | **$${t1000.toFixed(2)}** | $${t0.toFixed(2)} | $${floor.toFixed(2)} | ${s.target === undefined ? '' : `<= $${s.target.toFixed(2)}: ${t1000 <= s.target ? 'met' : 'not met'}`} |`,
  );
}

// ---- one million deliveries that fail every attempt ----------------------------------------
const failedRecord = (attempts: number): Delivery => ({
  id: 'dlv_01M8WG40VH2NY4QQ118K0Bsub_01JEXAMPLESUBSCRIPTION0001',
  tenant: 'cost',
  eventId: 'evt_01JEXAMPLE000000000000000',
  eventType: 'shipment.delivered',
  subscriptionId: 'sub_01JEXAMPLESUBSCRIPTION0001',
  url: 'https://hooks.customer.example/webhooks/relay',
  status: attempts > DEFAULT_RETRY_SCHEDULE.length ? 'dead' : 'pending',
  attempts: Array.from({ length: attempts }, (_, i) => ({
    attempt: i + 1,
    at: '2026-12-01T10:00:00.000Z',
    status: 500,
    durationMs: 120,
    error: 'HTTP 500',
    responseBody:
      '<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>',
    trigger: 'scheduled' as const,
  })),
  lastError: 'HTTP 500',
  createdAt: '2026-12-01T10:00:00.000Z',
  updatedAt: '2026-12-01T10:00:00.000Z',
  ...(attempts > DEFAULT_RETRY_SCHEDULE.length
    ? { deadMessageId: 'm-1', deadAt: '2026-12-01T10:00:00.000Z' }
    : {}),
});
const recordUnits = Array.from({ length: DEFAULT_RETRY_SCHEDULE.length + 2 }, (_, k) => {
  const item = deliveryItem(failedRecord(k), 1);
  const marshalled = marshall(item, { removeUndefinedValues: true });
  return Math.ceil(itemSize(marshalled) / 1024) + gsiWriteUnits(marshalled);
});
out.push(
  `1 million deliveries failing every attempt (schedule ${DEFAULT_RETRY_SCHEDULE.join(', ')} s), ending in the DLQ:`,
);
for (const rate of RATES) {
  const lines = failingLines(DEFAULT_RETRY_SCHEDULE, recordUnits, {
    rate,
    windowSeconds: WINDOW,
    legSeconds: 900,
    receivesToDlq: MAX_RECEIVES - 1,
  });
  if (rate === 1000) {
    const w = Math.max(...lines.map((l) => l.item.length));
    for (const l of lines)
      out.push(
        `    ${l.item.padEnd(w)}  ${money(l.cost).padStart(7)}  = ${l.count.toPrecision(4).padStart(10)} ${l.unit} x $${l.unitPrice.toPrecision(4)}${l.note ? `  (${l.note})` : ''}`,
      );
  }
  out.push(`  total at ${rate}/s: ${money(totalOf(lines))} (on top of their ingest and fanout)`);
  if (rate === 1000)
    md.push(
      `| 1 M failing deliveries, every retry to the DLQ | $${totalOf(failingLines(DEFAULT_RETRY_SCHEDULE, recordUnits, { rate: 10, windowSeconds: WINDOW, legSeconds: 900, receivesToDlq: MAX_RECEIVES - 1 })).toFixed(2)} | **$${totalOf(lines).toFixed(2)}** | | | on top of ingest |`,
    );
}
void MAX_DELAY_SECONDS;
out.push('');

// ---- fixed monthly items, from the synthesized stack ----------------------------------------
const template = Template.fromStack(new RelayStack(new App(), 'Cost')).toJSON() as {
  Resources: Record<string, { Type: string }>;
};
const countOf = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type).length;
const fixed = fixedMonthly({
  pollingSources: countOf('AWS::Lambda::EventSourceMapping'),
  alarms: countOf('AWS::CloudWatch::Alarm'),
  dashboards: countOf('AWS::CloudWatch::Dashboard'),
  customMetrics: Object.keys(METRICS).length,
  secrets: countOf('AWS::SecretsManager::Secret'),
});
out.push('Fixed monthly items (whatever the traffic):');
for (const l of fixed)
  out.push(
    `    ${l.item.padEnd(28)}  ${money(l.cost).padStart(7)}  = ${l.count.toPrecision(4)} ${l.unit} x $${l.unitPrice}${l.note ? `  (${l.note})` : ''}`,
  );
out.push(`    ${'total per month'.padEnd(28)}  ${money(totalOf(fixed)).padStart(7)}`);
out.push('');
out.push('Assumptions (bench/cost-model.ts, ASSUMED):');
out.push(
  `  ${ASSUMED.pollers} pollers per event source, a poll returns in ${ASSUMED.pollLatencyMs} ms; AWS call latencies ${Object.entries(
    ASSUMED.latencyMs,
  )
    .map(([k, v]) => `${k} ${v} ms`)
    .join(', ')};`,
);
out.push(
  `  ${ASSUMED.platformLogBytesPerInvocation} B of platform log lines per invocation; a cold start (${ASSUMED.initMs} ms INIT) per ${ASSUMED.invocationsPerColdStart} invocations; ${ASSUMED.transferOverheadBytes} B of transfer overhead per webhook.`,
);
out.push(
  'Reference: EventBridge API destinations ~$1.20 per million (no signing, subscriptions or log); Hookdeck $3.30-10; Svix ~$100.',
);
void PRICE;
void (null as unknown as Line);
write(`${(MARKDOWN ? md : out).join('\n')}\n`);

receiver.close();
receiver.closeAllConnections();
await dynamo.close();
process.exit(0);
