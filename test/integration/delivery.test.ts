import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalRelay } from '../../functions/local/runtime.ts';
import { startReceiver, waitFor } from '../support/receiver.ts';
import { type client, settle, startTestRelay } from '../support/relay.ts';

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

describe('local relay: signed delivery end to end', () => {
  let relay: LocalRelay;
  let api: ReturnType<typeof client>;
  const receivers: Receiver[] = [];
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const r = await startReceiver(...args);
    receivers.push(r);
    return r;
  };

  beforeEach(async () => {
    ({ relay, api } = await startTestRelay([0.05, 0.05]));
  });
  afterEach(async () => {
    await relay.close();
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  it('delivers a payload whose signature verifies with the standardwebhooks package', async () => {
    const rx = await receiver();
    const sub = await api.subscribe(`${rx.url}/hook`, ['shipment.delivered']);
    const id = await api.send('shipment.delivered', { shipmentId: 'S-1', note: 'unicode ✓' });

    const [got] = await waitFor('the webhook', () => (rx.withId(id).length ? rx.withId(id) : undefined));
    expect(got?.path).toBe('/hook');
    expect(got?.headers['content-type']).toBe('application/json');
    const payload = new Webhook(sub.secret).verify(got?.body ?? '', {
      'webhook-id': String(got?.headers['webhook-id']),
      'webhook-timestamp': String(got?.headers['webhook-timestamp']),
      'webhook-signature': String(got?.headers['webhook-signature']),
    });
    expect(payload).toMatchObject({
      type: 'shipment.delivered',
      data: { shipmentId: 'S-1', note: 'unicode ✓' },
    });
    expect(Date.parse((payload as { timestamp: string }).timestamp)).not.toBeNaN();
    expect(() =>
      new Webhook(sub.secret).verify(`${got?.body} `, {
        'webhook-id': String(got?.headers['webhook-id']),
        'webhook-timestamp': String(got?.headers['webhook-timestamp']),
        'webhook-signature': String(got?.headers['webhook-signature']),
      }),
    ).toThrow();
  });

  it('delivers matching types exactly once and other types not at all', async () => {
    const shipments = await receiver();
    const everything = await receiver();
    const exact = await receiver();
    await api.subscribe(shipments.url, ['shipment.*']);
    await api.subscribe(everything.url, ['*']);
    await api.subscribe(exact.url, ['order.created']);

    const ids = {
      delivered: await api.send('shipment.delivered'),
      route: await api.send('route.updated'),
      order: await api.send('order.created'),
      nested: await api.send('shipment.leg.arrived'),
    };
    const batch = await api.post('/v1/events/batch', {
      events: [
        { type: 'order.created', data: { n: 1 } },
        { type: 'shipment.created', data: { n: 2 } },
      ],
    });
    expect(batch.status).toBe(202);
    const [batchOrder, batchShipment] = batch.body.ids as string[];

    await waitFor(
      'all deliveries',
      () => everything.received.length === 6 && shipments.received.length === 3,
    );
    await settle(relay);

    const idsOf = (r: Receiver) => r.received.map((x) => x.headers['webhook-id']).sort();
    expect(idsOf(shipments)).toEqual([ids.delivered, ids.nested, batchShipment].sort());
    expect(idsOf(everything)).toEqual(
      Object.values(ids)
        .concat([batchOrder, batchShipment] as string[])
        .sort(),
    );
    expect(idsOf(exact)).toEqual([ids.order, batchOrder].sort());
  });

  it('sends nothing to a disabled subscription', async () => {
    const on = await receiver();
    const off = await receiver();
    await api.subscribe(on.url, ['*']);
    await api.subscribe(off.url, ['*'], { enabled: false });
    const paused = await api.subscribe(off.url, ['*']);
    expect((await api.patch(`/v1/subscriptions/${paused.id}`, { enabled: false })).status).toBe(200);

    const id = await api.send('order.created');
    await waitFor('the enabled receiver', () => on.withId(id).length === 1);
    await settle(relay);
    expect(off.received).toHaveLength(0);
  });

  it('retries a receiver that fails twice, and its third attempt carries the same webhook-id', async () => {
    const rx = await receiver((n) => (n <= 2 ? 503 : 200));
    const sub = await api.subscribe(rx.url, ['order.*']);
    const id = await api.send('order.created');

    await waitFor('three attempts', () => rx.received.length === 3);
    await settle(relay);
    expect(rx.received.map((r) => r.headers['webhook-id'])).toEqual([id, id, id]);
    // A fresh timestamp and signature each attempt, each valid.
    for (const r of rx.received) {
      expect(() => new Webhook(sub.secret).verify(r.body, r.headers as Record<string, string>)).not.toThrow();
    }

    const log = await api.get(`/v1/subscriptions/${sub.id}/deliveries`);
    expect(log.status).toBe(200);
    const [delivery] = log.body.deliveries;
    expect(delivery.status).toBe('succeeded');
    expect(delivery.attempts.map((a: { status: number }) => a.status)).toEqual([503, 503, 200]);
    expect(delivery.attempts.map((a: { attempt: number }) => a.attempt)).toEqual([1, 2, 3]);
    expect(delivery.attempts[0]).toMatchObject({
      error: 'HTTP 503',
      responseBody: 'nope 503',
      trigger: 'scheduled',
    });
    expect(delivery.attempts[2].durationMs).toBeGreaterThanOrEqual(0);
  });

  it('dead-letters an always-failing receiver after the schedule, and delivers it after a redrive once it recovers', async () => {
    const rx = await receiver(() => 500);
    const sub = await api.subscribe(rx.url, ['*']);
    const id = await api.send('invoice.paid', { amount: 42 });

    const dlq = await waitFor('the DLQ to hold the delivery', async () => {
      const res = await api.get('/v1/dlq');
      return res.body.count === 1 && res.body;
    });
    expect(rx.received).toHaveLength(3);
    expect(dlq.deliveries[0]).toMatchObject({ eventId: id, subscriptionId: sub.id, status: 'dead' });
    expect(dlq.deliveries[0].lastError).toMatch(/HTTP 500; all 3 attempts/);
    // The queue's redrive policy does the move, recording the source queue a redrive returns to.
    await waitFor('the DLQ queue to hold the task', () => relay.queues.deliveryDlq.depth().total === 1);
    expect(relay.queues.deliveryDlq.snapshot()[0]?.source).toBe(relay.queues.delivery.name);
    expect(rx.received).toHaveLength(3);

    rx.setBehaviour(() => 200);
    const redrive = await api.admin.post('/v1/dlq/redrive');
    expect(redrive.status).toBe(202);
    expect(redrive.body).toMatchObject({ moved: 1, total: 1 });

    await waitFor('the redriven delivery', () => rx.received.length === 4);
    await settle(relay);
    expect(rx.withId(id)).toHaveLength(4);
    expect(rx.received[3]?.headers['webhook-id']).toBe(id);
    expect((await api.get('/v1/dlq')).body.count).toBe(0);
    expect(relay.queues.deliveryDlq.depth().total).toBe(0);
    const event = await api.get(`/v1/events/${id}`);
    expect(event.body.deliveries[0].status).toBe('succeeded');
    expect(event.body.deliveries[0].attempts).toHaveLength(4);
  });

  it('gives a redriven delivery a fresh round of attempts before dead-lettering it again', async () => {
    const rx = await receiver(() => 500);
    await api.subscribe(rx.url, ['*']);
    await api.send('invoice.paid');
    await waitFor('first dead letter', async () => (await api.get('/v1/dlq')).body.count === 1);
    await waitFor('the task in the DLQ queue', () => relay.queues.deliveryDlq.depth().total === 1);

    await api.admin.post('/v1/dlq/redrive');
    await waitFor('second round', () => rx.received.length === 6);
    await waitFor(
      'second dead letter',
      async () => (await api.get('/v1/dlq')).body.count === 1 && relay.queues.deliveryDlq.depth().total === 1,
    );
  });

  it('dead-letters at once when the receiver answers 410 Gone', async () => {
    const rx = await receiver(() => 410);
    await api.subscribe(rx.url, ['*']);
    await api.send('order.created');
    await waitFor('dead letter', async () => (await api.get('/v1/dlq')).body.count === 1);
    await waitFor('the DLQ queue to hold the task', () => relay.queues.deliveryDlq.depth().total === 1);
    expect(rx.received).toHaveLength(1);
  });

  it('disables the subscription when the receiver answers 410 Gone, says why, and re-enabling clears it', async () => {
    const rx = await receiver(() => 410);
    const sub = await api.subscribe(rx.url, ['*']);
    await api.send('order.created');
    await waitFor('dead letter', async () => (await api.get('/v1/dlq')).body.count === 1);
    const disabled = (await api.get(`/v1/subscriptions/${sub.id}`)).body;
    expect(disabled).toMatchObject({
      enabled: false,
      disabledReason: expect.stringMatching(/^the receiver answered 410 Gone/),
    });
    expect(disabled.disabledAt).toEqual(expect.any(String));
    // Nothing more goes to it while it is disabled.
    await api.send('order.updated');
    await settle(relay);
    expect(rx.received).toHaveLength(1);

    const enabled = await api.patch(`/v1/subscriptions/${sub.id}`, { enabled: true });
    expect(enabled.body.enabled).toBe(true);
    expect(enabled.body.disabledReason).toBeUndefined();
    expect(enabled.body.disabledAt).toBeUndefined();
    // Its health starts afresh: the old failures would otherwise disable it again at once.
    expect(enabled.body.failingSince).toBeUndefined();
  });

  it('waits as long as a 429 Retry-After asks before the next attempt', async () => {
    const rx = await receiver((n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : 200));
    await api.subscribe(rx.url, ['*']);
    const id = await api.send('order.created');
    await waitFor('the retry', () => rx.withId(id).length === 2, 5000);
    const [first, second] = rx.withId(id);
    // The schedule says 0.05 s; the receiver asked for 1 s.
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('records a network error as status 0 and retries it', async () => {
    const rx = await receiver();
    const gone = `${rx.url}/x`;
    await rx.close();
    const sub = await api.subscribe(gone, ['*']);
    await api.send('order.created');
    await waitFor('dead letter', async () => (await api.get('/v1/dlq')).body.count === 1);
    const log = await api.get(`/v1/subscriptions/${sub.id}/deliveries`);
    expect(log.body.deliveries[0].attempts.map((a: { status: number }) => a.status)).toEqual([0, 0, 0]);
    expect(log.body.deliveries[0].attempts[0].error).toBe('connection refused');
  });

  it('treats a redirect as a failure and never follows it', async () => {
    const target = await receiver();
    const rx = await receiver(() => ({ status: 302, headers: { location: `${target.url}/elsewhere` } }));
    await api.subscribe(rx.url, ['*']);
    await api.send('order.created');
    await waitFor('dead letter', async () => (await api.get('/v1/dlq')).body.count === 1);
    expect(target.received).toHaveLength(0);
  });

  it('makes one more attempt on a manual retry, with the same webhook-id', async () => {
    const rx = await receiver();
    const sub = await api.subscribe(rx.url, ['*']);
    const id = await api.send('order.created');
    await waitFor('first delivery', () => rx.received.length === 1);
    await settle(relay);
    const [delivery] = (await api.get(`/v1/subscriptions/${sub.id}/deliveries`)).body.deliveries;

    const retry = await api.post(`/v1/deliveries/${delivery.id}/retry`);
    expect(retry.status).toBe(202);
    await waitFor('second delivery', () => rx.received.length === 2);
    await settle(relay);
    expect(rx.withId(id)).toHaveLength(2);
    const after = await api.get(`/v1/deliveries/${delivery.id}`);
    expect(after.body.attempts.map((a: { trigger: string }) => a.trigger)).toEqual(['scheduled', 'manual']);
  });

  it('sends a webhook.test event to one subscription only', async () => {
    const a = await receiver();
    const b = await receiver();
    const subA = await api.subscribe(a.url, ['order.created']);
    await api.subscribe(b.url, ['*']);
    const res = await api.post(`/v1/subscriptions/${subA.id}/test`);
    expect(res.status).toBe(202);
    await waitFor('the test event', () => a.received.length === 1);
    await settle(relay);
    expect(JSON.parse(a.received[0]?.body ?? '{}')).toMatchObject({
      type: 'webhook.test',
      data: { subscriptionId: subA.id },
    });
    expect(b.received).toHaveLength(0);
  });

  it('isolates a failing endpoint: the healthy one gets its webhook exactly once', async () => {
    const healthy = await receiver();
    const broken = await receiver(() => 500);
    await api.subscribe(healthy.url, ['*']);
    await api.subscribe(broken.url, ['*']);
    const id = await api.send('order.created');
    await waitFor('dead letter', async () => (await api.get('/v1/dlq')).body.count === 1);
    await settle(relay);
    expect(healthy.withId(id)).toHaveLength(1);
    expect(broken.withId(id)).toHaveLength(3);
  });
});
