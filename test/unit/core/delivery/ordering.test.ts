import { describe, expect, it } from 'vitest';
import type { ReceivedTask } from '../../../../functions/core/delivery/deps.ts';
import type { DeliveryTask } from '../../../../functions/core/delivery/model.ts';
import {
  type DrainOutcome,
  drainOrdered,
  ORDERED_DRAIN_MS,
  type OrderedDeps,
  orderKey,
  pendingOf,
  prepareOrderedReturn,
} from '../../../../functions/core/delivery/ordering.ts';
import { DeadLetterPending } from '../../../../functions/core/errors.ts';
import type {
  HttpResponse,
  HttpSender,
  OrderedQueue,
  OrderedStore,
  PendingDelivery,
} from '../../../../functions/core/ports.ts';
import type { Subscription } from '../../../../functions/core/subscription.ts';
import {
  anEvent,
  aSubscription,
  FakeDeliveryStore,
  FakeLimiter,
  FakeTaskQueue,
  NOW,
} from '../../support/fakes.ts';
import { config } from './harness.ts';

/** Pending lists in memory, sorted by key like the DynamoDB partition. */
class MemoryOrderedStore implements OrderedStore {
  readonly items = new Map<string, PendingDelivery>();
  async addPending(items: readonly PendingDelivery[]) {
    for (const p of items) this.items.set(`${p.task.subscriptionId}|${p.key}`, structuredClone(p));
  }
  async headPending(_tenant: string, subscriptionId: string, limit: number) {
    return [...this.items.entries()]
      .filter(([k]) => k.startsWith(`${subscriptionId}|`))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, limit)
      .map(([, p]) => structuredClone(p));
  }
  async removePending(item: PendingDelivery) {
    this.items.delete(`${item.task.subscriptionId}|${item.key}`);
  }
  readonly flags = new Map<string, { by: string; until: number }>();
  async claimWake(_t: string, subscriptionId: string, claim: { by: string; now: Date; until: Date }) {
    const flag = this.flags.get(subscriptionId);
    if (flag && flag.until >= claim.now.getTime() && flag.by !== claim.by) return false;
    this.flags.set(subscriptionId, { by: claim.by, until: claim.until.getTime() });
    return true;
  }
  async extendWake(_t: string, subscriptionId: string, until: Date) {
    const flag = this.flags.get(subscriptionId);
    this.flags.set(subscriptionId, { by: flag?.by ?? '', until: until.getTime() });
  }
  async releaseWake(_t: string, subscriptionId: string) {
    this.flags.delete(subscriptionId);
  }
  keys(): string[] {
    return [...this.items.values()].map((p) => p.task.eventId).sort();
  }
}

class MemoryOrderedQueue implements OrderedQueue {
  readonly wakes: Array<{ tenant: string; subscriptionId: string; dedupId: string }> = [];
  async wake(wakes: ReadonlyArray<{ tenant: string; subscriptionId: string; dedupId: string }>) {
    this.wakes.push(...wakes);
  }
  async hold() {}
}

/** Answers each event (by `webhook-id`) from its script, then 200; records the order of requests. */
class ScriptedSender implements HttpSender {
  readonly order: string[] = [];
  constructor(private readonly scripts: Record<string, number[]> = {}) {}
  async post(_url: string, headers: Record<string, string>): Promise<HttpResponse> {
    const id = headers['webhook-id'] as string;
    this.order.push(id);
    const status = this.scripts[id]?.shift() ?? 200;
    return { status, body: '', headers: {} };
  }
}

const MINUTE_AGO = NOW.getTime() - 60_000;

/** Events evt_1..evt_n, ingested 1 ms apart a minute ago (well past the settle time). */
function world(
  n: number,
  opts: { scripts?: Record<string, number[]>; subscription?: Partial<Subscription> } = {},
) {
  let now = NOW.getTime();
  const store = new FakeDeliveryStore();
  const tasks = new FakeTaskQueue(store.calls);
  const ordered = { store: new MemoryOrderedStore(), queue: new MemoryOrderedQueue() };
  const sender = new ScriptedSender(opts.scripts);
  const sub = aSubscription({ ordering: 'fifo', ...opts.subscription });
  store.subscriptions.set(sub.id, sub);
  const pending: PendingDelivery[] = [];
  for (let i = 1; i <= n; i++) {
    const event = anEvent({ id: `evt_${i}`, receivedAt: new Date(MINUTE_AGO + i).toISOString() });
    store.events.set(event.id, event);
    const task: DeliveryTask = {
      deliveryId: `dlv_${i}`,
      tenant: 'acme',
      eventId: event.id,
      subscriptionId: sub.id,
    };
    pending.push(pendingOf(event, task));
  }
  const deps: OrderedDeps = {
    store,
    tasks,
    limiter: new FakeLimiter(store.calls),
    sender,
    clock: { now: () => new Date(now) },
    config,
    ordered,
  };
  const holds: DrainOutcome[] = [];
  /** Drains as the queue would: after a hold, comes back when it ends. */
  async function drainAll(maxRounds = 50) {
    for (let round = 0; round < maxRounds; round++) {
      const outcome = await drainOrdered(deps, 'acme', sub.id);
      if ('done' in outcome) return;
      holds.push(outcome);
      if ('holdSeconds' in outcome) now += outcome.holdSeconds * 1000;
    }
    throw new Error('the drain never finished');
  }
  return {
    deps,
    store,
    tasks,
    ordered,
    sender,
    pending,
    holds,
    drainAll,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const received = (task: DeliveryTask, messageId: string): ReceivedTask => ({
  task,
  messageId,
  receiptHandle: `rh-${messageId}`,
  receiveCount: 1,
});

describe('ordered delivery: draining a subscription', () => {
  it('sends pending deliveries in ingest order, whatever order fanout added them in', async () => {
    const w = world(5);
    await w.ordered.store.addPending([...w.pending].reverse());
    await w.drainAll();
    expect(w.sender.order).toEqual(['evt_1', 'evt_2', 'evt_3', 'evt_4', 'evt_5']);
    expect(w.ordered.store.items.size).toBe(0);
    expect(w.store.deliveries.get('dlv_5')?.status).toBe('succeeded');
  });

  it('orders events of one ingest batch by their position in it', () => {
    const at = '2026-11-23T09:00:00.000Z';
    const keys = [11, 2, 0].map((position) =>
      orderKey(anEvent({ receivedAt: at, position }), `dlv_${position}`),
    );
    expect([...keys].sort()).toEqual([keys[2], keys[1], keys[0]]);
  });

  it('a failing head blocks the deliveries behind it until it succeeds, holding for each retry delay', async () => {
    const w = world(3, { scripts: { evt_1: [500, 503] } });
    await w.ordered.store.addPending(w.pending);
    await w.drainAll();
    expect(w.sender.order).toEqual(['evt_1', 'evt_1', 'evt_1', 'evt_2', 'evt_3']);
    // The schedule's delays (10 s, 20 s, no jitter), as holds of the subscription.
    expect(w.holds).toEqual([
      { holdSeconds: 10, reason: 'retry' },
      { holdSeconds: 20, reason: 'retry' },
    ]);
    expect(w.store.deliveries.get('dlv_1')).toMatchObject({ status: 'succeeded', roundAttempts: 3 });
  });

  it('comes back early to a head that is not yet due and holds again for the rest', async () => {
    const w = world(2, { scripts: { evt_1: [500] } });
    await w.ordered.store.addPending(w.pending);
    const first = await drainOrdered(w.deps, 'acme', 'sub_1');
    expect(first).toEqual({ holdSeconds: 10, reason: 'retry' });
    w.advance(4_000);
    const again = await drainOrdered(w.deps, 'acme', 'sub_1');
    expect(again).toMatchObject({ holdSeconds: 6, reason: 'retry not yet due' });
    expect(w.sender.order).toEqual(['evt_1']);
  });

  it('dead-letters a head that runs out of attempts, then goes on with the next one', async () => {
    const w = world(3, { scripts: { evt_2: [500, 500, 500] } });
    await w.ordered.store.addPending(w.pending);
    await w.drainAll();
    expect(w.sender.order).toEqual(['evt_1', 'evt_2', 'evt_2', 'evt_2', 'evt_3']);
    const dead = w.store.deliveries.get('dlv_2');
    expect(dead).toMatchObject({ status: 'dead', roundAttempts: 3 });
    expect(dead?.deadMessageId).toMatch(/^ordered:/);
    // On its way to the one DLQ through the delivery queue, flagged and carrying its token.
    const [sent] = w.tasks.of('enqueue').flatMap((c) => c.tasks);
    expect(sent).toMatchObject({ deliveryId: 'dlv_2', ordered: true });
    expect(`ordered:${sent?.deadToken}`).toBe(dead?.deadMessageId);
    expect(w.store.deliveries.get('dlv_3')?.status).toBe('succeeded');
  });

  it('a 410 Gone dead-letters the head at once and disables the subscription, so the rest wait in the DLQ', async () => {
    const w = world(2, { scripts: { evt_1: [410] } });
    await w.ordered.store.addPending(w.pending);
    await w.drainAll();
    expect(w.sender.order).toEqual(['evt_1']);
    expect(w.store.deliveries.get('dlv_1')?.status).toBe('dead');
    expect(w.store.deliveries.get('dlv_2')?.lastError).toContain('disabled');
  });

  it('holds the whole subscription while its circuit is open, without an attempt', async () => {
    const openUntil = new Date(NOW.getTime() + 30_000).toISOString();
    const w = world(2, { subscription: { circuit: { openUntil, timeouts: 1 } } });
    await w.ordered.store.addPending(w.pending);
    const outcome = await drainOrdered(w.deps, 'acme', 'sub_1');
    expect(outcome).toEqual({ holdSeconds: 30, reason: 'circuit open' });
    expect(w.sender.order).toEqual([]);
    expect(w.store.deliveries.get('dlv_1')).toMatchObject({ status: 'pending' });
  });

  it('holds for a rate-limit send time more than a second away and books again afterwards', async () => {
    const w = world(1, { subscription: { rateLimitPerSecond: 1 } });
    // Someone booked the next 3 seconds already.
    await w.deps.limiter.bookSendTimes('acme', 'sub_1', 3, 1, NOW);
    await w.ordered.store.addPending(w.pending);
    const outcome = await drainOrdered(w.deps, 'acme', 'sub_1');
    expect(outcome).toMatchObject({ reason: 'rate limit' });
    expect(w.sender.order).toEqual([]);
  });

  it('abandons the pending deliveries of a deleted subscription as failed', async () => {
    const w = world(2);
    w.store.subscriptions.clear();
    await w.ordered.store.addPending(w.pending);
    await w.drainAll();
    expect(w.sender.order).toEqual([]);
    expect(w.store.deliveries.get('dlv_1')?.status).toBe('failed');
    expect(w.ordered.store.items.size).toBe(0);
  });

  it('dead-letters the pending deliveries of a disabled subscription, for a redrive once enabled', async () => {
    const w = world(2, { subscription: { enabled: false } });
    await w.ordered.store.addPending(w.pending);
    await w.drainAll();
    expect(w.sender.order).toEqual([]);
    expect(w.store.deliveries.get('dlv_2')?.lastError).toContain('disabled');
    expect(w.tasks.of('enqueue').flatMap((c) => c.tasks)).toHaveLength(2);
  });

  it('puts the subscription to sleep when its list is empty, so the next fanout wakes it', async () => {
    const w = world(1);
    await w.ordered.store.claimWake('acme', 'sub_1', {
      by: 'f',
      now: NOW,
      until: new Date(NOW.getTime() + 1),
    });
    await w.ordered.store.addPending(w.pending);
    await w.drainAll();
    expect(w.ordered.store.flags.size).toBe(0);
  });

  it('takes an entry added just as the subscription went to sleep, staying awake for it', async () => {
    const w = world(2);
    await w.ordered.store.addPending(w.pending.slice(0, 1));
    const release = w.ordered.store.releaseWake.bind(w.ordered.store);
    let added = false;
    // A fanout adds its entry between the drain's empty read and its release of the flag.
    w.ordered.store.releaseWake = async (t, sub) => {
      if (!added) {
        added = true;
        await w.ordered.store.addPending(w.pending.slice(1));
      }
      return release(t, sub);
    };
    await w.drainAll();
    expect(w.sender.order).toEqual(['evt_1', 'evt_2']);
  });

  it('hands on to a fresh wake-up when a drain runs out of time', async () => {
    const w = world(3);
    await w.ordered.store.addPending(w.pending);
    const slowSender: HttpSender = {
      post: async () => {
        w.advance(ORDERED_DRAIN_MS);
        return { status: 200, body: '', headers: {} };
      },
    };
    const outcome = await drainOrdered({ ...w.deps, sender: slowSender }, 'acme', 'sub_1');
    expect(outcome).toEqual({ renew: true });
    expect(w.ordered.store.items.size).toBeGreaterThan(0);
  });

  it('after a crash between marking a head dead and sending it on, sends it again with the same token', async () => {
    const w = world(2);
    await w.ordered.store.addPending(w.pending);
    w.store.deliveries.set('dlv_1', {
      id: 'dlv_1',
      tenant: 'acme',
      eventId: 'evt_1',
      eventType: 'shipment.delivered',
      subscriptionId: 'sub_1',
      url: 'https://receiver.example/hooks',
      status: 'dead',
      attempts: [],
      deadMessageId: 'ordered:tok-1',
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
    });
    await w.drainAll();
    expect(w.tasks.of('enqueue').flatMap((c) => c.tasks)).toEqual([
      expect.objectContaining({ deliveryId: 'dlv_1', ordered: true, deadToken: 'tok-1' }),
    ]);
    expect(w.sender.order).toEqual(['evt_2']);
  });
});

describe('ordered delivery: on the delivery queue, to the DLQ and back', () => {
  async function deadHead() {
    const w = world(3, { scripts: { evt_1: [500, 500, 500] } });
    await w.ordered.store.addPending(w.pending);
    await w.drainAll();
    const [sent] = w.tasks.of('enqueue').flatMap((c) => c.tasks);
    return { w, sent: sent as DeliveryTask };
  }

  it('the dead-letter task claims the delivery and bounces toward the DLQ on every receive', async () => {
    const { w, sent } = await deadHead();
    for (let i = 0; i < 2; i++) {
      const loaded = await w.store.loadForTasks([sent]);
      await expect(prepareOrderedReturn(w.deps, received(sent, 'm-dead'), loaded)).rejects.toBeInstanceOf(
        DeadLetterPending,
      );
    }
    expect(w.store.deliveries.get('dlv_1')?.deadMessageId).toBe('m-dead');
    expect(w.tasks.of('releaseToDeadLetter')).toHaveLength(2);
  });

  it('a redrive puts the delivery back at its original place, first in line, for a fresh round', async () => {
    const { w, sent } = await deadHead();
    const claim = received(sent, 'm-dead');
    await prepareOrderedReturn(w.deps, claim, await w.store.loadForTasks([sent])).catch(() => undefined);
    // Later events are pending behind where it was.
    const later = anEvent({ id: 'evt_9', receivedAt: new Date(MINUTE_AGO + 9).toISOString() });
    w.store.events.set(later.id, later);
    await w.ordered.store.addPending([
      pendingOf(later, { deliveryId: 'dlv_9', tenant: 'acme', eventId: 'evt_9', subscriptionId: 'sub_1' }),
    ]);

    const redriven = await prepareOrderedReturn(
      w.deps,
      received(sent, 'm-redriven'),
      await w.store.loadForTasks([sent]),
    );
    expect(redriven).toEqual({ settled: 'waiting' });
    expect(w.store.deliveries.get('dlv_1')).toMatchObject({ status: 'pending', roundAttempts: 0 });
    expect(w.ordered.queue.wakes.at(-1)).toMatchObject({ subscriptionId: 'sub_1', dedupId: 'm-redriven' });

    w.sender.order.length = 0;
    await w.drainAll();
    expect(w.sender.order).toEqual(['evt_1', 'evt_9']);
    expect(w.store.deliveries.get('dlv_1')?.status).toBe('succeeded');
  });

  it('a copy of a delivery that has since succeeded is skipped', async () => {
    const w = world(1);
    await w.ordered.store.addPending(w.pending);
    await w.drainAll();
    const task: DeliveryTask = { ...(w.pending[0] as PendingDelivery).task, ordered: true, deadToken: 'x' };
    const out = await prepareOrderedReturn(w.deps, received(task, 'm-1'), await w.store.loadForTasks([task]));
    expect(out).toEqual({ settled: 'skipped' });
  });
});
