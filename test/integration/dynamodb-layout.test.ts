import { type DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
// @ts-expect-error dynalite ships no types for its internals; itemSize is DynamoDB's size rule.
import { itemSize } from 'dynalite/db/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryItem } from '../../functions/adapters/dynamodb/deliveries.ts';
import {
  eventItem,
  MAX_LISTED_DELIVERIES,
  MAX_PAGE_PAYLOAD_BYTES,
} from '../../functions/adapters/dynamodb/events.ts';
import type { DynamoStore } from '../../functions/adapters/dynamodb/store.ts';
import { indexEntry, legacyEventKey, TABLE_KEYS } from '../../functions/adapters/dynamodb/table.ts';
import { SUCCESS_EXCERPT_BYTES } from '../../functions/core/delivery/attempt.ts';
import type { Delivery, DeliveryTask } from '../../functions/core/delivery/model.ts';
import type { RelayEvent } from '../../functions/core/event.ts';
import { deliveryId, newEventId, parseDeliveryId, receivedAtOfEventId } from '../../functions/core/ids.ts';
import { type StoredEvent, scopedKey } from '../../functions/core/ports.ts';
import { startDynamoStore } from '../support/dynamo-store.ts';
import { legacyDeliveryId, legacyDeliveryItem, legacyEventItem } from '../support/legacy-items.ts';
import { samplePayload } from '../support/sample-payload.ts';

/** Write units of putting an item: 1 per KB of the item, plus as much per index it lands in. */
function writeUnits(item: Record<string, unknown>): number {
  const units = (i: Record<string, unknown>) =>
    Math.ceil(itemSize(marshall(i, { removeUndefinedValues: true })) / 1024);
  return TABLE_KEYS.indexes.reduce((sum, index) => {
    const entry = indexEntry(item, index);
    return sum + (entry ? units(entry) : 0);
  }, units(item));
}

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function anEvent(over: Partial<RelayEvent> = {}): RelayEvent {
  return {
    id: 'evt_01JEXAMPLE000000000000000',
    tenant: 'acme',
    type: 'shipment.delivered',
    timestamp: iso(T0),
    receivedAt: iso(T0),
    data: samplePayload(1024),
    ...over,
  };
}

function aDelivery(event: RelayEvent, subscriptionId: string, over: Partial<Delivery> = {}): Delivery {
  const at = iso(Date.parse(event.receivedAt) + 40);
  return {
    id: deliveryId(event.tenant, event.id, subscriptionId, event.receivedAt),
    tenant: event.tenant,
    eventId: event.id,
    eventType: event.type,
    subscriptionId,
    url: 'https://hooks.customer.example/webhooks/relay',
    status: 'succeeded',
    attempts: [
      {
        attempt: 1,
        at,
        status: 200,
        durationMs: 84,
        responseBody: '{"received":true}',
        trigger: 'scheduled',
      },
    ],
    roundAttempts: 1,
    createdAt: at,
    updatedAt: at,
    ...over,
  };
}

describe('the delivery log at two write units per webhook', () => {
  it('writes a 1 KB event (compressed) and its first-attempt success in one write unit each, with no index entry', () => {
    const event = anEvent();
    expect(JSON.stringify(event.data).length).toBeGreaterThanOrEqual(1024);
    const sub = 'sub_01JEXAMPLESUBSCRIPTION0001';
    const delivery = aDelivery(event, sub);
    const ev = eventItem(event, [delivery.id], 1);
    const dl = deliveryItem(delivery, 1);
    // The event item (1), which is its own entry in the event list, and the delivery record (1).
    expect(writeUnits(ev)).toBe(1);
    expect(TABLE_KEYS.indexes.filter((i) => indexEntry(ev, i))).toEqual([]);
    expect(writeUnits(dl)).toBe(1);
    // The old layout: the payload as text (2 units) and three index entries on the delivery.
    expect(writeUnits(legacyEventItem(event)) + writeUnits(legacyDeliveryItem(delivery))).toBe(5);
  });

  it('keeps a success record within one write unit with the longest excerpt a success keeps and a long URL', () => {
    const event = anEvent();
    const base = aDelivery(event, 'sub_01JEXAMPLESUBSCRIPTION0001');
    const delivery = {
      ...base,
      url: `https://hooks.customer.example/${'p'.repeat(170)}`,
      attempts: base.attempts.map((a) => ({ ...a, responseBody: 'r'.repeat(SUCCESS_EXCERPT_BYTES) })),
    };
    expect(writeUnits(deliveryItem(delivery, 1))).toBe(1);
  });

  it('keeps the event item of three subscribers within one write unit', () => {
    const event = anEvent();
    const ids = ['A', 'B', 'C'].map((s) =>
      deliveryId('acme', event.id, `sub_01JEXAMPLESUBSCRIPTION000${s}`, event.receivedAt),
    );
    expect(writeUnits(eventItem(event, ids, 1))).toBe(1);
  });

  it('puts a dead delivery, and only a dead one, in the DLQ index', () => {
    const event = anEvent();
    const dead = aDelivery(event, 'sub_x', { status: 'dead', deadMessageId: 'm1' });
    expect(deliveryItem(dead, 1)).toHaveProperty('gsi3pk', 'DEAD#acme');
    expect(deliveryItem(aDelivery(event, 'sub_x'), 1)).not.toHaveProperty('gsi3pk');
    expect(deliveryItem(aDelivery(event, 'sub_x'), 1)).not.toHaveProperty('gsi1pk');
  });

  it('makes delivery ids that name their subscription and sort by their event time', () => {
    const a = deliveryId('acme', 'e1', 'sub_1', iso(T0));
    const b = deliveryId('acme', 'e2', 'sub_1', iso(T0 + 1));
    expect(parseDeliveryId(a)).toMatchObject({ subscriptionId: 'sub_1', receivedAtMs: T0 });
    expect(parseDeliveryId(a)?.sortKey.localeCompare(parseDeliveryId(b)?.sortKey ?? '')).toBe(-1);
    expect(deliveryId('acme', 'e1', 'sub_1', iso(T0))).toBe(a);
    expect(deliveryId('acme', 'e1', 'sub_1', iso(T0), 'replay-1')).not.toBe(a);
    expect(parseDeliveryId(legacyDeliveryId('acme', 'e1', 'sub_1'))).toBeUndefined();
  });
});

describe('DynamoStore access patterns against dynalite', () => {
  let store: DynamoStore;
  let doc: DynamoDBDocumentClient;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ store, doc, close } = await startDynamoStore());
  });
  afterAll(() => close());

  const putRaw = (Item: Record<string, unknown>) => doc.send(new PutCommand({ TableName: 'relay', Item }));
  /**
   * As ingest and fanout store events: an id the relay did not generate is claimed with its
   * receipt time first (the idempotency item is where the store finds the event by id).
   */
  const putFindable = async (events: StoredEvent[], opts?: { replay?: boolean }) => {
    for (const { event } of events) {
      if (!receivedAtOfEventId(event.id))
        await store.claim(event.tenant, event.id, new Date(), event.receivedAt);
    }
    await store.putEvents(events, opts);
  };

  it('finds an event with its deliveries and attempts, its replay deliveries added, and nothing of another tenant', async () => {
    const event = anEvent({ id: 'evt_view' });
    const d1 = aDelivery(event, 'sub_v1');
    const d2 = aDelivery(event, 'sub_v2', { status: 'pending', nextAttemptAt: iso(T0 + 60_000) });
    await putFindable([{ event, deliveryIds: [d1.id, d2.id] }]);
    await store.putDeliveries([d1, d2]);
    const replayed = {
      ...aDelivery(event, 'sub_v1'),
      id: deliveryId('acme', event.id, 'sub_v1', event.receivedAt, 'rpl_1'),
      replay: 'rpl_1',
    };
    await putFindable([{ event, deliveryIds: [replayed.id] }], { replay: true });
    await store.putDeliveries([replayed]);
    // Another tenant's event with the same id sees only its own.
    const other = anEvent({ id: 'evt_view', tenant: 'globex', data: { mine: true } });
    await putFindable([{ event: other, deliveryIds: [] }]);

    expect((await store.getEvent('acme', 'evt_view'))?.data).toEqual(event.data);
    const listed = await store.listDeliveriesByEvent('acme', 'evt_view');
    expect(listed.map((d) => d.id).sort()).toEqual([d1.id, d2.id, replayed.id].sort());
    expect(listed.find((d) => d.id === d1.id)?.attempts[0]?.responseBody).toBe('{"received":true}');
    expect(await store.listDeliveriesByEvent('globex', 'evt_view')).toEqual([]);
    expect((await store.getEvent('globex', 'evt_view'))?.data).toEqual({ mine: true });
  });

  it('lists at most 1,000 deliveries on an event that matched more subscriptions, and says so', async () => {
    const event = anEvent({ id: 'evt_wide' });
    const ids = Array.from({ length: MAX_LISTED_DELIVERIES + 200 }, (_, i) =>
      deliveryId('acme', event.id, `sub_w${i}`, event.receivedAt),
    );
    await putFindable([{ event, deliveryIds: ids }]);
    const raw = await doc.send(
      new ScanCommand({
        TableName: 'relay',
        FilterExpression: 'id = :id',
        ExpressionAttributeValues: { ':id': 'evt_wide' },
      }),
    );
    expect((raw.Items?.[0]?.dlvs as Set<string> | undefined)?.size).toBe(MAX_LISTED_DELIVERIES);
    expect(raw.Items?.[0]?.dlvsTruncated).toBe(true);
    expect((await store.getEvent('acme', 'evt_wide'))?.data).toEqual(event.data);
  });

  it('a replay of an event whose item has expired stores it anew', async () => {
    const event = anEvent({ id: 'evt_gone' });
    const id = deliveryId('acme', event.id, 'sub_v1', event.receivedAt, 'rpl_2');
    await putFindable([{ event, deliveryIds: [id] }], { replay: true });
    expect((await store.getEvent('acme', 'evt_gone'))?.data).toEqual(event.data);
    await store.putDeliveries([{ ...aDelivery(event, 'sub_v1'), id }]);
    expect((await store.listDeliveriesByEvent('acme', 'evt_gone')).map((d) => d.id)).toEqual([id]);
  });

  it("lists a subscription's deliveries newest first, a page at a time, and within a time window", async () => {
    const sub = 'sub_list';
    const made: Delivery[] = [];
    for (let i = 0; i < 7; i++) {
      const event = anEvent({ id: `evt_l${i}`, receivedAt: iso(T0 + i * 1000), data: { i } });
      made.push(aDelivery(event, sub));
    }
    await store.putDeliveries(made);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listDeliveriesBySubscription(sub, { limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((d) => d.eventId));
      cursor = page.next;
    } while (cursor);
    expect(seen).toEqual(['evt_l6', 'evt_l5', 'evt_l4', 'evt_l3', 'evt_l2', 'evt_l1', 'evt_l0']);
    const window = await store.listDeliveriesBySubscription(sub, {
      limit: 10,
      from: iso(T0 + 2000),
      to: iso(T0 + 4000),
    });
    expect(window.items.map((d) => d.eventId)).toEqual(['evt_l4', 'evt_l3', 'evt_l2']);
  });

  it("lists a tenant's events newest first across the list's shards, page by page, none skipped or repeated", async () => {
    const tenant = 'listco';
    const made: RelayEvent[] = [];
    // Several events share a receipt time (one batch), the rest one second apart.
    for (let i = 0; i < 23; i++) {
      made.push(
        anEvent({
          id: `evt_list_${String(i).padStart(2, '0')}`,
          tenant,
          type: i % 3 === 0 ? 'order.created' : 'shipment.delivered',
          receivedAt: iso(T0 + Math.floor(i / 2) * 1000),
          data: { i },
        }),
      );
    }
    await putFindable(made.map((event) => ({ event, deliveryIds: [] })));
    await putFindable([{ event: anEvent({ id: 'evt_list_other', tenant: 'othertenant' }), deliveryIds: [] }]);
    const byNewest = [...made].sort((a, b) =>
      a.receivedAt === b.receivedAt ? (a.id < b.id ? 1 : -1) : a.receivedAt < b.receivedAt ? 1 : -1,
    );
    const all = async (q: { type?: string; from?: string; to?: string }, limit: number) => {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listEvents(tenant, { limit, cursor, ...q });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items.map((e) => e.id));
        cursor = page.next;
        pages++;
      } while (cursor && pages < 50);
      return seen;
    };
    for (const limit of [1, 4, 7, 100]) expect(await all({}, limit)).toEqual(byNewest.map((e) => e.id));
    expect(await all({ type: 'order.created' }, 2)).toEqual(
      byNewest.filter((e) => e.type === 'order.created').map((e) => e.id),
    );
    const from = iso(T0 + 3000);
    const to = iso(T0 + 6000);
    expect(await all({ from, to }, 3)).toEqual(
      byNewest.filter((e) => e.receivedAt >= from && e.receivedAt <= to).map((e) => e.id),
    );
    const first = await store.listEvents(tenant, { limit: 1 });
    expect(first.items[0]?.data).toEqual({ i: 22 });
    expect((await store.listEvents('othertenant', { limit: 10 })).items.map((e) => e.id)).toEqual([
      'evt_list_other',
    ]);
    await expect(store.listEvents(tenant, { limit: 5, cursor: 'bm90IGEgY3Vyc29y' })).rejects.toMatchObject({
      status: 400,
    });
  });

  it('takes a cursor back with another window without failing, and keeps a page of big payloads within the response limit', async () => {
    const tenant = 'bigco';
    const big = 'x'.repeat(250_000);
    const made = Array.from({ length: 20 }, (_, i) =>
      anEvent({ id: `evt_big_${i}`, tenant, receivedAt: iso(T0 + i * 1000), data: { i, big } }),
    );
    await putFindable(made.map((event) => ({ event, deliveryIds: [] })));
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.listEvents(tenant, { limit: 100, cursor });
      expect(page.items.reduce((n, e) => n + JSON.stringify(e.data).length, 0)).toBeLessThanOrEqual(
        MAX_PAGE_PAYLOAD_BYTES + 260_000,
      );
      seen.push(...page.items.map((e) => e.data.i as number));
      cursor = page.next;
      pages++;
    } while (cursor && pages < 20);
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => 19 - i));
    // A first page's cursor (19, 18, 17 shown), then a window after or before where it stopped:
    // an answer, not a 500. After it, nothing is left that the first page did not show; before
    // it, the window from its top.
    const first = await store.listEvents(tenant, { limit: 3 });
    expect(first.items.map((e) => e.data.i)).toEqual([19, 18, 17]);
    const later = await store.listEvents(tenant, { limit: 3, cursor: first.next, from: iso(T0 + 18_000) });
    expect(later).toEqual({ items: [] });
    const earlier = await store.listEvents(tenant, { limit: 3, cursor: first.next, to: iso(T0 + 1000) });
    expect(earlier.items.map((e) => e.data.i)).toEqual([1, 0]);
  });

  it('gets one delivery by id, appends a manual attempt to it, and lists it dead until it succeeds', async () => {
    const event = anEvent({ id: 'evt_dead', tenant: 'initech' });
    const dead = aDelivery(event, 'sub_d', { status: 'dead', deadMessageId: 'm1', lastError: 'HTTP 500' });
    await store.putDeliveries([dead, aDelivery(anEvent({ id: 'evt_ok', tenant: 'initech' }), 'sub_d')]);
    expect(await store.getDelivery(dead.id)).toMatchObject({ status: 'dead', eventId: 'evt_dead' });
    expect(await store.countDeadDeliveries('initech')).toBe(1);
    expect((await store.listDeadDeliveries('initech', { limit: 5 })).items.map((d) => d.id)).toEqual([
      dead.id,
    ]);
    await store.recordManualAttempt(dead.id, {
      attempt: { attempt: 2, at: iso(T0 + 5000), status: 200, durationMs: 3, trigger: 'manual' },
      succeeded: true,
      at: iso(T0 + 5000),
    });
    expect(await store.getDelivery(dead.id)).toMatchObject({ status: 'succeeded' });
    expect((await store.getDelivery(dead.id))?.attempts).toHaveLength(2);
    expect(await store.countDeadDeliveries('initech')).toBe(0);
  });

  it('gives the delivery step the event a task carries without reading its item, and reads it for a task without', async () => {
    const carried = anEvent({ id: 'evt_carried', data: { from: 'task' } });
    const stored = anEvent({ id: 'evt_stored', data: { from: 'store' } });
    await putFindable([{ event: stored, deliveryIds: [] }]);
    const task = (e: RelayEvent, withEvent: boolean): DeliveryTask => ({
      deliveryId: deliveryId(e.tenant, e.id, 'sub_ctx', e.receivedAt),
      tenant: e.tenant,
      eventId: e.id,
      subscriptionId: 'sub_ctx',
      ...(withEvent ? { event: e } : {}),
    });
    const loaded = await store.loadForTasks([task(carried, true), task(stored, false)]);
    expect(loaded.events.get(scopedKey('acme', 'evt_carried'))?.data).toEqual({ from: 'task' });
    expect(loaded.events.get(scopedKey('acme', 'evt_stored'))?.data).toEqual({ from: 'store' });
    // A task whose event names another tenant is not believed: the store is asked instead.
    const forged = await store.loadForTasks([
      { ...task(stored, false), event: { ...carried, tenant: 'globex' } },
    ]);
    expect(forged.events.get(scopedKey('acme', 'evt_stored'))?.data).toEqual({ from: 'store' });
  });

  it('finds an event by id alone: a generated id by the time it carries, a producer id through its claim, a 0.2 event where 0.2 kept it', async () => {
    const at = iso(T0 + 5_000);
    const generated = anEvent({ id: newEventId(Date.parse(at)), receivedAt: at, data: { g: 1 } });
    const producer = anEvent({ id: 'order-4711-created', receivedAt: at, data: { p: 1 } });
    await store.putEvents([{ event: generated, deliveryIds: [] }]);
    await store.claim('acme', producer.id, new Date(Date.parse(at)), producer.receivedAt);
    await store.putEvents([{ event: producer, deliveryIds: [] }]);
    // 0.2 kept an event (compressed payload, delivery ids) in its own partition.
    const v02 = anEvent({ id: 'evt_01M8X7DMFZZRNKYCQ2N22RM28K', data: { v: 2 } });
    const { pk: _pk, sk: _sk, ...v02Item } = eventItem(v02, [], 1);
    await putRaw({ ...v02Item, ...legacyEventKey('acme', v02.id) });

    expect((await store.getEvent('acme', generated.id))?.data).toEqual({ g: 1 });
    expect((await store.getEvent('acme', producer.id))?.data).toEqual({ p: 1 });
    expect((await store.getEvent('acme', v02.id))?.data).toEqual({ v: 2 });
    expect(await store.getEvent('globex', producer.id)).toBeUndefined();
    // The delivery step finds each without the event in its task.
    const task = (e: RelayEvent): DeliveryTask => ({
      deliveryId: deliveryId(e.tenant, e.id, 'sub_find', e.receivedAt),
      tenant: e.tenant,
      eventId: e.id,
      subscriptionId: 'sub_find',
    });
    const loaded = await store.loadForTasks([task(generated), task(producer), task(v02)]);
    expect([...loaded.events.keys()].sort()).toEqual(
      [generated, producer, v02].map((e) => scopedKey('acme', e.id)).sort(),
    );
  });

  it('keeps a replayed producer-id event findable after its claim expired, and the id a duplicate', async () => {
    const old = anEvent({ id: 'route-9-updated', receivedAt: iso(T0), data: { r: 9 } });
    await store.putEvents([{ event: old, deliveryIds: [] }], { replay: true });
    expect((await store.getEvent('acme', old.id))?.data).toEqual({ r: 9 });
    expect(await store.claim('acme', old.id, new Date())).toBe('accepted');
  });

  it('replays a 0.2 event in place, keeping its deliveries listed, and replays each event once', async () => {
    const v02 = anEvent({ id: 'evt_01M8X7DMJB0M6CCPN7HFZM3D29', data: { v: 2 } });
    const first = aDelivery(v02, 'sub_v02');
    const { pk: _pk, sk: _sk, ...item } = eventItem(v02, [first.id], 1);
    await putRaw({ ...item, ...legacyEventKey('acme', v02.id), ttl: Math.floor(Date.now() / 1000) + 86_400 });
    await store.putDeliveries([first]);
    const replayed = {
      ...aDelivery(v02, 'sub_v02'),
      id: deliveryId('acme', v02.id, 'sub_v02', v02.receivedAt, 'rpl_9'),
    };
    await store.putEvents([{ event: v02, deliveryIds: [replayed.id] }], { replay: true });
    await store.putDeliveries([replayed]);
    expect((await store.listDeliveriesByEvent('acme', v02.id)).map((d) => d.id).sort()).toEqual(
      [first.id, replayed.id].sort(),
    );
    const scanned: string[] = [];
    for await (const page of store.scanEvents(v02.receivedAt, v02.receivedAt))
      scanned.push(...page.map((e) => e.id));
    expect(scanned.filter((id) => id === v02.id)).toEqual([v02.id]);
  });

  it('finds a producer-id event a claim without a receipt time points near (claimed by an older ingest)', async () => {
    const at = iso(T0 + 7_000);
    const e = anEvent({ id: 'legacy-claim-1', receivedAt: at, data: { old: true } });
    await store.claim('acme', e.id, new Date(Date.parse(at) + 20)); // no receipt time recorded
    await store.putEvents([{ event: e, deliveryIds: [] }]);
    expect((await store.getEvent('acme', e.id))?.data).toEqual({ old: true });
  });

  it('keeps small payloads as JSON text and big ones deflated, byte for byte', async () => {
    const small = anEvent({ id: 'evt_small', data: { a: 1 } });
    const big = anEvent({ id: 'evt_big' });
    await putFindable([
      { event: small, deliveryIds: [] },
      { event: big, deliveryIds: [] },
    ]);
    const res = await doc.send(
      new ScanCommand({
        TableName: 'relay',
        FilterExpression: 'begins_with(pk, :e)',
        ExpressionAttributeValues: { ':e': 'EVTS#' },
      }),
    );
    const item = (id: string) => res.Items?.find((i) => i.id === id);
    expect(typeof item('evt_small')?.payload).toBe('string');
    expect(item('evt_big')?.payload).toBeInstanceOf(Uint8Array);
    expect((await store.getEvent('acme', 'evt_big'))?.data).toEqual(big.data);
  });

  describe('data written by the previous version (read in place, no migration step)', () => {
    const oldEvent = anEvent({ id: 'evt_old', receivedAt: iso(T0 - 86_400_000), data: { v: 1 } });
    const oldId = legacyDeliveryId('acme', 'evt_old', 'sub_mig');
    const oldDelivery: Delivery = {
      ...aDelivery(oldEvent, 'sub_mig'),
      id: oldId,
      createdAt: iso(T0 - 86_400_000 + 50),
      updatedAt: iso(T0 - 86_400_000 + 50),
    };
    const oldDead: Delivery = {
      ...aDelivery(oldEvent, 'sub_mig2'),
      id: legacyDeliveryId('acme', 'evt_old', 'sub_mig2'),
      status: 'dead',
      deadMessageId: 'm-old',
    };

    beforeAll(async () => {
      await putRaw(legacyEventItem(oldEvent));
      await putRaw(legacyDeliveryItem(oldDelivery));
      await putRaw(legacyDeliveryItem(oldDead));
      // Newer deliveries of the same subscription, stored by this version.
      const fresh = [0, 1].map((i) =>
        aDelivery(anEvent({ id: `evt_new${i}`, receivedAt: iso(T0 + i) }), 'sub_mig'),
      );
      await store.putDeliveries(fresh);
    });

    it('reads an old event and its deliveries (through the old index)', async () => {
      expect(await store.getEvent('acme', 'evt_old')).toMatchObject({ id: 'evt_old', data: { v: 1 } });
      expect((await store.listDeliveriesByEvent('acme', 'evt_old')).map((d) => d.id).sort()).toEqual(
        [oldId, oldDead.id].sort(),
      );
      expect(await store.getDelivery(oldId)).toMatchObject({ eventId: 'evt_old', status: 'succeeded' });
    });

    it("lists a subscription's new deliveries first, then its old ones, across pages", async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listDeliveriesBySubscription('sub_mig', {
          limit: 1,
          ...(cursor ? { cursor } : {}),
        });
        seen.push(...page.items.map((d) => d.eventId));
        cursor = page.next;
      } while (cursor);
      expect(seen).toEqual(['evt_new1', 'evt_new0', 'evt_old']);
      // A cursor an old version handed out (a bare gsi1 key) still pages on.
      const oldCursor = Buffer.from(
        JSON.stringify({ pk: 'DLV#x', sk: 'DLV', gsi1pk: 'SUBDLV#sub_mig', gsi1sk: '9999' }),
      ).toString('base64url');
      const page = await store.listDeliveriesBySubscription('sub_mig', { limit: 5, cursor: oldCursor });
      expect(page.items.map((d) => d.eventId)).toEqual(['evt_old']);
    });

    it('counts and lists old dead deliveries in the DLQ, and a manual retry updates the old record in place', async () => {
      expect((await store.listDeadDeliveries('acme', { limit: 10 })).items.map((d) => d.id)).toContain(
        oldDead.id,
      );
      await store.recordManualAttempt(oldDead.id, {
        attempt: { attempt: 2, at: iso(T0), status: 200, durationMs: 2, trigger: 'manual' },
        succeeded: true,
        at: iso(T0),
      });
      expect(await store.getDelivery(oldDead.id)).toMatchObject({ status: 'succeeded' });
      expect((await store.listDeadDeliveries('acme', { limit: 10 })).items.map((d) => d.id)).not.toContain(
        oldDead.id,
      );
    });

    it('gives an old task (no event in it) its old delivery and event, and keeps its next write where it was', async () => {
      const loaded = await store.loadForTasks([
        { deliveryId: oldId, tenant: 'acme', eventId: 'evt_old', subscriptionId: 'sub_mig', attempt: 1 },
      ]);
      expect(loaded.deliveries.get(oldId)?.eventId).toBe('evt_old');
      expect(loaded.events.get(scopedKey('acme', 'evt_old'))?.data).toEqual({ v: 1 });
      await store.putDeliveries([{ ...oldDelivery, updatedAt: iso(T0 + 9) }]);
      const all = await doc.send(
        new ScanCommand({
          TableName: 'relay',
          FilterExpression: 'id = :id',
          ExpressionAttributeValues: { ':id': oldId },
        }),
      );
      expect(all.Items).toHaveLength(1);
      expect(all.Items?.[0]).toMatchObject({ pk: `DLV#${oldId}`, gsi1pk: 'SUBDLV#sub_mig' });
    });
  });
});
