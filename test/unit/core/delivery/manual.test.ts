import { describe, expect, it } from 'vitest';
import { prepareManual } from '../../../../functions/core/delivery/manual.ts';
import type { Delivery, DeliveryTask } from '../../../../functions/core/delivery/model.ts';
import { POISON_RECEIVES } from '../../../../functions/core/delivery/scheduling.ts';
import { aSubscription, type FakeDeliveryStore, NOW } from '../../support/fakes.ts';
import { aDelivery, iso, pastAttempts, receive, setup, task } from './harness.ts';

const manual: DeliveryTask = {
  deliveryId: 'dlv_1',
  tenant: 'acme',
  eventId: 'evt_1',
  subscriptionId: 'sub_1',
  manual: true,
};
const current = (store: FakeDeliveryStore) => store.deliveries.get(task.deliveryId) as Delivery;

describe('prepareManual and the manual attempt', () => {
  it('leaves a dead delivery dead when the manual attempt fails, without touching the queues', async () => {
    const delivery = aDelivery({ status: 'dead', attempts: pastAttempts(3), lastError: 'old' });
    const { runManual, ops, store } = setup({ answer: { status: 500 }, delivery });
    await expect(runManual(manual)).resolves.toBe('dead');
    expect(ops().filter((op) => !['recordManualAttempt', 'recordHealth'].includes(op))).toEqual([]);
    expect(current(store).status).toBe('dead');
    expect(current(store).lastError).toBe('HTTP 500');
    expect(current(store).attempts).toHaveLength(4);
    expect(current(store).attempts[3]).toMatchObject({ attempt: 4, trigger: 'manual', status: 500 });
  });

  it('keeps the scheduled next attempt of a pending delivery when the manual attempt fails', async () => {
    const nextAttemptAt = '2026-11-23T10:30:00.000Z';
    const delivery = aDelivery({ status: 'pending', attempts: pastAttempts(2), nextAttemptAt });
    const { runManual, ops, store } = setup({ answer: { status: 410 }, delivery });
    await expect(runManual(manual)).resolves.toBe('pending');
    // A 410 disables the subscription, whatever the trigger; the queues are left alone.
    expect(ops().filter((op) => op !== 'recordManualAttempt')).toEqual([
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
    const { runManual, store } = setup({ answer: { status: 500 }, delivery });
    // The scheduled attempt succeeds and is saved while the manual one is on the wire.
    const result = runManual(manual);
    store.deliveries.set(delivery.id, { ...delivery, status: 'succeeded', attempts: pastAttempts(2) });
    await expect(result).resolves.toBe('pending');
    expect(current(store).status).toBe('succeeded');
    expect(current(store).attempts.map((a) => a.trigger)).toEqual(['scheduled', 'scheduled', 'manual']);
    expect(store.saved).toEqual([]);
  });

  it('marks a dead delivery succeeded when the manual attempt succeeds', async () => {
    const delivery = aDelivery({ status: 'dead', attempts: pastAttempts(2), lastError: 'old' });
    const { runManual, store } = setup({ delivery });
    await expect(runManual(manual)).resolves.toBe('succeeded');
    expect(current(store)).toMatchObject({
      status: 'succeeded',
      attempts: [{}, {}, { attempt: 3, trigger: 'manual' }],
    });
    expect(current(store)).not.toHaveProperty('lastError');
  });

  it('attempts again even when the delivery already succeeded', async () => {
    const delivery = aDelivery({ status: 'succeeded', attempts: pastAttempts(1) });
    const { runManual, sender } = setup({ delivery });
    await expect(runManual(manual)).resolves.toBe('succeeded');
    expect(sender.requests).toHaveLength(1);
  });

  it('attempts even when the subscription is disabled', async () => {
    const delivery = aDelivery({ status: 'dead', attempts: pastAttempts(1) });
    const { runManual, sender, tasks } = setup({ subscription: aSubscription({ enabled: false }), delivery });
    await expect(runManual(manual)).resolves.toBe('succeeded');
    expect(sender.requests).toHaveLength(1);
    expect(tasks.of('releaseToDeadLetter')).toEqual([]);
  });

  it('ignores an open circuit: the operator asked for an attempt now', async () => {
    const sub = aSubscription({ circuit: { openUntil: iso(45_000), timeouts: 1 } });
    const { runManual, sender, tasks, calls } = setup({ subscription: sub, delivery: aDelivery() });
    await expect(runManual(manual)).resolves.toBe('succeeded');
    expect(sender.requests).toHaveLength(1);
    expect(tasks.copies).toEqual([]);
    expect(calls.filter((c) => c.op === 'claimProbe')).toEqual([]);
  });

  it('tells the endpoint health what it saw: a success closes the circuit', async () => {
    const sub = aSubscription({
      failingSince: iso(-60_000),
      circuit: { openUntil: iso(45_000), timeouts: 1 },
    });
    const { runManual, store } = setup({ subscription: sub, delivery: aDelivery() });
    await expect(runManual(manual)).resolves.toBe('succeeded');
    expect(store.calls.filter((c) => c.op === 'recordHealth')).toMatchObject([
      { change: 'healthy', applied: true },
    ]);
    expect(store.subscriptions.get('sub_1')).not.toHaveProperty('circuit');
    expect(store.subscriptions.get('sub_1')).not.toHaveProperty('failingSince');
  });

  it('never dead-letters, even when the event has expired', async () => {
    const delivery = aDelivery({ status: 'succeeded', attempts: pastAttempts(1) });
    const { runManual, tasks, store, sender } = setup({ delivery, event: false });
    await expect(runManual(manual)).resolves.toBe('succeeded');
    expect(sender.requests).toEqual([]);
    expect(tasks.of('releaseToDeadLetter')).toEqual([]);
    expect(current(store)).toMatchObject({
      status: 'succeeded',
      lastError: 'event no longer stored (past its retention)',
    });
  });

  it('records why it could not run when the subscription was deleted', async () => {
    const delivery = aDelivery({ status: 'dead', attempts: pastAttempts(1) });
    const { runManual, sender, store, tasks } = setup({ delivery, subscription: null });
    await expect(runManual(manual)).resolves.toBe('dead');
    expect(sender.requests).toEqual([]);
    expect(tasks.calls.filter((c) => c.op !== 'recordManualAttempt')).toEqual([]);
    expect(store.calls).toEqual([
      {
        op: 'recordManualAttempt',
        deliveryId: 'dlv_1',
        update: { succeeded: false, lastError: 'subscription was deleted', at: NOW.toISOString() },
      },
    ]);
  });

  describe('on its third receive (poison)', () => {
    it('records that it never finished, without an attempt, and does not dead-letter', async () => {
      const delivery = aDelivery({ status: 'pending', attempts: pastAttempts(1) });
      const { runManual, sender, tasks, store } = setup({ delivery });
      await expect(runManual(manual, { receiveCount: POISON_RECEIVES })).resolves.toBe('pending');
      expect(sender.requests).toEqual([]);
      expect(tasks.of('releaseToDeadLetter')).toEqual([]);
      expect(store.saved).toEqual([]);
      expect(current(store)).toMatchObject({
        status: 'pending',
        lastError: 'the manual retry was received 3 times without finishing',
      });
    });

    it('still attempts on the second receive', async () => {
      const { runManual, sender } = setup({ delivery: aDelivery() });
      await expect(runManual(manual, { receiveCount: POISON_RECEIVES - 1 })).resolves.toBe('succeeded');
      expect(sender.requests).toHaveLength(1);
    });
  });

  it('waits for an endpoint limit as a copy that stays manual', async () => {
    const { deps, store, tasks } = setup({ delivery: aDelivery() });
    const prepared = await prepareManual(deps, receive(manual), await store.loadForTasks([manual]));
    if (!('ready' in prepared)) throw new Error('expected a ready task');
    await expect(prepared.ready.wait(3, 'in-flight limit')).resolves.toBe('waiting');
    expect(tasks.copies).toEqual([{ task: { ...manual, due: NOW.getTime() + 3000 }, delaySeconds: 3 }]);
  });
});
