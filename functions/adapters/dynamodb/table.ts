import { createHash } from 'node:crypto';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { parseDeliveryId } from '../../core/ids.ts';

/**
 * The relay's one DynamoDB table: every item kind, its keys and who reads it. Local mode creates
 * the table from {@link createTableInput} in dynalite; the CDK stack declares the same keys and
 * indexes. Every key the adapters use is built by a function in this file.
 *
 * | item            | pk                        | sk                          | index                          | written by                    | read by                                   |
 * |-----------------|---------------------------|-----------------------------|--------------------------------|-------------------------------|-------------------------------------------|
 * | subscription    | SUB#{tenant}              | {subscriptionId}            |                                | management API, health        | fanout (Query), delivery (BatchGet), API  |
 * | api key         | APIKEY#{keyId}            | APIKEY                      | gsi1 APIKEYS / {created}#{id}  | management API (admin)        | authenticator (Get), key list (gsi1)      |
 * | portal session  | PORTAL#{sessionId}        | PORTAL                      |                                | management API (portal-sessions) | portal authenticator (Get, cached 10 s) |
 * | event type      | ETYPE#{tenant}            | {name}                      |                                | management API (catalog)      | API, ingest (Query of schemas, cached), test event |
 * | idempotency     | IDEM#{tenant}#{eventId}   | IDEM                        |                                | ingest (producer-chosen ids, with receivedAt) | ingest, GET event (where its item is) |
 * | event           | EVTS#{tenant}#{shard}     | {receivedAt}#{eventId}      |                                | fanout (payload, delivery ids)| GET event, event list (Query), manual retry, ordered, replay |
 * | delivery        | DLV#{subscriptionId}      | {receivedAt code}{hash}     | gsi3 only when dead            | delivery (once per attempt round outcome) | delivery (BatchGet), lists, GET delivery |
 * | slots           | LIMIT#{tenant}#{subId}    | SLOTS                       |                                | delivery (limits.ts)          | delivery                                  |
 * | rate            | LIMIT#{tenant}#{subId}    | RATE                        |                                | delivery (limits.ts)          | delivery                                  |
 * | pending (fifo)  | ORDER#{tenant}#{subId}    | {receivedAt}#{pos}#{dlvId}  |                                | fanout, ordered (ordering.ts) | ordered (Query, `sk < AWAKE`)             |
 * | awake (fifo)    | ORDER#{tenant}#{subId}    | AWAKE                       |                                | fanout, ordered               | fanout, ordered                           |
 * | legacy delivery | DLV#{deliveryId}          | DLV                         | gsi1 SUBDLV#, gsi2 EVTDLV#, gsi3 | versions before 0.2 (and their own later attempts) | the same paths, until TTL removes them |
 *
 * Access patterns and the key that serves each:
 * - an event with its deliveries: GetItem of the event, then BatchGetItem of the delivery ids it
 *   lists (`dlvs`, written by fanout with the event: no index needed);
 * - deliveries of a subscription, newest first, within a time window: Query of `DLV#{subId}`
 *   backwards; the sort key starts with the event's receipt time (ids.ts `timeCode`);
 * - an event by id: its partition is its id's shard; its sort key starts with its receipt time,
 *   which a generated id (`evt_` + ULID) carries and the idempotency item of a producer-chosen
 *   id records (events.ts `receivedAtOf`);
 * - a tenant's events, newest first, by type and time window: one Query per shard
 *   (`EVTS#{tenant}#{0..3}`), merged: the event items are the list, no index entry;
 * - one delivery by id: the id carries its partition and sort key (ids.ts `parseDeliveryId`);
 * - the DLQ list and count: gsi3 (`DEAD#{tenant}` / `{updatedAt}#{id}`), sparse: only dead
 *   deliveries carry its keys, so the success path writes no index entry;
 * - the delivery step: one BatchGetItem of the deliveries and subscriptions; the event's payload
 *   travels in the task (the event item is read only for a task without it).
 * So a webhook's success path writes 2 items of at most 1 KB each (1 subscriber, 1 KB payload,
 * compressed: events.ts): the event and the delivery record.
 *
 * Items of earlier versions (the legacy delivery row, events with a `data` string and no `dlvs`)
 * are read where they are and left to expire by TTL (deliveries.ts says how); gsi1 stays
 * declared for them and for API keys, gsi2 for them; an index costs nothing for items without
 * its attributes. Events stored by 0.2 (`EVT#{tenant}#{id}` / `EVT`) are read there by id and
 * are not in the event list.
 *
 * Events and deliveries carry `ttl` (epoch seconds) for DynamoDB TTL; idempotency claims too.
 */
export interface IndexDef {
  name: string;
  partitionKey: string;
  sortKey: string;
  /** Non-key attributes the index copies (an INCLUDE projection); absent: the whole item (ALL). */
  include?: readonly string[];
}

export const TABLE_KEYS: {
  partitionKey: 'pk';
  sortKey: 'sk';
  ttlAttribute: 'ttl';
  indexes: readonly IndexDef[];
} = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
  indexes: [
    { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
    { name: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
  ],
};

/** What an index holds of an item: nothing without its keys, else its projection of it. */
export function indexEntry<T extends Record<string, unknown>>(
  item: T,
  index: IndexDef,
): Partial<T> | undefined {
  if (!(index.partitionKey in item)) return undefined;
  if (!index.include) return item;
  const keep = new Set(['pk', 'sk', index.partitionKey, index.sortKey, ...index.include]);
  return Object.fromEntries(Object.entries(item).filter(([k]) => keep.has(k))) as Partial<T>;
}

/** Every key attribute: what `strip` removes from an item and a cursor may hold. */
export const KEY_ATTRS = [
  'pk',
  'sk',
  ...TABLE_KEYS.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  'ttl',
];

export interface Key {
  pk: string;
  sk: string;
}

export const subscriptionKey = (tenant: string, id: string): Key => ({ pk: `SUB#${tenant}`, sk: id });
export const subscriptionPartition = (tenant: string) => `SUB#${tenant}`;
export const apiKeyKey = (id: string): Key => ({ pk: `APIKEY#${id}`, sk: 'APIKEY' });
/** A tenant's catalog is one partition, sorted by name: a list (and ingest's read) is one Query. */
export const eventTypeKey = (tenant: string, name: string): Key => ({ pk: `ETYPE#${tenant}`, sk: name });
export const eventTypePartition = (tenant: string) => `ETYPE#${tenant}`;
export const API_KEYS_INDEX_PK = 'APIKEYS';
export const portalSessionKey = (id: string): Key => ({ pk: `PORTAL#${id}`, sk: 'PORTAL' });
export const ledgerKey = (tenant: string, id: string): Key => ({ pk: `IDEM#${tenant}#${id}`, sk: 'IDEM' });
/**
 * An event's item: in one of its tenant's event partitions (by its id), sorted by receipt time,
 * so the partitions are the event list and no index entry is written for it.
 */
export const eventKey = (tenant: string, id: string, receivedAt: string): Key => ({
  pk: eventListPk(tenant, eventListShard(id)),
  sk: eventListSk(receivedAt, id),
});
/** Where 0.2 kept an event: its own partition (read there until its TTL removes it). */
export const legacyEventKey = (tenant: string, id: string): Key => ({ pk: `EVT#${tenant}#${id}`, sk: 'EVT' });
export const LEGACY_EVENT_SK = 'EVT';
export const EVENT_PK_PREFIX = 'EVTS#';

/**
 * The event list: an event goes to one of a tenant's partitions by its id, so one tenant's events
 * spread over this many partitions (DynamoDB takes ~1,000 writes/s per partition); a page merges
 * them newest first (events.ts).
 */
export const EVENT_LIST_SHARDS = 4;
export const eventListPk = (tenant: string, shard: number) => `${EVENT_PK_PREFIX}${tenant}#${shard}`;
export const eventListShard = (id: string) =>
  createHash('sha256').update(id).digest().readUInt8(0) % EVENT_LIST_SHARDS;
/** Sorts by receipt time; the id after the `#` (receipt times hold none). */
export const eventListSk = (receivedAt: string, id: string) => `${receivedAt}#${id}`;

/** A delivery's partition: its subscription's. */
export const deliveryPartition = (subscriptionId: string) => `DLV#${subscriptionId}`;
/** Where earlier versions kept a delivery: its own partition. */
export const legacyDeliveryKey = (id: string): Key => ({ pk: `DLV#${id}`, sk: 'DLV' });
export const LEGACY_DELIVERY_SK = 'DLV';

/**
 * Where a delivery's record is: in its subscription's partition for ids of this version, in its
 * own for ids of earlier versions (whose records stay where they were written).
 */
export function deliveryKey(id: string, subscriptionId?: string): Key {
  const parts = parseDeliveryId(id);
  if (parts && (subscriptionId === undefined || parts.subscriptionId === subscriptionId)) {
    return { pk: deliveryPartition(parts.subscriptionId), sk: parts.sortKey };
  }
  return legacyDeliveryKey(id);
}

export const legacySubscriptionIndexPk = (subscriptionId: string) => `SUBDLV#${subscriptionId}`;
export const legacyEventIndexPk = (tenant: string, eventId: string) => `EVTDLV#${tenant}#${eventId}`;
export const deadIndexPk = (tenant: string) => `DEAD#${tenant}`;

export const limitKey = (tenant: string, subscriptionId: string, kind: 'SLOTS' | 'RATE'): Key => ({
  pk: `LIMIT#${tenant}#${subscriptionId}`,
  sk: kind,
});

export const orderPartition = (tenant: string, subscriptionId: string) => `ORDER#${tenant}#${subscriptionId}`;
/** The awake flag sorts after every pending entry (`{receivedAt}` starts with a digit). */
export const AWAKE_SK = 'AWAKE';

export function createTableInput(tableName: string): CreateTableCommandInput {
  const attrs = [
    TABLE_KEYS.partitionKey,
    TABLE_KEYS.sortKey,
    ...TABLE_KEYS.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
  ];
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: attrs.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: TABLE_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE_KEYS.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: TABLE_KEYS.indexes.map((i) => ({
      IndexName: i.name,
      KeySchema: [
        { AttributeName: i.partitionKey, KeyType: 'HASH' },
        { AttributeName: i.sortKey, KeyType: 'RANGE' },
      ],
      Projection: i.include
        ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...i.include] }
        : { ProjectionType: 'ALL' },
    })),
  };
}
