import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoEndpointLimiter } from '../adapters/dynamodb/limits.ts';
import { DynamoOrderedStore } from '../adapters/dynamodb/ordering.ts';
import { DynamoStore } from '../adapters/dynamodb/store.ts';
import { NodeHttpSender } from '../adapters/http/sender.ts';
import { LocalEventBus } from '../adapters/local/event-bus.ts';
import { LocalFifoQueue } from '../adapters/local/fifo-queue.ts';
import { MemoryMetrics } from '../adapters/local/memory-metrics.ts';
import { LocalOrderedQueue } from '../adapters/local/ordered-queue.ts';
import { QueuePoller } from '../adapters/local/poller.ts';
import { LocalQueue } from '../adapters/local/queue.ts';
import { LocalReplayer } from '../adapters/local/replayer.ts';
import { LocalTaskQueue } from '../adapters/local/task-queue.ts';
import { logger } from '../commons/logger.ts';
import { CachedSchemaCatalog } from '../core/catalog/cache.ts';
import { type RelayConfig, targetPolicy } from '../core/config.ts';
import { ORDERED_DRAIN_MS, ORDERED_MAX_RECEIVES } from '../core/delivery/ordering.ts';
import { MAX_RECEIVES } from '../core/delivery/scheduling.ts';
import { BUS_SOURCE } from '../core/event.ts';
import { type Clock, systemClock } from '../core/ports.ts';
import { makeApiHandler } from '../handlers/api.ts';
import { makeDeliveryHandler } from '../handlers/delivery.ts';
import { makeFanoutHandler } from '../handlers/fanout.ts';
import {
  ChainAuthenticator,
  errorResponse,
  type HttpResult,
  json,
  PortalSessionAuthenticator,
  StaticKeyAuthenticator,
  StoreKeyAuthenticator,
} from '../handlers/http.ts';
import { makeIngestHandler } from '../handlers/ingest.ts';
import { makeOrderedHandler } from '../handlers/ordered.ts';
import { findRoute } from '../handlers/routes.ts';
import { GATEWAY_MAX_BODY_BYTES, toApiGatewayEvent, writeResult } from './apigw.ts';
import { ensureTable, localDynamoClient, startDynalite } from './dynalite.ts';
import { localConsoleHandler, localPortalHandler } from './portal.ts';

export interface LocalRelayOptions {
  config: RelayConfig;
  port?: number;
  host?: string;
  /** Bearer key of tenant `default`; generated when absent. */
  apiKey?: string;
  /** The admin key (tenant keys, DLQ redrive, replay); generated when absent. */
  adminKey?: string;
  /** Keep the table (dynalite) and queue contents here between runs; in memory when absent. */
  dataDir?: string;
  /** Delivery invocations at once (the event source mapping's maximum concurrency). */
  deliveryConcurrency?: number;
  deliveryBatchSize?: number;
  /** The delivery queue's in-flight limit (SQS: about 120,000); tests prove the bound with a small one. */
  queueInFlightLimit?: number;
  /** Run dynalite in a child process, off the relay's event loop (npm start does). */
  storageProcess?: boolean;
  clock?: Clock;
}

export interface LocalRelay {
  url: string;
  apiKey: string;
  adminKey: string;
  queues: { fanout: LocalQueue; fanoutDlq: LocalQueue; delivery: LocalQueue; deliveryDlq: LocalQueue };
  /** The ordered subscriptions' wake-ups (FIFO) and their DLQ. */
  fifoQueues: { ordered: LocalFifoQueue; orderedDlq: LocalFifoQueue };
  /** What the functions would publish to CloudWatch on AWS, counted in memory. */
  metrics: MemoryMetrics;
  /** Delivery handler invocations and their summed wall time: what Lambda would bill (benchmarks). */
  deliveryStats(): { invocations: number; busyMs: number };
  /** CPU time (µs) of the storage child process, when storage runs in one (benchmarks). */
  storageCpuMicros(): Promise<number | undefined>;
  /** True when no queue holds a visible or in-flight message and no handler is running. */
  idle(): boolean;
  close(): Promise<void>;
}

const TABLE_NAME = 'relay';
/** Delivery invocations at once and records per invocation, unless told (the stack's are 20 x 10). */
const DELIVERY_CONCURRENCY = 8;
const DELIVERY_BATCH_SIZE = 10;

/**
 * The relay on a laptop: the real Lambda handlers, wired to local adapters (in-process bus and
 * queues with SQS semantics, dynalite through the same DynamoDB adapter as AWS), behind an HTTP
 * server that speaks API Gateway payload v2 to them.
 */
export async function startLocalRelay(opts: LocalRelayOptions): Promise<LocalRelay> {
  const { config } = opts;
  const clock = opts.clock ?? systemClock;
  const apiKey = opts.apiKey ?? `rk_${randomBytes(24).toString('base64url')}`;
  const adminKey = opts.adminKey ?? `adm_${randomBytes(24).toString('base64url')}`;
  if (adminKey === apiKey) throw new Error('the admin key and the API key must differ');
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });

  const db = await startDynalite(
    opts.dataDir ? join(opts.dataDir, 'dynamodb') : undefined,
    opts.storageProcess,
  );
  const client = localDynamoClient(db.endpoint);
  await ensureTable(client, TABLE_NAME);
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const store = new DynamoStore(doc, TABLE_NAME, config.retentionDays);

  // Queue settings mirror the AWS stack: visibility well above a handler's run time, DLQs behind.
  const fanoutDlq = new LocalQueue('relay-fanout-dlq', { visibilityTimeoutSeconds: 30 });
  const fanout = new LocalQueue('relay-fanout', {
    visibilityTimeoutSeconds: 180,
    maxReceiveCount: 5,
    deadLetterQueue: fanoutDlq,
  });
  const deliveryDlq = new LocalQueue('relay-delivery-dlq', { visibilityTimeoutSeconds: 30 });
  const delivery = new LocalQueue('relay-delivery', {
    visibilityTimeoutSeconds: Math.ceil((config.attemptTimeoutMs / 1000) * 6 + 30),
    maxReceiveCount: MAX_RECEIVES,
    deadLetterQueue: deliveryDlq,
    ...(opts.queueInFlightLimit !== undefined ? { maxInFlight: opts.queueInFlightLimit } : {}),
  });
  const queues = { fanout, fanoutDlq, delivery, deliveryDlq };
  // Ordered subscriptions' wake-ups: a FIFO queue, one group per subscription (see ordering.ts).
  const orderedDlq = new LocalFifoQueue('relay-ordered-dlq.fifo', { visibilityTimeoutSeconds: 30 });
  const orderedQueue = new LocalFifoQueue('relay-ordered.fifo', {
    visibilityTimeoutSeconds: Math.ceil(ORDERED_DRAIN_MS / 1000 + (config.attemptTimeoutMs / 1000) * 2 + 30),
    maxReceiveCount: ORDERED_MAX_RECEIVES,
    deadLetterQueue: orderedDlq,
  });
  const fifoQueues = { ordered: orderedQueue, orderedDlq };
  const statePath = opts.dataDir ? join(opts.dataDir, 'queues.json') : undefined;
  if (statePath) await restoreQueues(statePath, queues, fifoQueues);

  const bus = new LocalEventBus([{ name: 'events-to-fanout', sources: [BUS_SOURCE], target: fanout }]);
  const tasks = new LocalTaskQueue(delivery, deliveryDlq);
  const ordered = {
    store: new DynamoOrderedStore(doc, TABLE_NAME),
    queue: new LocalOrderedQueue(orderedQueue),
  };
  const targets = targetPolicy(config);
  const sender = new NodeHttpSender(targets);
  // RELAY_API_KEY is tenant `default`'s; RELAY_ADMIN_KEY the operator's; keys created through
  // the admin API live in the table, as on AWS.
  const auth = new ChainAuthenticator([
    new StaticKeyAuthenticator({ [apiKey]: { tenant: 'default' }, [adminKey]: { admin: true } }),
    new StoreKeyAuthenticator(store),
    new PortalSessionAuthenticator(store, clock),
  ]);
  const metrics = new MemoryMetrics();
  const replayer = new LocalReplayer(store, bus);

  const catalog = new CachedSchemaCatalog(store, clock);
  const ingestHandler = makeIngestHandler({ bus, clock, auth, metrics, ledger: store, catalog });
  const apiHandler = makeApiHandler({
    store,
    bus,
    tasks,
    clock,
    auth,
    replayer,
    targets,
    secretGraceSeconds: config.secretGraceSeconds,
    openApi: async () => (await import('../handlers/openapi.ts')).openApiDocument(),
    // The portal is served by this server: its links name its own origin.
    portal: { sessions: store, url: (event) => `http://${event.headers.host ?? '127.0.0.1'}/portal` },
    portalPage: localPortalHandler(config.portalFrameAncestors),
    consolePage: localConsoleHandler(),
  });
  const deliveryConcurrency = opts.deliveryConcurrency ?? DELIVERY_CONCURRENCY;
  const deliveryBatch = opts.deliveryBatchSize ?? DELIVERY_BATCH_SIZE;
  const deliveryDeps = {
    // As on AWS (RELAY_DELIVERY_SLOTS): an endpoint allowed more than the fleet can send skips the count.
    config: { deliverySlots: deliveryConcurrency * deliveryBatch, ...config },
    limiter: new DynamoEndpointLimiter(doc, TABLE_NAME),
  };
  const deliveryPoller = new QueuePoller(
    delivery,
    makeDeliveryHandler({ ...deliveryDeps, store, tasks, ordered, sender, clock, metrics, bus }),
    { batchSize: deliveryBatch, concurrency: deliveryConcurrency, functionName: 'relay-delivery' },
  );
  const orderedPoller = new QueuePoller(
    orderedQueue,
    makeOrderedHandler({ ...deliveryDeps, store, tasks, ordered, sender, clock, metrics, bus }),
    // One wake-up per invocation, as on AWS (see the stack): a slow drain holds up no other.
    { batchSize: 1, concurrency: 8, functionName: 'relay-ordered' },
  );
  const pollers = [
    new QueuePoller(fanout, makeFanoutHandler({ store, tasks, ordered }), {
      batchSize: 10,
      concurrency: 2,
      functionName: 'relay-fanout',
    }),
    deliveryPoller,
    orderedPoller,
  ];
  for (const p of pollers) p.start();

  const server = createServer((req, res) => {
    handleRequest(req, res, { ingest: ingestHandler, api: apiHandler }).catch((err) => {
      writeResult(res, errorResponse(err));
    });
  });
  // Requests node:http's parser refuses before any handler runs (a bad method token, raw
  // non-ASCII in the target, headers over 16 KB) still get a JSON error, like every other 4xx.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return;
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const body = JSON.stringify({
      error: {
        code: 'invalid_request',
        message: `malformed HTTP request (${err.code ?? 'parse error'})`,
        details: [],
      },
    });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  server.keepAliveTimeout = 65_000;
  await listen(server, opts.port ?? 3000, opts.host ?? '127.0.0.1');
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host}:${port}`,
    apiKey,
    adminKey,
    queues,
    fifoQueues,
    metrics,
    storageCpuMicros: () => db.cpuMicros(),
    deliveryStats: () => deliveryPoller.stats(),
    idle: () =>
      pollers.every((p) => !p.busy) &&
      [fanout, delivery].every((q) => {
        const d = q.depth();
        return d.visible === 0 && d.inFlight === 0;
      }) &&
      // A held wake-up (an ordered retry waiting) is in flight but idle, like a delayed copy.
      orderedQueue.depth().visible === 0,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await replayer.drain();
      await Promise.all(pollers.map((p) => p.stop()));
      if (statePath) await saveQueues(statePath, queues, fifoQueues);
      for (const q of [...Object.values(queues), ...Object.values(fifoQueues)]) q.close();
      sender.close();
      client.destroy();
      await db.close();
    },
  };
}

type Handler = (event: ReturnType<typeof toApiGatewayEvent>) => Promise<HttpResult>;

async function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  handlers: { ingest: Handler; api: Handler },
) {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > GATEWAY_MAX_BODY_BYTES) {
      writeResult(
        res,
        json(413, {
          error: { code: 'payload_too_large', message: 'request body is larger than 10 MB', details: [] },
        }),
      );
      req.destroy();
      return;
    }
    chunks.push(chunk);
  }
  const method = (req.method ?? 'GET').toUpperCase();
  let url: URL;
  try {
    // Always a path: `//host/x` is a path starting with an empty segment, not a host to parse.
    url = new URL(`http://localhost${(req.url ?? '/').startsWith('/') ? req.url : `/${req.url}`}`);
  } catch {
    const message = 'request target is not a valid path';
    writeResult(res, json(400, { error: { code: 'invalid_request', message, details: [] } }));
    return;
  }
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  // Like the HTTP API: listed routes go to their function, everything else to `$default` (api).
  const found = findRoute(method, path);
  const matched = found && 'route' in found ? found : undefined;
  const routeKey = matched ? `${matched.route.method} ${matched.route.path}` : '$default';
  const event = toApiGatewayEvent(req, url, Buffer.concat(chunks), routeKey, matched?.params ?? {});
  const handler = matched?.route.target === 'ingest' ? handlers.ingest : handlers.api;
  writeResult(res, await handler(event));
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

type Queues = LocalRelay['queues'];
type FifoQueues = LocalRelay['fifoQueues'];

/**
 * Queue contents survive a clean stop when a data dir is set: every message, in flight or not,
 * is written out and comes back visible at the next start (as after a visibility timeout); a
 * FIFO queue's messages keep their order within their group.
 */
async function saveQueues(path: string, queues: Queues, fifo: FifoQueues): Promise<void> {
  const state = Object.fromEntries(Object.entries(queues).map(([k, q]) => [k, q.snapshot()]));
  const fifoState = Object.fromEntries(Object.entries(fifo).map(([k, q]) => [k, q.snapshot()]));
  await writeFile(path, JSON.stringify({ ...state, fifo: fifoState }));
}

async function restoreQueues(path: string, queues: Queues, fifo: FifoQueues): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return;
  }
  const { fifo: fifoState, ...state } = JSON.parse(text) as Record<
    string,
    Array<{ body: string; source?: string; groupId?: string }>
  > & {
    fifo?: Record<string, Array<{ body: string; source?: string; groupId: string }>>;
  };
  const byName = new Map(Object.values(queues).map((q) => [q.name, q]));
  for (const [key, messages] of Object.entries(state)) {
    const queue = queues[key as keyof Queues];
    if (!queue) continue;
    for (const m of messages) queue.send(m.body, 0, m.source ? byName.get(m.source) : undefined, m.groupId);
  }
  const fifoByName = new Map(Object.values(fifo).map((q) => [q.name, q]));
  for (const [key, messages] of Object.entries(fifoState ?? {})) {
    const queue = fifo[key as keyof FifoQueues];
    if (!queue) continue;
    // Fresh deduplication ids: two saved messages may share one (sent more than 5 minutes apart).
    for (const m of messages)
      queue.send(m.body, m.groupId, randomUUID(), m.source ? fifoByName.get(m.source) : undefined);
  }
  logger.info('restored queue contents', { path });
}
