import { dereference, type OutputUnit, type Schema, validate } from '@cfworker/json-schema';
import type { ErrorDetail } from '../errors.ts';
import type { JsonObject } from './event-type.ts';

/**
 * Validates a value against a compiled schema: the problems, each at its path in dotted form
 * under `prefix` (`data.items.0.sku`), or none when it conforms.
 */
export type DataValidator = (value: unknown, prefix: string) => ErrorDetail[];

/** Problems reported per value, at most: a 400 names the first ones, not a thousand. */
export const MAX_REPORTED_ERRORS = 10;

/**
 * Compiles a catalog schema (already checked by schema-check.ts) with `@cfworker/json-schema`,
 * draft 2020-12, every error reported (no short circuit): what its `Validator` class does, with the
 * `$ref` lookup kept at hand for the messages. It interprets the schema (no code generation), which
 * keeps the ingest bundle small; compiling is only resolving the `$ref`s, done once per schema
 * revision by the caller.
 */
export function compileSchema(schema: JsonObject): DataValidator {
  const { root, lookup } = resolveRefs(schema);
  return (value, prefix) => {
    try {
      const { valid, errors } = validate(value, root, '2020-12', lookup, false);
      return valid ? [] : toDetails(errors, prefix, (location) => schemaAt(root, lookup, location));
    } catch (err) {
      // Data the validator cannot walk (a key that is not valid UTF-16): the data's problem.
      return [{ path: prefix, message: `cannot be checked against the schema: ${(err as Error).message}` }];
    }
  };
}

/**
 * The validator's output is a tree written out flat: a failed `properties` or `$ref` is reported
 * and then what failed inside it. Only the leaves say what is wrong; and below a failed
 * `anyOf`/`oneOf`/`not`/`contains`/`propertyNames` the failures of each alternative would mislead
 * (one of them was meant to fail), so those are reported as themselves.
 */
/**
 * A copy of the schema with its `$ref`s resolved, and the lookup of every URI it defines. The
 * validator marks up the objects it is given: the copy keeps the caller's (stored, cached) one as
 * it was. Throws for a schema defining one URI twice.
 */
export function resolveRefs(schema: JsonObject): { root: Schema; lookup: Record<string, Schema | boolean> } {
  const root = structuredClone(schema) as Schema;
  return { root, lookup: dereference(root) };
}

const WRAPPERS = new Set([
  'properties',
  'patternProperties',
  'additionalProperties',
  'unevaluatedProperties',
  'items',
  'prefixItems',
  'additionalItems',
  'unevaluatedItems',
  '$ref',
  '$recursiveRef',
  'allOf',
  'if',
  'then',
  'else',
  'dependentSchemas',
  'dependencies',
]);
const OPAQUE = new Set(['anyOf', 'oneOf', 'not', 'contains', 'propertyNames']);

function toDetails(
  errors: readonly OutputUnit[],
  prefix: string,
  schemaOf: (keywordLocation: string) => Record<string, unknown> | undefined,
): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const seen = new Set<string>();
  const opaque: string[] = [];
  for (const e of errors) {
    if (opaque.some((o) => e.keywordLocation.startsWith(o))) continue;
    if (WRAPPERS.has(e.keyword)) continue;
    if (OPAQUE.has(e.keyword)) opaque.push(`${e.keywordLocation}/`);
    const detail = describe(e, prefix, schemaOf);
    const key = `${detail.path}\n${detail.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(detail);
    if (out.length >= MAX_REPORTED_ERRORS) break;
  }
  return out;
}

/** The segments of a location the validator wrote (`#/a~1b/0`: a JSON pointer, URI-encoded). */
function pointerSegments(location: string): string[] {
  return location
    .replace(/^#/, '')
    .split('/')
    .slice(1)
    .map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `#/items/0/a~1b` under `data`: `data.items.0.a/b`. */
export function dottedPath(instanceLocation: string, prefix: string): string {
  return [...(prefix ? [prefix] : []), ...pointerSegments(instanceLocation)].join('.') || '(root)';
}

const quote = (v: unknown) => {
  const text = JSON.stringify(v);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
};
const article = (type: string) =>
  /^[aeiou]/.test(type) ? `an ${type}` : type === 'null' ? 'null' : `a ${type}`;

/** One output unit as `{path, message}`, the message in the words of our other 400s. */
function describe(
  e: OutputUnit,
  prefix: string,
  schemaOf: (keywordLocation: string) => Record<string, unknown> | undefined,
): ErrorDetail {
  const path = dottedPath(e.instanceLocation, prefix);
  const s = schemaOf(e.keywordLocation) ?? {};
  const v = s[e.keyword];
  switch (e.keyword) {
    case 'type': {
      const types = [v].flat() as string[];
      return {
        path,
        message:
          types.length === 1 ? `must be ${article(String(types[0]))}` : `must be one of: ${types.join(', ')}`,
      };
    }
    case 'required': {
      const missing = /required property "(.*)"\.$/.exec(e.error)?.[1];
      return missing === undefined
        ? { path, message: e.error }
        : { path: `${path}.${missing}`, message: 'is required' };
    }
    case 'false':
      return { path, message: 'is not allowed by the schema' };
    case 'const':
      return { path, message: `must be ${quote(v)}` };
    case 'enum':
      return { path, message: `must be one of ${quote(v)}` };
    case 'minimum':
      return { path, message: `must be at least ${v}` };
    case 'maximum':
      return { path, message: `must be at most ${v}` };
    case 'exclusiveMinimum':
      return { path, message: `must be greater than ${v}` };
    case 'exclusiveMaximum':
      return { path, message: `must be less than ${v}` };
    case 'multipleOf':
      return { path, message: `must be a multiple of ${v}` };
    case 'minLength':
      return { path, message: `must be at least ${v} characters` };
    case 'maxLength':
      return { path, message: `must be at most ${v} characters` };
    case 'pattern':
      return { path, message: `must match the pattern ${quote(v)}` };
    case 'format':
      return { path, message: `must be a valid ${v}` };
    case 'minItems':
      return { path, message: `must hold at least ${v} items` };
    case 'maxItems':
      return { path, message: `must hold at most ${v} items` };
    case 'minProperties':
      return { path, message: `must have at least ${v} properties` };
    case 'maxProperties':
      return { path, message: `must have at most ${v} properties` };
    case 'anyOf':
      return { path, message: 'must match at least one of the schemas in anyOf' };
    case 'oneOf':
      return { path, message: 'must match exactly one of the schemas in oneOf' };
    case 'not':
      return { path, message: 'must not match the schema in not' };
    default:
      // uniqueItems, contains, dependentRequired, ...: the validator's own sentence.
      return { path, message: lowerFirst(e.error.replace(/^Instance /, '').replace(/\.$/, '')) };
  }
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/**
 * The schema object holding the keyword at a keyword location (`#/properties/a/$ref/minimum`),
 * following `$ref`s through the validator's lookup: for the limit a message quotes.
 */
function schemaAt(
  root: Schema,
  lookup: Record<string, Schema | boolean>,
  keywordLocation: string,
): Record<string, unknown> | undefined {
  const segments = pointerSegments(keywordLocation).slice(0, -1);
  let node: unknown = root;
  for (const seg of segments) {
    if (!node || typeof node !== 'object') return undefined;
    if (seg === '$ref') {
      const ref = (node as Schema).__absolute_ref__ ?? (node as Schema).$ref;
      node = ref === undefined ? undefined : lookup[ref];
    } else {
      node = (node as Record<string, unknown>)[seg];
    }
  }
  return node && typeof node === 'object' && !Array.isArray(node)
    ? (node as Record<string, unknown>)
    : undefined;
}
