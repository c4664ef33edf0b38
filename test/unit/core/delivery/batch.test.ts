import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { BatchOutcomes } from '../../../../functions/core/delivery/batch.ts';
import type { ReceivedTask } from '../../../../functions/core/delivery/deps.ts';
import type { DeliveryTask } from '../../../../functions/core/delivery/model.ts';
import { DeadLetterPending } from '../../../../functions/core/errors.ts';
import { aSubscription, NOW } from '../../support/fakes.ts';
import { aDelivery, at, iso, pastAttempts, receive, setup, task, until } from './harness.ts';

/** The limiter's pauses and the in-process rate-limit waits, skipped: no test waits in real time. */
vi.mock('node:timers/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:timers/promises')>();
  return { ...actual, setTimeout: async () => undefined };
});

let seq = 0;
beforeEach(() => {
  seq = 0;
});

/** A new task (as fanout makes it) for the subscription, each its own delivery. */
const taskFor = (subscriptionId: string, extra: Partial<DeliveryTask> = {}): DeliveryTask => ({
  ...task,
  deliveryId: `dlv_${subscriptionId}_${++seq}`,
  subscriptionId,
  ...extra,
});

/** Each record's outcome, in the order the records were received. */
const values = (outcomes: BatchOutcomes, received: readonly ReceivedTask[]) =>
  received.map((r) => {
    const o = outcomes.get(r.messageId);
    return o?.status === 'fulfilled' ? o.value : `rejected: ${String(o?.reason)}`;
  });

describe('deliverBatch', () => {
  it('does nothing for an empty batch', async () => {
    const { batch, store, calls } = setup();
    expect((await batch([])).size).toBe(0);
    expect(store.loads).toEqual([]);
    expect(calls).toEqual([]);
  });

  describe('legs of long waits', () => {
    it('sends a copy due in 2 h on with 900 s, reading and writing nothing', async () => {
      const { batch, store, tasks, sender } = setup();
      const leg = { ...task, attempt: 3, due: at(2 * 3_600_000) };
      const r = receive(leg);
      const outcomes = await batch([r]);
      expect(outcomes.get(r.messageId)).toEqual({ status: 'fulfilled', value: 'waiting' });
      expect(tasks.calls).toEqual([{ op: 'sendDelayed', task: leg, delaySeconds: 900 }]);
      expect(store.loads).toEqual([]);
      expect(sender.requests).toEqual([]);
    });

    it('sends the last leg for the rest of the wait, the booking kept', async () => {
      const { batch, tasks } = setup();
      const leg = { ...task, booked: true, due: at(120_000) };
      await batch([receive(leg)]);
      expect(tasks.copies).toEqual([{ task: leg, delaySeconds: 120 }]);
    });

    it('acts on a copy that arrives within a second of its due time', async () => {
      const { batch, sender, store } = setup();
      const r = receive({ ...task, due: at(800) });
      const outcomes = await batch([r]);
      expect(outcomes.get(r.messageId)).toEqual({ status: 'fulfilled', value: 'succeeded' });
      expect(sender.requests).toHaveLength(1);
      expect(store.loads).toHaveLength(1);
    });

    it('reports a leg whose send failed as rejected, so the queue brings it back', async () => {
      const { batch, tasks } = setup();
      tasks.failSends = new Error('SQS unavailable');
      const r = receive({ ...task, due: at(3_600_000) });
      const outcomes = await batch([r]);
      expect(outcomes.get(r.messageId)).toMatchObject({
        status: 'rejected',
        reason: { message: 'SQS unavailable' },
      });
    });
  });

  describe('reading the store', () => {
    it('reads once for the whole batch, across endpoints, leaving the legs out', async () => {
      const { batch, store } = setup({ subscriptions: [aSubscription(), aSubscription({ id: 'sub_2' })] });
      const onTime = [taskFor('sub_1'), taskFor('sub_1'), taskFor('sub_2')];
      await batch([...onTime.map((t) => receive(t)), receive({ ...task, due: at(3_600_000) })]);
      expect(store.loads).toEqual([onTime]);
    });

    it('rejects every on-time record when the read fails, and still sends the legs on', async () => {
      const { batch, store, tasks, sender } = setup();
      store.failLoad = new Error('ProvisionedThroughputExceededException');
      const a = receive(taskFor('sub_1'));
      const b = receive(taskFor('sub_1'));
      const leg = receive({ ...task, due: at(3_600_000) });
      const outcomes = await batch([a, b, leg]);
      expect(outcomes.get(a.messageId)).toMatchObject({ status: 'rejected', reason: store.failLoad });
      expect(outcomes.get(b.messageId)).toMatchObject({ status: 'rejected', reason: store.failLoad });
      expect(outcomes.get(leg.messageId)).toEqual({ status: 'fulfilled', value: 'waiting' });
      expect(tasks.copies).toHaveLength(1);
      expect(sender.requests).toEqual([]);
    });
  });

  it('reports what became of each record: settled and attempted ones fulfilled, those bound for the DLQ rejected', async () => {
    const { batch } = setup({ delivery: aDelivery({ id: 'dlv_done', status: 'succeeded' }) });
    const done = receive({ ...task, deliveryId: 'dlv_done' });
    const fresh = receive(taskFor('sub_1'));
    const orphan = receive(taskFor('sub_1', { eventId: 'evt_expired' }));
    const manual = receive({ ...task, deliveryId: 'dlv_done', manual: true });
    const outcomes = await batch([done, fresh, orphan, manual]);
    expect(outcomes.get(done.messageId)).toEqual({ status: 'fulfilled', value: 'skipped' });
    expect(outcomes.get(fresh.messageId)).toEqual({ status: 'fulfilled', value: 'succeeded' });
    expect(outcomes.get(orphan.messageId)).toMatchObject({ status: 'rejected' });
    const rejected = outcomes.get(orphan.messageId);
    expect(rejected?.status === 'rejected' && rejected.reason).toBeInstanceOf(DeadLetterPending);
    expect(outcomes.get(manual.messageId)).toEqual({ status: 'fulfilled', value: 'succeeded' });
  });

  it('retries as a delayed copy and fulfils the record: the received message is done with', async () => {
    const { batch, tasks } = setup({ answer: { status: 500 } });
    const r = receive(task);
    const outcomes = await batch([r]);
    expect(outcomes.get(r.messageId)).toEqual({ status: 'fulfilled', value: 'pending' });
    expect(tasks.copies).toEqual([{ task: { ...task, attempt: 1, due: at(10_000) }, delaySeconds: 10 }]);
  });

  it('attempts one of two identical copies in a batch (a crash duplicate) and skips the other', async () => {
    const { batch, sender } = setup({ answer: { status: 500 } });
    const [a, b] = [receive(task), receive(task)];
    const outcomes = await batch([a, b] as NonNullable<typeof a>[]);
    expect(sender.requests).toHaveLength(1);
    expect(outcomes.get(b?.messageId ?? '')).toEqual({ status: 'fulfilled', value: 'skipped' });
  });

  it('attempts the tasks of different endpoints in parallel', async () => {
    const { batch, sender } = setup({
      subscriptions: [aSubscription({ maxInFlight: 1 }), aSubscription({ id: 'sub_2', maxInFlight: 1 })],
    });
    sender.hold();
    const received = [receive(taskFor('sub_1')), receive(taskFor('sub_2'))];
    const outcomes = batch(received);
    await until(() => sender.waiting === 2, 'both endpoints to be attempted');
    sender.release();
    expect(values(await outcomes, received)).toEqual(['succeeded', 'succeeded']);
    expect(sender.maxInFlight).toBe(2);
  });

  describe('the in-flight limit', () => {
    it('attempts 10 ready tasks of an endpoint with limit 4 at most 4 at once, and gives the slots back after', async () => {
      const { batch, sender, limiter, ops } = setup({ subscription: aSubscription({ maxInFlight: 4 }) });
      sender.hold();
      const received = Array.from({ length: 10 }, () => receive(taskFor('sub_1')));
      let finished = false;
      const outcomes = batch(received).finally(() => {
        finished = true;
      });
      await until(() => sender.waiting === 4, 'the first 4 attempts');
      expect(sender.inFlight).toBe(4);
      while (!finished) {
        sender.release();
        await until(() => finished || sender.waiting > 0, 'the next attempts');
      }
      expect(values(await outcomes, received)).toEqual(Array(10).fill('succeeded'));
      expect(sender.requests).toHaveLength(10);
      expect(sender.maxInFlight).toBe(4);
      expect(limiter.of('acquireSlots')).toMatchObject([{ wanted: 4, limit: 4, granted: 4 }]);
      // Given back once, after the last attempt was logged.
      expect(ops().filter((op) => op === 'releaseSlots')).toHaveLength(1);
      expect(ops().lastIndexOf('putDeliveries')).toBeLessThan(ops().indexOf('releaseSlots'));
      expect(limiter.held('acme', 'sub_1', NOW)).toBe(0);
    });

    it('sends the tasks back as delayed copies, no attempt spent, while other invocations hold every slot', async () => {
      const { batch, sender, limiter, tasks, store } = setup({
        subscription: aSubscription({ maxInFlight: 4 }),
        delivery: aDelivery({ id: 'dlv_1', attempts: pastAttempts(1), roundAttempts: 1 }),
        random: () => 0,
      });
      limiter.occupy('acme', 'sub_1', 'other', 4, new Date(at(60_000)));
      const retry = receive({ ...task, attempt: 1, due: NOW.getTime() });
      const fresh = Array.from({ length: 5 }, () => receive(taskFor('sub_1')));
      const outcomes = await batch([retry, ...fresh]);
      expect(values(outcomes, [retry, ...fresh])).toEqual(Array(6).fill('waiting'));
      expect(sender.requests).toEqual([]);
      expect(store.saved).toEqual([]);
      expect(tasks.copies).toHaveLength(6);
      // The retry keeps its place in the round: the same count, due again in a second.
      expect(tasks.copies[0]).toEqual({ task: { ...task, attempt: 1, due: at(1000) }, delaySeconds: 1 });
      expect(limiter.of('releaseSlots')).toEqual([]);
    });

    it('counts no slots when the fleet cannot exceed the limit (deliverySlots at most the limit)', async () => {
      const { batch, sender, limiter, deps } = setup({ subscription: aSubscription({ maxInFlight: 4 }) });
      deps.config = { ...deps.config, deliverySlots: 4 };
      sender.hold();
      const received = Array.from({ length: 6 }, () => receive(taskFor('sub_1')));
      let finished = false;
      const outcomes = batch(received).finally(() => {
        finished = true;
      });
      while (!finished) {
        await until(() => finished || sender.waiting > 0, 'the next attempts');
        sender.release();
      }
      expect(values(await outcomes, received)).toEqual(Array(6).fill('succeeded'));
      expect(limiter.of('acquireSlots')).toEqual([]);
      expect(limiter.of('releaseSlots')).toEqual([]);
      expect(sender.maxInFlight).toBe(4);
    });

    it('gives the slots back when an attempt fails to be logged', async () => {
      const { batch, store, limiter } = setup({ subscription: aSubscription({ maxInFlight: 4 }) });
      store.putDeliveries = () => Promise.reject(new Error('table unavailable'));
      const r = receive(taskFor('sub_1'));
      const outcomes = await batch([r]);
      expect(outcomes.get(r.messageId)).toMatchObject({
        status: 'rejected',
        reason: { message: 'table unavailable' },
      });
      expect(limiter.of('releaseSlots')).toHaveLength(1);
    });

    it('fails no delivery when giving the slots back fails (the lease expires by itself)', async () => {
      const { batch, limiter } = setup({ subscription: aSubscription({ maxInFlight: 4 }) });
      limiter.releaseSlots = () => Promise.reject(new Error('throttled'));
      const r = receive(taskFor('sub_1'));
      expect((await batch([r])).get(r.messageId)).toEqual({ status: 'fulfilled', value: 'succeeded' });
    });
  });

  describe('the rate limit', () => {
    it('attempts the tasks booked within a second and sends the others back as booked copies', async () => {
      const { batch, sender, tasks, store } = setup({
        subscription: aSubscription({ rateLimitPerSecond: 2 }),
      });
      const received = Array.from({ length: 5 }, () => receive(taskFor('sub_1')));
      const outcomes = await batch(received);
      expect(values(outcomes, received)).toEqual([
        'succeeded',
        'succeeded',
        'succeeded',
        'waiting',
        'waiting',
      ]);
      expect(sender.requests).toHaveLength(3);
      expect(tasks.copies).toEqual([
        { task: { ...received[3]?.task, booked: true, due: at(1500) }, delaySeconds: 1.5 },
        { task: { ...received[4]?.task, booked: true, due: at(2000) }, delaySeconds: 2 },
      ]);
      // Waiting spends no attempt: nothing is logged for the two that wait.
      expect(store.saved.map((d) => d.id)).toEqual(received.slice(0, 3).map((r) => r.task.deliveryId));
    });

    it('lets a booked copy attempt when it comes back, without booking again', async () => {
      const { batch, sender, limiter } = setup({ subscription: aSubscription({ rateLimitPerSecond: 2 }) });
      const r = receive(taskFor('sub_1', { booked: true, due: NOW.getTime() }));
      expect(values(await batch([r]), [r])).toEqual(['succeeded']);
      expect(sender.requests).toHaveLength(1);
      expect(limiter.of('bookSendTimes').flatMap((c) => c.times)).toEqual([]);
      expect(limiter.nextFree('acme', 'sub_1')).toBeUndefined();
    });
  });

  it('rejects only the tasks of the endpoint whose limiter failed', async () => {
    const { batch, limiter, sender } = setup({
      subscriptions: [aSubscription({ maxInFlight: 4 }), aSubscription({ id: 'sub_2', maxInFlight: 4 })],
    });
    limiter.failFor('sub_2', new Error('limits table throttled'));
    const ok = [receive(taskFor('sub_1')), receive(taskFor('sub_1'))];
    const failed = [receive(taskFor('sub_2')), receive(taskFor('sub_2'))];
    const outcomes = await batch([...ok, ...failed]);
    for (const r of ok)
      expect(outcomes.get(r.messageId)).toEqual({ status: 'fulfilled', value: 'succeeded' });
    for (const r of failed)
      expect(outcomes.get(r.messageId)).toMatchObject({
        status: 'rejected',
        reason: { message: 'limits table throttled' },
      });
    expect(sender.requests).toHaveLength(2);
  });

  describe('manual retries', () => {
    it('respect the in-flight limit: they wait as manual copies while no slot is free', async () => {
      const { batch, limiter, tasks, sender } = setup({
        subscription: aSubscription({ maxInFlight: 1 }),
        delivery: aDelivery({ status: 'dead', attempts: pastAttempts(3) }),
        random: () => 0,
      });
      limiter.occupy('acme', 'sub_1', 'other', 1, new Date(at(60_000)));
      const { attempt: _none, ...rest } = task;
      const manual: DeliveryTask = { ...rest, manual: true };
      const r = receive(manual);
      expect(values(await batch([r]), [r])).toEqual(['waiting']);
      expect(sender.requests).toEqual([]);
      expect(tasks.copies).toEqual([{ task: { ...manual, due: at(1000) }, delaySeconds: 1 }]);
    });

    it('respect the rate limit', async () => {
      const { batch, sender, tasks } = setup({
        subscription: aSubscription({ rateLimitPerSecond: 1 }),
        delivery: aDelivery({ status: 'dead', attempts: pastAttempts(3) }),
      });
      const manual: DeliveryTask = { ...task, manual: true };
      const received = [receive(taskFor('sub_1')), receive(taskFor('sub_1')), receive(manual)];
      expect(values(await batch(received), received)).toEqual(['succeeded', 'succeeded', 'waiting']);
      expect(sender.requests).toHaveLength(2);
      expect(tasks.copies[0]?.task).toMatchObject({ manual: true, booked: true, due: at(2000) });
    });

    it('ignore an open circuit that holds the scheduled tasks back', async () => {
      const { batch, sender, tasks } = setup({
        subscription: aSubscription({ circuit: { openUntil: iso(45_000), timeouts: 1 } }),
        delivery: aDelivery({ status: 'dead', attempts: pastAttempts(3) }),
        random: () => 0,
      });
      const scheduled = receive(taskFor('sub_1'));
      const manual = receive({ ...task, manual: true });
      const outcomes = await batch([scheduled, manual]);
      expect(outcomes.get(scheduled.messageId)).toEqual({ status: 'fulfilled', value: 'waiting' });
      expect(outcomes.get(manual.messageId)).toEqual({ status: 'fulfilled', value: 'succeeded' });
      expect(sender.requests).toHaveLength(1);
      expect(tasks.copies.map((c) => c.task.deliveryId)).toEqual([scheduled.task.deliveryId]);
    });
  });
});
