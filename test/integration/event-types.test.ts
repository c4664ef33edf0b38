import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRelay } from '../../functions/local/runtime.ts';
import { startReceiver, waitFor } from '../support/receiver.ts';
import { client, startTestRelay } from '../support/relay.ts';

/**
 * The event-type catalog through the local relay's HTTP API: the real handlers, dynalite, a real
 * receiver. Ingest caches a tenant's catalog for a minute, so each scenario uses a tenant whose
 * catalog is complete before it sends its first event.
 */
describe('event-type catalog', () => {
  let relay: LocalRelay;
  let admin: ReturnType<typeof client>['admin'];
  let rx: Awaited<ReturnType<typeof startReceiver>>;

  const tenant = async (name: string) => {
    const res = await admin.post('/v1/admin/api-keys', { tenant: name });
    expect(res.status).toBe(201);
    return client(relay, res.body.key);
  };

  const orderSchema = {
    type: 'object',
    required: ['amount', 'items'],
    properties: {
      amount: { type: 'number' },
      items: {
        type: 'array',
        items: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' } } },
      },
    },
  };
  const orderExample = { amount: 42.5, items: [{ sku: 'ABC-1' }] };

  beforeAll(async () => {
    let api: ReturnType<typeof client>;
    ({ relay, api } = await startTestRelay([0.05]));
    admin = api.admin;
    rx = await startReceiver();
  });
  afterAll(async () => {
    await relay.close();
    await rx.close();
  });

  it('creates, lists in name order, reads, patches and deletes event types', async () => {
    const acme = await tenant('crud');
    const created = await acme.post('/v1/event-types', {
      name: 'order.created',
      description: 'An order was placed',
      schema: orderSchema,
      example: orderExample,
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      name: 'order.created',
      description: 'An order was placed',
      schema: orderSchema,
      example: orderExample,
      deprecated: false,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect((await acme.post('/v1/event-types', { name: 'invoice.sent' })).status).toBe(201);

    const listed = await acme.get('/v1/event-types');
    expect(listed.status).toBe(200);
    expect(listed.body.eventTypes.map((t: { name: string }) => t.name)).toEqual([
      'invoice.sent',
      'order.created',
    ]);
    expect((await acme.get('/v1/event-types/order.created')).body).toEqual(created.body);

    const patched = await acme.patch('/v1/event-types/order.created', { deprecated: true, example: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'order.created', deprecated: true, schema: orderSchema });
    expect(patched.body).not.toHaveProperty('example');

    expect((await acme.del('/v1/event-types/invoice.sent')).status).toBe(204);
    const gone = await acme.get('/v1/event-types/invoice.sent');
    expect(gone.status).toBe(404);
    expect(gone.body.error.message).toBe('event type invoice.sent not found');
  });

  it('answers 409 for a name that exists and 404 naming the type otherwise', async () => {
    const acme = await tenant('conflicts');
    expect((await acme.post('/v1/event-types', { name: 'a.b' })).status).toBe(201);
    const again = await acme.post('/v1/event-types', { name: 'a.b' });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/event type a\.b already exists/);
    for (const res of [
      await acme.patch('/v1/event-types/no.such', { deprecated: true }),
      await acme.del('/v1/event-types/no.such'),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error).toMatchObject({ code: 'not_found', message: 'event type no.such not found' });
    }
  });

  it('refuses an invalid schema, an example that does not conform and a relay.* name, naming the path', async () => {
    const acme = await tenant('invalid');
    const bad = await acme.post('/v1/event-types', {
      name: 'order.created',
      schema: { type: 'object', properties: { amount: { type: 'decimal' } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('schema.properties.amount.type');
    expect(bad.body.error.message).toMatch(/^request body is invalid: schema\.properties\.amount\.type: /);

    const remote = await acme.post('/v1/event-types', {
      name: 'order.created',
      schema: { $ref: 'https://x.example/s' },
    });
    expect(remote.status).toBe(400);
    expect(remote.body.error.details[0].path).toBe('schema.$ref');

    const example = await acme.post('/v1/event-types', {
      name: 'order.created',
      schema: orderSchema,
      example: { amount: 1, items: [{ sku: 7 }] },
    });
    expect(example.status).toBe(400);
    expect(example.body.error.details).toEqual([
      { path: 'example.items.0.sku', message: 'must be a string' },
    ]);

    const reserved = await acme.post('/v1/event-types', { name: 'relay.subscription.disabled' });
    expect(reserved.status).toBe(400);
    expect(reserved.body.error.details[0].path).toBe('name');

    const huge = await acme.post('/v1/event-types', {
      name: 'a.b',
      schema: { description: 'x'.repeat(20_000) },
    });
    expect(huge.status).toBe(400);
    expect(huge.body.error.details[0]).toEqual({
      path: 'schema',
      message: 'must be at most 16384 bytes as JSON (a JSON Schema, draft 2020-12)',
    });
    expect((await acme.get('/v1/event-types')).body.eventTypes).toEqual([]);
  });

  it("keeps tenants' catalogs apart: another tenant sees nothing, gets 404s, and its ingest is unchecked", async () => {
    const acme = await tenant('iso-acme');
    const globex = await tenant('iso-globex');
    await acme.post('/v1/event-types', { name: 'order.created', schema: orderSchema, example: orderExample });

    expect((await globex.get('/v1/event-types')).body).toEqual({ eventTypes: [], next: null });
    for (const res of [
      await globex.get('/v1/event-types/order.created'),
      await globex.patch('/v1/event-types/order.created', { deprecated: true }),
      await globex.del('/v1/event-types/order.created'),
    ]) {
      expect(res.status).toBe(404);
    }
    // globex may have a type of the same name, with its own rules.
    expect((await globex.post('/v1/event-types', { name: 'order.created' })).status).toBe(201);
    expect((await globex.post('/v1/events', { type: 'order.created', data: { amount: 'ten' } })).status).toBe(
      202,
    );
    expect((await acme.post('/v1/events', { type: 'order.created', data: { amount: 'ten' } })).status).toBe(
      400,
    );
    expect((await acme.get('/v1/event-types/order.created')).body.deprecated).toBe(false);
  });

  it('refuses an event whose data does not conform to its type schema, naming the path', async () => {
    const acme = await tenant('ingest-single');
    await acme.post('/v1/event-types', { name: 'order.created', schema: orderSchema });
    const res = await acme.post('/v1/events', {
      type: 'order.created',
      data: { amount: '42', items: [{ sku: 'ABC-1' }, {}] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toBe(
      'request body is invalid: data.amount: must be a number (the catalog schema of event type order.created)',
    );
    expect(res.body.error.details).toEqual([
      { path: 'data.amount', message: 'must be a number' },
      { path: 'data.items.1.sku', message: 'is required' },
    ]);
    expect((await acme.post('/v1/events', { type: 'order.created', data: orderExample })).status).toBe(202);
  });

  it('refuses a batch naming the index of each non-conforming event, and publishes none of it', async () => {
    const acme = await tenant('ingest-batch');
    await acme.post('/v1/event-types', { name: 'order.created', schema: orderSchema });
    await acme.subscribe(rx.url, ['*']);
    const events = [
      { id: 'b-0', type: 'order.created', data: orderExample },
      { id: 'b-1', type: 'other.thing', data: {} },
      { id: 'b-2', type: 'order.created', data: orderExample },
      { id: 'b-3', type: 'order.created', data: { ...orderExample, amount: 'x' } },
    ];
    const res = await acme.post('/v1/events/batch', { events });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: 'events.3.data.amount', message: 'must be a number' }]);
    // Nothing of the refused batch went out; the corrected batch goes through with the same ids.
    events[3] = { id: 'b-3', type: 'order.created', data: orderExample };
    const retry = await acme.post('/v1/events/batch', { events });
    expect(retry.status).toBe(202);
    expect(retry.body.duplicates).toBe(0);
    await waitFor('the corrected batch', () => events.every((e) => rx.withId(e.id).length === 1));
    expect(rx.received.filter((r) => r.headers['webhook-id']?.toString().startsWith('b-'))).toHaveLength(4);
  });

  it('accepts events of types that are not in the catalog, or have no schema, as before', async () => {
    const acme = await tenant('ingest-open');
    await acme.post('/v1/event-types', { name: 'note.added', description: 'no schema' });
    expect(
      (await acme.post('/v1/events', { type: 'note.added', data: { anything: [1, 'two'] } })).status,
    ).toBe(202);
    expect((await acme.post('/v1/events', { type: 'never.catalogued', data: { x: 1 } })).status).toBe(202);
  });

  it("sends a subscription's test event with the catalog example of the type asked for, signed", async () => {
    const acme = await tenant('test-event');
    await acme.post('/v1/event-types', { name: 'order.created', schema: orderSchema, example: orderExample });
    await acme.post('/v1/event-types', { name: 'order.paid' });
    const sub = await acme.subscribe(rx.url, ['order.*']);

    const sent = await acme.post(`/v1/subscriptions/${sub.id}/test`, { eventType: 'order.created' });
    expect(sent.status).toBe(202);
    expect(sent.body.type).toBe('order.created');
    const got = await waitFor('the test event', () => rx.withId(sent.body.id)[0]);
    const payload = new Webhook(sub.secret).verify(got.body, {
      'webhook-id': String(got.headers['webhook-id']),
      'webhook-timestamp': String(got.headers['webhook-timestamp']),
      'webhook-signature': String(got.headers['webhook-signature']),
    });
    expect(payload).toMatchObject({ type: 'order.created', data: orderExample });

    // Without a body, the relay's own webhook.test as before.
    const plain = await acme.post(`/v1/subscriptions/${sub.id}/test`);
    expect(plain.body.type).toBe('webhook.test');
    const plainGot = await waitFor('the plain test event', () => rx.withId(plain.body.id)[0]);
    expect(JSON.parse(plainGot.body).type).toBe('webhook.test');

    const notReceived = await acme.post(`/v1/subscriptions/${sub.id}/test`, { eventType: 'invoice.sent' });
    expect(notReceived.status).toBe(400);
    expect(notReceived.body.error.details[0].path).toBe('eventType');
    const noExample = await acme.post(`/v1/subscriptions/${sub.id}/test`, { eventType: 'order.paid' });
    expect(noExample.status).toBe(400);
    expect(noExample.body.error.message).toBe(
      'event type order.paid has no example in the catalog; add one with PATCH /v1/event-types/order.paid',
    );
    const unknown = await acme.post(`/v1/subscriptions/${sub.id}/test`, { eventType: 'order.refunded' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/order\.refunded is not in the catalog/);
  });
});
