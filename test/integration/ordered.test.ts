import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configFromEnv, type RelayConfig } from '../../functions/core/config.ts';
import { waitFor } from '../support/receiver.ts';
import { settle, startTestRelay } from '../support/relay.ts';

/**
 * A receiver that records each request's event number (`data.n`) and answers from `answer`;
 * `answer` may return a promise, so a test can keep one request waiting (a gate).
 */
async function startOrderedReceiver(
  answer: (n: number, nth: number) => number | Promise<number> = () => 200,
) {
  const requests: Array<{ n: number; status: number; headers: IncomingHttpHeaders }> = [];
  /** Event numbers in the order their requests arrived (before any answer). */
  const arrived: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let current = answer;
  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      arrived.push(Number(JSON.parse(Buffer.concat(chunks).toString('utf8')).data.n));
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const n = Number(JSON.parse(Buffer.concat(chunks).toString('utf8')).data.n);
      const nth = requests.filter((r) => r.n === n).length + 1;
      const status = await current(n, nth);
      requests.push({ n, status, headers: req.headers });
      inFlight--;
      res.writeHead(status).end(status < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    /** Event numbers in the order they were answered 2xx. */
    delivered: () => requests.filter((r) => r.status < 300).map((r) => r.n),
    attemptsOf: (n: number) => requests.filter((r) => r.n === n).length,
    arrived,
    maxInFlight: () => maxInFlight,
    setAnswer(a: typeof answer) {
      current = a;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A test relay whose attempts may take long (a gated receiver) without timing out. */
function patientConfig(delays: number[]): RelayConfig {
  return {
    ...configFromEnv({}),
    retry: { delays, jitter: 0 },
    attemptTimeoutMs: 20_000,
    allowPrivateTargets: true,
  };
}

describe('ordered delivery (ordering: "fifo") on the local relay', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('delivers in ingest order, one at a time, a failing webhook blocking those behind it until it succeeds', async () => {
    // Event 3 fails twice before it is accepted.
    const rx = await startOrderedReceiver((n, nth) => (n === 3 && nth <= 2 ? 500 : 200));
    cleanups.push(rx.close);
    const { relay, api } = await startTestRelay([0.1, 0.1, 0.1]);
    cleanups.push(() => relay.close());
    const sub = await api.subscribe(rx.url, ['route.updated'], { ordering: 'fifo' });

    // Singles and batches mixed, sent one request after another: the ingest order is 1..12.
    for (const n of range(1, 3)) await api.send('route.updated', { n });
    const batch = await api.post('/v1/events/batch', {
      events: range(4, 9).map((n) => ({ type: 'route.updated', data: { n } })),
    });
    expect(batch.status).toBe(202);
    for (const n of range(10, 12)) await api.send('route.updated', { n });

    await waitFor('all 12 delivered', () => rx.delivered().length === 12, 30_000);
    expect(rx.delivered()).toEqual(range(1, 12));
    expect(rx.attemptsOf(3)).toBe(3);
    // Nothing behind event 3 was sent before event 3 succeeded.
    const firstOf4 = rx.requests.findIndex((r) => r.n === 4);
    const successOf3 = rx.requests.findIndex((r) => r.n === 3 && r.status === 200);
    expect(firstOf4).toBeGreaterThan(successOf3);
    expect(rx.maxInFlight()).toBe(1);
    const got = await api.get(`/v1/subscriptions/${sub.id}`);
    expect(got.body.ordering).toBe('fifo');
  });

  it('dead-letters a head that runs out of attempts so the rest go on, and a redrive puts it back first in line', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // Event 2 always fails (3 attempts, then the DLQ); event 4's first request waits at the gate.
    let failTwo = true;
    const rx = await startOrderedReceiver(async (n, nth) => {
      if (n === 2 && failTwo) return 500;
      if (n === 4 && nth === 1) await gate;
      return 200;
    });
    cleanups.push(rx.close);
    const { relay, api } = await startTestRelay([], { config: patientConfig([0.05, 0.05]) });
    cleanups.push(() => relay.close());
    await api.subscribe(rx.url, ['route.updated'], { ordering: 'fifo' });
    const ids: string[] = [];
    for (const n of range(1, 4)) ids.push(await api.send('route.updated', { n }));

    // 1 delivered, 2 dead after 3 attempts, 3 delivered, 4 held at the gate.
    await waitFor('event 4 at the gate', () => rx.arrived.includes(4), 30_000);
    expect(rx.attemptsOf(2)).toBe(3);
    const dead = await waitFor('the dead head in the DLQ', async () => {
      const dlq = await api.get('/v1/dlq');
      return relay.queues.deliveryDlq.depth().total === 1 && dlq.body.deliveries.length === 1
        ? dlq.body
        : undefined;
    });
    expect(dead.deliveries[0].eventId).toBe(ids[1]);

    // Event 5 is pending behind event 4 when the head comes back.
    await api.send('route.updated', { n: 5 });
    failTwo = false;
    expect((await api.admin.post('/v1/dlq/redrive')).status).toBe(202);
    await waitFor('the redriven head back in the pending list', async () => {
      const d = await api.get(`/v1/deliveries/${dead.deliveries[0].id}`);
      return d.body.status === 'pending';
    });
    release();

    await waitFor('all delivered', () => rx.delivered().length === 5, 30_000);
    expect(rx.delivered()).toEqual([1, 3, 4, 2, 5]);
    await settle(relay);
    expect((await api.get('/v1/dlq')).body.deliveries).toEqual([]);
  });

  it('keeps its order across a stop and start of the relay (its data dir): the blocked head and the ones behind it survive, in order', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'relay-ordered-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    // The endpoint fails everything until the restart.
    const rx = await startOrderedReceiver(() => 503);
    cleanups.push(rx.close);
    const first = await startTestRelay([], { config: patientConfig([0.2, 3, 3]), dataDir });
    await first.api.subscribe(rx.url, ['route.updated'], { ordering: 'fifo' });
    for (const n of range(1, 4)) await first.api.send('route.updated', { n });
    // The head failed twice; its third attempt is 3 s away, the subscription held until then.
    await waitFor('two failed attempts of the head', () => rx.attemptsOf(1) === 2, 30_000);
    await first.relay.close();

    rx.setAnswer(() => 200);
    const second = await startTestRelay([], {
      config: patientConfig([0.2, 0.2, 0.2]),
      dataDir,
      apiKey: first.relay.apiKey,
      adminKey: first.relay.adminKey,
    });
    cleanups.push(() => second.relay.close());
    await waitFor('all delivered after the restart', () => rx.delivered().length === 4, 60_000);
    expect(rx.delivered()).toEqual([1, 2, 3, 4]);
    expect(rx.requests.filter((r) => r.n !== 1).every((r) => r.status === 200)).toBe(true);
  });
});
