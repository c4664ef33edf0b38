import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalRelay } from '../../functions/local/runtime.ts';
import { startReceiver, waitFor } from '../support/receiver.ts';
import { type client, startTestRelay } from '../support/relay.ts';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/**
 * Delivery at scale, proven with counts: waits hold no in-flight messages, an endpoint's
 * in-flight bound holds across every delivery invocation, and a rate-limited endpoint's excess
 * waits without a single failed attempt.
 */
describe('local relay: delivery at scale', () => {
  let relay: LocalRelay | undefined;
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await relay?.close();
    relay = undefined;
    await Promise.all(closers.splice(0).map((c) => c()));
  });
  const receiver = async (...args: Parameters<typeof startReceiver>): Promise<Receiver> => {
    const r = await startReceiver(...args);
    closers.push(r.close);
    return r;
  };

  /** Ingests `count` events of `type` in batches of 100. */
  async function ingest(api: ReturnType<typeof client>, count: number, type = 'load.tick') {
    for (let i = 0; i < count; i += 100) {
      const events = Array.from({ length: Math.min(100, count - i) }, (_, j) => ({
        type,
        data: { seq: i + j },
      }));
      const res = await api.post('/v1/events/batch', { events });
      expect(res.status).toBe(202);
    }
  }

  it('keeps 2,000 retries of a dead endpoint out of flight: a healthy endpoint still gets every webhook under a 100-message in-flight limit', async () => {
    // Attempt 2 comes 0.2 s after the first failure, attempt 3 a minute later: by the end every
    // dead delivery is waiting, as a delayed message, while the healthy endpoint is served.
    const started = await startTestRelay([0.2, 60], { queueInFlightLimit: 100 });
    relay = started.relay;
    const { api } = started;
    const healthy = await receiver(() => 200);
    const dead = await receiver(() => 500);
    await api.subscribe(healthy.url, ['*']);
    await api.subscribe(dead.url, ['*']);

    await ingest(api, 2000);
    await waitFor('every webhook at the healthy endpoint', () => healthy.received.length >= 2000, 120_000);
    await waitFor(
      'every dead delivery waiting for its third attempt',
      () => dead.received.length >= 4000,
      120_000,
    );

    const ids = new Set(healthy.received.map((r) => r.headers['webhook-id']));
    expect(ids.size).toBe(2000);
    const queue = relay.queues.delivery;
    // Bounded by the consumers (8 invocations x 10), never by the failing deliveries.
    expect(queue.peakInFlight).toBeLessThanOrEqual(80);
    expect(queue.overLimitRefusals).toBe(0);
    await waitFor('the waiting tasks to be delayed messages', () => queue.depth().delayed >= 2000, 30_000);
    expect(queue.depth().inFlight).toBeLessThanOrEqual(80);
    // Nothing was attempted a third time yet, and nothing was lost.
    expect(dead.received.length).toBe(4000);
    expect(relay.queues.deliveryDlq.depth().total).toBe(0);
  }, 180_000);

  it('holds an endpoint to its maxInFlight across every delivery invocation, without a failed attempt', async () => {
    const started = await startTestRelay([0.05, 0.05]);
    relay = started.relay;
    const { api } = started;
    // A receiver that holds each request 100 ms and counts how many it holds at once.
    let open = 0;
    let peak = 0;
    let served = 0;
    const server = createServer((req, res) => {
      open++;
      peak = Math.max(peak, open);
      req.resume();
      req.on('end', () =>
        setTimeout(() => {
          open--;
          served++;
          res.end('ok');
        }, 100),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const sub = await api.subscribe(url, ['*'], { maxInFlight: 5 });

    await ingest(api, 200);
    await waitFor('200 webhooks', () => served >= 200, 60_000);
    expect(peak).toBeLessThanOrEqual(5);
    // The relay did use its room: more than one request at a time.
    expect(peak).toBeGreaterThan(1);
    // The log is written after the receiver answers: wait for the newest 100 to be written.
    const page = await waitFor('the newest 100 logged as succeeded', async () => {
      const p = await api.get(`/v1/subscriptions/${sub.id}/deliveries?limit=100`);
      return p.body.deliveries.every((d: { status: string }) => d.status === 'succeeded') ? p : undefined;
    });
    for (const d of page.body.deliveries as Array<{ status: string; attempts: unknown[] }>) {
      expect(d.status).toBe('succeeded');
      // Waiting for a slot is not an attempt.
      expect(d.attempts).toHaveLength(1);
    }
  }, 90_000);

  it('makes a rate-limited endpoint’s excess wait and delivers all of it, every delivery on its first attempt', async () => {
    const started = await startTestRelay([0.05, 0.05]);
    relay = started.relay;
    const { api } = started;
    const rx = await receiver(() => 200);
    const sub = await api.subscribe(rx.url, ['*'], { rateLimitPerSecond: 20 });

    await ingest(api, 60);
    await waitFor('60 webhooks', () => rx.received.length >= 60, 60_000);
    expect(new Set(rx.received.map((r) => r.headers['webhook-id'])).size).toBe(60);
    // The log is written after the receiver answers: wait for the last entries too.
    const page = await waitFor('60 logged deliveries', async () => {
      const p = await api.get(`/v1/subscriptions/${sub.id}/deliveries?limit=100`);
      return p.body.deliveries.filter((d: { status: string }) => d.status === 'succeeded').length >= 60
        ? p
        : undefined;
    });
    expect(page.body.deliveries).toHaveLength(60);
    for (const d of page.body.deliveries as Array<{ status: string; attempts: unknown[] }>) {
      expect(d.status).toBe('succeeded');
      expect(d.attempts).toHaveLength(1);
    }
  }, 90_000);
});
