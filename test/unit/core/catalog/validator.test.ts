import { describe, expect, it } from 'vitest';
import {
  compileSchema,
  dottedPath,
  MAX_REPORTED_ERRORS,
} from '../../../../functions/core/catalog/validator.ts';

const order = {
  type: 'object',
  required: ['amount', 'items'],
  properties: {
    amount: { type: 'number', minimum: 0 },
    currency: { enum: ['EUR', 'USD'] },
    items: { type: 'array', minItems: 1, items: { $ref: '#/$defs/item' } },
    customer: {
      type: 'object',
      additionalProperties: false,
      properties: { email: { type: 'string', format: 'email' }, 'a/b~c': { type: 'integer' } },
    },
    coupon: { anyOf: [{ type: 'string', minLength: 3 }, { type: 'null' }] },
  },
  $defs: {
    item: {
      type: 'object',
      required: ['sku'],
      properties: {
        sku: { type: 'string', pattern: '^[A-Z]{3}-\\d+$' },
        qty: { type: 'integer', exclusiveMinimum: 0 },
      },
    },
  },
};
const valid = {
  amount: 10,
  currency: 'EUR',
  items: [{ sku: 'ABC-1', qty: 2 }],
  customer: { email: 'a@b.example' },
};

describe('compileSchema', () => {
  const check = compileSchema(order);

  it('finds nothing wrong with conforming data', () => {
    expect(check(valid, 'data')).toEqual([]);
  });

  it('names the data path of each problem in dotted form, under the prefix', () => {
    expect(check({ ...valid, amount: 'ten' }, 'data')).toEqual([
      { path: 'data.amount', message: 'must be a number' },
    ]);
    expect(check({ ...valid, amount: 'ten' }, 'events.3.data')).toEqual([
      { path: 'events.3.data.amount', message: 'must be a number' },
    ]);
  });

  it('follows $ref and array indexes to the failing value', () => {
    const data = { ...valid, items: [{ sku: 'ABC-1' }, { sku: 5, qty: 0 }, { qty: 1 }] };
    expect(check(data, 'data')).toEqual([
      { path: 'data.items.1.sku', message: 'must be a string' },
      { path: 'data.items.1.qty', message: 'must be greater than 0' },
      { path: 'data.items.2.sku', message: 'is required' },
    ]);
  });

  it('reports a missing property at its own path and an extra one as not allowed', () => {
    expect(check({ items: [{ sku: 'ABC-1' }] }, 'data')).toEqual([
      { path: 'data.amount', message: 'is required' },
    ]);
    expect(check({ ...valid, customer: { email: 'a@b.example', phone: '1' } }, 'data')).toEqual([
      { path: 'data.customer.phone', message: 'is not allowed by the schema' },
    ]);
  });

  it('unescapes JSON-pointer segments: a key with "/" and "~" reads as itself', () => {
    expect(check({ ...valid, customer: { 'a/b~c': 1.5 } }, 'data')).toEqual([
      { path: 'data.customer.a/b~c', message: 'must be an integer' },
    ]);
  });

  it('says what the limit is, in the words of the other 400s', () => {
    const data = {
      ...valid,
      amount: -1,
      currency: 'GBP',
      items: [{ sku: 'abc' }],
      customer: { email: 'nope' },
    };
    expect(check(data, 'data')).toEqual([
      { path: 'data.amount', message: 'must be at least 0' },
      { path: 'data.currency', message: 'must be one of ["EUR","USD"]' },
      { path: 'data.items.0.sku', message: 'must match the pattern "^[A-Z]{3}-\\\\d+$"' },
      { path: 'data.customer.email', message: 'must be a valid email' },
    ]);
    expect(check({ ...valid, items: [] }, 'data')).toEqual([
      { path: 'data.items', message: 'must hold at least 1 items' },
    ]);
  });

  it('reports a failed anyOf as itself, not the failures of each alternative', () => {
    expect(check({ ...valid, coupon: 'x' }, 'data')).toEqual([
      { path: 'data.coupon', message: 'must match at least one of the schemas in anyOf' },
    ]);
  });

  it('names the root as the prefix itself', () => {
    expect(compileSchema({ type: 'object', minProperties: 1 })({}, 'data')).toEqual([
      { path: 'data', message: 'must have at least 1 properties' },
    ]);
  });

  it(`reports at most ${MAX_REPORTED_ERRORS} problems`, () => {
    const many = compileSchema({ type: 'object', additionalProperties: { type: 'string' } });
    const data = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    expect(many(data, 'data')).toHaveLength(MAX_REPORTED_ERRORS);
  });

  it('leaves the schema it was given as it was (the validator marks up a copy)', () => {
    const schema = {
      type: 'object',
      properties: { a: { $ref: '#/$defs/a' } },
      $defs: { a: { type: 'string' } },
    };
    const before = JSON.stringify(schema);
    compileSchema(schema)({ a: 1 }, 'data');
    expect(JSON.stringify(schema)).toBe(before);
    expect(Object.getOwnPropertyNames(schema.properties.a)).toEqual(['$ref']);
  });

  it('reports data it cannot walk as a problem of the data, not a crash', () => {
    const schema = { type: 'object', additionalProperties: { type: 'string' } };
    // A key that is not valid UTF-16 (JSON allows a lone surrogate escape): no URI can name it.
    const data = JSON.parse('{"\\ud800": 1}');
    expect(compileSchema(schema)(data, 'data')).toEqual([
      { path: 'data', message: 'cannot be checked against the schema: URI malformed' },
    ]);
  });
});

describe('dottedPath', () => {
  it.each([
    ['#', 'data', 'data'],
    ['#/items/0/sku', 'data', 'data.items.0.sku'],
    ['#/a~1b/c~0d', 'data', 'data.a/b.c~d'],
    ['#/caf%C3%A9/%25', 'data', 'data.café.%'],
    ['#/x', 'events.3.data', 'events.3.data.x'],
    ['#/x', '', 'x'],
  ])('%s under %j is %s', (location, prefix, expected) => {
    expect(dottedPath(location, prefix)).toBe(expected);
  });
});
