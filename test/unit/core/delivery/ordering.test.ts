import { describe, expect, it } from 'vitest';
import type { ReceivedTask } from '../../../../functions/core/delivery/deps.ts';
import type { DeliveryTask } from '../../../../functions/core/delivery/model.ts';
import {
  addAndWake,
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

/** Pending lists in memory, sorted by key like the DynamoDB partition; the awake flag as DynamoDB keeps it. */
class MemoryOrderedStore implements OrderedStore {
  readonly items = new Map<string, PendingDelivery>();
  readonly flags = new Map<string, { by: string; until: number; wakeId: string }>();
  private versions = 0;
  async addPending(items: readonly PendingDelivery[], now: Date) {
    for (const p of items)
      this.items.set(`${p.task.subscriptionId}|${p.key}`, {
        ...structuredClone(p),
        addedAt: now.getTime(),
        version: `v${++this.versions}`,
      });
  }
  async headPending(_tenant: string, subscriptionId: string, limit: number) {
    return [...this.items.entries()]
      .filter(([k]) => k.startsWith(`${subscriptionId}|`))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, limit)
      .map(([, p]) => structuredClone(p));
  }
  async removePending(item: PendingDelivery) {
    const key = `${item.task.subscriptionId}|${item.key}`;
    if (this.items.get(key)?.version === item.version) this.items.delete(key);
  }
  async claimWake(_t: string, subscriptionId: string, claim: { by: string; now: Date; until: Date }) {
    const flag = this.flags.get(subscriptionId);
    if (flag && flag.until >= claim.now.getTime()) return flag.by === claim.by ? flag.wakeId : undefined;
    const wakeId = `wake-${++this.versions}`;
    this.flags.set(subscriptionId, { by: claim.by, until: claim.until.getTime(), wakeId });
    return wakeId;
  }
  async extendWake(_t: string, subscriptionId: string, until: Date) {
    const flag = this.flags.get(subscriptionId);
    this.flags.set(subscriptionId, {
      by: flag?.by ?? '',
      wakeId: flag?.wakeId ?? '',
      until: until.getTime(),
    });
  }
  async releaseWake(_t: string, subscriptionId: string) {
    this.flags.delete(subscriptionId);
  }
}

/** Wake-ups as SQS FIFO takes them: a deduplication id seen before sends nothing new. */
class MemoryOrderedQueue implements OrderedQueue {
  readonly wakes: Array<{ tenant: string; subscriptionId: string; dedupId: string }> = [];
  private readonly seen = new Set<string>();
  async wake(wakes: ReadonlyArray<{ tenant: string; subscriptionId: string; dedupId: string }>) {
    for (const w of wakes) {
      if (this.seen.has(w.dedupId)) continue;
      this.seen.add(w.dedupId);
      this.wakes.push(w);
    }
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
/** When the test's entries were listed: long settled. */
const LISTED = new Date(MINUTE_AGO);

/** Events evt_1..evt_n, ingested 1 ms apart a minute ago (well past the settle time). */
function world(
  n: number,
  opts: {
    scripts?: Record<string, number[]>;
    subscription?: Partial<Subscription>;
    realClock?: boolean;
  } = {},
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
    clock: { now: () => (opts.realClock ? new Date() : new Date(now)) },
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
    await w.ordered.store.addPending([...w.pending].reverse(), LISTED);
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
    await w.ordered.store.addPending(w.pending, LISTED);
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
    await w.ordered.store.addPending(w.pending, LISTED);
    const first = await drainOrdered(w.deps, 'acme', 'sub_1');
    expect(first).toEqual({ holdSeconds: 10, reason: 'retry' });
    w.advance(4_000);
    const again = await drainOrdered(w.deps, 'acme', 'sub_1');
    expect(again).toMatchObject({ holdSeconds: 6, reason: 'retry not yet due' });
    expect(w.sender.order).toEqual(['evt_1']);
  });

  it('dead-letters a head that runs out of attempts, then goes on with the next one', async () => {
    const w = world(3, { scripts: { evt_2: [500, 500, 500] } });
    await w.ordered.store.addPending(w.pending, LISTED);
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
    await w.ordered.store.addPending(w.pending, LISTED);
    await w.drainAll();
    expect(w.sender.order).toEqual(['evt_1']);
    expect(w.store.deliveries.get('dlv_1')?.status).toBe('dead');
    expect(w.store.deliveries.get('dlv_2')?.lastError).toContain('disabled');
  });

  it('holds the whole subscription while its circuit is open, without an attempt', async () => {
    const openUntil = new Date(NOW.getTime() + 30_000).toISOString();
    const w = world(2, { subscription: { circuit: { openUntil, timeouts: 1 } } });
    await w.ordered.store.addPending(w.pending, LISTED);
    const outcome = await drainOrdered(w.deps, 'acme', 'sub_1');
    expect(outcome).toEqual({ holdSeconds: 30, reason: 'circuit open' });
    expect(w.sender.order).toEqual([]);
    expect(w.store.deliveries.get('dlv_1')).toMatchObject({ status: 'pending' });
  });

  it('holds for a rate-limit send time more than a second away, without an attempt', async () => {
    const w = world(1, { subscription: { rateLimitPerSecond: 1 } });
    // Someone booked the next 3 seconds already.
    await w.deps.limiter.bookSendTimes('acme', 'sub_1', 3, 1, NOW);
    await w.ordered.store.addPending(w.pending, LISTED);
    const outcome = await drainOrdered(w.deps, 'acme', 'sub_1');
    expect(outcome).toMatchObject({ reason: 'rate limit' });
    expect(w.sender.order).toEqual([]);
  });

  it('abandons the pending deliveries of a deleted subscription as failed', async () => {
    const w = world(2);
    w.store.subscriptions.clear();
    await w.ordered.store.addPending(w.pending, LISTED);
    await w.drainAll();
    expect(w.sender.order).toEqual([]);
    expect(w.store.deliveries.get('dlv_1')?.status).toBe('failed');
    expect(w.ordered.store.items.size).toBe(0);
  });

  it('dead-letters the pending deliveries of a disabled subscription, for a redrive once enabled', async () => {
    const w = world(2, { subscription: { enabled: false } });
    await w.ordered.store.addPending(w.pending, LISTED);
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
    await w.ordered.store.addPending(w.pending, LISTED);
    await w.drainAll();
    expect(w.ordered.store.flags.size).toBe(0);
  });

  it('takes an entry added just as the subscription went to sleep, staying awake for it', async () => {
    const w = world(2);
    await w.ordered.store.addPending(w.pending.slice(0, 1), LISTED);
    const release = w.ordered.store.releaseWake.bind(w.ordered.store);
    let added = false;
    // A fanout adds its entry between the drain's empty read and its release of the flag.
    w.ordered.store.releaseWake = async (t, sub) => {
      if (!added) {
        added = true;
        await w.ordered.store.addPending(w.pending.slice(1), LISTED);
      }
      return release(t, sub);
    };
    await w.drainAll();
    expect(w.sender.order).toEqual(['evt_1', 'evt_2']);
  });

  it('hands on to a fresh wake-up when a drain runs out of time', async () => {
    const w = world(3);
    await w.ordered.store.addPending(w.pending, LISTED);
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

  it('after a crash between marking a head dead and removing it, sends it on again under a new token; the first copy is then stale', async () => {
    const w = world(2, { scripts: { evt_1: [500, 500, 500] } });
    await w.ordered.store.addPending(w.pending, LISTED);
    // The removal fails once, as after a crash or a throttled table.
    const remove = w.ordered.store.removePending.bind(w.ordered.store);
    let failed = false;
    w.ordered.store.removePending = async (item) => {
      if (!failed && item.task.deliveryId === 'dlv_1' && w.store.deliveries.get('dlv_1')?.status === 'dead') {
        failed = true;
        throw new Error('ProvisionedThroughputExceededException');
      }
      return remove(item);
    };
    await expect(w.drainAll()).rejects.toThrow(/Throughput/);
    await w.drainAll();
    const sent = w.tasks.of('enqueue').flatMap((c) => c.tasks);
    expect(sent.map((t) => t.deliveryId)).toEqual(['dlv_1', 'dlv_1']);
    const [first, second] = sent as [DeliveryTask, DeliveryTask];
    expect(first.deadToken).not.toBe(second.deadToken);
    expect(w.sender.order).toEqual(['evt_1', 'evt_1', 'evt_1', 'evt_2']);

    // Both copies reach the delivery queue's consumer, in either order: one bounces to the DLQ,
    // the other is skipped; neither starts a round nobody asked for.
    const load = (t: DeliveryTask) => w.store.loadForTasks([t]);
    expect(await prepareOrderedReturn(w.deps, received(first, 'm-first'), await load(first))).toEqual({
      settled: 'skipped',
    });
    await expect(
      prepareOrderedReturn(w.deps, received(second, 'm-second'), await load(second)),
    ).rejects.toBeInstanceOf(DeadLetterPending);
    await expect(
      prepareOrderedReturn(w.deps, received(second, 'm-second'), await load(second)),
    ).rejects.toBeInstanceOf(DeadLetterPending);
    expect(await prepareOrderedReturn(w.deps, received(first, 'm-first'), await load(first))).toEqual({
      settled: 'skipped',
    });
    expect(w.store.deliveries.get('dlv_1')).toMatchObject({ status: 'dead', deadMessageId: 'm-second' });
  });

  it('wakes a subscription again for a fanout repeated after its list was emptied (the old wake-up id would be deduplicated)', async () => {
    const w = world(1);
    const [entry] = w.pending as [PendingDelivery];
    const fanoutOnce = () => addAndWake(w.ordered, [entry], (p) => p.task.deliveryId, LISTED);
    await fanoutOnce();
    await w.drainAll();
    expect(w.ordered.queue.wakes).toHaveLength(1);
    // The same event fanned out again (at-least-once delivery): listed again, and woken again.
    await fanoutOnce();
    expect(w.ordered.queue.wakes).toHaveLength(2);
    await w.drainAll();
    expect(w.ordered.store.items.size).toBe(0);
    expect(w.sender.order).toEqual(['evt_1']);
  });

  it('a retried fanout while the subscription is awake re-sends the wake-up it promised, under the same id', async () => {
    const w = world(1);
    const [entry] = w.pending as [PendingDelivery];
    const ids: string[] = [];
    const queue = {
      wake: async (x: ReadonlyArray<{ dedupId: string }>) => void ids.push(...x.map((y) => y.dedupId)),
      hold: async () => undefined,
    };
    await addAndWake({ store: w.ordered.store, queue }, [entry], (p) => p.task.deliveryId, NOW);
    await addAndWake({ store: w.ordered.store, queue }, [entry], (p) => p.task.deliveryId, NOW);
    await addAndWake({ store: w.ordered.store, queue }, [entry], () => 'another fanout', NOW);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]);
  });

  it('keeps an entry listed again while a drain looked at it (a redrive), instead of removing it', async () => {
    const w = world(1);
    await w.ordered.store.addPending(w.pending, LISTED);
    const [read] = await w.ordered.store.headPending('acme', 'sub_1', 1);
    await w.ordered.store.addPending(w.pending, LISTED);
    await w.ordered.store.removePending(read as PendingDelivery);
    expect(w.ordered.store.items.size).toBe(1);
  });
});

describe('ordered delivery: on the delivery queue, to the DLQ and back', () => {
  async function deadHead() {
    const w = world(3, { scripts: { evt_1: [500, 500, 500] } });
    await w.ordered.store.addPending(w.pending, LISTED);
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
    await w.ordered.store.addPending(
      [pendingOf(later, { deliveryId: 'dlv_9', tenant: 'acme', eventId: 'evt_9', subscriptionId: 'sub_1' })],
      LISTED,
    );

    const redriven = await prepareOrderedReturn(
      w.deps,
      received(sent, 'm-redriven'),
      await w.store.loadForTasks([sent]),
    );
    expect(redriven).toEqual({ settled: 'waiting' });
    expect(w.store.deliveries.get('dlv_1')).toMatchObject({ status: 'pending', roundAttempts: 0 });
    expect(w.ordered.queue.wakes.at(-1)).toMatchObject({ subscriptionId: 'sub_1' });

    w.sender.order.length = 0;
    // Listed just now: it goes once it has settled.
    w.advance(3_000);
    await w.drainAll();
    expect(w.sender.order).toEqual(['evt_1', 'evt_9']);
    expect(w.store.deliveries.get('dlv_1')?.status).toBe('succeeded');
  });

  it('deliveries redriven together go in their original order, whichever comes back first', async () => {
    // A 410 disables the subscription: all three pending deliveries are dead-lettered.
    const w = world(3, { scripts: { evt_1: [410] }, realClock: true });
    await w.ordered.store.addPending(w.pending, LISTED);
    await w.drainAll();
    const sent = w.tasks.of('enqueue').flatMap((c) => c.tasks);
    expect(sent.map((t) => t.deliveryId)).toEqual(['dlv_1', 'dlv_2', 'dlv_3']);
    for (const t of sent) {
      await prepareOrderedReturn(
        w.deps,
        received(t, `claim-${t.deliveryId}`),
        await w.store.loadForTasks([t]),
      ).catch(() => undefined);
    }
    const sub = w.store.subscriptions.get('sub_1') as Subscription;
    w.store.subscriptions.set('sub_1', { ...sub, enabled: true });
    const redrive = async (t: DeliveryTask) =>
      prepareOrderedReturn(w.deps, received(t, `redrive-${t.deliveryId}`), await w.store.loadForTasks([t]));
    w.sender.order.length = 0;
    // The redrive brings the last one back first, and its wake-up starts a drain at once; the
    // others come back while that drain waits for the entry to settle.
    const [one, two, three] = sent as [DeliveryTask, DeliveryTask, DeliveryTask];
    await redrive(three);
    const drained = w.drainAll();
    await redrive(two);
    await redrive(one);
    await drained;
    expect(w.sender.order).toEqual(['evt_1', 'evt_2', 'evt_3']);
  });

  it('a late copy of an old dead-letter task does not touch a delivery back in its round', async () => {
    const { w, sent } = await deadHead();
    await prepareOrderedReturn(w.deps, received(sent, 'm-dead'), await w.store.loadForTasks([sent])).catch(
      () => undefined,
    );
    await prepareOrderedReturn(w.deps, received(sent, 'm-redriven'), await w.store.loadForTasks([sent]));
    // The redrive's own message again (its reinstating cut short): done again, harmlessly.
    expect(
      await prepareOrderedReturn(w.deps, received(sent, 'm-redriven'), await w.store.loadForTasks([sent])),
    ).toEqual({ settled: 'waiting' });
    // Any other copy, even one whose receives kept failing, is skipped: nothing marks it dead.
    const late = { ...received(sent, 'm-late'), receiveCount: 4 };
    expect(await prepareOrderedReturn(w.deps, late, await w.store.loadForTasks([sent]))).toEqual({
      settled: 'skipped',
    });
    expect(w.store.deliveries.get('dlv_1')?.status).toBe('pending');
  });

  it('a copy of a delivery that has since succeeded is skipped', async () => {
    const w = world(1);
    await w.ordered.store.addPending(w.pending, LISTED);
    await w.drainAll();
    const task: DeliveryTask = { ...(w.pending[0] as PendingDelivery).task, ordered: true, deadToken: 'x' };
    const out = await prepareOrderedReturn(w.deps, received(task, 'm-1'), await w.store.loadForTasks([task]));
    expect(out).toEqual({ settled: 'skipped' });
  });
});
