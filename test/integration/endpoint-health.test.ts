import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { configFromEnv } from '../../functions/core/config.ts';
import type { LocalRelay } from '../../functions/local/runtime.ts';
import { startReceiver, waitFor } from '../support/receiver.ts';
import { type client, settle, startTestRelay } from '../support/relay.ts';

/** A receiver that accepts every request and never answers: the endpoint that hangs. */
async function startHangingReceiver() {
  const pending: ServerResponse[] = [];
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    req.resume();
    pending.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hang`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('endpoint health in the running relay', () => {
  let relay: LocalRelay;
  let api: ReturnType<typeof client>;
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await relay.close();
    await Promise.all(closers.splice(0).map((c) => c()));
  });

  const start = async (extra: Partial<ReturnType<typeof configFromEnv>> = {}) => {
    ({ relay, api } = await startTestRelay([0.05, 0.05, 0.05], {
      config: {
        ...configFromEnv({}),
        retry: { delays: [0.05, 0.05, 0.05], jitter: 0 },
        attemptTimeoutMs: 300,
        allowPrivateTargets: true,
        ...extra,
      },
      deliveryConcurrency: 2,
    }));
  };

  it('keeps healthy endpoints flowing while another hangs: the circuit opens and parks its tasks', async () => {
    await start();
    const hanging = await startHangingReceiver();
    closers.push(hanging.close);
    const healthy = await startReceiver();
    closers.push(healthy.close);
    const stuck = await api.subscribe(hanging.url, ['*']);
    await api.subscribe(healthy.url, ['*']);

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await api.post('/v1/events/batch', {
        events: Array.from({ length: 20 }, (_, n) => ({ type: 'route.updated', data: { i, n } })),
      });
      ids.push(...res.body.ids);
    }
    await waitFor('every healthy delivery', () => ids.every((id) => healthy.withId(id).length === 1), 20_000);

    // The hanging endpoint saw a few attempts, not one per event: after the first timeouts
    // its circuit opened and the rest were parked without spending attempts.
    expect(hanging.requests()).toBeLessThan(20);
    const sub = (await api.get(`/v1/subscriptions/${stuck.id}`)).body;
    expect(sub.circuit).toMatchObject({ timeouts: expect.any(Number) });
    expect(Date.parse(sub.circuit.openUntil)).toBeGreaterThan(Date.now());
    expect(sub.failingSince).toEqual(expect.any(String));
    const log = (await api.get(`/v1/subscriptions/${stuck.id}/deliveries?limit=100`)).body.deliveries;
    expect(log).toHaveLength(100);
    // Parked deliveries are still pending, none dead: the round was not spent on parking.
    expect(log.filter((d: { status: string }) => d.status === 'dead')).toHaveLength(0);
  }, 30_000);

  it('closes the circuit after a success', async () => {
    await start();
    let hang = true;
    const answers: ServerResponse[] = [];
    const server = createServer((req, res) => {
      req.resume();
      if (hang) answers.push(res);
      else res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    const sub = await api.subscribe(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, ['*']);
    const id = await api.send('a.b');
    await waitFor(
      'the circuit to open',
      async () => (await api.get(`/v1/subscriptions/${sub.id}`)).body.circuit,
    );
    hang = false;
    // The circuit is written before the attempt's log entry: wait for the delivery too.
    const delivery = await waitFor(
      'the delivery in the log',
      async () => (await api.get(`/v1/events/${id}`)).body.deliveries[0],
    );
    await api.post(`/v1/deliveries/${delivery.id}/retry`);
    await waitFor('the circuit to close', async () => {
      const s = (await api.get(`/v1/subscriptions/${sub.id}`)).body;
      return !s.circuit && !s.failingSince;
    });
  }, 20_000);

  it('disables an endpoint that has not succeeded for the configured time and tells the tenant on the bus', async () => {
    // 0.00002 days is 1.7 s.
    await start({ deadEndpointDays: 0.00002 });
    const failing = await startReceiver(() => 500);
    closers.push(failing.close);
    const ops = await startReceiver();
    closers.push(ops.close);
    const dead = await api.subscribe(failing.url, ['order.*']);
    await api.subscribe(ops.url, ['relay.subscription.disabled']);

    await api.send('order.created');
    await waitFor(
      'the first failure',
      async () => (await api.get(`/v1/subscriptions/${dead.id}`)).body.failingSince,
    );
    await new Promise((r) => setTimeout(r, 1800));
    await api.send('order.updated');
    const sub = await waitFor('the subscription disabled', async () => {
      const s = (await api.get(`/v1/subscriptions/${dead.id}`)).body;
      return s.enabled === false && s;
    });
    expect(sub.disabledReason).toMatch(/^no successful delivery for 0\.00002 days \(failing since /);
    const [note] = await waitFor('the operational webhook', () =>
      ops.received.length ? ops.received : undefined,
    );
    expect(JSON.parse(note?.body ?? '{}')).toMatchObject({
      type: 'relay.subscription.disabled',
      data: { subscriptionId: dead.id, url: failing.url, failingSince: expect.any(String) },
    });
    await settle(relay);
  }, 20_000);
});
