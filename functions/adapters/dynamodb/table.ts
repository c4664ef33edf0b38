import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The relay's one DynamoDB table. Local mode creates it from this definition in dynalite; the
 * CDK stack declares the same keys and indexes.
 *
 * | item         | pk                      | sk      | gsi1 (by subscription)          | gsi2 (by event)                  | gsi3 (DLQ, sparse)      |
 * |--------------|-------------------------|---------|---------------------------------|----------------------------------|-------------------------|
 * | subscription | SUB#{tenant}            | {id}    |                                 |                                  |                         |
 * | event        | EVT#{tenant}#{id}       | EVT     |                                 |                                  |                         |
 * | delivery     | DLV#{id}                | DLV     | SUBDLV#{subId} / {created}#{id} | EVTDLV#{tenant}#{eventId} / {subId} | DEAD#{tenant} / {updated}#{id} |
 * | slots        | LIMIT#{tenant}#{subId}  | SLOTS   |                                 |                                  |                         |
 * | rate         | LIMIT#{tenant}#{subId}  | RATE    |                                 |                                  |                         |
 * | pending (fifo)| ORDER#{tenant}#{subId} | {receivedAt}#{position}#{deliveryId} |          |                                  |                         |
 * | awake (fifo) | ORDER#{tenant}#{subId}  | AWAKE   |                                 |                                  |                         |
 *
 * The two LIMIT items are an endpoint's fleet-wide limits (limits.ts): in-flight leases and the
 * rate limit's next free send time. ORDER items are an ordered subscription's deliveries waiting
 * their turn, in ingest order (ordering.ts).
 *
 * Events and deliveries carry `ttl` (epoch seconds) for DynamoDB TTL.
 */
export const TABLE_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'ttl',
  indexes: [
    { name: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
    { name: 'gsi2', partitionKey: 'gsi2pk', sortKey: 'gsi2sk' },
    { name: 'gsi3', partitionKey: 'gsi3pk', sortKey: 'gsi3sk' },
  ],
} as const;

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
      Projection: { ProjectionType: 'ALL' },
    })),
  };
}
