import { describe, expect, it } from 'vitest';
import { EventTypes, testEventOf } from '../../../../functions/core/catalog/catalog.ts';
import { type EventType, MAX_EVENT_TYPES } from '../../../../functions/core/catalog/event-type.ts';
import type { ApiError } from '../../../../functions/core/errors.ts';
import type { EventTypeStore } from '../../../../functions/core/ports.ts';
import { aSubscription, fixedClock } from '../../support/fakes.ts';

/** The catalog in memory, with the store's conditional writes. */
class MemoryEventTypes implements EventTypeStore {
  readonly items = new Map<string, EventType>();
  private key = (tenant: string, name: string) => `${tenant}#${name}`;
  async putEventType(e: EventType, expected: 'new' | { revision: number }) {
    const current = this.items.get(this.key(e.tenant, e.name));
    if (expected === 'new' ? current : current?.revision !== expected.revision) return false;
    this.items.set(this.key(e.tenant, e.name), structuredClone(e));
    return true;
  }
  async getEventType(tenant: string, name: string) {
    return structuredClone(this.items.get(this.key(tenant, name)));
  }
  all(tenant: string) {
    return [...this.items.values()]
      .filter((e) => e.tenant === tenant)
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }
  async listEventTypes(tenant: string, page: { limit: number; cursor?: string | undefined }) {
    const from = page.cursor ? Number(page.cursor) : 0;
    const all = this.all(tenant);
    const items = all.slice(from, from + page.limit);
    return from + page.limit < all.length ? { items, next: String(from + page.limit) } : { items };
  }
  async listEventTypeSchemas(tenant: string) {
    return this.all(tenant).flatMap((e) => (e.schema ? [{ name: e.name, schema: e.schema }] : []));
  }
  async countEventTypes(tenant: string) {
    return this.all(tenant).length;
  }
  async deleteEventType(tenant: string, name: string) {
    return this.items.delete(this.key(tenant, name));
  }
}

const schema = { type: 'object', required: ['amount'], properties: { amount: { type: 'number' } } };
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (err: ApiError) => ({ status: err.status, message: err.message, details: err.details }),
  );

describe('EventTypes', () => {
  const setup = () => {
    const store = new MemoryEventTypes();
    return { store, catalog: new EventTypes({ store, clock: fixedClock() }) };
  };

  it('creates a type, not deprecated unless told, at revision 1', async () => {
    const { catalog } = setup();
    const made = await catalog.create('acme', { name: 'order.created', schema, example: { amount: 1 } });
    expect(made).toEqual({
      tenant: 'acme',
      name: 'order.created',
      schema,
      example: { amount: 1 },
      deprecated: false,
      revision: 1,
      createdAt: '2026-11-23T10:00:00.000Z',
      updatedAt: '2026-11-23T10:00:00.000Z',
    });
  });

  it('refuses a second type of the same name with a 409, in the same tenant only', async () => {
    const { catalog } = setup();
    await catalog.create('acme', { name: 'order.created' });
    expect(await failure(catalog.create('acme', { name: 'order.created' }))).toMatchObject({
      status: 409,
      message: 'event type order.created already exists; change it with PATCH',
    });
    await expect(catalog.create('globex', { name: 'order.created' })).resolves.toMatchObject({
      tenant: 'globex',
    });
  });

  it('refuses an invalid schema with a 400 naming its path', async () => {
    const { catalog } = setup();
    expect(
      await failure(catalog.create('acme', { name: 'a.b', schema: { properties: { x: { type: 'int' } } } })),
    ).toEqual({
      status: 400,
      message: expect.stringMatching(/^request body is invalid: schema\.properties\.x\.type: must be one of/),
      details: [{ path: 'schema.properties.x.type', message: expect.any(String) }],
    });
  });

  it('refuses an example that does not conform to the schema, naming the path in the example', async () => {
    const { catalog } = setup();
    expect(await failure(catalog.create('acme', { name: 'a.b', schema, example: { amount: 'x' } }))).toEqual({
      status: 400,
      message: 'request body is invalid: example.amount: must be a number',
      details: [{ path: 'example.amount', message: 'must be a number' }],
    });
  });

  it(`stops at ${MAX_EVENT_TYPES} types per tenant`, async () => {
    const { store, catalog } = setup();
    for (let i = 0; i < MAX_EVENT_TYPES; i++) {
      await store.putEventType(
        { tenant: 'acme', name: `t.n${i}`, deprecated: false, revision: 1, createdAt: '', updatedAt: '' },
        'new',
      );
    }
    expect(await failure(catalog.create('acme', { name: 'one.more' }))).toMatchObject({ status: 409 });
  });

  it('patches what it names, removes what is null, and counts the revision', async () => {
    const { catalog } = setup();
    await catalog.create('acme', { name: 'a.b', description: 'old', schema, example: { amount: 1 } });
    const patched = await catalog.update('acme', 'a.b', {
      description: 'new',
      example: null,
      deprecated: true,
    });
    expect(patched).toMatchObject({ description: 'new', schema, deprecated: true, revision: 2 });
    expect(patched).not.toHaveProperty('example');
    const bare = await catalog.update('acme', 'a.b', { schema: null, description: null });
    expect(bare).not.toHaveProperty('schema');
    expect(bare).not.toHaveProperty('description');
    expect(await catalog.get('acme', 'a.b')).toEqual(bare);
  });

  it('refuses a new schema the kept example does not conform to', async () => {
    const { catalog } = setup();
    await catalog.create('acme', { name: 'a.b', example: { amount: 'ten' } });
    expect(await failure(catalog.update('acme', 'a.b', { schema }))).toMatchObject({
      status: 400,
      details: [{ path: 'example.amount', message: 'must be a number' }],
    });
    await expect(catalog.update('acme', 'a.b', { schema, example: { amount: 10 } })).resolves.toMatchObject({
      revision: 2,
    });
  });

  it('refuses an update over a revision changed meanwhile', async () => {
    const { store, catalog } = setup();
    await catalog.create('acme', { name: 'a.b' });
    const stale = store.getEventType.bind(store);
    store.getEventType = async (t, n) => {
      const read = await stale(t, n);
      await store.putEventType({ ...(read as EventType), revision: 2 }, { revision: 1 });
      return read;
    };
    expect(await failure(catalog.update('acme', 'a.b', { deprecated: true }))).toMatchObject({ status: 409 });
  });

  it('answers 404 naming the type for another tenant, on get, update and delete', async () => {
    const { catalog } = setup();
    await catalog.create('acme', { name: 'a.b' });
    for (const call of [
      () => catalog.get('globex', 'a.b'),
      () => catalog.update('globex', 'a.b', { deprecated: true }),
      () => catalog.delete('globex', 'a.b'),
    ]) {
      expect(await failure(call())).toEqual({
        status: 404,
        message: 'event type a.b not found',
        details: [],
      });
    }
    await catalog.delete('acme', 'a.b');
    expect(await catalog.list('acme', { limit: 50 })).toEqual({ items: [] });
  });
});

describe('testEventOf', () => {
  const store = new MemoryEventTypes();
  const catalog = new EventTypes({ store, clock: fixedClock() });
  const sub = aSubscription({ tenant: 'acme', eventTypes: ['order.*', 'invoice.sent'] });

  it('is the type and its catalog example, for a type the subscription receives', async () => {
    await catalog.create('acme', { name: 'order.created', example: { amount: 12 } });
    expect(await testEventOf(store, sub, 'order.created')).toEqual({
      type: 'order.created',
      data: { amount: 12 },
    });
  });

  it('refuses a type the subscription does not receive', async () => {
    expect(await failure(testEventOf(store, sub, 'shipment.sent'))).toMatchObject({
      status: 400,
      details: [
        { path: 'eventType', message: expect.stringContaining('its eventTypes: order.*, invoice.sent') },
      ],
    });
  });

  it('refuses a type without an example, or not in the catalog, saying what to add', async () => {
    await catalog.create('acme', { name: 'order.paid' });
    expect((await failure(testEventOf(store, sub, 'order.paid'))).message).toBe(
      'event type order.paid has no example in the catalog; add one with PATCH /v1/event-types/order.paid',
    );
    expect((await failure(testEventOf(store, sub, 'invoice.sent'))).message).toBe(
      'event type invoice.sent is not in the catalog; add it with an example with POST /v1/event-types',
    );
  });
});
