import { describe, expect, it } from 'vitest';
import {
  EventTypeCreateSchema,
  EventTypePatchSchema,
  MAX_SCHEMA_BYTES,
  TestEventSchema,
  toPublicEventType,
} from '../../../../functions/core/catalog/event-type.ts';
import { issuesOf } from '../../support/schema.ts';

const pathsOf = (schema: Parameters<typeof issuesOf>[0], v: unknown) =>
  issuesOf(schema, v).map((i) => `${i.path.join('.')}: ${i.message}`);

describe('EventTypeCreateSchema', () => {
  it('accepts a name alone and every optional field', () => {
    expect(EventTypeCreateSchema.parse({ name: 'order.created' })).toEqual({ name: 'order.created' });
    const full = {
      name: 'order.created',
      description: 'An order was placed',
      schema: { type: 'object', properties: { amount: { type: 'number' } } },
      example: { amount: 12.5 },
      deprecated: true,
    };
    expect(EventTypeCreateSchema.parse(full)).toEqual(full);
  });

  it.each(['', 'order..created', 'order created', '.order', 'x'.repeat(129)])(
    'refuses the name %j with the event-type rules',
    (name) => {
      expect(pathsOf(EventTypeCreateSchema, { name })[0]).toMatch(/^name: /);
    },
  );

  it("refuses relay.* names, the relay's own events", () => {
    expect(pathsOf(EventTypeCreateSchema, { name: 'relay.subscription.disabled' })).toEqual([
      'name: must not start with "relay.", which is reserved for the relay\'s own events',
    ]);
  });

  it('bounds the description at 1000 characters', () => {
    expect(EventTypeCreateSchema.safeParse({ name: 'a.b', description: 'x'.repeat(1000) }).success).toBe(
      true,
    );
    expect(pathsOf(EventTypeCreateSchema, { name: 'a.b', description: 'x'.repeat(1001) })).toEqual([
      'description: must be at most 1000 characters',
    ]);
  });

  it('takes a schema and an example only as JSON objects', () => {
    expect(pathsOf(EventTypeCreateSchema, { name: 'a.b', schema: true })).toEqual([
      'schema: must be a JSON object (a JSON Schema, draft 2020-12)',
    ]);
    expect(pathsOf(EventTypeCreateSchema, { name: 'a.b', example: [1] })).toEqual([
      'example: must be a JSON object (an example of data)',
    ]);
  });

  it('bounds the schema at 16 KB of JSON', () => {
    const big = { description: 'x'.repeat(MAX_SCHEMA_BYTES) };
    expect(pathsOf(EventTypeCreateSchema, { name: 'a.b', schema: big })).toEqual([
      'schema: must be at most 16384 bytes as JSON (a JSON Schema, draft 2020-12)',
    ]);
  });

  it('refuses unknown fields', () => {
    expect(pathsOf(EventTypeCreateSchema, { name: 'a.b', version: 2 })).toEqual([
      ': Unrecognized key: "version"',
    ]);
  });
});

describe('EventTypePatchSchema', () => {
  it('takes null to remove the description, schema or example', () => {
    const patch = { description: null, schema: null, example: null, deprecated: false };
    expect(EventTypePatchSchema.parse(patch)).toEqual(patch);
  });

  it('refuses an empty patch and a name change', () => {
    expect(pathsOf(EventTypePatchSchema, {})).toEqual([
      ': must set at least one of description, schema, example, deprecated',
    ]);
    expect(EventTypePatchSchema.safeParse({ name: 'other.name' }).success).toBe(false);
  });
});

describe('TestEventSchema', () => {
  it('takes an optional producer event type', () => {
    expect(TestEventSchema.parse({})).toEqual({});
    expect(TestEventSchema.parse({ eventType: 'order.created' })).toEqual({ eventType: 'order.created' });
    expect(pathsOf(TestEventSchema, { eventType: 'relay.x' })[0]).toMatch(/^eventType: must not start/);
  });
});

describe('toPublicEventType', () => {
  it('shows neither the tenant nor the revision', () => {
    const shown = toPublicEventType({
      tenant: 'acme',
      name: 'a.b',
      deprecated: false,
      revision: 3,
      createdAt: 't',
      updatedAt: 't',
    });
    expect(shown).toEqual({ name: 'a.b', deprecated: false, createdAt: 't', updatedAt: 't' });
  });
});
