import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoEndpointLimiter } from '../../functions/adapters/dynamodb/limits.ts';
import { DynamoStore } from '../../functions/adapters/dynamodb/store.ts';
import { NodeHttpSender } from '../../functions/adapters/http/sender.ts';
import { LocalQueue } from '../../functions/adapters/local/queue.ts';
import { LocalTaskQueue } from '../../functions/adapters/local/task-queue.ts';
import { configFromEnv, targetPolicy } from '../../functions/core/config.ts';
import { MAX_RECEIVES } from '../../functions/core/delivery/scheduling.ts';
import { deliveryId } from '../../functions/core/ids.ts';
import { systemClock } from '../../functions/core/ports.ts';
import { makeDeliveryHandler } from '../../functions/handlers/delivery.ts';
import { ensureTable, localDynamoClient, startDynalite } from '../../functions/local/dynalite.ts';
import { startReceiver } from '../support/receiver.ts';

/**
 * A task whose invocations keep dying before they finish (a crash, a Lambda timeout): the real
 * delivery handler, the local SQS queue with its redrive policy, and the store on dynalite,
 * driven receive by receive so the dying invocations can be staged.
 */
describe('poison delivery tasks', () => {
  const config = { ...configFromEnv({}), allowPrivateTargets: true };
  let store: DynamoStore;
  let limiter: DynamoEndpointLimiter;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const db = await startDynalite();
    const client = localDynamoClient(db.endpoint);
    await ensureTable(client, 'relay');
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    store = new DynamoStore(doc, 'relay', 30);
    limiter = new DynamoEndpointLimiter(doc, 'relay');
    close = async () => {
      client.destroy();
      await db.close();
    };
  });
  afterAll(() => close());

  it('marks a task dead before SQS moves it, so GET /v1/dlq lists it, and a redrive delivers it', async () => {
    const rx = await startReceiver(() => 200);
    const dlq = new LocalQueue('poison-dlq', { visibilityTimeoutSeconds: 30 });
    const queue = new LocalQueue('poison', {
      visibilityTimeoutSeconds: 30,
      maxReceiveCount: MAX_RECEIVES,
      deadLetterQueue: dlq,
    });
    const tasks = new LocalTaskQueue(queue, dlq);
    const sender = new NodeHttpSender(targetPolicy(config));
    const handler = makeDeliveryHandler({ store, tasks, limiter, sender, clock: systemClock, config });
    try {
      const now = new Date().toISOString();
      await store.putSubscription({
        id: 'sub_p',
        tenant: 'acme',
        url: rx.url,
        eventTypes: ['*'],
        enabled: true,
        secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        createdAt: now,
        updatedAt: now,
      });
      const id = deliveryId('acme', 'evt_p', 'sub_p', now);
      await store.putEvents([
        {
          event: {
            id: 'evt_p',
            tenant: 'acme',
            type: 'order.created',
            timestamp: now,
            receivedAt: now,
            data: {},
          },
          deliveryIds: [id],
        },
      ]);
      await tasks.enqueue([
        { deliveryId: id, tenant: 'acme', eventId: 'evt_p', subscriptionId: 'sub_p', attempt: 0 },
      ]);

      // Two invocations die holding the task: it comes back each time (visibility).
      for (let i = 0; i < 2; i++) {
        const [record] = queue.receive(1);
        queue.changeVisibility((record as SQSRecord).receiptHandle, 0);
      }
      // The third receive reaches the handler: no attempt, the log says why, and it is dead.
      const third = queue.receive(1);
      expect(third[0]?.attributes.ApproximateReceiveCount).toBe('3');
      const res = await handler({ Records: third });
      expect(res.batchItemFailures).toEqual([{ itemIdentifier: third[0]?.messageId }]);
      expect(rx.received).toHaveLength(0);
      const dead = await store.listDeadDeliveries('acme', { limit: 10 });
      expect(dead.items.map((d) => d.id)).toEqual([id]);
      expect(dead.items[0]?.lastError).toMatch(/did not finish 2 receives/);

      // It bounces on to the DLQ, as SQS's redrive policy moves it.
      for (let n = 4; n <= MAX_RECEIVES; n++) {
        const again = queue.receive(1);
        expect(again).toHaveLength(1);
        expect((await handler({ Records: again })).batchItemFailures).toHaveLength(1);
      }
      expect(queue.receive(1)).toHaveLength(0);
      expect(dlq.depth().total).toBe(1);

      // A redrive is a new message: a fresh round, delivered.
      await tasks.startRedrive();
      const redriven = queue.receive(1);
      expect(redriven).toHaveLength(1);
      expect((await handler({ Records: redriven })).batchItemFailures).toHaveLength(0);
      expect(rx.received).toHaveLength(1);
      expect(rx.received[0]?.headers['webhook-id']).toBe('evt_p');
      expect((await store.getDelivery(id))?.status).toBe('succeeded');
      expect(await store.countDeadDeliveries('acme')).toBe(0);
    } finally {
      queue.close();
      dlq.close();
      sender.close();
      await rx.close();
    }
  });
});
