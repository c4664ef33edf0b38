import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoOrderedStore } from '../../functions/adapters/dynamodb/ordering.ts';
import { pendingOf } from '../../functions/core/delivery/ordering.ts';
import type { RelayEvent } from '../../functions/core/event.ts';
import { ensureTable, localDynamoClient, startDynalite } from '../../functions/local/dynalite.ts';

const event = (id: string, receivedAt: string, position?: number): RelayEvent => ({
  id,
  tenant: 'acme',
  type: 'route.updated',
  timestamp: receivedAt,
  data: {},
  receivedAt,
  ...(position !== undefined ? { position } : {}),
});

const pending = (e: RelayEvent, subscriptionId = 'sub_1') =>
  pendingOf(e, { deliveryId: `dlv_${e.id}`, tenant: e.tenant, eventId: e.id, subscriptionId });

const NOW = new Date('2026-11-23T10:00:00.000Z');

describe('ordered pending lists on DynamoDB (dynalite)', () => {
  let store: DynamoOrderedStore;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const db = await startDynalite();
    const client = localDynamoClient(db.endpoint);
    await ensureTable(client, 'relay');
    store = new DynamoOrderedStore(
      DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
      'relay',
    );
    close = async () => {
      client.destroy();
      await db.close();
    };
  });
  afterAll(() => close());

  it('returns a subscription’s pending deliveries oldest first by ingest time and batch position', async () => {
    const items = [
      pending(event('c', '2026-11-23T10:00:01.000Z')),
      pending(event('b2', '2026-11-23T10:00:00.000Z', 11)),
      pending(event('a', '2026-11-23T09:59:59.999Z')),
      pending(event('b1', '2026-11-23T10:00:00.000Z', 2)),
      pending(event('other', '2026-11-23T09:00:00.000Z'), 'sub_2'),
    ];
    await store.addPending(items, NOW);
    const head = await store.headPending('acme', 'sub_1', 10);
    expect(head.map((p) => p.task.eventId)).toEqual(['a', 'b1', 'b2', 'c']);
    expect((await store.headPending('acme', 'sub_1', 1)).map((p) => p.task.eventId)).toEqual(['a']);
  });

  it('adds idempotently (same key) and removes only the one entry', async () => {
    const e = event('x', '2026-11-23T11:00:00.000Z');
    await store.addPending([pending(e, 'sub_3'), pending(e, 'sub_3')], NOW);
    await store.addPending([pending(e, 'sub_3')], NOW);
    expect(await store.headPending('acme', 'sub_3', 10)).toHaveLength(1);
    await store.removePending(pending(e, 'sub_3'));
    expect(await store.headPending('acme', 'sub_3', 10)).toEqual([]);
  });

  it('writes lists longer than one batch request (25)', async () => {
    const many = Array.from({ length: 60 }, (_, i) =>
      pending(event(`m${String(i).padStart(2, '0')}`, '2026-11-23T12:00:00.000Z', i), 'sub_4'),
    );
    await store.addPending(many, NOW);
    const head = await store.headPending('acme', 'sub_4', 100);
    expect(head.map((p) => p.task.eventId)).toEqual(many.map((p) => p.task.eventId));
  });

  it('lets one caller set a subscription’s awake flag until it is released or its lease passes', async () => {
    const until = new Date(NOW.getTime() + 60_000);
    const claim = (by: string, at = NOW) => store.claimWake('acme', 'sub_w', { by, now: at, until });
    const first = await claim('fanout-1');
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(await claim('fanout-2')).toBeUndefined();
    // The same claimer again (a retried fanout): the wake-up it promised, same deduplication id.
    expect(await claim('fanout-1')).toBe(first);
    // Past its lease, anyone may claim it, with a fresh id.
    const later = await claim('fanout-3', new Date(until.getTime() + 1));
    expect(later).toBeDefined();
    expect(later).not.toBe(first);
    await store.extendWake('acme', 'sub_w', new Date(NOW.getTime() + 3_600_000));
    expect(await claim('fanout-4', new Date(until.getTime() + 1))).toBeUndefined();
    await store.releaseWake('acme', 'sub_w');
    // Released: even the first claimer again gets a fresh id (its old one may be deduplicated).
    const again = await claim('fanout-1');
    expect(again).toBeDefined();
    expect(again).not.toBe(first);
    // The flag is not a pending delivery.
    expect(await store.headPending('acme', 'sub_w', 10)).toEqual([]);
  });

  it('removes an entry only in the version read: one listed again meanwhile stays', async () => {
    const e = event('v', '2026-11-23T13:00:00.000Z');
    await store.addPending([pending(e, 'sub_v')], NOW);
    const [read] = await store.headPending('acme', 'sub_v', 1);
    expect(read?.addedAt).toBe(NOW.getTime());
    await store.addPending([pending(e, 'sub_v')], NOW);
    await store.removePending(read as NonNullable<typeof read>);
    const [still] = await store.headPending('acme', 'sub_v', 1);
    expect(still?.task.eventId).toBe('v');
    await store.removePending(still as NonNullable<typeof still>);
    expect(await store.headPending('acme', 'sub_v', 1)).toEqual([]);
  });
});
