/**
 * Delivery at scale on loopback, the second half of `npm run bench` (or `npm run bench:scale`).
 * Each phase runs the real local relay (functions/local/runtime.ts) against an in-process
 * receiver that answers after a fixed delay, and reports a ratio measured in the same run:
 *   6. one busy endpoint: every answer after 200 ms, one subscription with the default
 *      maxInFlight (50): delivered/s against the ideal min(maxInFlight, delivery slots) / 0.2 s;
 *   7. billed time: answers after 100 ms; delivery handler wall time per webhook (what Lambda
 *      bills) against 100 ms, with the delivery slots (concurrency x batch) equal to maxInFlight,
 *      as an operator sizes a fleet for a busy endpoint; and with the local default slots (80);
 *   8. in-flight bound: half the deliveries go to an endpoint that answers 500 to everything,
 *      retried every second; the delivery queue's peak in-flight count against concurrency x batch;
 *   9. rate limit: `rateLimitPerSecond: 50` and a backlog that lasts > 30 s; requests per second
 *      over 30 s (from the 3rd second) against 50, and the busiest 10 s window against 500;
 *  10. ordered delivery: one `ordering: "fifo"` subscription, answers after 20 ms, every 50th
 *      event refused once; whether the receiver saw every event in ingest order, and its 2xx per
 *      second against the ideal of one request at a time, 1 / 20 ms (retries' waits excluded).
 *
 * Environment (all optional): BENCH_SCALE_PHASES (default 6,7,8,9,10), BENCH_BUSY_EVENTS (3000),
 * BENCH_BILLED_EVENTS (3000), BENCH_INFLIGHT_EVENTS (2000), BENCH_RATE_EVENTS (2000),
 * BENCH_ORDERED_EVENTS (1000).
 * A missed target is reported, never an error.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalRelay, LocalRelayOptions } from '../functions/local/runtime.ts';

process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
const { startLocalRelay } = await import('../functions/local/runtime.ts');
const { configFromEnv } = await import('../functions/core/config.ts');

const num = (name: string, fallback: number) => {
  const raw = process.env[name];
  const n = raw ? Number(raw) : fallback;
  if (!Number.isInteger(n) || n < 100 || n > 100_000)
    throw new Error(`${name} must be 100-100000, got "${raw}"`);
  return n;
};
const PHASES = new Set((process.env.BENCH_SCALE_PHASES ?? '6,7,8,9,10').split(',').map((p) => p.trim()));
const BUSY_EVENTS = num('BENCH_BUSY_EVENTS', 3000);
const BILLED_EVENTS = num('BENCH_BILLED_EVENTS', 3000);
const INFLIGHT_EVENTS = num('BENCH_INFLIGHT_EVENTS', 2000);
const RATE_EVENTS = num('BENCH_RATE_EVENTS', 2000);
const ORDERED_EVENTS = num('BENCH_ORDERED_EVENTS', 1000);
const API_KEY = 'bench-key';
/** The local runtime's delivery fleet unless a phase says otherwise: 8 invocations x 10. */
const LOCAL_CONCURRENCY = 8;
const BATCH = 10;
const DEFAULT_MAX_IN_FLIGHT = 50;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A receiver on loopback answering 200 (or `status`) after `delayMs`, recording arrival times. */
async function receiver(delayMs: number, status = 200) {
  const arrivals: number[] = [];
  const ids = new Set<string>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrivals.push(performance.now());
      ids.add(String(req.headers['webhook-id']));
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end('ok');
      }, delayMs);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    arrivals,
    ids,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function relayWith(opts: Partial<LocalRelayOptions> & { delays?: number[] } = {}): Promise<LocalRelay> {
  const base = configFromEnv({});
  return startLocalRelay({
    config: {
      ...base,
      allowPrivateTargets: true,
      retry: { delays: opts.delays ?? base.retry.delays, jitter: 0 },
    },
    port: 0,
    apiKey: API_KEY,
    storageProcess: true,
    ...opts,
  });
}

async function call(relay: LocalRelay, path: string, body: unknown): Promise<{ id: string }> {
  const res = await fetch(`${relay.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string };
}

/** Ingests `count` ~1 KB events in batches of 100, four requests in flight. */
async function ingest(relay: LocalRelay, count: number): Promise<void> {
  const pad = 'x'.repeat(900);
  const batches = Array.from({ length: Math.ceil(count / 100) }, (_, b) =>
    Array.from({ length: Math.min(100, count - b * 100) }, (_, i) => ({
      type: 'bench.scale',
      data: { seq: b * 100 + i, pad },
    })),
  );
  const next = async (): Promise<void> => {
    const events = batches.shift();
    if (!events) return;
    await call(relay, '/v1/events/batch', { events });
    await next();
  };
  await Promise.all([next(), next(), next(), next()]);
}

/** Polls `done` until true or `timeoutMs`; returns whether it finished. */
async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

type Row = [string, string, string, string];
const rows: Row[] = [];
const fmt = (n: number, d = 2) => n.toFixed(d);
const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');

async function busyEndpoint(): Promise<void> {
  const rx = await receiver(200);
  const relay = await relayWith();
  try {
    await call(relay, '/v1/subscriptions', { url: rx.url, eventTypes: ['*'] });
    const t0 = performance.now();
    await ingest(relay, BUSY_EVENTS);
    const complete = await until(() => rx.ids.size >= BUSY_EVENTS, 120_000);
    const seconds = ((rx.arrivals.at(-1) ?? t0) - t0) / 1000 + 0.2;
    const perSec = rx.ids.size / seconds;
    const ideal = Math.min(DEFAULT_MAX_IN_FLIGHT, LOCAL_CONCURRENCY * BATCH) / 0.2;
    const ratio = perSec / ideal;
    rows.push([
      `6 busy endpoint (200 ms, maxInFlight 50, ${LOCAL_CONCURRENCY}x${BATCH} slots): delivered/s / ideal ${ideal}`,
      `${fmt(perSec, 0)}/s = ${fmt(ratio)}${complete ? '' : ` (only ${rx.ids.size} of ${BUSY_EVENTS})`}`,
      '>= 0.8',
      verdict(complete && ratio >= 0.8),
    ]);
  } finally {
    await relay.close();
    await rx.close();
  }
}

async function billedTime(concurrency: number, label: string, target: boolean): Promise<void> {
  const rx = await receiver(100);
  const relay = await relayWith({ deliveryConcurrency: concurrency });
  try {
    await call(relay, '/v1/subscriptions', { url: rx.url, eventTypes: ['*'] });
    const before = relay.deliveryStats();
    await ingest(relay, BILLED_EVENTS);
    const complete = await until(() => rx.ids.size >= BILLED_EVENTS, 120_000);
    await until(() => relay.idle(), 10_000);
    const after = relay.deliveryStats();
    const perWebhook = (after.busyMs - before.busyMs) / rx.ids.size;
    const ratio = perWebhook / 100;
    rows.push([
      `7 billed time (100 ms receiver, ${label}): handler wall ms per webhook / 100 ms`,
      `${fmt(perWebhook, 1)} ms = ${fmt(ratio, 3)} (${after.invocations - before.invocations} invocations)${complete ? '' : ' (incomplete)'}`,
      target ? '<= 0.15' : '',
      target ? verdict(complete && ratio <= 0.15) : '',
    ]);
  } finally {
    await relay.close();
    await rx.close();
  }
}

async function inFlightBound(): Promise<void> {
  const healthy = await receiver(0);
  const dead = await receiver(0, 500);
  const relay = await relayWith({ delays: [1, 1, 1, 1] });
  try {
    await call(relay, '/v1/subscriptions', { url: healthy.url, eventTypes: ['*'] });
    await call(relay, '/v1/subscriptions', { url: dead.url, eventTypes: ['*'] });
    const queue = relay.queues.delivery;
    queue.resetStats();
    let delayedPeak = 0;
    const sampler = setInterval(() => {
      delayedPeak = Math.max(delayedPeak, queue.depth().delayed);
    }, 50);
    await ingest(relay, INFLIGHT_EVENTS);
    // Every dead delivery has had its five attempts and four waits when the DLQ holds them all.
    const complete = await until(
      () => healthy.ids.size >= INFLIGHT_EVENTS && relay.queues.deliveryDlq.depth().total >= INFLIGHT_EVENTS,
      120_000,
    );
    clearInterval(sampler);
    const slots = LOCAL_CONCURRENCY * BATCH;
    const ratio = queue.peakInFlight / slots;
    rows.push([
      `8 in-flight bound (half the deliveries to a dead endpoint, retried every 1 s): peak / ${slots}`,
      `${queue.peakInFlight} = ${fmt(ratio)} (up to ${delayedPeak} waiting as delayed copies; ${dead.arrivals.length} dead attempts)${complete ? '' : ' (incomplete)'}`,
      '<= 1.5',
      verdict(complete && ratio <= 1.5),
    ]);
  } finally {
    await relay.close();
    await healthy.close();
    await dead.close();
  }
}

async function rateLimit(): Promise<void> {
  const rx = await receiver(0);
  const relay = await relayWith();
  const rate = 50;
  try {
    await call(relay, '/v1/subscriptions', { url: rx.url, eventTypes: ['*'], rateLimitPerSecond: rate });
    await ingest(relay, RATE_EVENTS);
    const complete = await until(
      () => rx.arrivals.length > 0 && performance.now() - (rx.arrivals[0] ?? 0) > 33_000,
      60_000,
    );
    const start = (rx.arrivals[0] ?? 0) + 3_000;
    const window = rx.arrivals.filter((t) => t >= start && t < start + 30_000);
    const perSec = window.length / 30;
    let busiest = 0;
    for (let i = 0, j = 0; i < rx.arrivals.length; i++) {
      while ((rx.arrivals[i] as number) - (rx.arrivals[j] as number) >= 10_000) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    const ratio = perSec / rate;
    rows.push([
      `9 rate limit (${rate}/s, ${RATE_EVENTS} backlog): req/s over 30 s / ${rate}`,
      `${fmt(perSec, 1)}/s = ${fmt(ratio)}${complete ? '' : ' (the backlog ran short)'}`,
      '0.9-1.1',
      verdict(complete && ratio >= 0.9 && ratio <= 1.1),
    ]);
    rows.push([
      '   busiest 10 s window / 500',
      `${busiest} = ${fmt(busiest / (rate * 10))}`,
      '<= 1.1',
      verdict(busiest <= rate * 10 * 1.1),
    ]);
  } finally {
    await relay.close();
    await rx.close();
  }
}

/** Phase 10: an ordered subscription, its order and its pace. */
async function ordered(): Promise<void> {
  const latencyMs = 20;
  const retryDelay = 0.05;
  const seen: number[] = [];
  let busyMs = 0;
  const refused = new Set<number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const started = performance.now();
      const seq = Number(JSON.parse(Buffer.concat(chunks).toString('utf8')).data.seq);
      const refuse = seq % 50 === 49 && !refused.has(seq);
      if (refuse) refused.add(seq);
      setTimeout(() => {
        busyMs += performance.now() - started;
        if (!refuse) seen.push(seq);
        res.writeHead(refuse ? 503 : 200).end();
      }, latencyMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const relay = await relayWith({ delays: [retryDelay, retryDelay, retryDelay] });
  try {
    await call(relay, '/v1/subscriptions', { url, eventTypes: ['*'], ordering: 'fifo' });
    const pad = 'x'.repeat(900);
    const t0 = performance.now();
    // One request after another, so the ingest order is seq order.
    for (let b = 0; b * 100 < ORDERED_EVENTS; b++) {
      const events = Array.from({ length: Math.min(100, ORDERED_EVENTS - b * 100) }, (_, i) => ({
        type: 'bench.ordered',
        data: { seq: b * 100 + i, pad },
      }));
      await call(relay, '/v1/events/batch', { events });
    }
    const complete = await until(() => seen.length >= ORDERED_EVENTS, 180_000);
    // From the first request (the head waits out the 2 s settle time first) to the last answer,
    // less the retries' waits: the pace one request at a time allows.
    const seconds = (performance.now() - t0) / 1000 - 2 - refused.size * retryDelay;
    const inOrder = seen.every((seq, i) => i === 0 || seq > (seen[i - 1] as number));
    const perSec = seen.length / seconds;
    const ideal = 1000 / latencyMs;
    rows.push([
      `10 ordered (fifo, ${latencyMs} ms, ${refused.size} refused once): in ingest order`,
      `${inOrder ? 'yes' : 'NO'}${complete ? '' : ` (only ${seen.length} of ${ORDERED_EVENTS})`}`,
      'yes',
      verdict(complete && inOrder),
    ]);
    rows.push([
      `   2xx/s / ideal ${ideal} (one at a time)`,
      `${fmt(perSec, 1)}/s = ${fmt(perSec / ideal)} (receiver busy ${fmt(busyMs / 1000 / seconds)})`,
      '>= 0.5',
      verdict(complete && perSec / ideal >= 0.5),
    ]);
  } finally {
    await relay.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    console.error('bench:scale: watchdog fired after 10 minutes; results so far:');
    print();
    process.exit(1);
  }, 600_000);
  if (PHASES.has('6')) await busyEndpoint();
  if (PHASES.has('7')) {
    await billedTime(
      DEFAULT_MAX_IN_FLIGHT / BATCH,
      `${DEFAULT_MAX_IN_FLIGHT / BATCH}x${BATCH} slots = maxInFlight`,
      true,
    );
    await billedTime(LOCAL_CONCURRENCY, `${LOCAL_CONCURRENCY}x${BATCH} slots, local default`, false);
  }
  if (PHASES.has('8')) await inFlightBound();
  if (PHASES.has('9')) await rateLimit();
  if (PHASES.has('10')) await ordered();
  clearTimeout(watchdog);
  print();
}

function print(): void {
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  console.log('\nDelivery at scale (loopback, one run, ratios measured side by side)');
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
}

await main();
