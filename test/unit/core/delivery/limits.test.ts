import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeliverDeps, ReadyTask } from '../../../../functions/core/delivery/deps.ts';
import { admit } from '../../../../functions/core/delivery/limits.ts';
import type { DeliveryTask } from '../../../../functions/core/delivery/model.ts';
import { limitWait } from '../../../../functions/core/delivery/scheduled.ts';
import { DEFAULT_MAX_IN_FLIGHT, type Subscription } from '../../../../functions/core/subscription.ts';
import { aSubscription, FakeLimiter, FakeTaskQueue, fixedClock, NOW } from '../../support/fakes.ts';
import { config, receive, task } from './harness.ts';

/** admit's pauses between asking for slots, recorded and skipped (no test waits in real time). */
const pauses = vi.hoisted(() => ({
  taken: [] as number[],
  onPause: undefined as undefined | ((n: number) => void),
}));
vi.mock('node:timers/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:timers/promises')>();
  return {
    ...actual,
    setTimeout: async (ms: number) => {
      pauses.taken.push(ms);
      pauses.onPause?.(pauses.taken.length);
    },
  };
});

beforeEach(() => {
  pauses.taken = [];
  pauses.onPause = undefined;
});

const now = NOW.getTime();

function setup(sub: Subscription, opts: { deliverySlots?: number; random?: () => number } = {}) {
  const limiter = new FakeLimiter();
  const tasks = new FakeTaskQueue();
  const deps: DeliverDeps = {
    store: undefined as unknown as DeliverDeps['store'],
    tasks,
    limiter,
    sender: { post: () => Promise.reject(new Error('admit never sends')) },
    clock: fixedClock(),
    config: { ...config, ...(opts.deliverySlots !== undefined ? { deliverySlots: opts.deliverySlots } : {}) },
    random: opts.random ?? (() => 0.5),
  };
  const attempted: string[] = [];
  /** `n` ready tasks of the subscription, each its own delivery. */
  const ready = (n: number, extra: Partial<DeliveryTask> = {}): ReadyTask[] =>
    Array.from({ length: n }, (_, i) => {
      const t: DeliveryTask = { ...task, deliveryId: `dlv_${i}`, ...extra };
      return {
        received: receive(t),
        subscription: sub,
        attempt: async () => {
          attempted.push(t.deliveryId);
          return 'succeeded';
        },
        wait: limitWait(deps, t),
      };
    });
  return { deps, limiter, tasks, attempted, ready, admit: (r: ReadyTask[]) => admit(deps, 'me', sub, r) };
}

describe('admit', () => {
  describe('in-flight slots (maxInFlight), fleet-wide', () => {
    it('lets every task go at once when the endpoint sets no limits and the batch is below the default', async () => {
      const { admit, ready, limiter } = setup(aSubscription());
      const admission = await admit(ready(3));
      expect(admission.go).toHaveLength(3);
      expect(admission.go.map((g) => g.startInMs)).toEqual([0, 0, 0]);
      expect(admission.width).toBe(3);
      expect(admission.waiting).toEqual([]);
      expect(limiter.of('acquireSlots')).toMatchObject([
        { wanted: 3, limit: DEFAULT_MAX_IN_FLIGHT, granted: 3 },
      ]);
    });

    it('takes at most the limit in slots and runs every task of the batch through them', async () => {
      const { admit, ready, limiter } = setup(aSubscription({ maxInFlight: 4 }));
      const admission = await admit(ready(10));
      expect(limiter.of('acquireSlots')).toMatchObject([{ holder: 'me', wanted: 4, limit: 4, granted: 4 }]);
      expect(admission.width).toBe(4);
      expect(admission.go).toHaveLength(10);
      expect(admission.waiting).toEqual([]);
    });

    it('leases its slots beyond the attempt timeout, so a crashed invocation frees them by itself', async () => {
      const { admit, ready, limiter } = setup(aSubscription({ maxInFlight: 4 }));
      await admit(ready(2));
      const until = Date.parse(limiter.of('acquireSlots')[0]?.until ?? '');
      expect(until).toBeGreaterThan(now + config.attemptTimeoutMs);
    });

    it('takes only the slots other invocations leave free, and runs no more through them than fit the invocation (4 each)', async () => {
      const sub = aSubscription({ maxInFlight: 4 });
      const { admit, ready, limiter, tasks } = setup(sub);
      limiter.occupy('acme', 'sub_1', 'other', 3, new Date(now + 60_000));
      const admission = await admit(ready(10));
      expect(admission.width).toBe(1);
      expect(admission.go).toHaveLength(4);
      expect(admission.waiting).toHaveLength(6);
      await Promise.all(admission.waiting.map((w) => w.result));
      expect(tasks.copies).toHaveLength(6);
      expect(limiter.held('acme', 'sub_1', NOW)).toBe(4);
    });

    it('counts no slots when the fleet cannot exceed the limit anyway (deliverySlots at most the limit)', async () => {
      const { admit, ready, limiter } = setup(aSubscription({ maxInFlight: 4 }), { deliverySlots: 4 });
      const admission = await admit(ready(10));
      expect(limiter.calls).toEqual([]);
      expect(admission.go).toHaveLength(10);
      expect(admission.width).toBe(4);
      await admission.release();
      expect(limiter.calls).toEqual([]);
    });

    it('counts slots when the fleet could exceed the limit', async () => {
      const { admit, ready, limiter } = setup(aSubscription({ maxInFlight: 4 }), { deliverySlots: 5 });
      await admit(ready(10));
      expect(limiter.of('acquireSlots')).toHaveLength(1);
    });

    it('asks again while no slot is free, and takes the slots that free up meanwhile', async () => {
      const { admit, ready, limiter, attempted } = setup(aSubscription({ maxInFlight: 4 }));
      limiter.occupy('acme', 'sub_1', 'other', 4, new Date(now + 60_000));
      pauses.onPause = (n) => {
        if (n === 2) void limiter.releaseSlots('acme', 'sub_1', 'other');
      };
      const admission = await admit(ready(5));
      expect(limiter.of('acquireSlots').map((c) => c.granted)).toEqual([0, 0, 4]);
      expect(admission.width).toBe(4);
      expect(admission.go).toHaveLength(5);
      expect(admission.waiting).toEqual([]);
      expect(attempted).toEqual([]);
    });

    it('sends every task back as a delayed copy of 1 to 2 s when no slot frees up, spending no attempt', async () => {
      const { admit, ready, limiter, tasks, attempted } = setup(aSubscription({ maxInFlight: 4 }), {
        random: () => 0.5,
      });
      limiter.occupy('acme', 'sub_1', 'other', 4, new Date(now + 60_000));
      const admission = await admit(ready(3, { attempt: 2 }));
      expect(limiter.of('acquireSlots').length).toBeGreaterThan(1);
      expect(limiter.of('acquireSlots').every((c) => c.granted === 0)).toBe(true);
      expect(admission.go).toEqual([]);
      expect(admission.width).toBe(0);
      await expect(Promise.all(admission.waiting.map((w) => w.result))).resolves.toEqual([
        'waiting',
        'waiting',
        'waiting',
      ]);
      expect(tasks.copies).toEqual(
        ['dlv_0', 'dlv_1', 'dlv_2'].map((deliveryId) => ({
          task: { ...task, deliveryId, attempt: 2, due: now + 1500 },
          delaySeconds: 1.5,
        })),
      );
      expect(attempted).toEqual([]);
      await admission.release();
      expect(limiter.of('releaseSlots')).toEqual([]);
    });

    it('gives its slots back once the attempts are over', async () => {
      const { admit, ready, limiter } = setup(aSubscription({ maxInFlight: 4 }));
      const admission = await admit(ready(2));
      expect(limiter.held('acme', 'sub_1', NOW)).toBe(2);
      await admission.release();
      expect(limiter.of('releaseSlots')).toEqual([
        { op: 'releaseSlots', subscriptionId: 'sub_1', holder: 'me' },
      ]);
      expect(limiter.held('acme', 'sub_1', NOW)).toBe(0);
    });
  });

  describe('the rate limit (rateLimitPerSecond), fleet-wide', () => {
    it('starts the tasks booked within a second at their times, and sends the later ones back holding their bookings', async () => {
      const { admit, ready, limiter, tasks, attempted } = setup(aSubscription({ rateLimitPerSecond: 2 }));
      const admission = await admit(ready(5));
      expect(limiter.of('bookSendTimes')).toMatchObject([{ count: 5, ratePerSecond: 2 }]);
      expect(admission.go.map((g) => [g.task.received.task.deliveryId, g.startInMs])).toEqual([
        ['dlv_0', 0],
        ['dlv_1', 500],
        ['dlv_2', 1000],
      ]);
      await Promise.all(admission.waiting.map((w) => w.result));
      expect(tasks.copies).toEqual([
        { task: { ...task, deliveryId: 'dlv_3', booked: true, due: now + 1500 }, delaySeconds: 1.5 },
        { task: { ...task, deliveryId: 'dlv_4', booked: true, due: now + 2000 }, delaySeconds: 2 },
      ]);
      expect(attempted).toEqual([]);
    });

    it('books after the send times other invocations booked before', async () => {
      const sub = aSubscription({ rateLimitPerSecond: 1 });
      const mine = setup(sub);
      await mine.admit(mine.ready(1));
      const other = await admit(mine.deps, 'other', sub, mine.ready(2));
      expect(other.go.map((g) => g.startInMs)).toEqual([1000]);
      expect(other.waiting).toHaveLength(1);
    });

    it('lets a booked copy go at once without booking again', async () => {
      const { admit, ready, limiter } = setup(aSubscription({ rateLimitPerSecond: 1 }));
      const admission = await admit([...ready(2, { booked: true, due: now }), ...ready(1)]);
      expect(admission.go).toHaveLength(3);
      expect(admission.go.map((g) => g.startInMs)).toEqual([0, 0, 0]);
      // Only the fresh task took a send time.
      expect(limiter.of('bookSendTimes').flatMap((c) => c.times)).toEqual([now]);
      expect(limiter.nextFree('acme', 'sub_1')).toBe(now + 1000);
    });

    it('sends rate-limited tasks that find no slot back to book again (their send time will be past)', async () => {
      const { admit, ready, limiter, tasks } = setup(
        aSubscription({ rateLimitPerSecond: 10, maxInFlight: 1 }),
      );
      limiter.occupy('acme', 'sub_1', 'other', 1, new Date(now + 60_000));
      const admission = await admit(ready(2));
      await Promise.all(admission.waiting.map((w) => w.result));
      expect(tasks.copies.map((c) => c.task.booked)).toEqual([undefined, undefined]);
    });
  });
});
