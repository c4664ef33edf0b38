import { describe, expect, it } from 'vitest';
import type { OrderedDeps } from '../../../functions/core/delivery/ordering.ts';
import { pendingOf, WAKE_LEASE_MS } from '../../../functions/core/delivery/ordering.ts';
import type { PendingDelivery } from '../../../functions/core/ports.ts';
import { makeOrderedHandler } from '../../../functions/handlers/ordered.ts';
import { sqsRecord } from '../../support/lambda-events.ts';
import { config } from '../core/delivery/harness.ts';
import {
  anEvent,
  aSubscription,
  FakeDeliveryStore,
  FakeLimiter,
  FakeSender,
  FakeTaskQueue,
  fixedClock,
} from '../support/fakes.ts';

const wake = (subscriptionId = 'sub_1') => JSON.stringify({ tenant: 'acme', subscriptionId });

/** The ordered handler over fakes: `pending` is sub_1's list; the receiver answers `status`. */
function setup(status: number, opts: { failReads?: boolean } = {}) {
  const store = new FakeDeliveryStore();
  store.subscriptions.set('sub_1', aSubscription({ ordering: 'fifo' }));
  store.events.set('evt_1', anEvent());
  const pending: PendingDelivery[] = [
    pendingOf(anEvent(), { deliveryId: 'dlv_1', tenant: 'acme', eventId: 'evt_1', subscriptionId: 'sub_1' }),
  ];
  const holds: Array<{ receiptHandle: string; seconds: number }> = [];
  const wakes: Array<{ subscriptionId: string; dedupId: string }> = [];
  const extended: number[] = [];
  const deps: OrderedDeps = {
    store,
    tasks: new FakeTaskQueue(),
    limiter: new FakeLimiter(),
    sender: new FakeSender({ status }),
    clock: fixedClock(),
    config,
    ordered: {
      store: {
        addPending: async () => undefined,
        headPending: async () => {
          if (opts.failReads) throw new Error('ProvisionedThroughputExceededException');
          return pending.slice(0, 1);
        },
        removePending: async (item) => {
          pending.splice(
            pending.findIndex((p) => p.key === item.key),
            1,
          );
        },
        claimWake: async () => 'wake-1',
        extendWake: async (_t, _s, until) => void extended.push(until.getTime()),
        releaseWake: async () => undefined,
      },
      queue: {
        wake: async (w) => void wakes.push(...w),
        hold: async (receiptHandle, seconds) => void holds.push({ receiptHandle, seconds }),
      },
    },
  };
  return {
    handler: makeOrderedHandler(deps),
    holds,
    wakes,
    extended,
    pending,
    sender: deps.sender as FakeSender,
  };
}

describe('ordered queue handler', () => {
  it('drains a subscription once for all its wake-ups in the batch and acknowledges them', async () => {
    const s = setup(200);
    const records = [sqsRecord(wake()), sqsRecord(wake()), sqsRecord(wake())];
    const result = await s.handler({ Records: records });
    expect(result.batchItemFailures).toEqual([]);
    expect(s.sender.requests).toHaveLength(1);
    expect(s.pending).toEqual([]);
  });

  it('holds the first wake-up for the retry delay and reports it failed, so SQS keeps the subscription back', async () => {
    const s = setup(500);
    const [first, second] = [sqsRecord(wake()), sqsRecord(wake())];
    const result = await s.handler({ Records: [first, second] as NonNullable<typeof first>[] });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: first?.messageId }]);
    expect(s.holds).toEqual([{ receiptHandle: first?.receiptHandle, seconds: 10 }]);
    expect(s.pending).toHaveLength(1);
    // Kept awake past the hold, so fanouts meanwhile send no more wake-ups.
    expect(s.extended).toEqual([Date.parse('2026-11-23T10:00:00.000Z') + 10_000 + WAKE_LEASE_MS]);
  });

  it('replaces a wake-up held many times with a fresh one instead of holding it again', async () => {
    const s = setup(500);
    const result = await s.handler({ Records: [sqsRecord(wake(), 10)] });
    expect(result.batchItemFailures).toEqual([]);
    expect(s.holds).toEqual([]);
    expect(s.wakes).toEqual([expect.objectContaining({ subscriptionId: 'sub_1' })]);
  });

  it('brings a wake-up back after a backoff when the drain fails, and drops a malformed one', async () => {
    const s = setup(200, { failReads: true });
    const bad = sqsRecord('not json');
    const good = sqsRecord(wake(), 3);
    const result = await s.handler({ Records: [bad, good] });
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: good.messageId }]);
    expect(s.holds).toEqual([{ receiptHandle: good.receiptHandle, seconds: 20 }]);
  });
});
