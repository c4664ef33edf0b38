import { describe, expect, it } from 'vitest';
import type { Attempt, DeliveryTask } from '../../../../functions/core/delivery/model.ts';
import { MAX_LOGGED_ATTEMPTS, prepareScheduled } from '../../../../functions/core/delivery/scheduled.ts';
import { MAX_QUEUE_DELAY_SECONDS, POISON_RECEIVES } from '../../../../functions/core/delivery/scheduling.ts';
import { attemptTimedOut, DeadLetterPending } from '../../../../functions/core/errors.ts';
import type { Subscription } from '../../../../functions/core/subscription.ts';
import { aSubscription, NOW } from '../../support/fakes.ts';
import { aDelivery, at, config, copyOf, iso, pastAttempts, receive, setup, task } from './harness.ts';

describe('prepareScheduled and the scheduled attempt', () => {
  describe('on success', () => {
    it('saves the delivery as succeeded with its first attempt, and sends no copy', async () => {
      const { run, last, tasks } = setup();
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
        roundAttempts: 1,
        lastError: 'HTTP 500',
        nextAttemptAt: '2026-11-23T10:00:10.000Z',
      });
      const { run, last } = setup({ delivery });
      await expect(run(copyOf(1))).resolves.toBe('succeeded');
      expect(last().status).toBe('succeeded');
      expect(last()).not.toHaveProperty('lastError');
      expect(last()).not.toHaveProperty('nextAttemptAt');
      expect(last().createdAt).toBe(delivery.createdAt);
      expect(last().roundAttempts).toBe(2);
    });
  });

  describe('on a retryable failure', () => {
    it('sends a delayed copy due after the first delay, carrying the round count, and acknowledges the message', async () => {
      const { run, tasks, last } = setup({ answer: { status: 500, body: 'down' } });
      await expect(run()).resolves.toBe('pending');
      expect(tasks.copies).toEqual([{ task: { ...task, attempt: 1, due: at(10_000) }, delaySeconds: 10 }]);
      expect(tasks.of('releaseToDeadLetter')).toEqual([]);
      expect(last()).toMatchObject({
        status: 'pending',
        lastError: 'HTTP 500',
        nextAttemptAt: iso(10_000),
        roundAttempts: 1,
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
      await expect(run(copyOf(1))).resolves.toBe('pending');
      expect(tasks.copies).toEqual([{ task: { ...task, attempt: 2, due: at(20_000) }, delaySeconds: 20 }]);
    });

    it('applies jitter from the injected random source', async () => {
      const { run, tasks, last } = setup({
        answer: new Error('socket hang up'),
        config: { ...config, retry: { delays: [10, 20], jitter: 0.2 } },
        random: () => 0,
      });
      await expect(run()).resolves.toBe('pending');
      expect(tasks.copies[0]).toEqual({ task: { ...task, attempt: 1, due: at(8_000) }, delaySeconds: 8 });
      expect(last().nextAttemptAt).toBe(iso(8_000));
      expect(last().attempts[0]).toMatchObject({ status: 0, error: 'socket hang up' });
    });

    it('writes the endpoint health, then sends the copy, then writes the delivery log', async () => {
      const { run, ops } = setup({ answer: { status: 500 } });
      await expect(run()).resolves.toBe('pending');
      expect(ops()).toEqual(['recordHealth', 'sendDelayed', 'putDeliveries']);
    });

    it('writes no log when the copy cannot be sent, so the message comes back and attempts again', async () => {
      const { run, tasks, store, sender } = setup({ answer: { status: 500 } });
      tasks.failSends = new Error('SQS unavailable');
      await expect(run()).rejects.toThrow('SQS unavailable');
      expect(store.saved).toEqual([]);
      // The same message again: its count still matches the log, so it is not taken for stale.
      tasks.failSends = undefined;
      await expect(run()).resolves.toBe('pending');
      expect(sender.requests).toHaveLength(2);
      expect(tasks.copies.map((c) => c.task.attempt)).toEqual([1]);
    });

    it('sends a wait longer than 15 minutes as the first leg of a chain due at the end of the wait', async () => {
      const { run, tasks, last } = setup({
        answer: { status: 500 },
        config: { ...config, retry: { delays: [7200], jitter: 0 } },
      });
      await expect(run()).resolves.toBe('pending');
      expect(tasks.copies).toEqual([
        { task: { ...task, attempt: 1, due: at(7_200_000) }, delaySeconds: MAX_QUEUE_DELAY_SECONDS },
      ]);
      expect(last().nextAttemptAt).toBe(iso(7_200_000));
    });

    it('dead-letters after the last attempt of the schedule fails', async () => {
      const delivery = aDelivery({
        attempts: pastAttempts(2),
        roundAttempts: 2,
        lastError: 'HTTP 500',
        nextAttemptAt: '2026-11-23T10:00:00.000Z',
      });
      const { run, tasks, last, ops } = setup({
        answer: { status: 502 },
        delivery,
        subscription: aSubscription({ failingSince: '2026-11-23T09:00:00.000Z' }),
      });
      await expect(run(copyOf(2))).rejects.toBeInstanceOf(DeadLetterPending);
      expect(tasks.of('releaseToDeadLetter')).toEqual([
        { op: 'releaseToDeadLetter', receiptHandle: 'rh-msg-1' },
      ]);
      expect(tasks.copies).toEqual([]);
      expect(last().status).toBe('dead');
      expect(last().lastError).toBe('HTTP 502; all 3 attempts of the schedule failed');
      expect(last()).not.toHaveProperty('nextAttemptAt');
      expect(last().roundAttempts).toBe(3);
      expect(last().attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
      expect(ops()).toEqual(['putDeliveries', 'releaseToDeadLetter']);
    });

    it('dead-letters at once when the schedule has no delays', async () => {
      const { run, tasks } = setup({
        answer: { status: 500 },
        config: { ...config, retry: { delays: [], jitter: 0 } },
      });
      await expect(run()).rejects.toBeInstanceOf(DeadLetterPending);
      expect(tasks.of('releaseToDeadLetter')).toHaveLength(1);
      expect(tasks.copies).toEqual([]);
    });
  });

  describe('on a permanent failure', () => {
    it('dead-letters a 410 Gone on the first attempt', async () => {
      const { run, tasks, last } = setup({ answer: { status: 410 } });
      await expect(run()).rejects.toBeInstanceOf(DeadLetterPending);
      expect(tasks.of('releaseToDeadLetter')).toEqual([
        { op: 'releaseToDeadLetter', receiptHandle: 'rh-msg-1' },
      ]);
      expect(tasks.copies).toEqual([]);
      expect(last()).toMatchObject({
        status: 'dead',
        lastError: 'HTTP 410 Gone: the receiver asked to stop sending',
        attempts: [{ attempt: 1, status: 410 }],
      });
    });

    it('disables the subscription on 410 Gone, recording why, before dead-lettering', async () => {
      const { run, ops, store } = setup({ answer: { status: 410 } });
      await expect(run()).rejects.toBeInstanceOf(DeadLetterPending);
      expect(ops()).toEqual(['disableSubscription', 'recordHealth', 'putDeliveries', 'releaseToDeadLetter']);
      expect(store.subscriptions.get('sub_1')).toMatchObject({
        enabled: false,
        disabledReason: 'the receiver answered 410 Gone (delivery dlv_1)',
        disabledAt: NOW.toISOString(),
      });
    });
    it('leaves a subscription edited during the attempt as edited: a 410 from its old URL disables nothing', async () => {
      const { run, store } = setup({ answer: { status: 410 } });
      const load = store.loadForTasks.bind(store);
      store.loadForTasks = async (tasks) => {
        const loaded = await load(tasks);
        // The user points the subscription elsewhere while the attempt to the old URL runs.
        const sub = store.subscriptions.get('sub_1') as Subscription;
        store.subscriptions.set('sub_1', {
          ...sub,
          url: 'https://new.example/hooks',
          updatedAt: NOW.toISOString(),
        });
        return loaded;
      };
      await expect(run()).rejects.toBeInstanceOf(DeadLetterPending);
      expect(store.subscriptions.get('sub_1')).toMatchObject({
        enabled: true,
        url: 'https://new.example/hooks',
      });
      expect(store.subscriptions.get('sub_1')).not.toHaveProperty('disabledReason');
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
        const { run, tasks, last } = setup({
          answer: { status, headers: { 'retry-after': after } },
          random: () => 0,
        });
        await expect(run()).resolves.toBe('pending');
        expect(tasks.copies).toEqual([
          {
            task: { ...task, attempt: 1, due: at(delay * 1000) },
            delaySeconds: Math.min(delay, MAX_QUEUE_DELAY_SECONDS),
          },
        ]);
        expect(last().nextAttemptAt).toBe(iso(delay * 1000));
      },
    );

    it('spreads the wait over up to 10 % more than asked, so copies in step fall out of step', async () => {
      const waits = [];
      for (const r of [0, 0.5, 0.999]) {
        const { run, tasks } = setup({
          answer: { status: 429, headers: { 'retry-after': '120' } },
          random: () => r,
        });
        await run();
        waits.push(tasks.copies[0]?.delaySeconds);
      }
      expect(waits).toEqual([120, 126, expect.closeTo(131.99, 1)]);
    });

    it('names the wish in the log', async () => {
      const { run, last } = setup({ answer: { status: 429, headers: { 'retry-after': '60' } } });
      await expect(run()).resolves.toBe('pending');
      expect(last().lastError).toBe('HTTP 429 (Retry-After: 60 s)');
    });

    it('ignores Retry-After on other statuses', async () => {
      const { run, tasks } = setup({ answer: { status: 500, headers: { 'retry-after': '600' } } });
      await expect(run()).resolves.toBe('pending');
      expect(tasks.copies[0]?.delaySeconds).toBe(10);
    });

    it('still dead-letters when the schedule is over, whatever the receiver asks', async () => {
      const { run, tasks } = setup({
        answer: { status: 503, headers: { 'retry-after': '60' } },
        delivery: aDelivery({ attempts: pastAttempts(2), roundAttempts: 2 }),
      });
      await expect(run(copyOf(2))).rejects.toBeInstanceOf(DeadLetterPending);
      expect(tasks.copies).toEqual([]);
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

  describe('the stale-copy fence', () => {
    it('skips a copy whose count is behind the log, without an HTTP call or a write', async () => {
      // A crash between sending copy 2 and acknowledging copy 1 leaves copy 1 behind.
      const delivery = aDelivery({ attempts: pastAttempts(2), roundAttempts: 2 });
      const { run, sender, calls } = setup({ delivery });
      await expect(run(copyOf(1))).resolves.toBe('skipped');
      expect(sender.requests).toEqual([]);
      expect(calls).toEqual([]);
    });

    it('attempts the copy whose count matches the log', async () => {
      const delivery = aDelivery({ attempts: pastAttempts(2), roundAttempts: 2 });
      const { run, sender } = setup({ delivery });
      await expect(run(copyOf(2))).resolves.toBe('succeeded');
      expect(sender.requests).toHaveLength(1);
    });

    it('attempts a copy ahead of the log (the log write after sending it failed)', async () => {
      const delivery = aDelivery({ attempts: pastAttempts(1), roundAttempts: 1 });
      const { run, sender, last } = setup({ delivery });
      await expect(run(copyOf(2))).resolves.toBe('succeeded');
      expect(sender.requests).toHaveLength(1);
      expect(last().roundAttempts).toBe(2);
    });

    it('lets a redriven task through whatever count it carries: the round starts again', async () => {
      const delivery = aDelivery({
        status: 'dead',
        attempts: pastAttempts(3),
        roundAttempts: 3,
        deadMessageId: 'msg-old',
      });
      const { run, sender, last } = setup({ delivery });
      await expect(run(copyOf(1))).resolves.toBe('succeeded');
      expect(sender.requests).toHaveLength(1);
      expect(last().roundAttempts).toBe(1);
    });
  });

  describe('legacy tasks (written before chained copies, no attempt count)', () => {
    const legacy: DeliveryTask = {
      deliveryId: 'dlv_1',
      tenant: 'acme',
      eventId: 'evt_1',
      subscriptionId: 'sub_1',
    };

    it('are never taken for stale copies', async () => {
      const delivery = aDelivery({ attempts: pastAttempts(2), roundAttempts: 2 });
      const { run, sender } = setup({ delivery });
      await expect(run(legacy)).resolves.toBe('succeeded');
      expect(sender.requests).toHaveLength(1);
    });

    it('are attempted on any receive: their retries came back as the same message', async () => {
      const delivery = aDelivery({ attempts: pastAttempts(1), roundAttempts: 1 });
      const { run, sender, tasks } = setup({ delivery });
      await expect(run(legacy, { receiveCount: POISON_RECEIVES + 1 })).resolves.toBe('succeeded');
      expect(sender.requests).toHaveLength(1);
      expect(tasks.of('releaseToDeadLetter')).toEqual([]);
    });

    it('retry as a copy that carries the count from then on', async () => {
      const delivery = aDelivery({ attempts: pastAttempts(1), roundAttempts: 1 });
      const { run, tasks } = setup({ delivery, answer: { status: 500 } });
      await expect(run(legacy, { receiveCount: 2 })).resolves.toBe('pending');
      expect(tasks.copies).toEqual([{ task: { ...legacy, attempt: 2, due: at(20_000) }, delaySeconds: 20 }]);
    });
  });

  describe('poison: receives of one message that never finished', () => {
    it('attempts on the second receive of a message', async () => {
      const { run, sender } = setup();
      await expect(run(task, { receiveCount: POISON_RECEIVES - 1 })).resolves.toBe('succeeded');
      expect(sender.requests).toHaveLength(1);
    });

    it('marks the delivery dead on the third receive, without an attempt, and releases it toward the DLQ', async () => {
      const delivery = aDelivery({ attempts: pastAttempts(1), roundAttempts: 1, lastError: 'HTTP 503' });
      const { run, sender, last, ops } = setup({ delivery });
      await expect(run(copyOf(1), { receiveCount: POISON_RECEIVES })).rejects.toBeInstanceOf(
        DeadLetterPending,
      );
      expect(sender.requests).toEqual([]);
      expect(ops()).toEqual(['putDeliveries', 'releaseToDeadLetter']);
      expect(last()).toMatchObject({
        status: 'dead',
        deadMessageId: 'msg-1',
        deadAt: NOW.toISOString(),
        roundAttempts: 1,
        lastError:
          'HTTP 503; the delivery handler did not finish 2 receives of this task (a crash or timeout, or the store or queue failing)',
      });
    });

    it('marks a delivery dead that was never logged, naming only the unfinished receives', async () => {
      const { run, last } = setup();
      await expect(run(task, { receiveCount: POISON_RECEIVES })).rejects.toBeInstanceOf(DeadLetterPending);
      expect(last()).toMatchObject({
        status: 'dead',
        attempts: [],
        lastError:
          'the delivery handler did not finish 2 receives of this task (a crash or timeout, or the store or queue failing)',
      });
    });

    it('lets a redriven poison task (a new message) start a fresh round', async () => {
      const delivery = aDelivery({
        status: 'dead',
        attempts: pastAttempts(1),
        roundAttempts: 1,
        deadMessageId: 'msg-poison',
        lastError:
          'the delivery handler did not finish 2 receives of this task (a crash or timeout, or the store or queue failing)',
      });
      const { run, sender, last } = setup({ delivery });
      await expect(run(copyOf(1))).resolves.toBe('succeeded');
      expect(sender.requests).toHaveLength(1);
      expect(last()).toMatchObject({ status: 'succeeded', roundAttempts: 1 });
    });
  });

  describe('across rounds', () => {
    it('numbers attempts after those of earlier rounds while the delay restarts the schedule', async () => {
      const delivery = aDelivery({ status: 'dead', attempts: pastAttempts(3), lastError: 'x' });
      const { run, tasks, last } = setup({ answer: { status: 500 }, delivery });
      await expect(run()).resolves.toBe('pending');
      expect(tasks.copies[0]).toMatchObject({ task: { attempt: 1 }, delaySeconds: 10 });
      expect(last().status).toBe('pending');
      expect(last().attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
    });

    it('delivers a redriven dead delivery and marks it succeeded', async () => {
      const delivery = aDelivery({ status: 'dead', attempts: pastAttempts(3), lastError: 'x' });
      const { run, last } = setup({ delivery });
      await expect(run()).resolves.toBe('succeeded');
      expect(last()).toMatchObject({
        status: 'succeeded',
        attempts: [{}, {}, {}, { attempt: 4, status: 200 }],
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
      await expect(run(copyOf(2))).resolves.toBe('pending');
      expect(tasks.copies).toEqual([{ task: { ...task, attempt: 1, due: at(10_000) }, delaySeconds: 10 }]);
      expect(last()).toMatchObject({
        status: 'pending',
        roundAttempts: 1,
        attempts: [{}, {}, {}, { attempt: 4 }],
      });
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
      await expect(run(task, { sentAt: at(-3_600_000) })).resolves.toBe('skipped');
      expect(sender.requests).toEqual([]);
      // A redrive sends a new message after the delivery died: a fresh round.
      const redrive = setup({ delivery, answer: { status: 200 } });
      await expect(redrive.run(task, { sentAt: NOW.getTime() })).resolves.toBe('succeeded');
    });
  });

  describe('on the way to the DLQ', () => {
    it('records which message is bound for the DLQ, and when', async () => {
      const { run, last } = setup({ answer: { status: 410 } });
      await expect(run()).rejects.toBeInstanceOf(DeadLetterPending);
      expect(last()).toMatchObject({ deadMessageId: 'msg-1', deadAt: NOW.toISOString() });
    });

    it('bounces further receives of that message without an attempt or a write', async () => {
      const delivery = aDelivery({
        status: 'dead',
        attempts: pastAttempts(3),
        deadMessageId: 'msg-1',
        lastError: 'HTTP 500',
      });
      const { run, sender, tasks, ops } = setup({ delivery });
      await expect(run(copyOf(2), { receiveCount: 4 })).rejects.toBeInstanceOf(DeadLetterPending);
      expect(sender.requests).toEqual([]);
      expect(tasks.of('releaseToDeadLetter')).toEqual([
        { op: 'releaseToDeadLetter', receiptHandle: 'rh-msg-1' },
      ]);
      expect(ops()).toEqual(['releaseToDeadLetter']);
    });

    it('gives a redriven task (a new message) a fresh round of attempts', async () => {
      const delivery = aDelivery({
        status: 'dead',
        attempts: pastAttempts(3),
        deadMessageId: 'msg-0',
        deadAt: iso(-60_000),
        lastError: 'HTTP 500',
      });
      const { run, sender, last } = setup({ answer: { status: 200 }, delivery });
      await expect(run()).resolves.toBe('succeeded');
      expect(sender.requests).toHaveLength(1);
      expect(last().status).toBe('succeeded');
      expect(last()).not.toHaveProperty('deadMessageId');
      expect(last()).not.toHaveProperty('deadAt');
      expect(last().attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
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
      await expect(run()).resolves.toBe('succeeded');
      expect(last().attempts).toHaveLength(MAX_LOGGED_ATTEMPTS);
      expect(last().attempts.at(-1)?.attempt).toBe(MAX_LOGGED_ATTEMPTS + 11);
      expect(last().attempts[0]?.attempt).toBe(12);
    });

    it('records the replay a delivery was made by', async () => {
      const { run, last } = setup();
      await run({ ...task, deliveryId: 'dlv_r', replay: 'replay-01' });
      expect(last()).toMatchObject({ id: 'dlv_r', replay: 'replay-01', status: 'succeeded' });
    });
  });

  it('sends the webhook to the subscription url with the configured timeout', async () => {
    const { run, sender } = setup();
    await run();
    expect(sender.requests[0]).toMatchObject({ url: 'https://receiver.example/hooks', timeoutMs: 5000 });
    expect(sender.requests[0]?.headers['webhook-id']).toBe('evt_1');
  });

  describe('metrics', () => {
    it('counts a success with its attempt duration and the latency from acceptance to the 2xx', async () => {
      const { run, metrics } = setup();
      await run();
      const { counts, durations } = metrics.snapshot();
      expect(counts).toEqual({ DeliveriesSucceeded: 1 });
      expect(durations.AttemptDuration).toHaveLength(1);
      // The event was accepted at 09:59:01 and the fixed clock says 10:00:00.
      expect(durations.EndToEndLatency).toEqual([59_000]);
    });

    it('counts a failed attempt that will be retried, with no end-to-end latency', async () => {
      const { run, metrics } = setup({ answer: { status: 500, body: 'no' } });
      await expect(run()).resolves.toBe('pending');
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

  describe('endpoint health: circuit breaker and dead endpoints', () => {
    it('opens the circuit for 30 s when the receiver times out, and tells the rest of the batch', async () => {
      const { run, store, tasks } = setup({ answer: attemptTimedOut(5000) });
      await expect(run()).resolves.toBe('pending');
      expect(store.calls.find((c) => c.op === 'recordHealth')).toMatchObject({
        change: { failingSince: NOW.toISOString(), circuit: { openUntil: iso(30_000), timeouts: 1 } },
        applied: true,
      });
      expect(store.subscriptions.get('sub_1')?.circuit).toEqual({ openUntil: iso(30_000), timeouts: 1 });
      // The timeout is a retryable failure like any other: the next copy follows the schedule.
      expect(tasks.copies[0]?.delaySeconds).toBe(10);
    });

    it('doubles the opening after each further timeout, up to 30 minutes', async () => {
      const sub = aSubscription({
        failingSince: iso(-600_000),
        circuit: { openUntil: iso(-1), timeouts: 3 },
      });
      const { run, store } = setup({ answer: attemptTimedOut(5000), subscription: sub, random: () => 0 });
      // Past openUntil: this task claims the half-open probe, which times out again.
      await expect(run()).resolves.toBe('pending');
      expect(store.calls.find((c) => c.op === 'recordHealth')).toMatchObject({
        change: { circuit: { openUntil: iso(240_000), timeouts: 4 } },
      });
      const long = aSubscription({ failingSince: iso(-1), circuit: { openUntil: iso(-1), timeouts: 12 } });
      const again = setup({ answer: attemptTimedOut(5000), subscription: long });
      await expect(again.run()).resolves.toBe('pending');
      expect(again.store.calls.find((c) => c.op === 'recordHealth')).toMatchObject({
        change: { circuit: { openUntil: iso(1_800_000), timeouts: 13 } },
      });
    });

    it('parks tasks while the circuit is open as a copy that spends no attempt of the round', async () => {
      const sub = aSubscription({
        failingSince: iso(-60_000),
        circuit: { openUntil: iso(45_000), timeouts: 1 },
      });
      const { run, sender, ops, tasks } = setup({
        subscription: sub,
        random: () => 0,
        delivery: aDelivery({ attempts: pastAttempts(1), roundAttempts: 1 }),
      });
      await expect(run(copyOf(1))).resolves.toBe('waiting');
      expect(sender.requests).toEqual([]);
      expect(ops()).toEqual(['sendDelayed']);
      expect(tasks.copies).toEqual([{ task: { ...task, attempt: 1, due: at(45_000) }, delaySeconds: 45 }]);
    });

    it('spreads parked copies over up to half the wait, so a backlog does not come back at once', async () => {
      const sub = aSubscription({ circuit: { openUntil: iso(40_000), timeouts: 1 } });
      const { run, tasks } = setup({ subscription: sub, random: () => 0.5, delivery: aDelivery() });
      await expect(run()).resolves.toBe('waiting');
      // 40 s + 0.5 x 20 s.
      expect(tasks.copies).toEqual([{ task: { ...task, due: at(50_000) }, delaySeconds: 50 }]);
    });

    it('parks behind a long opening as the first leg of a chain', async () => {
      const sub = aSubscription({ circuit: { openUntil: iso(1_800_000), timeouts: 7 } });
      const { run, tasks } = setup({ subscription: sub, random: () => 0, delivery: aDelivery() });
      await expect(run()).resolves.toBe('waiting');
      expect(tasks.copies).toEqual([
        { task: { ...task, due: at(1_800_000) }, delaySeconds: MAX_QUEUE_DELAY_SECONDS },
      ]);
    });

    it('logs a parked delivery that was never attempted as pending, once', async () => {
      const sub = aSubscription({ circuit: { openUntil: iso(45_000), timeouts: 1 } });
      const { run, ops, last } = setup({ subscription: sub, random: () => 0 });
      await expect(run()).resolves.toBe('waiting');
      expect(ops()).toEqual(['putDeliveries', 'sendDelayed']);
      expect(last()).toMatchObject({ status: 'pending', attempts: [], nextAttemptAt: iso(45_000) });
      expect(last().lastError).toMatch(/circuit open/);
    });

    it('clears failingSince and the circuit on a success, and writes nothing for a healthy endpoint', async () => {
      const sick = setup({
        subscription: aSubscription({ failingSince: iso(-1), circuit: { openUntil: iso(-1), timeouts: 2 } }),
      });
      await sick.run();
      expect(sick.store.calls.filter((c) => c.op === 'recordHealth')).toMatchObject([
        { id: 'sub_1', change: 'healthy' },
      ]);
      const healthy = setup();
      await healthy.run();
      expect(healthy.store.calls.filter((c) => c.op === 'recordHealth')).toEqual([]);
    });

    it('marks the first failure after a success only once', async () => {
      const { run, store } = setup({
        answer: { status: 500 },
        subscription: aSubscription({ failingSince: iso(-3_600_000) }),
      });
      await expect(run()).resolves.toBe('pending');
      expect(store.calls.filter((c) => c.op === 'recordHealth')).toEqual([]);
    });

    it('drops the health write of an attempt that read the subscription before an edit, and leaves the loaded copy alone', async () => {
      const { deps, store, tasks, sender } = setup({ answer: { status: 500 } });
      const loaded = await store.loadForTasks([task]);
      // Edited (re-enabled, a new URL...) after this batch read it.
      const stored = store.subscriptions.get('sub_1');
      if (stored) store.subscriptions.set('sub_1', { ...stored, updatedAt: iso(-1) });
      const prepared = await prepareScheduled(deps, receive(task), loaded);
      if (!('ready' in prepared)) throw new Error('expected a ready task');
      await expect(prepared.ready.attempt()).resolves.toBe('pending');
      expect(sender.requests).toHaveLength(1);
      expect(store.calls.filter((c) => c.op === 'recordHealth')).toMatchObject([
        { change: { failingSince: NOW.toISOString() }, applied: false },
      ]);
      expect(store.subscriptions.get('sub_1')).not.toHaveProperty('failingSince');
      expect(prepared.ready.subscription).not.toHaveProperty('failingSince');
      expect(prepared.ready.subscription).not.toHaveProperty('healthUpdatedAt');
      // The delivery itself goes on.
      expect(tasks.copies).toHaveLength(1);
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

    it('lets exactly one task probe a half-open circuit, without a copy', async () => {
      const sub = aSubscription({ failingSince: iso(-60_000), circuit: { openUntil: iso(-1), timeouts: 2 } });
      const { run, sender, calls, tasks } = setup({ subscription: sub, random: () => 0 });
      await expect(run()).resolves.toBe('succeeded');
      expect(calls.filter((c) => c.op === 'claimProbe')).toHaveLength(1);
      expect(sender.requests).toHaveLength(1);
      expect(tasks.copies).toEqual([]);
    });

    it('closes the circuit for everyone when the half-open probe succeeds', async () => {
      const sub = aSubscription({ failingSince: iso(-60_000), circuit: { openUntil: iso(-1), timeouts: 2 } });
      const { run, store } = setup({ subscription: sub, random: () => 0 });
      await expect(run()).resolves.toBe('succeeded');
      expect(store.calls.filter((c) => c.op === 'recordHealth')).toMatchObject([
        { change: 'healthy', applied: true },
      ]);
      expect(store.subscriptions.get('sub_1')).not.toHaveProperty('circuit');
    });

    it('parks a task that finds the probe taken until the probe is over and the last opening has passed again', async () => {
      const sub = aSubscription({ circuit: { openUntil: iso(-1), timeouts: 2, probeUntil: iso(8000) } });
      const { run, sender, tasks } = setup({ subscription: sub, random: () => 0, delivery: aDelivery() });
      await expect(run()).resolves.toBe('waiting');
      expect(sender.requests).toEqual([]);
      // 8 s left of the probe, then the last opening (30 s x 2 for the 2nd timeout).
      expect(tasks.copies[0]?.delaySeconds).toBe(68);
    });

    it('closes the circuit when the endpoint answers promptly, even with an error', async () => {
      const sub = aSubscription({
        failingSince: iso(-60_000),
        circuit: { openUntil: iso(-1), timeouts: 2, probeUntil: iso(-1) },
      });
      // A task that finds the probe's time over and the circuit past its opening probes it.
      const { run, store } = setup({ subscription: sub, answer: { status: 500 } });
      await expect(run()).resolves.toBe('pending');
      expect(store.calls.find((c) => c.op === 'recordHealth')).toMatchObject({
        change: { circuit: null },
        applied: true,
      });
      expect(store.subscriptions.get('sub_1')).not.toHaveProperty('circuit');
      expect(store.subscriptions.get('sub_1')?.failingSince).toBe(iso(-60_000));
    });
  });
});
