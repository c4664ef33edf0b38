import { describe, expect, it } from 'vitest';
import {
  CATALOG_TTL_MS,
  CachedSchemaCatalog,
  checkEventData,
} from '../../../../functions/core/catalog/cache.ts';
import type { JsonObject } from '../../../../functions/core/catalog/event-type.ts';
import type { ApiError } from '../../../../functions/core/errors.ts';
import type { Clock } from '../../../../functions/core/ports.ts';

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2026-11-23T10:00:00Z')) {
  let t = start;
  const clock: Clock = { now: () => new Date(t) };
  return { clock, advance: (ms: number) => (t += ms) };
}

/** The catalog's schemas per tenant, counting the reads (each is one Query on DynamoDB). */
function schemaStore(initial: Record<string, Record<string, JsonObject>> = {}) {
  const byTenant = new Map(Object.entries(initial).map(([t, types]) => [t, { ...types }]));
  const reads: string[] = [];
  let failing = false;
  return {
    reads,
    set(tenant: string, name: string, schema: JsonObject | undefined) {
      const types = byTenant.get(tenant) ?? {};
      if (schema) types[name] = schema;
      else delete types[name];
      byTenant.set(tenant, types);
    },
    fail(on: boolean) {
      failing = on;
    },
    async listEventTypeSchemas(tenant: string) {
      reads.push(tenant);
      await new Promise((r) => setTimeout(r, 1));
      if (failing) throw new Error('DynamoDB is unavailable');
      return Object.entries(byTenant.get(tenant) ?? {}).map(([name, schema]) => ({ name, schema }));
    },
  };
}

const amount = { type: 'object', required: ['amount'], properties: { amount: { type: 'number' } } };
const cents = { type: 'object', required: ['cents'], properties: { cents: { type: 'integer' } } };

describe('CachedSchemaCatalog', () => {
  it("reads a tenant's catalog once and serves it from memory until the TTL passes", async () => {
    const store = schemaStore({ acme: { 'order.created': amount } });
    const { clock, advance } = manualClock();
    const catalog = new CachedSchemaCatalog(store, clock);
    await catalog.validatorsFor('acme');
    advance(CATALOG_TTL_MS - 1);
    await catalog.validatorsFor('acme');
    expect(store.reads).toEqual(['acme']);
    advance(1);
    await catalog.validatorsFor('acme');
    expect(store.reads).toEqual(['acme', 'acme']);
  });

  it('applies a changed or removed schema once the cached catalog expires, not before', async () => {
    const store = schemaStore({ acme: { 'order.created': amount } });
    const { clock, advance } = manualClock();
    const catalog = new CachedSchemaCatalog(store, clock);
    const check = async (data: unknown) =>
      (await catalog.validatorsFor('acme')).get('order.created')?.(data, 'data');
    expect(await check({ amount: 1 })).toEqual([]);
    store.set('acme', 'order.created', cents);
    expect(await check({ amount: 1 })).toEqual([]);
    advance(CATALOG_TTL_MS);
    expect(await check({ amount: 1 })).toEqual([{ path: 'data.cents', message: 'is required' }]);
    store.set('acme', 'order.created', undefined);
    advance(CATALOG_TTL_MS);
    expect(await check({ amount: 1 })).toBeUndefined();
  });

  it('keeps the compiled validator of a schema a refresh finds unchanged', async () => {
    const store = schemaStore({ acme: { 'order.created': amount, 'order.paid': amount } });
    const { clock, advance } = manualClock();
    const catalog = new CachedSchemaCatalog(store, clock);
    const first = await catalog.validatorsFor('acme');
    store.set('acme', 'order.paid', cents);
    advance(CATALOG_TTL_MS);
    const second = await catalog.validatorsFor('acme');
    expect(second.get('order.created')).toBe(first.get('order.created'));
    expect(second.get('order.paid')).not.toBe(first.get('order.paid'));
  });

  it('keeps tenants apart: one read each, and one tenant never sees the schemas of another', async () => {
    const store = schemaStore({ acme: { 'order.created': amount } });
    const catalog = new CachedSchemaCatalog(store, manualClock().clock);
    expect((await catalog.validatorsFor('globex')).size).toBe(0);
    expect((await catalog.validatorsFor('acme')).size).toBe(1);
    expect(store.reads.sort()).toEqual(['acme', 'globex']);
  });

  it('shares one read among the requests that arrive while it runs', async () => {
    const store = schemaStore({ acme: { 'order.created': amount } });
    const catalog = new CachedSchemaCatalog(store, manualClock().clock);
    await Promise.all(Array.from({ length: 20 }, () => catalog.validatorsFor('acme')));
    expect(store.reads).toEqual(['acme']);
  });

  it('keeps checking with the last catalog read when a refresh fails, and tries again soon', async () => {
    const store = schemaStore({ acme: { 'order.created': amount } });
    const { clock, advance } = manualClock();
    const catalog = new CachedSchemaCatalog(store, clock);
    await catalog.validatorsFor('acme');
    store.fail(true);
    advance(CATALOG_TTL_MS);
    expect((await catalog.validatorsFor('acme')).has('order.created')).toBe(true);
    await catalog.validatorsFor('acme');
    expect(store.reads).toHaveLength(2);
    store.fail(false);
    advance(5_000);
    await catalog.validatorsFor('acme');
    expect(store.reads).toHaveLength(3);
  });

  it('fails the request when the first read of a tenant fails (nothing to check with)', async () => {
    const store = schemaStore();
    store.fail(true);
    const catalog = new CachedSchemaCatalog(store, manualClock().clock);
    await expect(catalog.validatorsFor('acme')).rejects.toThrow('DynamoDB is unavailable');
    store.fail(false);
    expect((await catalog.validatorsFor('acme')).size).toBe(0);
  });
});

describe('checkEventData', () => {
  const catalog = new CachedSchemaCatalog(
    schemaStore({ acme: { 'order.created': amount } }),
    manualClock().clock,
  );
  const refusal = async (inputs: Array<{ type: string; data: Record<string, unknown> }>, batch: boolean) => {
    const err = (await checkEventData(catalog, inputs, 'acme', batch).catch((e: unknown) => e)) as ApiError;
    return { status: err.status, code: err.code, message: err.message, details: err.details };
  };

  it('refuses a single event whose data does not conform, naming the path', async () => {
    expect(await refusal([{ type: 'order.created', data: { amount: 'ten' } }], false)).toEqual({
      status: 400,
      code: 'invalid_request',
      message:
        'request body is invalid: data.amount: must be a number (the catalog schema of event type order.created)',
      details: [{ path: 'data.amount', message: 'must be a number' }],
    });
  });

  it('names the event of a batch by its index', async () => {
    const inputs = [
      { type: 'order.created', data: { amount: 1 } },
      { type: 'order.unknown', data: { anything: true } },
      { type: 'order.created', data: {} },
      { type: 'order.created', data: { amount: '2' } },
    ];
    const { message, details } = await refusal(inputs, true);
    expect(message).toBe(
      'request body is invalid: events.2.data.amount: is required (the catalog schema of event type order.created)',
    );
    expect(details).toEqual([
      { path: 'events.2.data.amount', message: 'is required' },
      { path: 'events.3.data.amount', message: 'must be a number' },
    ]);
  });

  it('accepts conforming data and types that are not in the catalog (or have no schema)', async () => {
    await expect(
      checkEventData(
        catalog,
        [
          { type: 'order.created', data: { amount: 1 } },
          { type: 'invoice.sent', data: { amount: 'not checked' } },
        ],
        'acme',
        true,
      ),
    ).resolves.toBeUndefined();
    await expect(
      checkEventData(catalog, [{ type: 'order.created', data: {} }], 'globex', false),
    ).resolves.toBeUndefined();
  });
});
