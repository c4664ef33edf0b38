/**
 * The arithmetic of `npm run cost`, apart from the measuring (bench/cost.ts) so it can be
 * checked by tests: list prices, the assumptions, batch fill from an arrival rate, and priced
 * lines from counts. Every line carries its unit price and its count per million webhooks, so a
 * reader can redo it by hand.
 */

/** List prices, us-east-1 (shared/reference/aws.md, unless marked). */
export const PRICE = {
  apiGatewayRequest: 1.0 / 1e6, // HTTP API, per 512 KB
  lambdaRequest: 0.2 / 1e6,
  lambdaGbSecondArm: 0.0000133334,
  eventBridgeEvent: 1.0 / 1e6, // per 64 KB chunk
  sqsRequest: 0.4 / 1e6, // per 64 KB chunk
  dynamoWriteUnit: 0.625 / 1e6,
  dynamoReadUnit: 0.125 / 1e6,
  dynamoStorageGbMonth: 0.25,
  dynamoPitrGbMonth: 0.2,
  logsIngestedGb: 0.5,
  secretsManagerCall: 0.05 / 10_000,
  // Not in aws.md; from the AWS pricing pages as we know them, not confirmed here:
  archiveIngestedGb: 0.1, // EventBridge archive: events archived
  archiveStoredGbMonth: 0.023,
  transferOutGb: 0.09, // data transfer out to the internet, first 10 TB
  logsStoredGbMonth: 0.03,
  alarmMonth: 0.1, // standard-resolution alarm
  dashboardMonth: 3.0,
  customMetricMonth: 0.3,
  secretMonth: 0.4,
} as const;

/** What the model assumes where nothing here can measure it. */
export const ASSUMED = {
  /** Pollers of an SQS event source mapping at these rates (Lambda starts with five). */
  pollers: 5,
  /** How long one ReceiveMessage takes to come back with what is there. */
  pollLatencyMs: 20,
  /** Long polling: an idle poller asks every 20 s. */
  longPollSeconds: 20,
  /** AWS call latencies inside a function, per sequential round (parallel calls count once). */
  latencyMs: { putEvents: 20, sqsSend: 10, dynamoRead: 5, dynamoWrite: 10, receiver: 100 },
  /** Lambda's own log lines per invocation (platform.start, platform.report in JSON). */
  platformLogBytesPerInvocation: 600,
  /** A cold start every this many invocations, each billed for its INIT. */
  invocationsPerColdStart: 10_000,
  initMs: 300,
  /** Bytes on the wire around a webhook's body: TLS records, TCP/IP, HTTP response. */
  transferOverheadBytes: 400,
  memoryGb: 0.25,
  /** Retention of the table's events and deliveries (RELAY_RETENTION_DAYS default). */
  retentionDays: 30,
  /** Log groups keep one month (the stack's retention). */
  logRetentionMonths: 1,
} as const;

const DAYS_PER_MONTH = 30.4;

/**
 * Messages per batch a Lambda SQS event source delivers, at `ratePerSec` messages arriving, with a
 * batching window of `windowSeconds` and batches of at most `maxBatch`. Arrivals spread over the
 * pollers. With a window a poller gathers until the batch is full or the window ends (the first
 * message plus what arrives meanwhile); with none, a poll returns what came during one poll.
 */
export function batchFill(
  ratePerSec: number,
  windowSeconds: number,
  maxBatch = 10,
  a: Pick<typeof ASSUMED, 'pollers' | 'pollLatencyMs'> = ASSUMED,
): number {
  const perPoller = ratePerSec / a.pollers;
  const gathered = windowSeconds > 0 ? 1 + perPoller * windowSeconds : perPoller * (a.pollLatencyMs / 1000);
  return Math.min(maxBatch, Math.max(1, gathered));
}

/** What one scenario measured, per webhook (a webhook = one delivery to one subscription). */
export interface Measured {
  /** Ingest requests per webhook (1 single, 0.01 in batches of 100, 1/3 with 3 subscribers). */
  apiRequests: number;
  /** PutEvents entries per webhook and their 64 KB chunks. */
  busEntries: number;
  busChunks: number;
  /** Bytes of those entries' details per webhook (the archive keeps them). */
  busBytes: number;
  /** Delivery tasks each fanout message makes. */
  tasksPerFanoutMessage: number;
  /** Write and read units per webhook, tables and indexes, as DynamoDB counts them. */
  writeUnits: number;
  /** Reads per fanout invocation (the subscription query) and per delivery task (BatchGetItem). */
  fanoutReadUnitsPerInvocation: number;
  deliveryReadUnitsPerTask: number;
  /** CPU per message in each function, measured on this machine. */
  cpuMs: { ingest: number; fanout: number; delivery: number };
  /** Bytes the functions log per webhook (at INFO). */
  logBytes: number;
  /** Bytes each webhook leaves in the table (items + 100 B each), for the retention. */
  storedBytes: number;
  /** Bytes of one POST to the receiver (request line, headers, body). */
  requestBytes: number;
  /** Bytes of one API access log line. */
  accessLogBytes: number;
}

export interface Line {
  item: string;
  /** Unit price in dollars and what the unit is. */
  unitPrice: number;
  unit: string;
  /** Units per million webhooks. */
  count: number;
  /** Dollars per million webhooks (unitPrice x count). */
  cost: number;
  note?: string;
}

const line = (item: string, unitPrice: number, unit: string, count: number, note?: string): Line => ({
  item,
  unitPrice,
  unit,
  count,
  cost: unitPrice * count,
  ...(note ? { note } : {}),
});

/** Lambda GB-s of invocations of `ms` each, rounded up to the millisecond as Lambda bills. */
const gbSeconds = (invocations: number, ms: number, memoryGb: number) =>
  invocations * (Math.ceil(ms) / 1000) * memoryGb;

/** The priced lines of one million webhooks at `rate` webhooks/s and a batching window. */
export function priceLines(m: Measured, rate: number, windowSeconds: number, a = ASSUMED): Line[] {
  const M = 1e6;
  const L = a.latencyMs;
  // Fanout: messages are bus entries; each batch is one invocation, a receive and a delete.
  const fanoutMessages = m.busEntries * M;
  const fanoutFill = batchFill(rate * m.busEntries, windowSeconds);
  const fanoutBatches = fanoutMessages / fanoutFill;
  const tasksPerFanout = fanoutFill * m.tasksPerFanoutMessage;
  const taskSends = fanoutBatches * Math.ceil(tasksPerFanout / 10);
  // Delivery: one task per webhook.
  const deliveryFill = batchFill(rate, windowSeconds);
  const deliveryBatches = M / deliveryFill;
  const ingestCalls = m.apiRequests * M;
  const invocations = ingestCalls + fanoutBatches + deliveryBatches;

  // Duration: CPU per message plus the AWS calls' rounds (see ASSUMED.latencyMs).
  const ingestMs =
    L.putEvents * Math.max(1, Math.ceil(m.busEntries / m.apiRequests / 100)) +
    m.cpuMs.ingest * (1 / m.apiRequests);
  const fanoutMs = L.dynamoRead + Math.max(L.dynamoWrite, L.sqsSend) + m.cpuMs.fanout * fanoutFill;
  const deliveryMs = L.dynamoRead + L.receiver + L.dynamoWrite + m.cpuMs.delivery * deliveryFill;
  const coldStarts = invocations / a.invocationsPerColdStart;
  const gbs =
    gbSeconds(ingestCalls, ingestMs, a.memoryGb) +
    gbSeconds(fanoutBatches, fanoutMs, a.memoryGb) +
    gbSeconds(deliveryBatches, deliveryMs, a.memoryGb) +
    gbSeconds(coldStarts, a.initMs, a.memoryGb);

  const gbMonthsStored = ((m.storedBytes * M) / 1e9) * (a.retentionDays / DAYS_PER_MONTH);
  const logGb =
    (m.logBytes * M + invocations * a.platformLogBytesPerInvocation + ingestCalls * m.accessLogBytes) / 1e9;
  return [
    line('API Gateway (HTTP API)', PRICE.apiGatewayRequest, 'request', ingestCalls),
    line(
      'Lambda requests',
      PRICE.lambdaRequest,
      'invocation',
      invocations,
      `ingest ${fmt(ingestCalls)}, fanout ${fmt(fanoutBatches)} (fill ${fanoutFill.toFixed(1)}), delivery ${fmt(deliveryBatches)} (fill ${deliveryFill.toFixed(1)})`,
    ),
    line(
      'Lambda duration (arm64, 256 MB)',
      PRICE.lambdaGbSecondArm,
      'GB-s',
      gbs,
      `per invocation: ingest ${ingestMs.toFixed(0)} ms, fanout ${fanoutMs.toFixed(0)} ms, delivery ${deliveryMs.toFixed(0)} ms; INIT of ${fmt(coldStarts)} cold starts`,
    ),
    line(
      'EventBridge PutEvents',
      PRICE.eventBridgeEvent,
      '64 KB chunk',
      m.busChunks * M,
      `${m.busEntries.toFixed(3)} entries per webhook`,
    ),
    line('SQS: rule -> fanout queue', PRICE.sqsRequest, 'request', m.busChunks * M),
    line('SQS: fanout receive + delete', PRICE.sqsRequest, 'request', 2 * fanoutBatches),
    line(
      'SQS: tasks sent',
      PRICE.sqsRequest,
      'request',
      taskSends,
      `${tasksPerFanout.toFixed(1)} tasks per fanout invocation`,
    ),
    line('SQS: delivery receive + delete', PRICE.sqsRequest, 'request', 2 * deliveryBatches),
    line(
      'DynamoDB writes',
      PRICE.dynamoWriteUnit,
      'write unit',
      m.writeUnits * M,
      `${m.writeUnits.toFixed(2)} per webhook`,
    ),
    line(
      'DynamoDB reads',
      PRICE.dynamoReadUnit,
      'read unit',
      fanoutBatches * m.fanoutReadUnitsPerInvocation + M * m.deliveryReadUnitsPerTask,
    ),
    line(
      'DynamoDB storage',
      PRICE.dynamoStorageGbMonth,
      'GB-month',
      gbMonthsStored,
      `${m.storedBytes.toFixed(0)} B per webhook for ${a.retentionDays} days`,
    ),
    line('DynamoDB PITR', PRICE.dynamoPitrGbMonth, 'GB-month', gbMonthsStored),
    line(
      'CloudWatch Logs ingestion',
      PRICE.logsIngestedGb,
      'GB',
      logGb,
      `functions ${m.logBytes.toFixed(0)} B/webhook, platform ${a.platformLogBytesPerInvocation} B/invocation, access ${m.accessLogBytes} B/request`,
    ),
    line(
      'CloudWatch Logs storage',
      PRICE.logsStoredGbMonth,
      'GB-month',
      logGb * a.logRetentionMonths * 0.15,
      'kept 1 month, stored compressed (~15 % of ingested)',
    ),
    line(
      'EventBridge archive',
      PRICE.archiveIngestedGb,
      'GB archived',
      (m.busBytes * M) / 1e9,
      'price unconfirmed',
    ),
    line(
      'EventBridge archive storage',
      PRICE.archiveStoredGbMonth,
      'GB-month',
      ((m.busBytes * M) / 1e9) * (a.retentionDays / DAYS_PER_MONTH),
      'price unconfirmed',
    ),
    line(
      'Data transfer out',
      PRICE.transferOutGb,
      'GB',
      ((m.requestBytes + a.transferOverheadBytes) * M) / 1e9,
      `${m.requestBytes} B request + ${a.transferOverheadBytes} B overhead per webhook; price unconfirmed`,
    ),
  ];
}

export const totalOf = (lines: readonly Line[]) => lines.reduce((sum, l) => sum + l.cost, 0);

/**
 * The pipeline's floor, the part no design of ours can remove: API Gateway, the ingest
 * function's requests, EventBridge, the rule's SQS send, full batches of fanout and delivery
 * (receive, delete, send, invocation). No storage, no logs.
 */
export function floorOf(m: Measured): number {
  const sqs = m.busChunks + (2 * m.busEntries) / 10 + 1 / 10 + 2 / 10;
  return (
    m.apiRequests * (PRICE.apiGatewayRequest + PRICE.lambdaRequest) * 1e6 +
    m.busChunks * PRICE.eventBridgeEvent * 1e6 +
    sqs * PRICE.sqsRequest * 1e6 +
    (m.busEntries / 10 + 1 / 10) * PRICE.lambdaRequest * 1e6
  );
}

/** Monthly items that do not grow with traffic. */
export function fixedMonthly(
  counts: {
    pollingSources: number;
    alarms: number;
    dashboards: number;
    customMetrics: number;
    secrets: number;
  },
  a = ASSUMED,
): Line[] {
  const idlePolls = counts.pollingSources * a.pollers * ((DAYS_PER_MONTH * 86_400) / a.longPollSeconds);
  return [
    line(
      'SQS empty polls (idle)',
      PRICE.sqsRequest,
      'request',
      idlePolls,
      `${counts.pollingSources} event sources x ${a.pollers} pollers, one long poll per ${a.longPollSeconds} s`,
    ),
    line('CloudWatch alarms', PRICE.alarmMonth, 'alarm', counts.alarms),
    line('CloudWatch dashboard', PRICE.dashboardMonth, 'dashboard', counts.dashboards),
    line('Custom metrics (EMF)', PRICE.customMetricMonth, 'metric', counts.customMetrics),
    line('Secrets Manager secret', PRICE.secretMonth, 'secret', counts.secrets),
  ];
}

/**
 * One million deliveries that fail every attempt over the retry schedule and end in the DLQ:
 * each scheduled attempt is a receive of a batch share, a delayed copy sent for the next one,
 * and the record rewritten (its size grows with its attempts: `recordUnits[k]` for k attempts);
 * a wait over 15 minutes travels as a chain of delayed copies (a receive and a send per leg, no
 * store work); the last attempt marks it dead (DLQ index entry) and its message reaches the DLQ
 * after its last receives.
 */
export function failingLines(
  schedule: readonly number[],
  recordUnits: readonly number[],
  opts: { rate: number; windowSeconds: number; legSeconds: number; receivesToDlq: number },
  a = ASSUMED,
): Line[] {
  const M = 1e6;
  const attempts = schedule.length + 1;
  const legs = schedule.reduce((n, wait) => n + Math.max(0, Math.ceil(wait / opts.legSeconds) - 1), 0);
  const fill = batchFill(opts.rate, opts.windowSeconds);
  const receives = attempts + legs + opts.receivesToDlq;
  const batches = receives / fill;
  // recordUnits[k]: the record's write with k attempts; the last one's includes its DLQ index entry.
  const writeUnits = recordUnits.slice(1, attempts + 1).reduce((s, u) => s + u, 0);
  // An attempt's batch reads, POSTs and writes; a leg or a receive on the way to the DLQ only
  // sends on (or gives the message back).
  const attemptMs = a.latencyMs.dynamoRead + a.latencyMs.receiver + a.latencyMs.dynamoWrite;
  const legMs = a.latencyMs.sqsSend;
  const gbs =
    gbSeconds((attempts / fill) * M, attemptMs, a.memoryGb) +
    gbSeconds(((legs + opts.receivesToDlq) / fill) * M, legMs, a.memoryGb);
  return [
    line(
      'SQS receive + delete (attempts, legs, DLQ receives)',
      PRICE.sqsRequest,
      'request',
      2 * batches * M,
      `${attempts} attempts, ${legs} legs, ${opts.receivesToDlq} receives to the DLQ, fill ${fill.toFixed(1)}`,
    ),
    // The copies of one received batch go out together, in one SendMessageBatch.
    line(
      'SQS delayed copies sent',
      PRICE.sqsRequest,
      'request',
      ((schedule.length + legs) / fill) * M,
      `${schedule.length + legs} copies per delivery, sent ${fill.toFixed(1)} to a request`,
    ),
    line('Lambda requests', PRICE.lambdaRequest, 'invocation', batches * M),
    line(
      'Lambda duration',
      PRICE.lambdaGbSecondArm,
      'GB-s',
      gbs,
      `${attemptMs} ms per invocation of attempts, ${legMs} ms of legs and DLQ receives`,
    ),
    line(
      'DynamoDB writes (record per attempt, DLQ index)',
      PRICE.dynamoWriteUnit,
      'write unit',
      writeUnits * M,
      `${writeUnits} per delivery`,
    ),
    line('DynamoDB reads', PRICE.dynamoReadUnit, 'read unit', 2 * attempts * M),
    line(
      'Data transfer out',
      PRICE.transferOutGb,
      'GB',
      (attempts * 1500 * M) / 1e9,
      `${attempts} POSTs of ~1.5 KB`,
    ),
  ];
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0);
}
