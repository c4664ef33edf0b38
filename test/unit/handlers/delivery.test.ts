import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { DeliveryTask } from '../../../functions/core/delivery/model.ts';
import { POISON_RECEIVES } from '../../../functions/core/delivery/scheduling.ts';
import type { RelayMetrics } from '../../../functions/core/metrics.ts';
import { makeDeliveryHandler } from '../../../functions/handlers/delivery.ts';
import { sqsRecord } from '../../support/lambda-events.ts';
import { aDelivery, at, pastAttempts, setup, task } from '../core/delivery/harness.ts';
import { aSubscription, NOW } from '../support/fakes.ts';

const record = (t: DeliveryTask | string, receiveCount = 1, sentAt?: number): SQSRecord => {
  const r = sqsRecord(typeof t === 'string' ? t : JSON.stringify(t), receiveCount);
  if (sentAt !== undefined) r.attributes.SentTimestamp = String(sentAt);
  return r;
};
const failures = (result: { batchItemFailures: Array<{ itemIdentifier: string }> }) =>
  result.batchItemFailures.map((f) => f.itemIdentifier).sort();

function handlerWith(opts: Parameters<typeof setup>[0] = {}) {
  const s = setup({
    subscriptions: [aSubscription(), aSubscription({ id: 'sub_down', url: 'https://down.example/hooks' })],
    ...opts,
  });
  s.sender.answerAt('https://down.example/hooks', { status: 500 });
  let flushes = 0;
  const metrics: RelayMetrics = {
    count: () => undefined,
    duration: () => undefined,
    flush: () => {
      flushes++;
    },
  };
  const handler = makeDeliveryHandler({ ...s.deps, metrics });
  return { ...s, handler, flushes: () => flushes };
}

describe('delivery handler', () => {
  it('reports records bound for the DLQ as failures and every other outcome as a success', async () => {
    const { handler, sender, store, tasks } = handlerWith({
      delivery: aDelivery({ id: 'dlv_done', status: 'succeeded' }),
    });
    const delivered = record({ ...task, deliveryId: 'dlv_ok' });
    const retried = record({ ...task, deliveryId: 'dlv_down', subscriptionId: 'sub_down' });
    const duplicate = record({ ...task, deliveryId: 'dlv_done' });
    const expired = record({ ...task, deliveryId: 'dlv_gone', eventId: 'evt_expired' });
    const leg = record({ ...task, deliveryId: 'dlv_later', due: at(3_600_000) });
    const result = await handler({ Records: [delivered, retried, duplicate, expired, leg] });
    expect(failures(result)).toEqual([expired.messageId]);
    expect(sender.requests).toHaveLength(2);
    expect(store.deliveries.get('dlv_ok')?.status).toBe('succeeded');
    expect(store.deliveries.get('dlv_down')?.status).toBe('pending');
    expect(store.deliveries.get('dlv_gone')?.status).toBe('dead');
    // The retry and the leg are delayed copies; their received messages are acknowledged.
    expect(tasks.copies.map((c) => c.task.deliveryId).sort()).toEqual(['dlv_down', 'dlv_later']);
    expect(tasks.of('releaseToDeadLetter')).toEqual([
      { op: 'releaseToDeadLetter', receiptHandle: expired.receiptHandle },
    ]);
  });

  it('releases a malformed body toward the DLQ and reports it as a failure, without holding up the others', async () => {
    const { handler, tasks, sender } = handlerWith();
    const notJson = record('{not json');
    const notATask = record(JSON.stringify({ deliveryId: 'dlv_1' }));
    const good = record(task);
    const result = await handler({ Records: [notJson, good, notATask] });
    expect(failures(result)).toEqual([notJson.messageId, notATask.messageId].sort());
    expect(
      tasks
        .of('releaseToDeadLetter')
        .map((c) => c.receiptHandle)
        .sort(),
    ).toEqual([notJson.receiptHandle, notATask.receiptHandle].sort());
    expect(sender.requests).toHaveLength(1);
  });

  it('still reports a malformed body as a failure when releasing it fails', async () => {
    const { handler, tasks } = handlerWith();
    tasks.releaseToDeadLetter = () => Promise.reject(new Error('SQS unavailable'));
    const bad = record('{not json');
    expect(failures(await handler({ Records: [bad] }))).toEqual([bad.messageId]);
  });

  it('passes the receive count on: a scheduled task on its third receive is marked dead and fails', async () => {
    const { handler, store, sender } = handlerWith({
      delivery: aDelivery({ attempts: pastAttempts(1), roundAttempts: 1 }),
    });
    const poison = record({ ...task, attempt: 1 }, POISON_RECEIVES);
    expect(failures(await handler({ Records: [poison] }))).toEqual([poison.messageId]);
    expect(sender.requests).toEqual([]);
    expect(store.deliveries.get('dlv_1')).toMatchObject({ status: 'dead', deadMessageId: poison.messageId });
  });

  it('passes the sent time on: a stale copy of a dead-lettered task is skipped', async () => {
    const { handler, sender } = handlerWith({
      delivery: aDelivery({
        status: 'dead',
        attempts: pastAttempts(3),
        roundAttempts: 3,
        deadMessageId: 'm-old',
        deadAt: new Date(NOW.getTime() - 60_000).toISOString(),
      }),
    });
    const stale = record(task, 1, NOW.getTime() - 3_600_000);
    expect(failures(await handler({ Records: [stale] }))).toEqual([]);
    expect(sender.requests).toEqual([]);
  });

  it('fails every record when the store cannot be read, so the queue brings them back', async () => {
    const { handler, store } = handlerWith();
    store.failLoad = new Error('ProvisionedThroughputExceededException');
    const records = [record(task), record({ ...task, deliveryId: 'dlv_2' })];
    expect(failures(await handler({ Records: records }))).toEqual(records.map((r) => r.messageId).sort());
  });

  it('flushes the metrics once per invocation', async () => {
    const { handler, flushes } = handlerWith();
    await handler({ Records: [record(task)] });
    await handler({ Records: [record('{not json')] });
    expect(flushes()).toBe(2);
  });
});
