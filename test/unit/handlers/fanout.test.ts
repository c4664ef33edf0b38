import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { FanoutStore } from '../../../functions/core/fanout.ts';
import { deliveryId } from '../../../functions/core/ids.ts';
import type { PendingDelivery } from '../../../functions/core/ports.ts';
import { makeFanoutHandler } from '../../../functions/handlers/fanout.ts';
import { anEvent, aSubscription, FakeTaskQueue } from '../support/fakes.ts';

/** An SQS record carrying what an EventBridge rule delivers: the envelope with our event as detail. */
function busRecord(messageId: string, detail: unknown, extra: Record<string, unknown> = {}): SQSRecord {
  const envelope = {
    ...extra,
    version: '0',
    id: `eb-${messageId}`,
    'detail-type': 'x',
    source: 'webhook-relay',
    account: '000000000000',
    time: '2026-11-23T10:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail,
  };
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: JSON.stringify(envelope),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: '0',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:fanout',
    awsRegion: 'eu-west-1',
  };
}

interface CountingStore extends FanoutStore {
  listCalls: number;
  stored: string[];
}

function fakeStore(): CountingStore {
  const subscriptions = [
    aSubscription({ id: 'sub_orders', eventTypes: ['order.*'] }),
    aSubscription({ id: 'sub_all', eventTypes: ['*'] }),
    aSubscription({ id: 'sub_off', eventTypes: ['*'], enabled: false }),
  ];
  const store: CountingStore = {
    listCalls: 0,
    stored: [] as string[],
    async putEvents(events) {
      store.stored.push(...events.map((e) => e.event.id));
    },
    async listSubscriptions() {
      store.listCalls++;
      return subscriptions;
    },
  };
  return store;
}

describe('fanout handler', () => {
  it('makes one task per matching enabled subscription, reading subscriptions once per batch', async () => {
    const store = fakeStore();
    const tasks = new FakeTaskQueue();
    const handler = makeFanoutHandler({ store, tasks });
    const result = await handler({
      Records: [
        busRecord('m1', anEvent({ id: 'evt_a', type: 'order.created' })),
        busRecord('m2', anEvent({ id: 'evt_b', type: 'route.updated' })),
        busRecord('m3', anEvent({ id: 'evt_c', type: 'order.paid' })),
      ],
    });
    expect(result.batchItemFailures).toEqual([]);
    expect(store.listCalls).toBe(1);
    expect(store.stored.sort()).toEqual(['evt_a', 'evt_b', 'evt_c']);
    const pairs = tasks.of('enqueue').flatMap((c) => c.tasks.map((t) => `${t.eventId}->${t.subscriptionId}`));
    expect(pairs.sort()).toEqual([
      'evt_a->sub_all',
      'evt_a->sub_orders',
      'evt_b->sub_all',
      'evt_c->sub_all',
      'evt_c->sub_orders',
    ]);
    const [first] = tasks.of('enqueue')[0]?.tasks ?? [];
    expect(first?.deliveryId).toBe(
      deliveryId('acme', first?.eventId ?? '', first?.subscriptionId ?? '', first?.event?.receivedAt ?? ''),
    );
  });

  it('starts every task at attempt 0 of its round, due now', async () => {
    const tasks = new FakeTaskQueue();
    await makeFanoutHandler({ store: fakeStore(), tasks })({
      Records: [busRecord('m1', anEvent({ id: 'evt_a', type: 'order.created' }))],
    });
    const made = tasks.of('enqueue').flatMap((c) => c.tasks);
    expect(made).toHaveLength(2);
    for (const t of made) {
      expect(t.attempt).toBe(0);
      expect(t).not.toHaveProperty('due');
      expect(t).not.toHaveProperty('manual');
    }
    expect(tasks.copies).toEqual([]);
  });

  it('turns an event replayed from the archive (replay-name) into new deliveries that name the replay', async () => {
    const tasks = new FakeTaskQueue();
    const event = anEvent({ id: 'evt_a', type: 'order.created' });
    await makeFanoutHandler({ store: fakeStore(), tasks })({
      Records: [busRecord('m1', event), busRecord('m2', event, { 'replay-name': 'replay-01' })],
    });
    const [original, replayed] = tasks
      .of('enqueue')
      .map((c) => c.tasks.find((t) => t.subscriptionId === 'sub_all'));
    expect(original?.replay).toBeUndefined();
    expect(replayed).toMatchObject({ eventId: 'evt_a', replay: 'replay-01' });
    expect(replayed?.deliveryId).toBe(deliveryId('acme', 'evt_a', 'sub_all', event.receivedAt, 'replay-01'));
    expect(replayed?.deliveryId).not.toBe(original?.deliveryId);
  });

  it('sends an event aimed at one subscription to that subscription only', async () => {
    const tasks = new FakeTaskQueue();
    await makeFanoutHandler({ store: fakeStore(), tasks })({
      Records: [busRecord('m1', anEvent({ type: 'webhook.test', subscriptionId: 'sub_orders' }))],
    });
    expect(tasks.of('enqueue')[0]?.tasks.map((t) => t.subscriptionId)).toEqual(['sub_orders']);
  });

  it('reports a malformed record as a batch item failure without holding up the others', async () => {
    const tasks = new FakeTaskQueue();
    const bad = { ...busRecord('m2', {}), body: '{not json' };
    const result = await makeFanoutHandler({ store: fakeStore(), tasks })({
      Records: [
        busRecord('m1', anEvent({ id: 'evt_a', type: 'order.created' })),
        bad,
        busRecord('m3', { id: 'no type' }),
      ],
    });
    expect(result.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m2', 'm3']);
    expect(tasks.of('enqueue').flatMap((c) => c.tasks.map((t) => t.eventId))).toEqual(['evt_a', 'evt_a']);
  });

  it('fails a record whose store write fails, so SQS brings it back', async () => {
    const store = fakeStore();
    store.putEvents = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };
    const result = await makeFanoutHandler({ store, tasks: new FakeTaskQueue() })({
      Records: [busRecord('m1', anEvent())],
    });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
  });

  it('fans out every event of a packed entry (a batch ingest), and of a replayed one', async () => {
    const tasks = new FakeTaskQueue();
    const store = fakeStore();
    const packed = [1, 2, 3].map((n) => anEvent({ id: `evt_p${n}`, type: 'route.updated' }));
    const result = await makeFanoutHandler({ store, tasks })({
      Records: [
        busRecord('m1', { events: packed }),
        busRecord('m2', { events: packed }, { 'replay-name': 'replay-07' }),
      ],
    });
    expect(result.batchItemFailures).toEqual([]);
    const made = tasks.of('enqueue').flatMap((c) => c.tasks);
    expect(made.filter((t) => !t.replay).map((t) => t.eventId)).toEqual(['evt_p1', 'evt_p2', 'evt_p3']);
    expect(made.filter((t) => t.replay === 'replay-07').map((t) => t.eventId)).toEqual([
      'evt_p1',
      'evt_p2',
      'evt_p3',
    ]);
    expect(store.stored.filter((id) => id === 'evt_p2')).toHaveLength(2);
  });

  it('refuses an empty pack as a batch item failure', async () => {
    const result = await makeFanoutHandler({ store: fakeStore(), tasks: new FakeTaskQueue() })({
      Records: [busRecord('m1', { events: [] })],
    });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
  });

  it('queues each task with its event, so the delivery step reads no event item', async () => {
    const tasks = new FakeTaskQueue();
    const event = anEvent({ id: 'evt_a', type: 'order.created', data: { n: 1 } });
    await makeFanoutHandler({ store: fakeStore(), tasks })({ Records: [busRecord('m1', event)] });
    const made = tasks.of('enqueue').flatMap((c) => c.tasks);
    expect(made).toHaveLength(2);
    for (const t of made) expect(t.event).toEqual(event);
  });

  it('stores each event with the ids of the deliveries it made, and a replay as an addition', async () => {
    const stored: Array<{ id: string; ids: readonly string[]; replay: boolean }> = [];
    const store = fakeStore();
    store.putEvents = async (events, opts) => {
      for (const e of events)
        stored.push({ id: e.event.id, ids: e.deliveryIds, replay: opts?.replay === true });
    };
    const tasks = new FakeTaskQueue();
    const event = anEvent({ id: 'evt_a', type: 'order.created' });
    await makeFanoutHandler({ store, tasks })({
      Records: [busRecord('m1', event), busRecord('m2', anEvent({ id: 'evt_b', type: 'none.matches' }))],
    });
    await makeFanoutHandler({ store, tasks })({
      Records: [busRecord('m3', event, { 'replay-name': 'replay-01' })],
    });
    const made = tasks.of('enqueue').flatMap((c) => c.tasks);
    const ids = (replay: boolean) =>
      made
        .filter((t) => t.eventId === 'evt_a' && (t.replay !== undefined) === replay)
        .map((t) => t.deliveryId);
    expect(stored.find((s) => s.id === 'evt_a' && !s.replay)?.ids.toSorted()).toEqual(ids(false).toSorted());
    expect(stored.find((s) => s.id === 'evt_a' && s.replay)?.ids.toSorted()).toEqual(ids(true).toSorted());
    // sub_all takes every type: evt_b has one delivery, and its item says so.
    expect(stored.find((s) => s.id === 'evt_b')?.ids).toEqual(
      made.filter((t) => t.eventId === 'evt_b').map((t) => t.deliveryId),
    );
  });
});

describe('fanout to ordered subscriptions', () => {
  function orderedWorld() {
    const subscriptions = [
      aSubscription({ id: 'sub_fifo', eventTypes: ['*'], ordering: 'fifo' }),
      aSubscription({ id: 'sub_plain', eventTypes: ['*'] }),
    ];
    const store: FanoutStore = {
      putEvents: async () => undefined,
      listSubscriptions: async () => subscriptions,
    };
    const added: PendingDelivery[] = [];
    const wakes: Array<{ subscriptionId: string; dedupId: string }> = [];
    const awake = new Set<string>();
    const ordered = {
      store: {
        addPending: async (items: readonly PendingDelivery[]) => void added.push(...items),
        headPending: async () => [],
        removePending: async () => undefined,
        // The awake flag: the first claim wins until it is released.
        claimWake: async (_t: string, subscriptionId: string) => {
          if (awake.has(subscriptionId)) return undefined;
          awake.add(subscriptionId);
          return `wake-${subscriptionId}`;
        },
        extendWake: async () => undefined,
        releaseWake: async () => undefined,
      },
      queue: {
        wake: async (w: ReadonlyArray<{ tenant: string; subscriptionId: string; dedupId: string }>) =>
          void wakes.push(...w),
        hold: async () => undefined,
      },
    };
    return { store, added, wakes, ordered, tasks: new FakeTaskQueue() };
  }

  it('lists an ordered subscription’s deliveries in ingest order and wakes it once while it is awake, queueing none of them', async () => {
    const w = orderedWorld();
    await makeFanoutHandler({ store: w.store, tasks: w.tasks, ordered: w.ordered })({
      Records: [
        busRecord('m1', anEvent({ id: 'evt_b', receivedAt: '2026-11-23T10:00:00.000Z', position: 1 })),
        busRecord('m2', anEvent({ id: 'evt_a', receivedAt: '2026-11-23T10:00:00.000Z', position: 0 })),
      ],
    });
    expect(w.tasks.of('enqueue').flatMap((c) => c.tasks.map((t) => t.subscriptionId))).toEqual([
      'sub_plain',
      'sub_plain',
    ]);
    const sorted = [...w.added].sort((a, b) => (a.key < b.key ? -1 : 1)).map((p) => p.task.eventId);
    expect(sorted).toEqual(['evt_a', 'evt_b']);
    expect(w.added.every((p) => p.task.subscriptionId === 'sub_fifo')).toBe(true);
    // One wake-up: the second record found the subscription already awake.
    expect(w.wakes.map((x) => x.subscriptionId)).toEqual(['sub_fifo']);
  });

  it('fails the record (it comes back) when a subscription is ordered but no ordered queue is wired', async () => {
    const w = orderedWorld();
    const result = await makeFanoutHandler({ store: w.store, tasks: w.tasks })({
      Records: [busRecord('m1', anEvent({ id: 'evt_a' }))],
    });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
  });
});
