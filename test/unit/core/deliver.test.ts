import { describe, expect, it } from 'vitest';
import { MemoryMetrics } from '../../../functions/adapters/local/memory-metrics.ts';
import type { RelayConfig } from '../../../functions/core/config.ts';
import {
  type DeliverDeps,
  deliverTask,
  MAX_LOGGED_ATTEMPTS,
  type ReceivedTask,
} from '../../../functions/core/deliver.ts';
import type { Attempt, Delivery, DeliveryTask } from '../../../functions/core/delivery/model.ts';
import { attemptTimedOut, DeadLetterPending, RetryScheduled } from '../../../functions/core/errors.ts';
import type { RelayEvent } from '../../../functions/core/event.ts';
import type { HttpResponse } from '../../../functions/core/ports.ts';
import type { Subscription } from '../../../functions/core/subscription.ts';
import {
  anEvent,
  aSubscription,
  type Call,
  FakeDeliveryStore,
  FakeSender,
  FakeTaskQueue,
  fixedClock,
  NOW,
} from '../support/fakes.ts';

const config: RelayConfig = {
  retry: { delays: [10, 20], jitter: 0 },
  attemptTimeoutMs: 5000,
  responseExcerptBytes: 64,
  retentionDays: 30,
  allowPrivateTargets: true,
  allowedTargetCidrs: [],
  secretGraceSeconds: 86_400,
  deadEndpointDays: 5,
  circuitBaseSeconds: 30,
  circuitMaxSeconds: 1800,
};

const task: DeliveryTask = { deliveryId: 'dlv_1', tenant: 'acme', eventId: 'evt_1', subscriptionId: 'sub_1' };

function pastAttempts(n: number, trigger: Attempt['trigger'] = 'scheduled'): Attempt[] {
  return Array.from({ length: n }, (_, i) => ({
    attempt: i + 1,
    at: `2026-11-22T0${i % 10}:00:00.000Z`,
    status: 500,
    durationMs: 12,
    error: 'HTTP 500',
    trigger,
  }));
}

function aDelivery(overrides: Partial<Delivery> = {}): Delivery {
  return {
    id: 'dlv_1',
    tenant: 'acme',
    eventId: 'evt_1',
    eventType: 'shipment.delivered',
    subscriptionId: 'sub_1',
    url: 'https://receiver.example/hooks',
    status: 'pending',
    attempts: [],
    createdAt: '2026-11-22T00:00:00.000Z',
    updatedAt: '2026-11-22T00:00:00.000Z',
    ...overrides,
  };
}

/** A delivery step wired to in-memory fakes; every port call lands in one ordered log. */
function setup(opts: {
  answer?: Partial<HttpResponse> | Error;
  delivery?: Delivery;
  subscription?: Subscription | null;
  event?: boolean;
  random?: () => number;
  config?: RelayConfig;
}) {
  const metrics = new MemoryMetrics();
  const published: RelayEvent[] = [];
  const calls: Call[] = [];
  const store = new FakeDeliveryStore(calls);
  const tasks = new FakeTaskQueue(calls);
  const sender = new FakeSender(opts.answer ?? { status: 200, body: 'ok' });
  if (opts.delivery) store.deliveries.set(opts.delivery.id, structuredClone(opts.delivery));
  if (opts.subscription !== null) {
    const sub = opts.subscription ?? aSubscription();
    store.subscriptions.set(sub.id, sub);
  }
  if (opts.event !== false) store.events.set('evt_1', anEvent());
  const deps: DeliverDeps = {
    store,
    tasks,
    sender,
    clock: fixedClock(),
    config: opts.config ?? config,
    metrics,
    bus: { publish: async (events) => void published.push(...events) },
    ...(opts.random ? { random: opts.random } : {}),
  };
  const run = async (t: DeliveryTask = task, receiveCount = 1, sentAt?: number) => {
    const received: ReceivedTask = {
      task: t,
      messageId: 'msg-1',
      receiptHandle: 'rh-1',
      receiveCount,
      ...(sentAt !== undefined ? { sentAt } : {}),
    };
    return deliverTask(deps, received, await store.loadForTasks([t]));
  };
  const last = () => {
    const d = store.saved.at(-1);
    if (!d) throw new Error('nothing was saved');
    return d;
  };
  return { store, tasks, sender, calls, run, last, metrics, published };
}

describe('deliverTask', () => {
  describe('on success', () => {
    it('saves the delivery as succeeded with its first attempt', async () => {
      const { run, last, tasks } = setup({});
      await expect(run()).resolves.toBe('succeeded');
      expect(last()).toEqual({
        id: 'dlv_1',
        tenant: 'acme',
        eventId: 'evt_1',
        eventType: 'shipment.delivered',
        subscriptionId: 'sub_1',
        url: 'https://receiver.example/hooks',
        status: 'succeeded',
        attempts: [
          {
            attempt: 1,
            at: NOW.toISOString(),
            status: 200,
            durationMs: expect.any(Number),
            responseBody: 'ok',
            trigger: 'scheduled',
          },
        ],
        roundAttempts: 1,
        createdAt: NOW.toISOString(),
        updatedAt: NOW.toISOString(),
      });
      expect(tasks.calls.filter((c) => c.op !== 'putDeliveries')).toEqual([]);
    });

    it('clears the last error and the next attempt time of an earlier failure', async () => {
      const delivery = aDelivery({
        attempts: pastAttempts(1),
        lastError: 'HTTP 500',
        nextAttemptAt: '2026-11-23T10:00:10.000Z',
      });
      const { run, last } = setup({ delivery });
      await expect(run(task, 2)).resolves.toBe('succeeded');
      expect(last().status).toBe('succeeded');
      expect(last()).not.toHaveProperty('lastError');
      expect(last()).not.toHaveProperty('nextAttemptAt');
      expect(last().createdAt).toBe(delivery.createdAt);
    });
  });

  describe('on a retryable failure', () => {
    it('schedules the next attempt after the first delay of the schedule', async () => {
      const { run, tasks, last } = setup({ answer: { status: 500, body: 'down' } });
      const err = await run(task, 1).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RetryScheduled);
      expect((err as RetryScheduled).delaySeconds).toBe(10);
      expect(tasks.of('retryLater')).toEqual([{ op: 'retryLater', receiptHandle: 'rh-1', delaySeconds: 10 }]);
      expect(tasks.of('releaseToDeadLetter')).toEqual([]);
      expect(last()).toMatchObject({
        status: 'pending',
        lastError: 'HTTP 500',
        nextAttemptAt: new Date(NOW.getTime() + 10_000).toISOString(),
        attempts: [
          { attempt: 1, status: 500, error: 'HTTP 500', trigger: 'scheduled', responseBody: 'down' },
        ],
      });
    });

    it('uses the delay of the attempt number within the round', async () => {
      const { run, tasks } = setup({
        answer: { status: 503 },
        delivery: aDelivery({ attempts: pastAttempts(1), roundAttempts: 1 }),
      });
      await expect(run(task, 2)).rejects.toThrow(RetryScheduled);
      expect(tasks.of('retryLater')[0]?.delaySeconds).toBe(20);
    });

    it('applies jitter from the injected random source', async () => {
      const { run, tasks, last } = setup({
        answer: new Error('socket hang up'),
        config: { ...config, retry: { delays: [10, 20], jitter: 0.2 } },
        random: () => 0,
      });
      await expect(run(task, 1)).rejects.toThrow(RetryScheduled);
      expect(tasks.of('retryLater')[0]?.delaySeconds).toBeCloseTo(8, 9);
      expect(last().nextAttemptAt).toBe(new Date(NOW.getTime() + 8_000).toISOString());
      expect(last().attempts[0]).toMatchObject({ status: 0, error: 'socket hang up' });
    });

    it('writes the endpoint health and the delivery log before telling the queue', async () => {
      const { run, calls } = setup({ answer: { status: 500 } });
      await expect(run()).rejects.toThrow(RetryScheduled);
      expect(calls.map((c) => c.op)).toEqual(['recordHealth', 'putDeliveries', 'retryLater']);
    });

    it('dead-letters after the last attempt of the schedule fails', async () => {
      const delivery = aDelivery({
        attempts: pastAttempts(2),
        roundAttempts: 2,
        lastError: 'HTTP 500',
        nextAttemptAt: '2026-11-23T10:00:00.000Z',
      });
      const { run, tasks, last, calls } = setup({
        answer: { status: 502 },
        delivery,
        subscription: aSubscription({ failingSince: '2026-11-23T09:00:00.000Z' }),
      });
      await expect(run(task, 3)).rejects.toBeInstanceOf(DeadLetterPending);
      expect(tasks.of('releaseToDeadLetter')).toEqual([{ op: 'releaseToDeadLetter', receiptHandle: 'rh-1' }]);
      expect(tasks.of('retryLater')).toEqual([]);
      expect(last().status).toBe('dead');
      expect(last().lastError).toBe('HTTP 502; all 3 attempts of the schedule failed');
      expect(last()).not.toHaveProperty('nextAttemptAt');
      expect(last().attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
      expect(calls.map((c) => c.op)).toEqual(['putDeliveries', 'releaseToDeadLetter']);
    });

    it('dead-letters at once when the schedule has no delays', async () => {
      const { run, tasks } = setup({
        answer: { status: 500 },
        config: { ...config, retry: { delays: [], jitter: 0 } },
      });
      await expect(run(task, 1)).rejects.toBeInstanceOf(DeadLetterPending);
      expect(tasks.of('releaseToDeadLetter')).toHaveLength(1);
    });
  });

  describe('on a permanent failure', () => {
    it('dead-letters a 410 Gone on the first attempt', async () => {
      const { run, tasks, last } = setup({ answer: { status: 410 } });
      await expect(run(task, 1)).rejects.toBeInstanceOf(DeadLetterPending);
      expect(tasks.of('releaseToDeadLetter')).toEqual([{ op: 'releaseToDeadLetter', receiptHandle: 'rh-1' }]);
      expect(tasks.of('retryLater')).toEqual([]);
      expect(last()).toMatchObject({
        status: 'dead',
        lastError: 'HTTP 410 Gone: the receiver asked to stop sending',
        attempts: [{ attempt: 1, status: 410 }],
      });
    });

    it('disables the subscription on 410 Gone, recording why, before dead-lettering', async () => {
      const { run, calls, store } = setup({ answer: { status: 410 } });
      await expect(run(task, 1)).rejects.toBeInstanceOf(DeadLetterPending);
      expect(calls.map((c) => c.op)).toEqual([
        'disableSubscription',
        'recordHealth',
        'putDeliveries',
        'releaseToDeadLetter',
      ]);
      expect(store.subscriptions.get('sub_1')).toMatchObject({
        enabled: false,
        disabledReason: 'the receiver answered 410 Gone (delivery dlv_1)',
        disabledAt: NOW.toISOString(),
      });
    });
  });

  describe('when the receiver asks for time (429/503 with Retry-After)', () => {
    it.each([
      [429, '120', 120],
      [503, '120', 120],
      [429, '3', 10],
      [503, 'Mon, 23 Nov 2026 11:00:00 GMT', 3600],
      [429, '999999999', 12 * 3600 - 12 * 60],
      [429, 'soon', 10],
    ])(
      'answers %s with Retry-After %j by waiting %s s (at least the schedule, at most the cap)',
      async (status, after, delay) => {
        const { run, tasks, last } = setup({ answer: { status, headers: { 'retry-after': after } } });
        await expect(run(task, 1)).rejects.toBeInstanceOf(RetryScheduled);
        expect(tasks.of('retryLater')[0]?.delaySeconds).toBe(delay);
        expect(last().nextAttemptAt).toBe(new Date(NOW.getTime() + delay * 1000).toISOString());
      },
    );

    it('names the wish in the log', async () => {
      const { run, last } = setup({ answer: { status: 429, headers: { 'retry-after': '60' } } });
      await expect(run(task, 1)).rejects.toBeInstanceOf(RetryScheduled);
      expect(last().lastError).toBe('HTTP 429 (Retry-After: 60 s)');
    });

    it('ignores Retry-After on other statuses', async () => {
      const { run, tasks } = setup({ answer: { status: 500, headers: { 'retry-after': '600' } } });
      await expect(run(task, 1)).rejects.toBeInstanceOf(RetryScheduled);
      expect(tasks.of('retryLater')[0]?.delaySeconds).toBe(10);
    });

    it('still dead-letters when the schedule is over, whatever the receiver asks', async () => {
      const { run, tasks } = setup({
        answer: { status: 503, headers: { 'retry-after': '60' } },
        delivery: aDelivery({ attempts: pastAttempts(2), roundAttempts: 2 }),
      });
      await expect(run(task, 3)).rejects.toBeInstanceOf(DeadLetterPending);
      expect(tasks.of('retryLater')).toEqual([]);
    });
  });

  describe('with duplicates and missing context', () => {
    it('skips a duplicate task of a delivery that already succeeded, without an HTTP call', async () => {
      const delivery = aDelivery({ status: 'succeeded', attempts: pastAttempts(1) });
      const { run, sender, calls } = setup({ delivery });
      await expect(run()).resolves.toBe('skipped');
      expect(sender.requests).toEqual([]);
      expect(calls).toEqual([]);
    });

    it('abandons the delivery as failed when the subscription was deleted', async () => {
      const { run, sender, tasks, last } = setup({ subscription: null });
      await expect(run()).resolves.toBe('failed');
      expect(sender.requests).toEqual([]);
      expect(tasks.calls.filter((c) => c.op !== 'putDeliveries')).toEqual([]);
      expect(last()).toMatchObject({ status: 'failed', lastError: 'subscription was deleted', attempts: [] });
    });

    it('dead-letters without an HTTP call when the subscription is disabled', async () => {
      const { run, sender, tasks, last } = setup({ subscription: aSubscription({ enabled: false }) });
      await expect(run()).rejects.toBeInstanceOf(DeadLetterPending);
      expect(sender.requests).toEqual([]);
      expect(tasks.of('releaseToDeadLetter')).toHaveLength(1);
      expect(last()).toMatchObject({
        status: 'dead',
        lastError: 'subscription is disabled; enable it and redrive the DLQ',
        attempts: [],
      });
    });

    it('dead-letters without an HTTP call when the event has expired', async () => {
      const { run, sender, tasks, last } = setup({ event: false });
      await expect(run()).rejects.toBeInstanceOf(DeadLetterPending);
      expect(sender.requests).toEqual([]);
      expect(tasks.of('releaseToDeadLetter')).toHaveLength(1);
      expect(last()).toMatchObject({
        status: 'dead',
        lastError: 'event no longer stored (past its retention)',
      });
    });
  });

  describe('across rounds', () => {
    it('numbers attempts after those of earlier rounds while the delay restarts the schedule', async () => {
      const delivery = aDelivery({ status: 'dead', attempts: pastAttempts(3), lastError: 'x' });
      const { run, tasks, last } = setup({ answer: { status: 500 }, delivery });
      await expect(run(task, 1)).rejects.toThrow(RetryScheduled);
      expect(tasks.of('retryLater')[0]?.delaySeconds).toBe(10);
      expect(last().status).toBe('pending');
      expect(last().attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
    });

    it('delivers a redriven dead delivery and marks it succeeded', async () => {
      const delivery = aDelivery({ status: 'dead', attempts: pastAttempts(3), lastError: 'x' });
      const { run, last } = setup({ delivery });
      await expect(run(task, 1)).resolves.toBe('succeeded');
      expect(last()).toMatchObject({
        status: 'succeeded',
        attempts: [{}, {}, {}, { attempt: 4, status: 200 }],
      });
    });
  });

  describe('manual retries', () => {
    const manual: DeliveryTask = { ...task, manual: true };
    const current = (store: FakeDeliveryStore) => store.deliveries.get(task.deliveryId) as Delivery;

    it('leaves a dead delivery dead when the manual attempt fails, without touching the queues', async () => {
      const delivery = aDelivery({ status: 'dead', attempts: pastAttempts(3), lastError: 'old' });
      const { run, tasks, store } = setup({ answer: { status: 500 }, delivery });
      await expect(run(manual, 1)).resolves.toBe('dead');
      expect(tasks.calls.filter((c) => !['recordManualAttempt', 'recordHealth'].includes(c.op))).toEqual([]);
      expect(current(store).status).toBe('dead');
      expect(current(store).lastError).toBe('HTTP 500');
      expect(current(store).attempts).toHaveLength(4);
      expect(current(store).attempts[3]).toMatchObject({ attempt: 4, trigger: 'manual', status: 500 });
    });

    it('keeps the scheduled next attempt of a pending delivery when the manual attempt fails', async () => {
      const nextAttemptAt = '2026-11-23T10:30:00.000Z';
      const delivery = aDelivery({ status: 'pending', attempts: pastAttempts(2), nextAttemptAt });
      const { run, tasks, store } = setup({ answer: { status: 410 }, delivery });
      await expect(run(manual, 1)).resolves.toBe('pending');
      // A 410 disables the subscription, whatever the trigger; the queues are left alone.
      expect(tasks.calls.map((c) => c.op).filter((op) => op !== 'recordManualAttempt')).toEqual([
        'disableSubscription',
        'recordHealth',
      ]);
      expect(current(store)).toMatchObject({
        status: 'pending',
        nextAttemptAt,
        attempts: [{}, {}, { trigger: 'manual' }],
      });
    });

    it('never writes back the status it read, so a scheduled outcome finishing meanwhile stands', async () => {
      const delivery = aDelivery({
        status: 'pending',
        attempts: pastAttempts(1),
        nextAttemptAt: '2026-11-23T10:00:05.000Z',
      });
      const { run, store } = setup({ answer: { status: 500 }, delivery });
      // The scheduled attempt succeeds and is saved while the manual one is on the wire.
      const scheduledOutcome = { ...delivery, status: 'succeeded' as const, attempts: pastAttempts(2) };
      const originalPost = store.deliveries;
      const result = run(manual, 1);
      originalPost.set(delivery.id, structuredClone(scheduledOutcome));
      await expect(result).resolves.toBe('pending');
      expect(current(store).status).toBe('succeeded');
      expect(current(store).attempts.map((a) => a.trigger)).toEqual(['scheduled', 'scheduled', 'manual']);
      expect(store.saved).toEqual([]);
    });

    it('marks a dead delivery succeeded when the manual attempt succeeds', async () => {
      const delivery = aDelivery({ status: 'dead', attempts: pastAttempts(2), lastError: 'old' });
      const { run, store } = setup({ delivery });
      await expect(run(manual, 1)).resolves.toBe('succeeded');
      expect(current(store)).toMatchObject({
        status: 'succeeded',
        attempts: [{}, {}, { attempt: 3, trigger: 'manual' }],
      });
      expect(current(store)).not.toHaveProperty('lastError');
    });

    it('attempts again even when the delivery already succeeded', async () => {
      const delivery = aDelivery({ status: 'succeeded', attempts: pastAttempts(1) });
      const { run, sender } = setup({ delivery });
      await expect(run(manual, 1)).resolves.toBe('succeeded');
      expect(sender.requests).toHaveLength(1);
    });

    it('attempts even when the subscription is disabled', async () => {
      const delivery = aDelivery({ status: 'dead', attempts: pastAttempts(1) });
      const { run, sender, tasks } = setup({ subscription: aSubscription({ enabled: false }), delivery });
      await expect(run(manual, 1)).resolves.toBe('succeeded');
      expect(sender.requests).toHaveLength(1);
      expect(tasks.of('releaseToDeadLetter')).toEqual([]);
    });

    it('never dead-letters, even when the event has expired', async () => {
      const delivery = aDelivery({ status: 'succeeded', attempts: pastAttempts(1) });
      const { run, tasks, store } = setup({ delivery, event: false });
      const result = await run(manual, 1);
      expect(tasks.of('releaseToDeadLetter')).toEqual([]);
      expect(result).toBe('succeeded');
      expect(current(store)).toMatchObject({
        status: 'succeeded',
        lastError: 'event no longer stored (past its retention)',
      });
    });
  });

  describe('the attempt log', () => {
    it('keeps the latest attempts and goes on numbering past the ones it drops', async () => {
      const many = Array.from(
        { length: MAX_LOGGED_ATTEMPTS },
        (_, i) => ({ ...pastAttempts(1)[0], attempt: i + 11 }) as Attempt,
      );
      const delivery = aDelivery({ status: 'dead', attempts: many, deadMessageId: 'msg-old' });
      const { run, last } = setup({ answer: { status: 200 }, delivery });
      await expect(run(task, 1)).resolves.toBe('succeeded');
      expect(last().attempts).toHaveLength(MAX_LOGGED_ATTEMPTS);
      expect(last().attempts.at(-1)?.attempt).toBe(MAX_LOGGED_ATTEMPTS + 11);
      expect(last().attempts[0]?.attempt).toBe(12);
    });
  });

  it('sends the webhook to the subscription url with the configured timeout', async () => {
    const { run, sender } = setup({});
    await run();
    expect(sender.requests[0]).toMatchObject({ url: 'https://receiver.example/hooks', timeoutMs: 5000 });
    expect(sender.requests[0]?.headers['webhook-id']).toBe('evt_1');
  });

  describe('on the way to the DLQ', () => {
    it('records which message is bound for the DLQ', async () => {
      const { run, last } = setup({ answer: { status: 410 } });
      await expect(run(task, 1)).rejects.toBeInstanceOf(DeadLetterPending);
      expect(last().deadMessageId).toBe('msg-1');
    });

    it('bounces further receives of that message without an attempt or a write', async () => {
      const delivery = aDelivery({
        status: 'dead',
        attempts: pastAttempts(3),
        deadMessageId: 'msg-1',
        lastError: 'HTTP 500',
      });
      const { run, sender, tasks, calls } = setup({ delivery });
      await expect(run(task, 4)).rejects.toBeInstanceOf(DeadLetterPending);
      expect(sender.requests).toEqual([]);
      expect(tasks.of('releaseToDeadLetter')).toEqual([{ op: 'releaseToDeadLetter', receiptHandle: 'rh-1' }]);
      expect(calls.map((c) => c.op)).toEqual(['releaseToDeadLetter']);
    });

    it('gives a redriven task (a new message) a fresh round of attempts', async () => {
      const delivery = aDelivery({
        status: 'dead',
        attempts: pastAttempts(3),
        deadMessageId: 'msg-0',
        lastError: 'HTTP 500',
      });
      const { run, sender, last } = setup({ answer: { status: 200 }, delivery });
      await expect(run(task, 1)).resolves.toBe('succeeded');
      expect(sender.requests).toHaveLength(1);
      expect(last().status).toBe('succeeded');
      expect(last()).not.toHaveProperty('deadMessageId');
      expect(last().attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
    });

    it('dead-letters without an attempt when receives outnumber the round (throttled or crashed receives)', async () => {
      const delivery = aDelivery({ status: 'pending', attempts: pastAttempts(1), lastError: 'HTTP 503' });
      const { run, sender, last } = setup({ delivery });
      await expect(run(task, 4)).rejects.toBeInstanceOf(DeadLetterPending);
      expect(sender.requests).toEqual([]);
      expect(last()).toMatchObject({ status: 'dead', deadMessageId: 'msg-1' });
      expect(last().lastError).toContain('HTTP 503');
    });
  });

  describe('metrics', () => {
    it('counts a success with its attempt duration and the latency from acceptance to the 2xx', async () => {
      const { run, metrics } = setup({});
      await run();
      const { counts, durations } = metrics.snapshot();
      expect(counts).toEqual({ DeliveriesSucceeded: 1 });
      expect(durations.AttemptDuration).toHaveLength(1);
      // The event was accepted at 09:59:01 and the fixed clock says 10:00:00.
      expect(durations.EndToEndLatency).toEqual([59_000]);
    });

    it('counts a failed attempt that will be retried, with no end-to-end latency', async () => {
      const { run, metrics } = setup({ answer: { status: 500, body: 'no' } });
      await expect(run()).rejects.toBeInstanceOf(RetryScheduled);
      const { counts, durations } = metrics.snapshot();
      expect(counts).toEqual({ DeliveriesFailed: 1 });
      expect(durations.EndToEndLatency).toBeUndefined();
    });

    it('counts a dead-lettering once, with the failed attempt that caused it', async () => {
      const { run, metrics } = setup({ answer: { status: 410, body: 'gone' } });
      await expect(run()).rejects.toBeInstanceOf(DeadLetterPending);
      expect(metrics.snapshot().counts).toEqual({ DeliveriesFailed: 1, DeliveriesDeadLettered: 1 });
    });

    it('counts no attempt for a duplicate of a delivery that already succeeded', async () => {
      const { run, metrics } = setup({ delivery: aDelivery({ status: 'succeeded' }) });
      expect(await run()).toBe('skipped');
      expect(metrics.snapshot().counts).toEqual({});
    });
  });

  it('records the replay a delivery was made by', async () => {
    const { run, last } = setup({});
    await run({ ...task, deliveryId: 'dlv_r', replay: 'replay-01' });
    expect(last()).toMatchObject({ id: 'dlv_r', replay: 'replay-01', status: 'succeeded' });
  });

  describe('endpoint health: circuit breaker and dead endpoints', () => {
    const iso = (ms: number) => new Date(NOW.getTime() + ms).toISOString();

    it('opens the circuit for 30 s when the receiver times out, and tells the rest of the batch', async () => {
      const { run, calls, store } = setup({ answer: attemptTimedOut(5000) });
      await expect(run()).rejects.toBeInstanceOf(RetryScheduled);
      expect(calls.find((c) => c.op === 'recordHealth')).toMatchObject({
        change: { failingSince: NOW.toISOString(), circuit: { openUntil: iso(30_000), timeouts: 1 } },
      });
      expect(store.subscriptions.get('sub_1')?.circuit).toEqual({ openUntil: iso(30_000), timeouts: 1 });
    });

    it('doubles the opening after each further timeout, up to 30 minutes', async () => {
      const sub = aSubscription({
        failingSince: iso(-600_000),
        circuit: { openUntil: iso(-1), timeouts: 3 },
      });
      const { run, calls } = setup({ answer: attemptTimedOut(5000), subscription: sub });
      await expect(run()).rejects.toBeInstanceOf(RetryScheduled);
      expect(calls.find((c) => c.op === 'recordHealth')).toMatchObject({
        change: { circuit: { openUntil: iso(240_000), timeouts: 4 } },
      });
      const long = aSubscription({ failingSince: iso(-1), circuit: { openUntil: iso(-1), timeouts: 12 } });
      const again = setup({ answer: attemptTimedOut(5000), subscription: long });
      await expect(again.run()).rejects.toBeInstanceOf(RetryScheduled);
      expect(again.calls.find((c) => c.op === 'recordHealth')).toMatchObject({
        change: { circuit: { openUntil: iso(1_800_000), timeouts: 13 } },
      });
    });

    it('parks tasks while the circuit is open: no attempt, no attempt of the round spent', async () => {
      const sub = aSubscription({
        failingSince: iso(-60_000),
        circuit: { openUntil: iso(45_000), timeouts: 1 },
      });
      const { run, sender, calls, tasks } = setup({
        subscription: sub,
        random: () => 0,
        delivery: aDelivery({ attempts: pastAttempts(1), roundAttempts: 1 }),
      });
      await expect(run(task, 3)).resolves.toBe('parked');
      expect(sender.requests).toEqual([]);
      expect(calls.map((c) => c.op)).toEqual(['park']);
      expect(tasks.of('park')[0]).toMatchObject({ task, delaySeconds: 45 });
    });

    it('logs a parked delivery that was never attempted as pending, once', async () => {
      const sub = aSubscription({ circuit: { openUntil: iso(45_000), timeouts: 1 } });
      const { run, calls, last } = setup({ subscription: sub, random: () => 0 });
      await expect(run()).resolves.toBe('parked');
      expect(calls.map((c) => c.op)).toEqual(['putDeliveries', 'park']);
      expect(last()).toMatchObject({ status: 'pending', attempts: [], nextAttemptAt: iso(45_000) });
      expect(last().lastError).toMatch(/circuit open/);
    });

    it('never parks a manual retry: the operator asked for an attempt now', async () => {
      const sub = aSubscription({ circuit: { openUntil: iso(45_000), timeouts: 1 } });
      const { run, sender } = setup({ subscription: sub, delivery: aDelivery() });
      await expect(run({ ...task, manual: true })).resolves.toBe('succeeded');
      expect(sender.requests).toHaveLength(1);
    });

    it('clears failingSince and the circuit on a success, and writes nothing for a healthy endpoint', async () => {
      const sick = setup({
        subscription: aSubscription({ failingSince: iso(-1), circuit: { openUntil: iso(-1), timeouts: 2 } }),
      });
      await sick.run();
      expect(sick.calls.filter((c) => c.op === 'recordHealth')).toEqual([
        { op: 'recordHealth', id: 'sub_1', change: 'healthy' },
      ]);
      const healthy = setup({});
      await healthy.run();
      expect(healthy.calls.filter((c) => c.op === 'recordHealth')).toEqual([]);
    });

    it('marks the first failure after a success only once', async () => {
      const { run, calls } = setup({
        answer: { status: 500 },
        subscription: aSubscription({ failingSince: iso(-3_600_000) }),
      });
      await expect(run()).rejects.toBeInstanceOf(RetryScheduled);
      expect(calls.filter((c) => c.op === 'recordHealth')).toEqual([]);
    });

    it('disables an endpoint without a success for 5 days, publishes relay.subscription.disabled and dead-letters', async () => {
      const failingSince = iso(-5 * 86_400_000 - 1000);
      const { run, calls, published, last } = setup({
        answer: { status: 500 },
        subscription: aSubscription({ failingSince }),
      });
      await expect(run()).rejects.toBeInstanceOf(DeadLetterPending);
      expect(calls.find((c) => c.op === 'disableSubscription')).toMatchObject({
        reason: `no successful delivery for 5 days (failing since ${failingSince})`,
      });
      expect(published).toEqual([
        expect.objectContaining({
          type: 'relay.subscription.disabled',
          tenant: 'acme',
          data: {
            subscriptionId: 'sub_1',
            url: 'https://receiver.example/hooks',
            reason: expect.any(String),
            failingSince,
          },
        }),
      ]);
      expect(last()).toMatchObject({
        status: 'dead',
        lastError: expect.stringMatching(/^HTTP 500; subscription disabled: no successful delivery/),
      });
    });

    it('starts a fresh round when a dead delivery comes back through a redrive', async () => {
      const delivery = aDelivery({
        status: 'dead',
        attempts: pastAttempts(3),
        roundAttempts: 3,
        deadMessageId: 'msg-old',
      });
      const { run, tasks, last } = setup({ answer: { status: 500 }, delivery });
      await expect(run(task, 1)).rejects.toBeInstanceOf(RetryScheduled);
      expect(tasks.of('retryLater')[0]?.delaySeconds).toBe(10);
      expect(last()).toMatchObject({
        status: 'pending',
        roundAttempts: 1,
        attempts: [{}, {}, {}, { attempt: 4 }],
      });
    });

    it('lets exactly one task probe a half-open circuit; the others wait for its outcome', async () => {
      const sub = aSubscription({ failingSince: iso(-60_000), circuit: { openUntil: iso(-1), timeouts: 2 } });
      const { run, sender, calls, tasks } = setup({ subscription: sub, random: () => 0 });
      await expect(run()).resolves.toBe('succeeded');
      expect(calls.filter((c) => c.op === 'claimProbe')).toHaveLength(1);
      expect(sender.requests).toHaveLength(1);
      // The probe succeeded: the circuit is closed for everyone.
      expect(calls.filter((c) => c.op === 'recordHealth')).toEqual([
        { op: 'recordHealth', id: 'sub_1', change: 'healthy' },
      ]);
      expect(tasks.of('park')).toEqual([]);
    });

    it('parks a task that finds the probe taken until the probe is over and the last opening has passed again', async () => {
      const sub = aSubscription({ circuit: { openUntil: iso(-1), timeouts: 2, probeUntil: iso(8000) } });
      const { run, sender, tasks } = setup({ subscription: sub, random: () => 0, delivery: aDelivery() });
      await expect(run()).resolves.toBe('parked');
      expect(sender.requests).toEqual([]);
      // 8 s left of the probe, then the last opening (30 s x 2 for the 2nd timeout).
      expect(tasks.of('park')[0]?.delaySeconds).toBe(68);
    });

    it('closes the circuit when the endpoint answers promptly, even with an error', async () => {
      const sub = aSubscription({ failingSince: iso(-60_000), circuit: { openUntil: iso(-1), timeouts: 2 } });
      const { run, calls, store } = setup({ subscription: sub, answer: { status: 500 } });
      await expect(run()).rejects.toBeInstanceOf(RetryScheduled);
      expect(calls.find((c) => c.op === 'recordHealth')).toMatchObject({ change: { circuit: null } });
      expect(store.subscriptions.get('sub_1')?.circuit).toBeUndefined();
      expect(store.subscriptions.get('sub_1')?.failingSince).toBe(iso(-60_000));
    });

    it('skips a stale copy of a dead-lettered task instead of starting a fresh round', async () => {
      const delivery = aDelivery({
        status: 'dead',
        attempts: pastAttempts(3),
        roundAttempts: 3,
        deadMessageId: 'msg-old',
        deadAt: iso(-60_000),
      });
      const { run, sender } = setup({ delivery });
      // Sent an hour ago, before the delivery died a minute ago: a copy, not a redrive.
      await expect(run(task, 1, NOW.getTime() - 3_600_000)).resolves.toBe('skipped');
      expect(sender.requests).toEqual([]);
      // A redrive sends a new message after the delivery died: a fresh round.
      const redrive = setup({ delivery, answer: { status: 200 } });
      await expect(redrive.run(task, 1, NOW.getTime())).resolves.toBe('succeeded');
    });
  });
});
