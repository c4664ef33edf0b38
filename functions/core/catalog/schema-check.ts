import type { Schema } from '@cfworker/json-schema';
import type { ErrorDetail } from '../errors.ts';
import type { JsonObject } from './event-type.ts';
import { compileSchema, resolveRefs } from './validator.ts';

/** The only draft the catalog takes (and the one `$schema` may name). */
export const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';

/** Nesting of a schema, at most: the validator recurses once per level. */
export const MAX_SCHEMA_DEPTH = 32;

/**
 * The draft 2020-12 meta-schema's rules for each keyword's value (its core, applicator,
 * unevaluated, validation, meta-data, format and content vocabularies), written for the validator
 * we run: it has no `$dynamicRef`, which the official meta-schema recurses with, so subschemas
 * refer to this root directly. Unknown keywords are allowed, as the spec says (annotations).
 */
const SUB = { $ref: '#' };
const SCHEMA_ARRAY = { type: 'array', minItems: 1, items: SUB };
const SCHEMA_MAP = { type: 'object', additionalProperties: SUB };
const COUNT = { type: 'integer', minimum: 0 };
const NUMBER = { type: 'number' };
const STRING = { type: 'string' };
const BOOLEAN = { type: 'boolean' };
const STRINGS = { type: 'array', items: STRING, uniqueItems: true };
const SIMPLE_TYPES = { enum: ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string'] };

const META_SCHEMA = {
  type: ['object', 'boolean'],
  properties: {
    $id: { type: 'string', format: 'uri-reference', pattern: '^[^#]*#?$' },
    $schema: { type: 'string', format: 'uri' },
    $ref: { type: 'string', format: 'uri-reference' },
    $anchor: { type: 'string', pattern: '^[A-Za-z_][-A-Za-z0-9._]*$' },
    $comment: STRING,
    $defs: SCHEMA_MAP,
    $vocabulary: { type: 'object', additionalProperties: BOOLEAN },
    prefixItems: SCHEMA_ARRAY,
    items: SUB,
    contains: SUB,
    additionalProperties: SUB,
    properties: SCHEMA_MAP,
    patternProperties: SCHEMA_MAP,
    dependentSchemas: SCHEMA_MAP,
    propertyNames: SUB,
    if: SUB,
    // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword, in a schema
    then: SUB,
    else: SUB,
    allOf: SCHEMA_ARRAY,
    anyOf: SCHEMA_ARRAY,
    oneOf: SCHEMA_ARRAY,
    not: SUB,
    unevaluatedItems: SUB,
    unevaluatedProperties: SUB,
    // if/then/else rather than anyOf, so that a wrong type name is reported as itself.
    type: {
      if: { type: 'array' },
      // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword, in a schema
      then: { items: SIMPLE_TYPES, minItems: 1, uniqueItems: true },
      else: SIMPLE_TYPES,
    },
    enum: { type: 'array' },
    multipleOf: { type: 'number', exclusiveMinimum: 0 },
    maximum: NUMBER,
    exclusiveMaximum: NUMBER,
    minimum: NUMBER,
    exclusiveMinimum: NUMBER,
    maxLength: COUNT,
    minLength: COUNT,
    pattern: STRING,
    maxItems: COUNT,
    minItems: COUNT,
    uniqueItems: BOOLEAN,
    maxContains: COUNT,
    minContains: COUNT,
    maxProperties: COUNT,
    minProperties: COUNT,
    required: STRINGS,
    dependentRequired: { type: 'object', additionalProperties: STRINGS },
    title: STRING,
    description: STRING,
    deprecated: BOOLEAN,
    readOnly: BOOLEAN,
    writeOnly: BOOLEAN,
    examples: { type: 'array' },
    format: STRING,
    contentEncoding: STRING,
    contentMediaType: STRING,
    contentSchema: SUB,
  },
};

let metaValidator: ReturnType<typeof compileSchema> | undefined;

/**
 * Keywords of 2020-12 (or earlier drafts) the validator does not evaluate in 2020-12 mode: a schema
 * using them would be checked more loosely than its author meant, so it is refused instead.
 */
const UNSUPPORTED: Record<string, string> = {
  $dynamicRef: 'is not supported by the relay; use $ref',
  $dynamicAnchor: 'is not supported by the relay; use $anchor',
  $recursiveRef: 'is a draft 2019-09 keyword; use $ref',
  $recursiveAnchor: 'is a draft 2019-09 keyword; use $anchor',
  definitions: 'is a draft 7 keyword; use $defs',
  dependencies: 'is a draft 7 keyword; use dependentRequired or dependentSchemas',
  additionalItems: 'is a draft 2019-09 keyword; use items with prefixItems',
};

/** Subschema keywords, by how they hold their subschemas. */
const ONE = ['items', 'contains', 'additionalProperties', 'propertyNames', 'if', 'then', 'else', 'not'];
const ONE_MORE = ['unevaluatedItems', 'unevaluatedProperties', 'contentSchema'];
const ARRAY = ['prefixItems', 'allOf', 'anyOf', 'oneOf'];
const MAP = ['$defs', 'properties', 'patternProperties', 'dependentSchemas'];
/** Subschemas applied to the same value as their parent (no step into the data). */
const SAME_VALUE_ONE = new Set(['if', 'then', 'else', 'not']);
const SAME_VALUE_ARRAY = new Set(['allOf', 'anyOf', 'oneOf']);

type Node = Schema & Record<string, unknown>;

interface Visit {
  node: Node;
  /** Dotted path under `schema`. */
  path: string;
}

/** Every subschema (objects only; `true`/`false` need no check), with its path. */
function subschemas(node: Node, path: string): Array<Visit & { sameValue: boolean }> {
  const out: Array<Visit & { sameValue: boolean }> = [];
  const add = (value: unknown, p: string, sameValue: boolean) => {
    if (value && typeof value === 'object' && !Array.isArray(value))
      out.push({ node: value as Node, path: p, sameValue });
  };
  for (const k of [...ONE, ...ONE_MORE]) add(node[k], `${path}.${k}`, SAME_VALUE_ONE.has(k));
  for (const k of ARRAY) {
    const list = node[k];
    if (!Array.isArray(list)) continue;
    for (const [i, v] of list.entries()) add(v, `${path}.${k}.${i}`, SAME_VALUE_ARRAY.has(k));
  }
  for (const k of MAP) {
    const map = node[k];
    if (map && typeof map === 'object' && !Array.isArray(map)) {
      for (const [name, v] of Object.entries(map)) add(v, `${path}.${k}.${name}`, k === 'dependentSchemas');
    }
  }
  return out;
}

function regexError(source: string): string | undefined {
  try {
    new RegExp(source, 'u');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function depthOf(value: unknown, limit: number, depth = 0): number {
  if (depth > limit || !value || typeof value !== 'object') return depth;
  let max = depth;
  for (const v of Object.values(value)) max = Math.max(max, depthOf(v, limit, depth + 1));
  return max;
}

/**
 * The problems of a catalog schema, each at its path under `schema` (none when it is fine): it
 * must be a draft 2020-12 schema the validator evaluates exactly (no keyword it would skip), every
 * `$ref` within the schema itself (nothing is fetched), and no `$ref` loop that would recurse
 * without stepping into the data. Only the management API runs this; ingest compiles what passed.
 */
export function checkSchema(schema: JsonObject): ErrorDetail[] {
  if (depthOf(schema, MAX_SCHEMA_DEPTH) > MAX_SCHEMA_DEPTH) {
    return [{ path: 'schema', message: `must nest at most ${MAX_SCHEMA_DEPTH} levels deep` }];
  }
  if (schema.$schema !== undefined && schema.$schema !== DRAFT_2020_12) {
    return [
      {
        path: 'schema.$schema',
        message: `must be ${DRAFT_2020_12} (or absent): only draft 2020-12 is supported`,
      },
    ];
  }
  metaValidator ??= compileSchema(META_SCHEMA);
  const shape = metaValidator(schema, 'schema');
  if (shape.length) return shape;

  const problems: ErrorDetail[] = [];
  const walk = (v: Visit) => {
    for (const [k, message] of Object.entries(UNSUPPORTED)) {
      if (k in v.node) problems.push({ path: `${v.path}.${k}`, message });
    }
    // Patterns are compiled as the validator compiles them (Unicode mode), each time it runs.
    const patterns = [
      ...(typeof v.node.pattern === 'string' ? [{ path: `${v.path}.pattern`, source: v.node.pattern }] : []),
      ...Object.keys((v.node.patternProperties as object | undefined) ?? {}).map((source) => ({
        path: `${v.path}.patternProperties.${source}`,
        source,
      })),
    ];
    for (const p of patterns) {
      const error = regexError(p.source);
      if (error) problems.push({ path: p.path, message: `must be a valid regular expression: ${error}` });
      else {
        const unsafe = unsafeRegexReason(p.source);
        if (unsafe) problems.push({ path: p.path, message: unsafe });
      }
    }
    for (const s of subschemas(v.node, v.path)) walk(s);
  };
  walk({ node: schema as Node, path: 'schema' });
  if (problems.length) return problems;

  // Resolved as compileSchema resolves it.
  let resolved: ReturnType<typeof resolveRefs>;
  try {
    resolved = resolveRefs(schema);
  } catch (err) {
    return [{ path: 'schema', message: `cannot be compiled: ${(err as Error).message}` }];
  }
  const copy = resolved.root as Node;
  const { lookup } = resolved;
  const visits: Visit[] = [];
  const walkCopy = (v: Visit) => {
    visits.push(v);
    for (const s of subschemas(v.node, v.path)) walkCopy(s);
  };
  walkCopy({ node: copy, path: 'schema' });
  const targetOf = (v: Visit): Node | boolean | undefined => {
    const ref = v.node.__absolute_ref__ ?? v.node.$ref;
    return ref === undefined ? undefined : (lookup[ref] as Node | boolean | undefined);
  };
  for (const v of visits) {
    if (v.node.$ref !== undefined && targetOf(v) === undefined) {
      problems.push({
        path: `${v.path}.$ref`,
        message: `refers to ${JSON.stringify(v.node.$ref)}, which is not in this schema (nothing is fetched; use #/$defs/...)`,
      });
    }
  }
  if (problems.length) return problems;
  const loop = findSameValueLoop(visits, targetOf);
  if (loop) {
    return [
      {
        path: loop,
        message: 'is on a $ref loop that never steps into the data (the validator would recurse forever)',
      },
    ];
  }
  const fanOut = sameValueFanOut(visits, targetOf);
  if (fanOut > MAX_SAME_VALUE_CHECKS) {
    return [
      {
        path: 'schema',
        message: `applies ${fanOut > 1e15 ? 'more than 10^15' : fanOut} subschemas to one value through $ref, allOf, anyOf, oneOf and the like; at most ${MAX_SAME_VALUE_CHECKS} (a schema that multiplies its own work)`,
      },
    ];
  }
  return [];
}

/**
 * Subschemas one value may be checked against at most, through `$ref`s and the applicators that
 * check the same value (`allOf`, `anyOf`, ...): a schema of 22 `$defs`, each referring twice to
 * the one before, is 1.5 KB and makes 4 million checks of every value.
 */
export const MAX_SAME_VALUE_CHECKS = 10_000;

/** How many subschemas the worst value meets through same-value edges (a DAG: loops are refused first). */
function sameValueFanOut(
  visits: readonly Visit[],
  targetOf: (v: Visit) => Node | boolean | undefined,
): number {
  const byNode = new Map(visits.map((v) => [v.node, v]));
  const memo = new Map<Node, number>();
  const cost = (v: Visit): number => {
    const known = memo.get(v.node);
    if (known !== undefined) return known;
    memo.set(v.node, 1); // guards a loop the check above would have refused
    let total = 1;
    for (const next of subschemas(v.node, v.path)) if (next.sameValue) total += cost(next);
    const target = targetOf(v);
    const t = target && typeof target === 'object' ? byNode.get(target as Node) : undefined;
    if (t) total += cost(t);
    const capped = Math.min(total, 1e16);
    memo.set(v.node, capped);
    return capped;
  };
  return visits.reduce((max, v) => Math.max(max, cost(v)), 0);
}

/**
 * Why a pattern could take exponential time on some input (JavaScript's engine backtracks), or
 * undefined. Conservative: a repeated group may not itself contain a repetition, an alternation
 * or a backreference (`(a+)+`, `(a|a)*`, `(\w+\s?)*`); a range (`{2,5}`) is a repetition, a
 * fixed count (`{3}`) is not. Rewrite such a group as a character class or drop the outer
 * repetition.
 */
export function unsafeRegexReason(source: string): string | undefined {
  if (/\\[1-9]|\\k</.test(source)) return 'must not use backreferences (they can take exponential time)';
  // For each open group: whether it holds a repetition or an alternation.
  const stack: Array<{ risky: boolean }> = [];
  let lastGroupRisky = false;
  let i = 0;
  const quantifierAt = (j: number): boolean => {
    const c = source[j];
    if (c === '*' || c === '+') return true;
    // A range ({2,5}, {2,}) repeats a varying number of times; a fixed count ({3}) does not.
    if (c === '{') return /^\{\d*,\d*\}/.test(source.slice(j)) && !/^\{0?,[01]\}/.test(source.slice(j));
    return false;
  };
  while (i < source.length) {
    const c = source[i];
    if (c === '\\') {
      i += 2;
      lastGroupRisky = false;
    } else if (c === '[') {
      // A character class: skip to its end.
      i++;
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
      i++;
      lastGroupRisky = false;
    } else if (c === '(') {
      stack.push({ risky: false });
      i++;
    } else if (c === ')') {
      const group = stack.pop();
      lastGroupRisky = group?.risky ?? false;
      i++;
      if (quantifierAt(i) && lastGroupRisky) {
        return 'must not repeat a group that itself repeats or alternates, e.g. (a+)+ or (a|b)*: such patterns can take exponential time; use a character class, e.g. [ab]*';
      }
      // The group counts as a repetition inside its parent when it is quantified, or risky.
      if (stack.length && (lastGroupRisky || quantifierAt(i)))
        (stack.at(-1) as { risky: boolean }).risky = true;
    } else {
      if ((quantifierAt(i) || c === '|') && stack.length) (stack.at(-1) as { risky: boolean }).risky = true;
      i++;
    }
  }
  return undefined;
}

/**
 * A `$ref` loop the validator would follow forever: a schema that, through `$ref`, `allOf`,
 * `anyOf`, `oneOf`, `not`, `if`/`then`/`else` or `dependentSchemas` alone, reaches itself again
 * (the same value validated against the same schema). The path of a schema on the loop, if any.
 */
function findSameValueLoop(visits: readonly Visit[], targetOf: (v: Visit) => Node | boolean | undefined) {
  const byNode = new Map(visits.map((v) => [v.node, v]));
  const state = new Map<Node, 'open' | 'done'>();
  const edges = (v: Visit): Visit[] => {
    const next = subschemas(v.node, v.path).filter((s) => s.sameValue);
    const target = targetOf(v);
    if (target && typeof target === 'object') {
      const t = byNode.get(target as Node);
      if (t) next.push({ ...t, sameValue: true });
    }
    return next;
  };
  const visit = (v: Visit): string | undefined => {
    state.set(v.node, 'open');
    for (const next of edges(v)) {
      const s = state.get(next.node);
      if (s === 'open') return v.path;
      if (s === undefined) {
        const found = visit(next);
        if (found) return found;
      }
    }
    state.set(v.node, 'done');
    return undefined;
  };
  for (const v of visits) {
    if (!state.has(v.node)) {
      const found = visit(v);
      if (found) return found;
    }
  }
  return undefined;
}
