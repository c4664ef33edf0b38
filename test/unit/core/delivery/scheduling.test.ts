import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE } from '../../../../functions/core/delivery/retry.ts';
import {
  copiesPerRound,
  DUE_TOLERANCE_MS,
  isEarly,
  MAX_QUEUE_DELAY_SECONDS,
  MAX_RECEIVES,
  nextHopSeconds,
  POISON_RECEIVES,
  sendBackLater,
  sendOn,
} from '../../../../functions/core/delivery/scheduling.ts';
import { FakeTaskQueue, NOW } from '../../support/fakes.ts';
import { task } from './harness.ts';

const now = NOW.getTime();

describe('nextHopSeconds', () => {
  it('waits the whole time when it fits in one delayed copy', () => {
    expect(nextHopSeconds(now + 600_000, now)).toBe(600);
    expect(nextHopSeconds(now + 900_000, now)).toBe(MAX_QUEUE_DELAY_SECONDS);
  });

  it('waits at most 15 minutes: a longer wait is a chain of legs', () => {
    expect(nextHopSeconds(now + 2 * 3_600_000, now)).toBe(900);
    expect(nextHopSeconds(now + 900_001, now)).toBe(900);
  });

  it('keeps fractions of a second (the SQS adapter rounds up, the local queue keeps them)', () => {
    expect(nextHopSeconds(now + 1_500, now)).toBe(1.5);
  });

  it('does not wait for a due time that has passed', () => {
    expect(nextHopSeconds(now - 5_000, now)).toBe(0);
    expect(nextHopSeconds(now, now)).toBe(0);
  });
});

describe('isEarly', () => {
  it('is false for a task without a due time (a new task, or one written before chains)', () => {
    expect(isEarly(undefined, now)).toBe(false);
  });

  it('tolerates a copy that arrives up to a second early', () => {
    expect(isEarly(now + DUE_TOLERANCE_MS, now)).toBe(false);
    expect(isEarly(now + 200, now)).toBe(false);
  });

  it('sends on a copy that arrives more than a second early', () => {
    expect(isEarly(now + DUE_TOLERANCE_MS + 1, now)).toBe(true);
    expect(isEarly(now + 2 * 3_600_000, now)).toBe(true);
  });

  it('is false for a copy that arrives late', () => {
    expect(isEarly(now - 60_000, now)).toBe(false);
  });
});

describe('copiesPerRound', () => {
  it('costs one copy per wait up to 15 minutes and one per further 15 minutes', () => {
    expect(copiesPerRound([5])).toBe(1);
    expect(copiesPerRound([900])).toBe(1);
    expect(copiesPerRound([901])).toBe(2);
    expect(copiesPerRound([7200])).toBe(8);
  });

  it('costs at least one copy for a wait of nothing', () => {
    expect(copiesPerRound([0, 0])).toBe(2);
  });

  it('costs 112 copies over the default schedule', () => {
    expect(copiesPerRound(DEFAULT_RETRY_SCHEDULE)).toBe(112);
  });

  it('costs nothing for a schedule without retries', () => {
    expect(copiesPerRound([])).toBe(0);
  });
});

describe('sendBackLater', () => {
  it('sends a copy of the task due after the wait, delayed by the whole wait when it fits', async () => {
    const queue = new FakeTaskQueue();
    await sendBackLater(queue, task, 45, now);
    expect(queue.copies).toEqual([{ task: { ...task, due: now + 45_000 }, delaySeconds: 45 }]);
  });

  it('sends the first leg of a chain for a wait longer than 15 minutes', async () => {
    const queue = new FakeTaskQueue();
    await sendBackLater(queue, task, 7200, now);
    expect(queue.copies).toEqual([{ task: { ...task, due: now + 7_200_000 }, delaySeconds: 900 }]);
  });

  it('carries the changes given (the round count, a booking)', async () => {
    const queue = new FakeTaskQueue();
    await sendBackLater(queue, task, 10, now, { attempt: 3 });
    await sendBackLater(queue, task, 2, now, { booked: true });
    expect(queue.copies.map((c) => c.task)).toEqual([
      { ...task, attempt: 3, due: now + 10_000 },
      { ...task, booked: true, due: now + 2_000 },
    ]);
  });

  it('does not carry a booking over unless told to: a new wait needs a new send time', async () => {
    const queue = new FakeTaskQueue();
    await sendBackLater(queue, { ...task, booked: true, due: now - 1000 }, 10, now);
    expect(queue.copies[0]?.task).toEqual({ ...task, due: now + 10_000 });
  });

  it('replaces the due time of the task it copies', async () => {
    const queue = new FakeTaskQueue();
    await sendBackLater(queue, { ...task, due: now - 60_000 }, 5, now);
    expect(queue.copies[0]?.task.due).toBe(now + 5_000);
  });

  it('sends a copy due now for a wait of nothing or less', async () => {
    const queue = new FakeTaskQueue();
    await sendBackLater(queue, task, -3, now);
    expect(queue.copies).toEqual([{ task: { ...task, due: now }, delaySeconds: 0 }]);
  });
});

describe('sendOn', () => {
  it('sends the same task on toward its due time, booking and count included', async () => {
    const queue = new FakeTaskQueue();
    const leg = { ...task, attempt: 2, booked: true, due: now + 2 * 3_600_000 };
    await sendOn(queue, leg, now);
    expect(queue.copies).toEqual([{ task: leg, delaySeconds: 900 }]);
  });

  it('sends the last leg for the rest of the wait', async () => {
    const queue = new FakeTaskQueue();
    await sendOn(queue, { ...task, due: now + 300_000 }, now);
    expect(queue.copies[0]?.delaySeconds).toBe(300);
  });
});

describe('the queue numbers', () => {
  it('marks a poison task dead before the queue moves it to the DLQ', () => {
    expect(POISON_RECEIVES).toBeLessThan(MAX_RECEIVES);
  });
});
