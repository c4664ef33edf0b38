/**
 * Relay benchmark on loopback: `npm run bench`.
 *
 * Measures, in one run and against the same receiver (bench/receiver.ts, a plain node:http
 * server in a child process that reads the body and answers 200 "ok"):
 *   1. raw receiver capacity: autocannon POSTing ~1 KB JSON straight at the receiver;
 *   2. end-to-end throughput: N events ingested through `POST /v1/events/batch`, timed from the
 *      first ingest request to the receipt of the last distinct `webhook-id`, and its ratio to 1;
 *   3. latency at a steady rate: single `POST /v1/events` at a fixed rate, from the 202 reaching
 *      the client to the webhook reaching the receiver;
 *   4. relay CPU per webhook over phase 2: this process (relay + ingest client) plus the storage
 *      process (dynalite runs in a child process, as under `npm start`);
 *   5. slow-endpoint isolation: phase 2 again with a second subscription to the same events, first
 *      to an in-process endpoint that answers 200 at once (the baseline: same fan-out, nobody
 *      hangs), then to one that takes every request and never answers; the healthy receiver's
 *      throughput with the hanging one as a ratio to the baseline, measured cold (the first
 *      timeouts included) and warm (the endpoint's circuit already open). Attempts keep the
 *      default 15 s timeout.
 * The relay is the real one (functions/local/runtime.ts): handlers, local queues and dynalite.
 *
 * Environment (all optional):
 *   BENCH_EVENTS                 events of the throughput phase          (default 20000)
 *   BENCH_RATE                   events/s of the latency phase           (default 200)
 *   BENCH_LATENCY_SECONDS        duration of the latency phase           (default 10)
 *   BENCH_RAW_SECONDS            duration of the autocannon run          (default 5)
 *   BENCH_CONNECTIONS            autocannon connections                  (default 50)
 *   BENCH_INGEST_IN_FLIGHT       batch requests in flight while ingesting (default 4)
 *   BENCH_DRAIN_TIMEOUT_SECONDS  max wait for all webhooks of phase 2   (default 90)
 *   BENCH_DELIVERY_CONCURRENCY   relay delivery invocations at once      (runtime default)
 *   BENCH_DELIVERY_BATCH         relay delivery batch size               (runtime default)
 * A miss of a target is reported, never an error: the exit code is 0 unless the bench breaks.
 */
import { type ChildProcess, fork } from 'node:child_process';
import os from 'node:os';
import autocannon from 'autocannon';
import type { LocalRelay } from '../functions/local/runtime.ts';
import { samplePayload } from '../test/support/sample-payload.ts';
import type { ReceiverMessage, ReceiverRequest, ReceiverStats } from './receiver.ts';

// The logger reads its level when its module loads, so this must precede importing the relay.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
const { startLocalRelay } = await import('../functions/local/runtime.ts');
const { configFromEnv } = await import('../functions/core/config.ts');

function envNumber(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}
function envOptional(name: string, min: number, max: number): number | undefined {
  return process.env[name] ? envNumber(name, 0, min, max) : undefined;
}

const EVENTS = envNumber('BENCH_EVENTS', 20_000, 100, 500_000);
const RATE = envNumber('BENCH_RATE', 200, 1, 5_000);
const LATENCY_SECONDS = envNumber('BENCH_LATENCY_SECONDS', 10, 1, 60);
const RAW_SECONDS = envNumber('BENCH_RAW_SECONDS', 5, 1, 30);
const CONNECTIONS = envNumber('BENCH_CONNECTIONS', 50, 1, 1_000);
const INGEST_IN_FLIGHT = envNumber('BENCH_INGEST_IN_FLIGHT', 4, 1, 64);
const DRAIN_TIMEOUT_MS = envNumber('BENCH_DRAIN_TIMEOUT_SECONDS', 90, 1, 600) * 1000;
const DELIVERY_CONCURRENCY = envOptional('BENCH_DELIVERY_CONCURRENCY', 1, 256);
const DELIVERY_BATCH = envOptional('BENCH_DELIVERY_BATCH', 1, 10);

const BATCH_SIZE = 100; // the API's maximum per batch request
const WARMUP_EVENTS = 500;
/** Max wait for the webhooks of the warm-up and of phase 3, which are few. */
const SHORT_DRAIN_MS = 30_000;
const BODY_BYTES = 1024;
const TARGET_RATIO = 0.35;
const TARGET_P99_MS = 50;
const TARGET_ISOLATION = 0.8;
/** A last resort against a hang anywhere: the phases' own bounds should always end first. */
const WATCHDOG_MS = 420_000;

/** Epoch ms with sub-ms resolution; the receiver uses the same clock. */
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// --- payloads ---------------------------------------------------------------------------------

/**
 * Event data of a realistic shape (test/support/sample-payload.ts: ids and numbers that do not
 * compress away) making the webhook body the relay sends ({type, timestamp, data}) ~1 KB, the
 * size of the body autocannon sends: both measurements move the same bytes per request.
 */
const SAMPLE = samplePayload(Math.max(0, BODY_BYTES - 80));
function eventData(seq: number): Record<string, unknown> {
  return { seq, ...SAMPLE };
}

function rawBody(): string {
  return JSON.stringify({ type: 'bench.ping', timestamp: new Date().toISOString(), data: eventData(0) });
}

// --- the receiver child process ---------------------------------------------------------------

type Reply<Op extends ReceiverRequest['op']> = Extract<ReceiverMessage, { op: Op }>;

class Receiver {
  private seq = 0;
  private readonly pending = new Map<number, (msg: ReceiverMessage) => void>();
  /** Receiver clock minus ours, ms; subtract it from receiver times. */
  offsetMs = 0;
  offsetUncertaintyMs = 0;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {
    child.on('message', (msg: ReceiverMessage) => {
      const resolve = this.pending.get(msg.seq);
      this.pending.delete(msg.seq);
      resolve?.(msg);
    });
  }

  static async start(): Promise<Receiver> {
    // fork() reuses this process's execArgv, i.e. the tsx loader, so the child can be TypeScript.
    const child = fork(new URL('./receiver.ts', import.meta.url), {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await withTimeout(
      new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', (code) => reject(new Error(`receiver exited early (code ${code})`)));
        child.on('message', (msg: ReceiverMessage) => {
          if (msg.op === 'ready') resolve(msg.port);
        });
      }),
      15_000,
      'receiver start',
    );
    return new Receiver(child, port);
  }

  call<Op extends ReceiverRequest['op']>(op: Op): Promise<Reply<Op>> {
    const seq = ++this.seq;
    const reply = new Promise<Reply<Op>>((resolve) => {
      this.pending.set(seq, (msg) => resolve(msg as Reply<Op>));
    });
    this.child.send({ seq, op } as ReceiverRequest);
    return withTimeout(reply, 10_000, `receiver ${op}`).finally(() => this.pending.delete(seq));
  }

  async stats(): Promise<ReceiverStats> {
    return (await this.call('stats')).stats;
  }

  /**
   * Estimates the offset between the two processes' clocks from IPC round trips (the one with
   * the shortest round trip bounds it best), so receipt times can be compared with ours.
   */
  async calibrate(rounds = 25): Promise<void> {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < rounds; i++) {
      const t1 = now();
      const { now: theirs } = await this.call('clock');
      const t2 = now();
      if (t2 - t1 < best) {
        best = t2 - t1;
        this.offsetMs = theirs - (t1 + t2) / 2;
        this.offsetUncertaintyMs = best / 2;
      }
    }
  }

  /** Waits until `count` distinct ids arrived or `timeoutMs` passed; returns the last stats. */
  async waitFor(count: number, timeoutMs: number): Promise<ReceiverStats> {
    const deadline = now() + timeoutMs;
    for (;;) {
      const stats = await this.stats();
      if (stats.distinct >= count || now() >= deadline) return stats;
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    // Closing the IPC channel makes the receiver exit on its own; the kill is the fallback.
    this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** An endpoint in this process: answers 200 at once, or takes every request and never answers. */
async function startHangingServer(answers: boolean) {
  const { createServer } = await import('node:http');
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    if (answers) req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// --- the relay's HTTP API -----------------------------------------------------------------------

async function api<T>(relay: LocalRelay, path: string, body: unknown, expected: number): Promise<T> {
  const res = await fetch(`${relay.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${relay.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status !== expected) throw new Error(`POST ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

async function patch(relay: LocalRelay, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${relay.url}${path}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${relay.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) throw new Error(`PATCH ${path}: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`);
}

/** Ingests `count` events in batches of 100 with `inFlight` requests at once; returns the ids. */
async function ingestBatches(relay: LocalRelay, count: number, inFlight: number): Promise<string[]> {
  const batches = Math.ceil(count / BATCH_SIZE);
  const ids: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < batches) {
      const b = next++;
      const size = Math.min(BATCH_SIZE, count - b * BATCH_SIZE);
      const events = Array.from({ length: size }, (_, i) => ({
        type: 'bench.ping',
        data: eventData(b * BATCH_SIZE + i),
      }));
      const res = await api<{ ids: string[] }>(relay, '/v1/events/batch', { events }, 202);
      ids.push(...res.ids);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return ids;
}

/** Waits (bounded) until the relay has nothing queued, in flight or running. */
async function waitIdle(relay: LocalRelay, timeoutMs: number): Promise<boolean> {
  const deadline = now() + timeoutMs;
  while (!relay.idle()) {
    if (now() >= deadline) return false;
    await sleep(10);
  }
  return true;
}

// --- phases ------------------------------------------------------------------------------------

interface RawResult {
  reqPerSec: number;
  total2xx: number;
  errors: number;
  non2xx: number;
  latencyP50: number;
  latencyP99: number;
  seenByReceiver: number;
  receiverCpuMsPerReq: number;
}

async function rawCapacity(receiver: Receiver): Promise<RawResult> {
  await receiver.call('reset');
  const body = rawBody();
  // Headers like the relay's, so the receiver parses the same amount of header bytes.
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'webhook-relay/0.1',
    'webhook-id': 'evt_RAWCAPACITY0000000000000000',
    'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
    'webhook-signature': `v1,${'A'.repeat(43)}=`,
  };
  const result = await autocannon({
    url: `http://127.0.0.1:${receiver.port}/hook`,
    method: 'POST',
    headers,
    body,
    connections: CONNECTIONS,
    duration: RAW_SECONDS,
    timeout: 10,
  });
  const stats = await receiver.stats();
  return {
    reqPerSec: result['2xx'] / result.duration,
    total2xx: result['2xx'],
    errors: result.errors,
    non2xx: result.non2xx,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    seenByReceiver: stats.requests,
    receiverCpuMsPerReq: stats.cpuMicros / 1000 / Math.max(1, stats.requests),
  };
}

interface ThroughputResult {
  accepted: number;
  delivered: number;
  /** Ids the receiver got that this phase did not ingest (leftovers of an earlier phase). */
  foreign: number;
  duplicates: number;
  complete: boolean;
  ingestSeconds: number;
  seconds: number;
  perSec: number;
  cpuMs: number;
  cpuMsPerWebhook: number;
  receiverCpuMsPerWebhook: number;
  idleAfter: boolean;
}

async function throughput(relay: LocalRelay, receiver: Receiver): Promise<ThroughputResult> {
  await receiver.call('reset');
  const cpu0 = process.cpuUsage();
  const storage0 = (await relay.storageCpuMicros()) ?? 0;
  const t0 = now();
  const ids = await ingestBatches(relay, EVENTS, INGEST_IN_FLIGHT);
  const ingestSeconds = (now() - t0) / 1000;
  const stats = await receiver.waitFor(ids.length, DRAIN_TIMEOUT_MS);
  const timedOutAt = now();
  // Deliveries are logged after the receiver answered: that work belongs to these webhooks too.
  const idleAfter = await waitIdle(relay, 10_000);
  const cpu = process.cpuUsage(cpu0);
  const storageCpuMs = (((await relay.storageCpuMicros()) ?? 0) - storage0) / 1000;

  // The count above only says when to stop; the receipts say exactly which ids arrived and when.
  const { receipts } = await receiver.call('dump');
  const expected = new Set(ids);
  let delivered = 0;
  let last = 0;
  for (const [id, at] of receipts) {
    if (!expected.has(id)) continue;
    delivered++;
    last = Math.max(last, at);
  }
  const complete = delivered === ids.length;
  const end = complete ? last - receiver.offsetMs : timedOutAt;
  const seconds = (end - t0) / 1000;
  const cpuMs = (cpu.user + cpu.system) / 1000 + storageCpuMs;
  return {
    accepted: ids.length,
    delivered,
    foreign: receipts.length - delivered,
    duplicates: stats.duplicates,
    complete,
    ingestSeconds,
    seconds,
    perSec: delivered / seconds,
    cpuMs,
    cpuMsPerWebhook: cpuMs / Math.max(1, delivered),
    receiverCpuMsPerWebhook: stats.cpuMicros / 1000 / Math.max(1, stats.requests),
    idleAfter,
  };
}

interface LatencyResult {
  planned: number;
  accepted: number;
  rejected: number;
  delivered: number;
  achievedRate: number;
  fromAccept: Summary;
  fromSend: Summary;
  acceptRtt: Summary;
}

interface Summary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  min: number;
}

function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest-rank percentiles: always an observed value, never an interpolation.
  const pct = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
  return { p50: pct(0.5), p95: pct(0.95), p99: pct(0.99), max: sorted.at(-1) ?? NaN, min: sorted[0] ?? NaN };
}

async function latency(relay: LocalRelay, receiver: Receiver): Promise<LatencyResult> {
  await receiver.call('reset');
  const planned = RATE * LATENCY_SECONDS;
  const intervalMs = 1000 / RATE;
  const sentAt = new Map<string, number>();
  const acceptedAt = new Map<string, number>();
  let rejected = 0;
  const inFlight: Promise<void>[] = [];

  const sendOne = async (seq: number) => {
    const t = now();
    try {
      const { id } = await api<{ id: string }>(
        relay,
        '/v1/events',
        { type: 'bench.ping', data: eventData(seq) },
        202,
      );
      acceptedAt.set(id, now());
      sentAt.set(id, t);
    } catch {
      rejected++;
    }
  };

  // Open loop: each event leaves at its scheduled time whether or not earlier ones were answered,
  // so a slow relay shows up as latency instead of silently lowering the rate.
  const start = now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(planned, Math.floor((now() - start) / intervalMs) + 1);
      while (sent < due) inFlight.push(sendOne(sent++));
      if (sent >= planned) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, start + sent * intervalMs - now()));
    };
    tick();
  });
  const sendSeconds = (now() - start) / 1000;
  await Promise.all(inFlight);
  await receiver.waitFor(acceptedAt.size, SHORT_DRAIN_MS);
  const { receipts } = await receiver.call('dump');

  const fromAccept: number[] = [];
  const fromSend: number[] = [];
  const acceptRtt: number[] = [];
  for (const [id, at] of receipts) {
    const accepted = acceptedAt.get(id);
    const sentTime = sentAt.get(id);
    if (accepted === undefined || sentTime === undefined) continue;
    const received = at - receiver.offsetMs;
    fromAccept.push(received - accepted);
    fromSend.push(received - sentTime);
  }
  for (const [id, accepted] of acceptedAt) acceptRtt.push(accepted - (sentAt.get(id) ?? accepted));
  return {
    planned,
    accepted: acceptedAt.size,
    rejected,
    delivered: fromAccept.length,
    achievedRate: sent / sendSeconds,
    fromAccept: summarize(fromAccept),
    fromSend: summarize(fromSend),
    acceptRtt: summarize(acceptRtt),
  };
}

// --- report ------------------------------------------------------------------------------------

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';

/** Columns: metric (left), value (right-aligned), target, result; rows may leave the last two out. */
function table(rows: Array<[string, string, string?, string?]>): string {
  const header: [string, string, string, string] = ['metric', 'value', 'target', 'result'];
  const cellsOf = (row: ReadonlyArray<string | undefined>) => [0, 1, 2, 3].map((i) => row[i] ?? '');
  const all = [header, ...rows].map(cellsOf);
  const widths = [0, 1, 2, 3].map((i) => Math.max(...all.map((cells) => cells[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 1 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const [head, ...body] = all.map(line);
  return [head, rule, ...body].join('\n');
}

// --- main --------------------------------------------------------------------------------------

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

async function main(): Promise<void> {
  const startedAt = now();
  const cpus = os.cpus();
  const receiver = await Receiver.start();
  let relay: LocalRelay | undefined;
  const watchdog = setTimeout(() => {
    log(`watchdog: still running after ${WATCHDOG_MS / 1000} s, aborting`);
    receiver.kill();
    process.exit(2);
  }, WATCHDOG_MS);
  watchdog.unref();

  try {
    await receiver.calibrate();
    log(`receiver on 127.0.0.1:${receiver.port}, clock offset ${fmt(receiver.offsetMs, 3)} ms`);

    log(`phase 1: autocannon -> receiver, ${CONNECTIONS} connections, ${RAW_SECONDS} s`);
    const raw = await rawCapacity(receiver);

    log('starting the relay (dynalite, local queues, handlers)');
    relay = await startLocalRelay({
      config: { ...configFromEnv({}), retry: { delays: [1, 1], jitter: 0 }, allowPrivateTargets: true },
      port: 0,
      apiKey: 'bench-key',
      storageProcess: true,
      ...(DELIVERY_CONCURRENCY ? { deliveryConcurrency: DELIVERY_CONCURRENCY } : {}),
      ...(DELIVERY_BATCH ? { deliveryBatchSize: DELIVERY_BATCH } : {}),
    });
    await api(
      relay,
      '/v1/subscriptions',
      { url: `http://127.0.0.1:${receiver.port}/hook`, eventTypes: ['bench.*'] },
      201,
    );

    // JIT, connection pools and the table's first writes are not what the phases measure.
    log(`warm-up: ${WARMUP_EVENTS} events`);
    await receiver.call('reset');
    const warm = await ingestBatches(relay, WARMUP_EVENTS, INGEST_IN_FLIGHT);
    await receiver.waitFor(warm.length, SHORT_DRAIN_MS);
    await waitIdle(relay, 10_000);

    log(`phase 2: ${EVENTS} events through the relay`);
    const tp = await throughput(relay, receiver);
    await waitIdle(relay, 10_000);

    log(`phase 3: ${RATE} events/s for ${LATENCY_SECONDS} s`);
    const lat = await latency(relay, receiver);
    await waitIdle(relay, 10_000);
    const dlq = relay.queues.deliveryDlq.depth().total + relay.queues.fanoutDlq.depth().total;

    log(`phase 5a: ${EVENTS} events with a second subscriber that answers at once`);
    const sink = await startHangingServer(true);
    const second = await api<{ id: string }>(
      relay,
      '/v1/subscriptions',
      { url: `${sink.url}/ok`, eventTypes: ['bench.*'] },
      201,
    );
    const base = await throughput(relay, receiver);
    await patch(relay, `/v1/subscriptions/${second.id}`, { enabled: false });
    await sink.close();

    log(`phase 5: ${EVENTS} events with a second subscriber that never answers`);
    const hanging = await startHangingServer(false);
    await api(relay, '/v1/subscriptions', { url: `${hanging.url}/hang`, eventTypes: ['bench.*'] }, 201);
    const iso = await throughput(relay, receiver);
    const isolation = iso.perSec / base.perSec;
    const isolationOk = iso.complete && isolation >= TARGET_ISOLATION;
    const hungBefore = hanging.requests();
    // The same again, now that the endpoint's circuit has opened: the sustained behaviour.
    log(`phase 5b: ${EVENTS} events, the hanging endpoint's circuit already open`);
    const isoWarm = await throughput(relay, receiver);
    const isolationWarm = isoWarm.perSec / base.perSec;
    // Unblock the attempts still hanging, so the relay can stop.
    await hanging.close();
    // Re-measured at the end: a drift over the run would skew the latency figures.
    const offsetBefore = receiver.offsetMs;
    await receiver.calibrate();

    const ratio = tp.perSec / raw.reqPerSec;
    const ratioOk = tp.complete && ratio >= TARGET_RATIO;
    const p99Ok = lat.delivered === lat.accepted && lat.fromAccept.p99 <= TARGET_P99_MS;
    const lines: string[] = [];
    lines.push('');
    lines.push('Webhook relay benchmark (loopback)');
    lines.push(
      `machine: ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? 'unknown'}), ${fmt(os.totalmem() / 2 ** 30, 1)} GiB, ` +
        `load avg ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
    lines.push(`node ${process.version}, ${os.type()} ${os.release()} ${os.arch()}`);
    lines.push(
      `relay: delivery concurrency ${DELIVERY_CONCURRENCY ?? 'default (8)'}, batch ${DELIVERY_BATCH ?? 'default (10)'}; ` +
        `webhook body ~${BODY_BYTES} B; receiver in a child process`,
    );
    lines.push(
      `phases: 1) ${CONNECTIONS} connections x ${RAW_SECONDS} s; 2) ${EVENTS} events in batches of ${BATCH_SIZE}, ` +
        `${INGEST_IN_FLIGHT} in flight (after a ${WARMUP_EVENTS}-event warm-up); 3) ${RATE}/s x ${LATENCY_SECONDS} s`,
    );
    lines.push('');
    lines.push(
      table([
        ['1. receiver raw capacity (autocannon)', `${fmt(raw.reqPerSec)} req/s`],
        ['   requests 2xx / errors / non-2xx', `${fmt(raw.total2xx)} / ${raw.errors} / ${raw.non2xx}`],
        ['   autocannon latency p50 / p99', `${fmt(raw.latencyP50, 1)} / ${fmt(raw.latencyP99, 1)} ms`],
        ['2. end-to-end delivered', `${fmt(tp.perSec)} webhooks/s`],
        [
          '   delivered / accepted',
          `${fmt(tp.delivered)} / ${fmt(tp.accepted)}`,
          '',
          tp.complete ? 'complete' : 'INCOMPLETE',
        ],
        ['   elapsed (ingest part)', `${fmt(tp.seconds, 2)} s (${fmt(tp.ingestSeconds, 2)} s)`],
        ['   duplicate deliveries', fmt(tp.duplicates)],
        ['   ratio delivered/s / raw req/s', fmt(ratio, 3), `>= ${TARGET_RATIO}`, ratioOk ? 'PASS' : 'MISS'],
        ['3. latency 202 -> receiver p50', `${fmt(lat.fromAccept.p50, 1)} ms`],
        ['   p95', `${fmt(lat.fromAccept.p95, 1)} ms`],
        ['   p99', `${fmt(lat.fromAccept.p99, 1)} ms`, `<= ${TARGET_P99_MS} ms`, p99Ok ? 'PASS' : 'MISS'],
        ['   max (min)', `${fmt(lat.fromAccept.max, 1)} ms (${fmt(lat.fromAccept.min, 1)})`],
        ['   send -> receiver p50 / p99', `${fmt(lat.fromSend.p50, 1)} / ${fmt(lat.fromSend.p99, 1)} ms`],
        ['   send -> 202 p50 / p99', `${fmt(lat.acceptRtt.p50, 1)} / ${fmt(lat.acceptRtt.p99, 1)} ms`],
        [
          '   events planned/accepted/delivered',
          `${lat.planned} / ${lat.accepted} / ${lat.delivered}`,
          '',
          lat.delivered === lat.accepted && lat.rejected === 0 ? 'complete' : 'INCOMPLETE',
        ],
        ['   achieved send rate', `${fmt(lat.achievedRate, 1)} events/s`],
        ['4. relay CPU per webhook', `${fmt(tp.cpuMsPerWebhook, 3)} ms`],
        ['   relay CPU, phase 2 total', `${fmt(tp.cpuMs)} ms`],
        ['   receiver CPU per webhook (phase 2)', `${fmt(tp.receiverCpuMsPerWebhook, 3)} ms`],
        ['   receiver CPU per request (phase 1)', `${fmt(raw.receiverCpuMsPerReq, 3)} ms`],
        ['5a. healthy receiver, a 2nd healthy endpoint', `${fmt(base.perSec)} webhooks/s`],
        ['5. healthy receiver, the 2nd endpoint hanging', `${fmt(iso.perSec)} webhooks/s`],
        [
          '   delivered / accepted (healthy)',
          `${fmt(iso.delivered)} / ${fmt(iso.accepted)}`,
          '',
          iso.complete ? 'complete' : 'INCOMPLETE',
        ],
        ['   requests the hanging endpoint got', fmt(hungBefore)],
        [
          '   ratio to 5a (cold: first timeouts included)',
          fmt(isolation, 3),
          `>= ${TARGET_ISOLATION}`,
          isolationOk ? 'PASS' : 'MISS',
        ],
        ['5b. the same, circuit already open', `${fmt(isoWarm.perSec)} webhooks/s`],
        [
          '   delivered / accepted (healthy)',
          `${fmt(isoWarm.delivered)} / ${fmt(isoWarm.accepted)}`,
          '',
          isoWarm.complete ? 'complete' : 'INCOMPLETE',
        ],
        ['   requests the hanging endpoint got', fmt(hanging.requests() - hungBefore)],
        [
          '   ratio to 5a (warm)',
          fmt(isolationWarm, 3),
          `>= ${TARGET_ISOLATION}`,
          isolationWarm >= TARGET_ISOLATION && isoWarm.complete ? 'PASS' : 'MISS',
        ],
        ['dead-lettered (fanout + delivery DLQ, phases 2-3)', fmt(dlq)],
      ]),
    );
    lines.push('');
    lines.push(
      `ratio: ${fmt(tp.perSec)} delivered/s / ${fmt(raw.reqPerSec)} raw req/s = ${fmt(ratio, 3)} ` +
        `(target >= ${TARGET_RATIO}: ${ratioOk ? 'PASS' : 'MISS'})`,
    );
    lines.push('');
    lines.push('notes:');
    lines.push(
      '- relay CPU is this process plus the storage process over phase 2, from the first ingest request until idle:',
    );
    lines.push(
      '  the relay (HTTP API, handlers, local queues), dynalite, and the ingest client; not the receiver.',
    );
    lines.push(
      '- autocannon runs in this process, so phase 1 also shares the 2 cores between load generator and receiver.',
    );
    lines.push(
      `- receipt times come from the receiver process; clock offset ${fmt(offsetBefore, 3)} ms (+/- ` +
        `${fmt(receiver.offsetUncertaintyMs, 3)}) at start, ${fmt(receiver.offsetMs, 3)} ms at the end, corrected.`,
    );
    lines.push(
      '- a negative latency means the webhook reached the receiver before the 202 reached the client.',
    );
    if (tp.foreign > 0)
      lines.push(`- phase 2 also received ${tp.foreign} webhooks of earlier phases (not counted).`);
    if (!tp.idleAfter) lines.push('- the relay was still busy 10 s after the last webhook of phase 2.');
    lines.push(`total bench time ${fmt((now() - startedAt) / 1000, 1)} s`);
    console.log(lines.join('\n'));
  } finally {
    if (relay) await relay.close();
    await receiver.stop();
    clearTimeout(watchdog);
  }
}

await main();
