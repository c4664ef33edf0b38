import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { EventLedger } from '../../core/ports.ts';
import { isConditionFailure, type TableClient } from './client.ts';
import { ledgerKey } from './table.ts';

/** How long a claim holds before another request may take it over (a crashed publisher). */
export const CLAIM_LEASE_MS = 30_000;

/** The duplicate check of producer-chosen event ids: one claim item per (tenant, id). */
export class DynamoEventLedger implements EventLedger {
  constructor(private readonly t: TableClient) {}

  /**
   * One conditional PutItem per new claim, each id in its own partition (no hot key). Expired
   * items count as absent (TTL deletes them within a day or two, and dynalite never does). A
   * claimed id is read back: accepted (a duplicate), held (wait), or free to take over.
   */
  async claim(
    tenant: string,
    id: string,
    now: Date,
    receivedAt?: string,
  ): Promise<'claimed' | 'accepted' | 'in_flight' | { claimed: string }> {
    const nowMs = now.getTime();
    const lease = {
      state: 'in_flight',
      leaseUntil: nowMs + CLAIM_LEASE_MS,
      // As long as the event and its deliveries are kept: a reused id is a duplicate for as
      // long as the relay could mistake it for the stored event (at least the 24 h promised).
      ttl: this.t.ttl(nowMs),
    };
    try {
      // A new id (or one whose life ended): a fresh claim, recording where its event will be.
      await this.t.doc.send(
        new PutCommand({
          TableName: this.t.tableName,
          Item: { ...ledgerKey(tenant, id), ...lease, ...(receivedAt ? { receivedAt } : {}) },
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl < :nowSec',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':nowSec': Math.floor(nowMs / 1000) },
        }),
      );
      return 'claimed';
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    const seen = (
      await this.t.doc.send(
        new GetCommand({ TableName: this.t.tableName, Key: ledgerKey(tenant, id), ConsistentRead: true }),
      )
    ).Item;
    // Gone between the calls: let the caller try again.
    if (!seen) return 'in_flight';
    if (seen.state === 'accepted') return 'accepted';
    if (seen.state === 'in_flight' && Number(seen.leaseUntil) >= nowMs) return 'in_flight';
    try {
      // Taken over from a request that released it or whose lease ran out: the receipt time it
      // recorded stays, since its event may be on the bus already (the same key, the same
      // delivery ids, so one event, delivered once).
      const res = await this.t.doc.send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: ledgerKey(tenant, id),
          UpdateExpression:
            'SET #state = :inFlight, leaseUntil = :lease, #ttl = :ttl' +
            (receivedAt ? ', receivedAt = if_not_exists(receivedAt, :at)' : ''),
          ConditionExpression: '#state = :released OR (#state = :inFlight AND leaseUntil < :nowMs)',
          ExpressionAttributeNames: { '#ttl': 'ttl', '#state': 'state' },
          ExpressionAttributeValues: {
            ':inFlight': 'in_flight',
            ':released': 'released',
            ':lease': lease.leaseUntil,
            ':ttl': lease.ttl,
            ':nowMs': nowMs,
            ...(receivedAt ? { ':at': receivedAt } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const kept = res.Attributes?.receivedAt;
      return typeof kept === 'string' && receivedAt && kept !== receivedAt ? { claimed: kept } : 'claimed';
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return 'in_flight'; // another request took it over first: wait for its outcome
    }
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

  /**
   * Gives a claim up: the next claim takes it over. Kept, not deleted, so the receipt time it
   * recorded stays: publishing may have failed only in the answer (a timeout after EventBridge
   * took the entry), and then the event is stored under that time.
   */
  async release(tenant: string, id: string): Promise<void> {
    await this.t.doc
      .send(
        new UpdateCommand({
          TableName: this.t.tableName,
          Key: ledgerKey(tenant, id),
          UpdateExpression: 'SET #state = :released REMOVE leaseUntil',
          ConditionExpression: '#state = :inFlight',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':inFlight': 'in_flight', ':released': 'released' },
        }),
      )
      .catch((err: Error) => {
        if (err.name !== 'ConditionalCheckFailedException') throw err;
      });
  }
}
