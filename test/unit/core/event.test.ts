import { describe, expect, it } from 'vitest';
import {
  BUS_PACK_DETAIL_TYPE,
  BUS_SOURCE,
  BusDetailSchema,
  type BusEntry,
  EventBatchInputSchema,
  EventInputSchema,
  eventsOfDetail,
  MAX_BATCH_EVENTS,
  PACK_TARGET_BYTES,
  packForBus,
  type RelayEvent,
  RelayEventSchema,
  webhookBody,
} from '../../../functions/core/event.ts';
import { anEvent } from '../support/fakes.ts';
import { issuesOf } from '../support/schema.ts';

const valid = { type: 'shipment.delivered', data: { id: 'shp_1' } };

describe('EventInputSchema', () => {
  it('accepts a type and a data object', () => {
    expect(EventInputSchema.parse(valid)).toEqual(valid);
  });

  it('accepts a producer id and an ISO 8601 timestamp with Z or an offset', () => {
    for (const timestamp of [
      '2026-11-23T10:00:00Z',
      '2026-11-23T10:00:00.123Z',
      '2026-11-23T12:00:00+02:00',
    ]) {
      expect(EventInputSchema.safeParse({ ...valid, id: 'order-42_a', timestamp }).success).toBe(true);
    }
  });

  it.each(['a', 'order.created', 'A_1.b_2.c_3'])('accepts the event type %j', (type) => {
    expect(EventInputSchema.safeParse({ ...valid, type }).success).toBe(true);
  });

  it.each(['', 'order.', '.order', 'order..created', 'order.*', '*', 'order-created', 'order created'])(
    'rejects the event type %j',
    (type) => {
      const [issue] = issuesOf(EventInputSchema, { ...valid, type });
      expect(issue?.path).toEqual(['type']);
      expect(issue?.message).toContain('dotted segments');
    },
  );

  it('rejects an event type longer than 128 characters (EventBridge detail-type limit)', () => {
    expect(EventInputSchema.safeParse({ ...valid, type: 'a'.repeat(129) }).success).toBe(false);
    expect(EventInputSchema.safeParse({ ...valid, type: 'a'.repeat(128) }).success).toBe(true);
  });

  it.each([
    ['an array', []],
    ['a string', 'x'],
    ['a number', 1],
    ['null', null],
  ])('rejects data that is %s', (_what, data) => {
    const [issue] = issuesOf(EventInputSchema, { ...valid, data });
    expect(issue).toMatchObject({ path: ['data'], message: 'must be a JSON object' });
  });

  it('requires data', () => {
    expect(issuesOf(EventInputSchema, { type: 'a.b' })[0]?.path).toEqual(['data']);
  });

  it('rejects an id containing a dot, since it becomes the webhook-id', () => {
    const [issue] = issuesOf(EventInputSchema, { ...valid, id: 'order.42' });
    expect(issue?.path).toEqual(['id']);
    expect(issue?.message).toContain('(no ".")');
  });

  it('rejects an empty id and one longer than 128 characters', () => {
    expect(EventInputSchema.safeParse({ ...valid, id: '' }).success).toBe(false);
    expect(EventInputSchema.safeParse({ ...valid, id: 'a'.repeat(129) }).success).toBe(false);
    expect(EventInputSchema.safeParse({ ...valid, id: 'a'.repeat(128) }).success).toBe(true);
  });

  it.each(['2026-11-23', '2026-11-23T10:00:00', '23/11/2026 10:00', 'yesterday', '1764000000'])(
    'rejects the timestamp %j',
    (timestamp) => {
      const [issue] = issuesOf(EventInputSchema, { ...valid, timestamp });
      expect(issue?.path).toEqual(['timestamp']);
      expect(issue?.message).toContain('ISO 8601');
    },
  );

  it('rejects unknown fields', () => {
    const [issue] = issuesOf(EventInputSchema, { ...valid, tenant: 'other' });
    expect(issue?.code).toBe('unrecognized_keys');
  });
});

describe('EventBatchInputSchema', () => {
  const batch = (n: number) => ({ events: Array.from({ length: n }, () => valid) });

  it('accepts 1 to 100 events', () => {
    expect(EventBatchInputSchema.safeParse(batch(1)).success).toBe(true);
    expect(EventBatchInputSchema.safeParse(batch(MAX_BATCH_EVENTS)).success).toBe(true);
  });

  it('rejects an empty batch', () => {
    expect(issuesOf(EventBatchInputSchema, batch(0))[0]?.message).toBe('must hold at least one event');
  });

  it('rejects 101 events', () => {
    expect(issuesOf(EventBatchInputSchema, batch(101))[0]?.message).toBe('must hold at most 100 events');
  });

  it('points at the invalid event inside a batch', () => {
    const events = [valid, { ...valid, type: 'bad type' }];
    expect(issuesOf(EventBatchInputSchema, { events })[0]?.path).toEqual(['events', 1, 'type']);
  });

  it('rejects unknown fields beside events', () => {
    expect(EventBatchInputSchema.safeParse({ ...batch(1), extra: true }).success).toBe(false);
  });
});

describe('RelayEventSchema', () => {
  it('accepts an accepted event as it travels on the bus', () => {
    const event = anEvent({ subscriptionId: 'sub_1' });
    expect(RelayEventSchema.parse(event)).toEqual(event);
  });
});

describe('webhookBody', () => {
  it('sends type, timestamp and data only, never the tenant or internal fields', () => {
    const event = anEvent({ subscriptionId: 'sub_1' });
    expect(JSON.parse(webhookBody(event))).toEqual({
      type: event.type,
      timestamp: event.timestamp,
      data: event.data,
    });
    expect(webhookBody(event)).toBe(
      '{"type":"shipment.delivered","timestamp":"2026-11-23T09:59:00.000Z","data":{"shipmentId":"shp_42","carrier":"ups"}}',
    );
  });
});

describe('packForBus (batch ingest as few bus entries as the 64 KB chunk allows)', () => {
  const ev = (n: number, bytes = 1000): RelayEvent => ({
    id: `evt_${n}`,
    tenant: 'acme',
    type: 'order.created',
    timestamp: '2026-12-01T10:00:00.000Z',
    receivedAt: '2026-12-01T10:00:00.000Z',
    data: { n, text: 'z'.repeat(bytes) },
    position: n,
  });
  const entryBytes = (e: BusEntry) =>
    14 + Buffer.byteLength(`${BUS_SOURCE}${e.detailType}${e.detail}`, 'utf8');
  const unpack = (e: BusEntry) => eventsOfDetail(BusDetailSchema.parse(JSON.parse(e.detail)));

  it('keeps one event as itself: the entry every earlier version published', () => {
    const [entry, ...rest] = packForBus([ev(1)]);
    expect(rest).toEqual([]);
    expect(entry?.detailType).toBe('order.created');
    expect(JSON.parse(entry?.detail ?? '')).toEqual(ev(1));
    expect(unpack(entry as BusEntry)).toEqual([ev(1)]);
  });

  it('packs 100 events of 1 KB into 2 entries of at most 64 KB, in order', () => {
    const batch = Array.from({ length: 100 }, (_, n) => ev(n));
    const entries = packForBus(batch);
    expect(entries).toHaveLength(2);
    for (const e of entries) {
      expect(e.detailType).toBe(BUS_PACK_DETAIL_TYPE);
      expect(entryBytes(e)).toBeLessThanOrEqual(PACK_TARGET_BYTES);
    }
    expect(entries.flatMap(unpack)).toEqual(batch);
  });

  it('sends an event too big to share an entry alone, between packs of its neighbours', () => {
    const batch = [ev(0), ev(1), ev(2, 100_000), ev(3), ev(4)];
    const entries = packForBus(batch);
    expect(entries.map((e) => e.events.map((x) => x.id))).toEqual([
      ['evt_0', 'evt_1'],
      ['evt_2'],
      ['evt_3', 'evt_4'],
    ]);
    expect(entries[1]?.detailType).toBe('order.created');
    expect(entries.flatMap(unpack)).toEqual(batch);
  });

  it('packs greedily in order, counting bytes not characters, whatever the sizes', () => {
    // A fixed pseudo-random mix: tiny, 1 KB, just under and over 64 KB, multi-byte text.
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const sizes = [10, 1000, 20_000, 60_000, 70_000, 200_000];
    const batch = Array.from({ length: 100 }, (_, n) => {
      const e = ev(n, 0);
      const text = (next() < 0.5 ? 'z' : 'é').repeat(Math.floor((sizes[Math.floor(next() * 6)] ?? 0) / 2));
      return { ...e, data: { n, text } };
    });
    const entries = packForBus(batch);
    expect(entries.flatMap((e) => e.events)).toEqual(batch);
    expect(entries.flatMap(unpack)).toEqual(batch);
    entries.forEach((e, i) => {
      if (e.events.length > 1) expect(entryBytes(e)).toBeLessThanOrEqual(PACK_TARGET_BYTES);
      // Only an event that fills 64 KB on its own goes alone while a neighbour could have joined.
      const [head] = entries[i + 1]?.events ?? [];
      if (head) {
        const joined = packForBus([...e.events, head]);
        expect(joined.length === 1 && entryBytes(joined[0] as BusEntry) <= PACK_TARGET_BYTES).toBe(false);
      }
    });
    expect(entries.length).toBeLessThan(batch.length);
  });

  it('reads an entry as versions before packing published it (the archive holds them)', () => {
    const archived =
      '{"id":"evt_01JD0000000000000000000000","tenant":"acme","type":"webhook.test","timestamp":"2026-10-01T08:00:00.000Z",' +
      '"data":{"test":true},"receivedAt":"2026-10-01T08:00:00.000Z","subscriptionId":"sub_1"}';
    expect(eventsOfDetail(BusDetailSchema.parse(JSON.parse(archived)))).toEqual([JSON.parse(archived)]);
    const pack = { events: [ev(0), { ...ev(1), tenant: 'globex' }] };
    expect(eventsOfDetail(BusDetailSchema.parse(pack))).toEqual(pack.events);
  });

  it('refuses a detail that is neither an event nor a pack of events', () => {
    expect(BusDetailSchema.safeParse({ events: [] }).success).toBe(false);
    expect(BusDetailSchema.safeParse({ events: [{ id: 'x' }] }).success).toBe(false);
    expect(BusDetailSchema.safeParse({ id: 'x' }).success).toBe(false);
  });
});
