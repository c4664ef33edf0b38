import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoStore } from '../../functions/adapters/dynamodb/store.ts';
import type { EventType } from '../../functions/core/catalog/event-type.ts';
import { startDynamoStore } from '../support/dynamo-store.ts';

describe('the event-type catalog in DynamoDB (dynalite)', () => {
  let store: DynamoStore;
  let doc: DynamoDBDocumentClient;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ store, doc, close } = await startDynamoStore());
  });
  afterAll(() => close());

  const at = '2026-11-23T10:00:00.000Z';
  const type = (tenant: string, name: string, more: Partial<EventType> = {}): EventType => ({
    tenant,
    name,
    deprecated: false,
    revision: 1,
    createdAt: at,
    updatedAt: at,
    ...more,
  });

  it('keeps one item per type in the tenant partition ETYPE#{tenant}, sorted by name', async () => {
    expect(await store.putEventType(type('acme', 'order.paid'), 'new')).toBe(true);
    expect(await store.putEventType(type('acme', 'invoice.sent'), 'new')).toBe(true);
    expect(await store.putEventType(type('acme', 'order.created'), 'new')).toBe(true);
    const raw = await doc.send(
      new GetCommand({ TableName: 'relay', Key: { pk: 'ETYPE#acme', sk: 'order.paid' } }),
    );
    expect(raw.Item).toMatchObject({ pk: 'ETYPE#acme', sk: 'order.paid', name: 'order.paid', revision: 1 });
    expect((await store.listEventTypes('acme', { limit: 50 })).items.map((t) => t.name)).toEqual([
      'invoice.sent',
      'order.created',
      'order.paid',
    ]);
    // A page at a time, in name order.
    const first = await store.listEventTypes('acme', { limit: 2 });
    expect(first.items.map((t) => t.name)).toEqual(['invoice.sent', 'order.created']);
    const second = await store.listEventTypes('acme', { limit: 2, cursor: first.next });
    expect(second.items.map((t) => t.name)).toEqual(['order.paid']);
    expect(await store.countEventTypes('acme')).toBe(3);
  });

  it('writes a new type only if the name is free, and an update only over the revision read', async () => {
    await store.putEventType(type('acme', 'cond.x'), 'new');
    expect(await store.putEventType(type('acme', 'cond.x', { description: 'again' }), 'new')).toBe(false);
    expect(await store.putEventType(type('acme', 'cond.x', { revision: 2 }), { revision: 1 })).toBe(true);
    expect(await store.putEventType(type('acme', 'cond.x', { revision: 3 }), { revision: 1 })).toBe(false);
    expect(await store.putEventType(type('acme', 'cond.gone', { revision: 2 }), { revision: 1 })).toBe(false);
    expect((await store.getEventType('acme', 'cond.x'))?.revision).toBe(2);
  });

  it('returns a schema and an example exactly as written: key order kept, numbers beyond DynamoDB range too', async () => {
    const schema = {
      type: 'object',
      properties: { z: { type: 'number' }, a: { const: 0.1 } },
      required: ['z'],
    };
    const example = { z: 1e300, a: 0.1, m: { y: [], b: null, '': 'empty key' } };
    await store.putEventType(type('acme', 'json.exact', { schema, example }), 'new');
    const read = await store.getEventType('acme', 'json.exact');
    expect(JSON.stringify(read?.schema)).toBe(JSON.stringify(schema));
    expect(JSON.stringify(read?.example)).toBe(JSON.stringify(example));
  });

  it('lists only the types with a schema, and only their schema, for ingest', async () => {
    const schema = { type: 'object' };
    await store.putEventType(
      type('schemas', 'a.with', { schema, example: { big: 'x'.repeat(1000) } }),
      'new',
    );
    await store.putEventType(type('schemas', 'b.without', { description: 'no schema' }), 'new');
    expect(await store.listEventTypeSchemas('schemas')).toEqual([{ name: 'a.with', schema }]);
  });

  it("keeps tenants apart: same names, separate catalogs; a delete touches one tenant's", async () => {
    await store.putEventType(type('globex', 'order.created', { description: 'globex' }), 'new');
    expect((await store.getEventType('acme', 'order.created'))?.description).toBeUndefined();
    expect(await store.listEventTypes('nobody', { limit: 50 })).toEqual({ items: [] });
    expect(await store.deleteEventType('globex', 'order.created')).toBe(true);
    expect(await store.deleteEventType('globex', 'order.created')).toBe(false);
    expect(await store.getEventType('acme', 'order.created')).toMatchObject({ tenant: 'acme' });
  });
});
