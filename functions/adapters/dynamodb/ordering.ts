import { randomUUID } from 'node:crypto';
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { DeliveryTaskSchema } from '../../core/delivery/model.ts';
import type { OrderedStore, PendingDelivery } from '../../core/ports.ts';
import { AWAKE_SK, orderPartition } from './table.ts';

/** BatchWriteItem takes at most 25 writes per request. */
const MAX_WRITES_PER_BATCH = 25;
const MAX_ROUNDS = 8;

/**
 * Ordered subscriptions' pending lists in the relay's table (see table.ts): one item per pending
 * delivery, `ORDER#{tenant}#{subscriptionId}` / `{receivedAt}#{position}#{deliveryId}`, so a
 * Query of the partition returns them in ingest order. An item lives from fanout until its
 * delivery succeeds, fails or is dead-lettered (no TTL: a stuck list must stay visible, never
 * expire). One write to add, one to remove, one strongly consistent read per look at the head.
 * The partition's `AWAKE` item is the subscription's awake flag (`until`, epoch ms; `by`, the
 * claimer; `wakeId`, its wake-up's deduplication id): set by the fanout that sends a wake-up,
 * cleared by the drain that empties the list. Each entry carries `addedAt` and a `version`.
 */
export class DynamoOrderedStore implements OrderedStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async addPending(all: readonly PendingDelivery[], now: Date): Promise<void> {
    // BatchWriteItem refuses two writes of one key in a request: the last one wins.
    const items = [...new Map(all.map((p) => [`${p.task.subscriptionId}|${p.key}`, p])).values()];
    for (let i = 0; i < items.length; i += MAX_WRITES_PER_BATCH) {
      let writes = items.slice(i, i + MAX_WRITES_PER_BATCH).map((p) => ({
        PutRequest: {
          Item: { ...pendingKey(p), key: p.key, task: p.task, addedAt: now.getTime(), version: randomUUID() },
        },
      }));
      for (let round = 0; writes.length > 0; round++) {
        if (round > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** round)));
        if (round > MAX_ROUNDS)
          throw new Error(`DynamoDB left ${writes.length} pending deliveries unwritten`);
        const res = await this.doc.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: writes } }),
        );
        writes = (res.UnprocessedItems?.[this.tableName] as typeof writes | undefined) ?? [];
      }
    }
  }

  async headPending(tenant: string, subscriptionId: string, limit: number): Promise<PendingDelivery[]> {
    const res = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        // Pending keys start with a date (digits); the flag's key is a word, after them.
        KeyConditionExpression: 'pk = :pk AND sk < :flag',
        ExpressionAttributeValues: { ':pk': orderPartition(tenant, subscriptionId), ':flag': AWAKE_SK },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (res.Items ?? []).map((item) => ({
      key: String(item.key),
      task: DeliveryTaskSchema.parse(item.task),
      ...(typeof item.addedAt === 'number' ? { addedAt: item.addedAt } : {}),
      ...(typeof item.version === 'string' ? { version: item.version } : {}),
    }));
  }

  async removePending(item: PendingDelivery): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: pendingKey(item),
          ...(item.version
            ? { ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': item.version } }
            : {}),
        }),
      );
    } catch (err) {
      // Added again since it was read (a redrive put it back): it stays.
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    }
  }

  async claimWake(
    tenant: string,
    subscriptionId: string,
    claim: { by: string; now: Date; until: Date },
  ): Promise<string | undefined> {
    const wakeId = randomUUID();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...flagKey(tenant, subscriptionId), until: claim.until.getTime(), by: claim.by, wakeId },
          ConditionExpression: 'attribute_not_exists(pk) OR #until < :now',
          ExpressionAttributeNames: { '#until': 'until' },
          ExpressionAttributeValues: { ':now': claim.now.getTime() },
        }),
      );
      return wakeId;
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
    }
    // Held: by this same caller (a retry), which sends the wake-up it promised, or by another.
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: flagKey(tenant, subscriptionId),
        ConsistentRead: true,
      }),
    );
    return res.Item?.by === claim.by && typeof res.Item.wakeId === 'string' ? res.Item.wakeId : undefined;
  }

  async extendWake(tenant: string, subscriptionId: string, until: Date): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: flagKey(tenant, subscriptionId),
        UpdateExpression: 'SET #until = :until',
        ExpressionAttributeNames: { '#until': 'until' },
        ExpressionAttributeValues: { ':until': until.getTime() },
      }),
    );
  }

  async releaseWake(tenant: string, subscriptionId: string): Promise<void> {
    await this.doc.send(
      new DeleteCommand({ TableName: this.tableName, Key: flagKey(tenant, subscriptionId) }),
    );
  }
}

const flagKey = (tenant: string, subscriptionId: string) => ({
  pk: orderPartition(tenant, subscriptionId),
  sk: AWAKE_SK,
});

const pendingKey = (p: PendingDelivery) => ({
  pk: orderPartition(p.task.tenant, p.task.subscriptionId),
  sk: p.key,
});
