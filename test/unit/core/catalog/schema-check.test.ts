import { describe, expect, it } from 'vitest';
import {
  checkSchema,
  DRAFT_2020_12,
  MAX_SAME_VALUE_CHECKS,
  MAX_SCHEMA_DEPTH,
  unsafeRegexReason,
} from '../../../../functions/core/catalog/schema-check.ts';
import { compileSchema } from '../../../../functions/core/catalog/validator.ts';

describe('checkSchema', () => {
  it.each([
    ['an empty schema', {}],
    [
      'an object schema',
      { type: 'object', required: ['a'], properties: { a: { type: ['string', 'null'] } } },
    ],
    ['the 2020-12 $schema', { $schema: DRAFT_2020_12, type: 'object' }],
    [
      'a recursive tree through $defs',
      {
        $ref: '#/$defs/node',
        $defs: {
          node: {
            type: 'object',
            properties: { children: { type: 'array', items: { $ref: '#/$defs/node' } } },
          },
        },
      },
    ],
    [
      'an $anchor reference',
      { properties: { a: { $ref: '#money' } }, $defs: { m: { $anchor: 'money', type: 'number' } } },
    ],
    [
      'tuples with prefixItems',
      { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: false },
    ],
    [
      'if/then/else and dependentSchemas',
      {
        if: { required: ['a'] },
        // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword, in a schema
        then: { required: ['b'] },
        else: true,
        dependentSchemas: { c: { required: ['d'] } },
      },
    ],
    [
      'patterns that compile in Unicode mode',
      { pattern: '^\\p{L}+$', patternProperties: { '^x-': { type: 'string' } } },
    ],
    ['unknown keywords (annotations)', { 'x-owner': 'payments', type: 'object' }],
  ])('accepts %s', (_what, schema) => {
    expect(checkSchema(schema)).toEqual([]);
  });

  it.each([
    [
      'a misspelt type',
      { properties: { a: { type: 'nubmer' } } },
      'schema.properties.a.type',
      /must be one of \["array"/,
    ],
    ['a wrong type in a list', { type: ['string', 'text'] }, 'schema.type.1', /must be one of/],
    ['a negative length', { minLength: -1 }, 'schema.minLength', /must be at least 0/],
    ['required as a string', { required: 'a' }, 'schema.required', /must be an array/],
    [
      'a property schema that is a number',
      { properties: { a: 5 } },
      'schema.properties.a',
      /must be one of: object, boolean/,
    ],
    [
      'items as a draft-7 tuple',
      { items: [{ type: 'string' }] },
      'schema.items',
      /must be one of: object, boolean/,
    ],
    ['a zero multipleOf', { multipleOf: 0 }, 'schema.multipleOf', /must be greater than 0/],
    [
      'an invalid pattern',
      { pattern: '(' },
      'schema.pattern',
      /must be a valid regular expression: .*Unterminated group/,
    ],
    [
      'an invalid patternProperties key',
      { patternProperties: { '[': {} } },
      'schema.patternProperties.[',
      /valid regular expression/,
    ],
    [
      'another draft',
      { $schema: 'http://json-schema.org/draft-07/schema#' },
      'schema.$schema',
      /only draft 2020-12/,
    ],
    [
      '$dynamicRef, which the validator skips',
      { $dynamicRef: '#meta' },
      'schema.$dynamicRef',
      /not supported/,
    ],
    ['draft-7 definitions', { definitions: { a: {} } }, 'schema.definitions', /use \$defs/],
    [
      'a $ref to nothing',
      { properties: { a: { $ref: '#/$defs/missing' } } },
      'schema.properties.a.$ref',
      /not in this schema/,
    ],
    [
      'a remote $ref (nothing is fetched)',
      { $ref: 'https://schemas.example/order.json' },
      'schema.$ref',
      /nothing is fetched/,
    ],
    ['a $ref to itself', { $ref: '#' }, 'schema', /\$ref loop/],
    [
      'a loop through allOf',
      {
        properties: { x: { $ref: '#/$defs/a' } },
        $defs: { a: { $ref: '#/$defs/b' }, b: { allOf: [{ $ref: '#/$defs/a' }] } },
      },
      'schema.$defs.b.allOf.0',
      /never steps into the data/,
    ],
    [
      'one $id twice',
      { $defs: { a: { $id: 'https://x.example/a' }, b: { $id: 'https://x.example/a' } } },
      'schema',
      /cannot be compiled/,
    ],
  ])('refuses %s, naming the path', (_what, schema, path, message) => {
    const [first] = checkSchema(schema as Record<string, unknown>);
    expect(first?.path).toBe(path);
    expect(first?.message).toMatch(message);
  });

  it(`refuses nesting deeper than ${MAX_SCHEMA_DEPTH} levels (the validator recurses per level)`, () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < MAX_SCHEMA_DEPTH; i++) deep = { not: deep };
    expect(checkSchema(deep)).toEqual([
      { path: 'schema', message: `must nest at most ${MAX_SCHEMA_DEPTH} levels deep` },
    ]);
  });

  it('reports every problem of the shape, each at its path', () => {
    expect(checkSchema({ type: 'nope', minLength: 'x', properties: { a: { maximum: '1' } } })).toEqual([
      { path: 'schema.properties.a.maximum', message: 'must be a number' },
      {
        path: 'schema.type',
        message: 'must be one of ["array","boolean","integer","null","number","object","string"]',
      },
      { path: 'schema.minLength', message: 'must be an integer' },
    ]);
  });
});

describe('schemas that would hang the function checking them', () => {
  it.each(['^(a+)+$', '(a|a)*', '(\\w+\\s?)*$', '((ab)*)+', '^(x{1,5})+$', '(a)\\1'])(
    'refuses the pattern %s, which can take exponential time',
    (pattern) => {
      const problems = checkSchema({ type: 'string', pattern });
      expect(problems[0]?.path).toBe('schema.pattern');
      expect(problems[0]?.message).toMatch(/exponential/);
      const keyed = checkSchema({ type: 'object', patternProperties: { [pattern]: { type: 'string' } } });
      expect(keyed[0]?.message).toMatch(/exponential/);
    },
  );

  it.each(['^[a-z]+$', '^(foo)+$', '^\\d{3}-\\d{4}$', '^(?:[A-Z]{2})+$', '^(ab){2}$', '^[(]+$', '^(.*)$'])(
    'accepts the linear pattern %s',
    (pattern) => {
      expect(unsafeRegexReason(pattern)).toBeUndefined();
      expect(checkSchema({ type: 'string', pattern })).toEqual([]);
    },
  );

  it('refuses a $ref chain that multiplies the checks of one value, and takes a wide but linear one', () => {
    const defs = (n: number, refs: number) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [
          `d${i}`,
          i === 0
            ? { type: 'number' }
            : { allOf: Array.from({ length: refs }, () => ({ $ref: `#/$defs/d${i - 1}` })) },
        ]),
      );
    const bomb = { $defs: defs(22, 2), $ref: '#/$defs/d21' };
    const problems = checkSchema(bomb);
    expect(problems[0]?.path).toBe('schema');
    expect(problems[0]?.message).toContain(`at most ${MAX_SAME_VALUE_CHECKS}`);
    // The same chain with one reference a level is 22 checks: fine, and it validates at once.
    const chain = { $defs: defs(22, 1), $ref: '#/$defs/d21' };
    expect(checkSchema(chain)).toEqual([]);
    expect(compileSchema(chain)(1, 'data')).toEqual([]);
  });
});
