import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RelayEvent } from '../../core/event.ts';
import type { EventStore, StoredEvent } from '../../core/ports.ts';
import { type Item, isConditionFailure, strip, type TableClient } from './client.ts';
import { EVENT_SK, eventKey } from './table.ts';

/**
 * Payloads shorter than this stay JSON text: deflate saves little on them and costs CPU. Above
 * it a payload is kept deflated when that is shorter (typical JSON shrinks to 50-60 %), so the
 * event item of a 1 KB payload fits one write unit.
 */
const COMPRESS_FROM_BYTES = 256;

/**
 * How many delivery ids an event item lists (57 bytes each: 1,000 are 57 KB of the item's
 * 400 KB). Deliveries past it, made for an event matching more subscriptions than that, are
 * in their subscriptions' logs but not listed under the event (`dlvsTruncated` says so).
 */
export const MAX_LISTED_DELIVERIES = 1_000;

/** The payload as stored: JSON text, or raw-deflated JSON when that is shorter. */
export function encodePayload(data: unknown): string | Uint8Array {
  // Kept as the producer's JSON: DynamoDB maps cannot hold every JSON document (nesting is
  // capped at 32 levels), and the receiver must get exactly what the producer sent.
  const json = JSON.stringify(data);
  if (json.length < COMPRESS_FROM_BYTES) return json;
  const packed = deflateRawSync(json);
  return packed.length < Buffer.byteLength(json) ? new Uint8Array(packed) : json;
}

export function decodePayload(stored: unknown): Record<string, unknown> {
  const json = typeof stored === 'string' ? stored : inflateRawSync(stored as Uint8Array).toString('utf8');
  return JSON.parse(json) as Record<string, unknown>;
}

/**
 * An event item: the event, its payload (`payload`), and the ids of the deliveries fanout made
 * for it (`dlvs`, a string set) — which is how `GET /v1/events/{id}` finds them without an
 * index. Items of earlier versions hold the payload as `data` (JSON text) and no `dlvs`; their
 * deliveries are found through gsi2 (deliveries.ts).
 */
export function eventItem(e: RelayEvent, deliveryIds: readonly string[], ttl: number): Item {
  const { data, ...rest } = e;
  return {
    ...eventKey(e.tenant, e.id),
    ...rest,
    payload: encodePayload(data),
    ...(deliveryIds.length ? { dlvs: new Set(deliveryIds.slice(0, MAX_LISTED_DELIVERIES)) } : {}),
    ...(deliveryIds.length > MAX_LISTED_DELIVERIES ? { dlvsTruncated: true } : {}),
    ttl,
  };
}

export function eventOf(item: Item): RelayEvent {
  const { payload, data, dlvs: _dlvs, dlvsTruncated: _t, ...rest } = strip<Item>(item);
  return { ...(rest as Omit<RelayEvent, 'data'>), data: decodePayload(payload ?? data) };
}

const isItemTooLarge = (err: unknown) =>
  (err as Error | undefined)?.name === 'ValidationException' && /item size/i.test((err as Error).message);

/** Events, one item each in their own partition (no hot key), stored by fanout. */
export class DynamoEventStore implements EventStore {
  constructor(private readonly t: TableClient) {}

  /**
   * A first fanout puts whole items (shared BatchWriteItem requests). A replay adds its
   * deliveries to the item's set and extends its life to the replay's retention, so a manual
   * retry of a replayed delivery still finds the payload; an item already expired is put anew.
   * A second fanout of one event (a retried record) puts the item again with the deliveries it
   * made: the same set unless a subscription changed in between.
   */
  async putEvents(events: readonly StoredEvent[], opts: { replay?: boolean } = {}): Promise<void> {
    if (!opts.replay) {
      await this.t.put(events.map((s) => eventItem(s.event, s.deliveryIds, this.t.ttl(s.event.receivedAt))));
      return;
    }
    const now = Date.now();
    await Promise.all(
      events.map(async (s) => {
        const ttl = Math.max(this.t.ttl(s.event.receivedAt), this.t.ttl(now));
        const ids = s.deliveryIds.slice(0, MAX_LISTED_DELIVERIES);
        try {
          await this.t.doc.send(
            new UpdateCommand({
              TableName: this.t.tableName,
              Key: eventKey(s.event.tenant, s.event.id),
              UpdateExpression: ids.length ? 'SET #ttl = :ttl ADD dlvs :ids' : 'SET #ttl = :ttl',
              ConditionExpression: 'attribute_exists(pk) AND #ttl > :nowSec',
              ExpressionAttributeNames: { '#ttl': 'ttl' },
              ExpressionAttributeValues: {
                ':ttl': ttl,
                ':nowSec': Math.floor(now / 1000),
                ...(ids.length ? { ':ids': new Set(ids) } : {}),
              },
            }),
          );
        } catch (err) {
          // Replayed so often that its list would pass DynamoDB's 400 KB item limit: the event
          // stays, says its list is incomplete, and the replay goes on.
          if (isItemTooLarge(err)) return this.markTruncated(s.event, ttl);
          if (!isConditionFailure(err)) throw err;
          await this.t.doc.send(
            new PutCommand({ TableName: this.t.tableName, Item: eventItem(s.event, s.deliveryIds, ttl) }),
          );
        }
      }),
    );
  }

  private async markTruncated(e: RelayEvent, ttl: number): Promise<void> {
    await this.t.doc.send(
      new UpdateCommand({
        TableName: this.t.tableName,
        Key: eventKey(e.tenant, e.id),
        UpdateExpression: 'SET #ttl = :ttl, dlvsTruncated = :yes',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':ttl': ttl, ':yes': true },
      }),
    );
  }

  async getEvent(tenant: string, id: string): Promise<RelayEvent | undefined> {
    const res = await this.t.doc.send(
      new GetCommand({ TableName: this.t.tableName, Key: eventKey(tenant, id) }),
    );
    return res.Item ? eventOf(res.Item) : undefined;
  }

  /**
   * Every stored event accepted within [from, to], a page at a time. A table scan: local mode
   * replays from it; on AWS the bus archive replays and this is never called.
   */
  async *scanEvents(from: string, to: string): AsyncGenerator<RelayEvent[]> {
    let start: Item | undefined;
    do {
      const res = await this.t.doc.send(
        new ScanCommand({
          TableName: this.t.tableName,
          FilterExpression: 'sk = :evt AND receivedAt BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':evt': EVENT_SK, ':from': from, ':to': to },
          ExclusiveStartKey: start,
        }),
      );
      const events = (res.Items ?? []).map((i) => eventOf(i));
      if (events.length) yield events;
      start = res.LastEvaluatedKey;
    } while (start);
  }
}
