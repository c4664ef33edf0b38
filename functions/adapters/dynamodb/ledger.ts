import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { EventLedger } from '../../core/ports.ts';
import { isConditionFailure, type TableClient } from './client.ts';
import { ledgerKey } from './table.ts';

/** How long a claim holds before another request may take it over (a crashed publisher). */
export const CLAIM_LEASE_MS = 30_000;

/** The duplicate check of producer-chosen event ids: one claim item per (tenant, id). */
export class DynamoEventLedger implements EventLedger {
  constructor(private readonly t: TableClient) {}

  /**
   * One conditional PutItem per claim, each id in its own partition (no hot key). Expired items
   * count as absent (TTL deletes them within a day or two, and dynalite never does).
   */
  async claim(
    tenant: string,
    id: string,
    now: Date,
    receivedAt?: string,
  ): Promise<'claimed' | 'accepted' | 'in_flight'> {
    const nowMs = now.getTime();
    try {
      await this.t.doc.send(
        new PutCommand({
          TableName: this.t.tableName,
          Item: {
            ...ledgerKey(tenant, id),
            state: 'in_flight',
            leaseUntil: nowMs + CLAIM_LEASE_MS,
            // Where the event's item is (its key starts with it): GET /v1/events/{id} reads it.
            ...(receivedAt ? { receivedAt } : {}),
            // As long as the event and its deliveries are kept: a reused id is a duplicate for as
            // long as the relay could mistake it for the stored event (at least the 24 h promised).
            ttl: this.t.ttl(nowMs),
          },
          ConditionExpression:
            'attribute_not_exists(pk) OR #ttl < :nowSec OR (#state = :inFlight AND leaseUntil < :nowMs)',
          ExpressionAttributeNames: { '#ttl': 'ttl', '#state': 'state' },
          ExpressionAttributeValues: {
            ':nowSec': Math.floor(nowMs / 1000),
            ':nowMs': nowMs,
            ':inFlight': 'in_flight',
          },
        }),
      );
      return 'claimed';
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const res = await this.t.doc.send(
      new GetCommand({ TableName: this.t.tableName, Key: ledgerKey(tenant, id), ConsistentRead: true }),
    );
    // Gone between the two calls (released): let the caller try again.
    if (!res.Item) return 'in_flight';
    return res.Item.state === 'accepted' ? 'accepted' : 'in_flight';
  }

  async markAccepted(tenant: string, id: string): Promise<void> {
    await this.t.doc.send(
      new UpdateCommand({
        TableName: this.t.tableName,
        Key: ledgerKey(tenant, id),
        UpdateExpression: 'SET #state = :accepted REMOVE leaseUntil',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':accepted': 'accepted' },
      }),
    );
  }

  async release(tenant: string, id: string): Promise<void> {
    await this.t.doc
      .send(
        new DeleteCommand({
          TableName: this.t.tableName,
          Key: ledgerKey(tenant, id),
          ConditionExpression: '#state = :inFlight',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':inFlight': 'in_flight' },
        }),
      )
      .catch((err: Error) => {
        if (err.name !== 'ConditionalCheckFailedException') throw err;
      });
  }
}
