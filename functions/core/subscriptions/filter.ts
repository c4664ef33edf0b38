/**
 * Content filters of a subscription, in Amazon EventBridge event-pattern syntax, matched against
 * `{type, data}` of an event: `{"type": ["order.paid"], "data": {"total": [{"numeric": [">", 100]}]}}`.
 *
 * Semantics follow the EventBridge user guide ("Event pattern syntax", "Comparison operators for
 * use in event patterns", "Arrays in event patterns") and Event Ruler, the library behind it:
 * - every field of a pattern must match (AND); a field's array lists alternatives (OR);
 * - `"$or": [pattern, pattern, ...]` at any object level: any one branch must match;
 * - an event value that is an array matches when any of its elements does; a nested pattern under
 *   an array of objects must match within one element (all of its fields in the same element);
 * - a field absent from the event matches only `{"exists": false}`; `exists` looks at leaf values,
 *   so a field holding an object (or an empty array) counts as absent;
 * - exact values match only the same JSON type (`"5"` is not `5`); numbers compare numerically;
 * - prefix, suffix, equals-ignore-case and wildcard match strings only, numeric numbers only;
 * - anything-but matches any leaf value it does not exclude, of whatever type (anything-but
 *   `"paid"` matches `null` and `3`), never an absent field.
 *
 * Matching builds no regular expression: wildcards run a linear, backtracking-free matcher.
 */
import * as z from 'zod/mini';
import '../zod.ts';

/** The filter as JSON, at most (UTF-8 bytes). */
export const MAX_FILTER_BYTES = 4096;
/** Objects within objects, at most: the filter itself is level 1, `data` level 2, `$or` branches one more. */
export const MAX_FILTER_DEPTH = 8;
/** Values and matchers in all the filter's arrays together, at most (each anything-but list item counts). */
export const MAX_FILTER_VALUES = 300;
/** Branches of one `$or`, at most (EventBridge needs at least 2). */
export const MAX_FILTER_OR_BRANCHES = 10;
/** Unescaped `*` in one wildcard pattern, at most. */
export const MAX_FILTER_WILDCARDS = 5;

/** Issues reported for one filter, at most. */
const MAX_ISSUES = 20;

type Scalar = string | number | boolean | null;
type NumericOperator = '=' | '<' | '<=' | '>' | '>=';
type IgnoreCase = { 'equals-ignore-case': string };
type Strings = string | string[];
type AnythingBut =
  | string
  | number
  | string[]
  | number[]
  | { prefix: Strings }
  | { suffix: Strings }
  | { wildcard: Strings }
  | { 'equals-ignore-case': Strings };
type Matcher =
  | { prefix: string | IgnoreCase }
  | { suffix: string | IgnoreCase }
  | { 'equals-ignore-case': string }
  | { wildcard: string }
  | { numeric: [NumericOperator, number] | ['>' | '>=', number, '<' | '<=', number] }
  | { exists: boolean }
  | { 'anything-but': AnythingBut };
/** What one field must be: any of these values or matchers. */
type Leaf = Array<Scalar | Matcher>;
/** Fields of an object in the event: each a leaf, a nested pattern, or (`$or`) alternatives. */
interface FieldPattern {
  $or?: FieldPattern[];
  [field: string]: Leaf | FieldPattern | FieldPattern[] | undefined;
}

/** A valid content filter (what {@link FilterSchema} accepts). */
export interface EventFilter {
  type?: Leaf;
  data?: FieldPattern;
  $or?: EventFilter[];
}

const MATCHERS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard', 'anything-but', 'numeric', 'exists'];
const ANYTHING_BUT_MATCHERS = ['prefix', 'suffix', 'wildcard', 'equals-ignore-case'];
const OPERATORS = ['=', '<', '<=', '>', '>='];
const NUMERIC_SHAPE = 'numeric needs an operator followed by a number: [">", 0] or [">", 0, "<=", 5]';

type Path = (string | number)[];
type Issue = { path: Path; message: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function hasOwn(o: object, key: string): boolean {
  return Object.hasOwn(o, key);
}

/** Walks a candidate filter once, collecting issues and counting values. */
class Validator {
  readonly issues: Issue[] = [];
  values = 0;

  fail(path: Path, message: string): void {
    if (this.issues.length < MAX_ISSUES) this.issues.push({ path, message });
  }

  top(filter: Record<string, unknown>, path: Path, depth: number): void {
    if (depth > MAX_FILTER_DEPTH) {
      this.fail(path, `nests deeper than ${MAX_FILTER_DEPTH} levels of objects`);
      return;
    }
    const keys = Object.keys(filter);
    if (keys.length === 0) {
      this.fail(path, 'must name at least one field (type, data or $or)');
      return;
    }
    for (const key of keys) {
      const value = filter[key];
      const at = [...path, key];
      switch (key) {
        case 'type':
          this.leaf(value, at);
          break;
        case 'data':
          if (isRecord(value)) this.pattern(value, at, depth + 1);
          else
            this.fail(
              at,
              'must be an object of field patterns (data is an object), e.g. {"status": ["paid"]}',
            );
          break;
        case '$or':
          this.or(value, at, depth, (b, p, d) => this.top(b, p, d));
          break;
        default:
          this.fail(
            at,
            `the filter matches {type, data}: unknown top-level field "${key}"; expected type, data or $or`,
          );
      }
    }
  }

  pattern(pattern: Record<string, unknown>, path: Path, depth: number): void {
    if (depth > MAX_FILTER_DEPTH) {
      this.fail(path, `nests deeper than ${MAX_FILTER_DEPTH} levels of objects`);
      return;
    }
    const keys = Object.keys(pattern);
    if (keys.length === 0) {
      this.fail(path, 'must name at least one field');
      return;
    }
    for (const key of keys) {
      const value = pattern[key];
      const at = [...path, key];
      if (key === '$or') this.or(value, at, depth, (b, p, d) => this.pattern(b, p, d));
      else if (Array.isArray(value)) this.leaf(value, at);
      else if (isRecord(value)) this.pattern(value, at, depth + 1);
      else this.fail(at, 'must be an array of values or matchers, or an object of nested fields');
    }
  }

  or(
    value: unknown,
    path: Path,
    depth: number,
    branch: (b: Record<string, unknown>, path: Path, depth: number) => void,
  ): void {
    if (!Array.isArray(value) || value.length < 2 || value.length > MAX_FILTER_OR_BRANCHES) {
      this.fail(path, `$or must be an array of 2 to ${MAX_FILTER_OR_BRANCHES} patterns`);
      return;
    }
    value.forEach((b, i) => {
      if (isRecord(b)) branch(b, [...path, i], depth + 1);
      else this.fail([...path, i], 'each $or branch must be an object of field patterns');
    });
  }

  leaf(value: unknown, path: Path): void {
    if (!Array.isArray(value)) {
      this.fail(path, 'must be an array of values or matchers');
      return;
    }
    if (value.length === 0) {
      this.fail(path, 'must list at least one value or matcher');
      return;
    }
    value.forEach((item, i) => {
      const at = [...path, i];
      if (isRecord(item)) this.matcher(item, at);
      else if (typeof item === 'number' && !Number.isFinite(item)) this.fail(at, 'must be a finite number');
      else if (item === null || ['string', 'number', 'boolean'].includes(typeof item)) this.values++;
      else this.fail(at, 'must be a string, number, boolean, null or matcher object');
    });
  }

  matcher(m: Record<string, unknown>, path: Path): void {
    const keys = Object.keys(m);
    const [key] = keys;
    if (key === undefined || keys.length > 1) {
      this.fail(path, 'a matcher has exactly one key, e.g. {"prefix": "ord_"}');
      return;
    }
    const value = m[key];
    const at = [...path, key];
    this.values++;
    switch (key) {
      case 'prefix':
      case 'suffix': {
        const ignoreCase =
          isRecord(value) &&
          Object.keys(value).length === 1 &&
          typeof value['equals-ignore-case'] === 'string';
        if (typeof value !== 'string' && !ignoreCase) {
          this.fail(at, `${key} needs a string or {"equals-ignore-case": string}`);
        }
        break;
      }
      case 'equals-ignore-case':
        if (typeof value !== 'string') this.fail(at, 'equals-ignore-case needs a string');
        break;
      case 'wildcard':
        this.wildcard(value, at);
        break;
      case 'exists':
        if (typeof value !== 'boolean') this.fail(at, 'exists needs true or false');
        break;
      case 'numeric':
        this.numeric(value, at);
        break;
      case 'anything-but':
        this.anythingBut(value, at);
        break;
      default:
        this.fail(at, `unknown matcher "${key}"; expected one of ${MATCHERS.join(', ')}`);
    }
  }

  wildcard(value: unknown, path: Path): void {
    if (typeof value !== 'string') {
      this.fail(path, 'wildcard needs a string');
      return;
    }
    let stars = 0;
    let previousStar = false;
    for (let i = 0; i < value.length; i++) {
      const c = value[i];
      if (c === '\\') {
        const next = value[i + 1];
        if (next !== '*' && next !== '\\') {
          this.fail(path, 'wildcard may escape only * and \\ with a backslash (\\* or \\\\)');
          return;
        }
        i++;
        previousStar = false;
      } else if (c === '*') {
        if (previousStar) {
          this.fail(path, 'wildcard may not hold consecutive * characters');
          return;
        }
        stars++;
        previousStar = true;
      } else previousStar = false;
    }
    if (stars > MAX_FILTER_WILDCARDS) {
      this.fail(path, `wildcard may hold at most ${MAX_FILTER_WILDCARDS} * characters`);
    }
  }

  numeric(value: unknown, path: Path): void {
    if (!Array.isArray(value) || (value.length !== 2 && value.length !== 4)) {
      this.fail(path, NUMERIC_SHAPE);
      return;
    }
    for (let i = 0; i < value.length; i += 2) {
      const op: unknown = value[i];
      if (typeof op !== 'string') {
        this.fail([...path, i], NUMERIC_SHAPE);
        return;
      }
      if (!OPERATORS.includes(op)) {
        this.fail([...path, i], `unknown numeric operator "${op}"; expected one of ${OPERATORS.join(', ')}`);
        return;
      }
      if (!isFiniteNumber(value[i + 1])) {
        this.fail([...path, i + 1], NUMERIC_SHAPE);
        return;
      }
    }
    if (value.length === 4) {
      if (value[0] !== '>' && value[0] !== '>=') {
        this.fail([...path, 0], 'a numeric range starts with its lower bound: > or >=');
        return;
      }
      if (value[2] !== '<' && value[2] !== '<=') {
        this.fail([...path, 2], 'a numeric range ends with its upper bound: < or <=');
        return;
      }
      if (value[1] >= value[3])
        this.fail(path, "a numeric range's lower bound must be below its upper bound");
    }
  }

  anythingBut(value: unknown, path: Path): void {
    if (typeof value === 'string') return;
    if (isFiniteNumber(value)) return;
    if (Array.isArray(value)) {
      if (value.length === 0) {
        this.fail(path, 'anything-but needs at least one value');
        return;
      }
      this.values += value.length - 1;
      const kind = typeof value[0];
      value.forEach((v, i) => {
        if (
          (kind !== 'string' && kind !== 'number') ||
          typeof v !== kind ||
          (kind === 'number' && !isFiniteNumber(v))
        ) {
          this.fail([...path, i], 'anything-but lists only strings or only numbers');
        }
      });
      return;
    }
    if (isRecord(value)) {
      const keys = Object.keys(value);
      const [key] = keys;
      if (key === undefined || keys.length > 1) {
        this.fail(path, 'anything-but takes one matcher, e.g. {"prefix": "test_"}');
        return;
      }
      const at = [...path, key];
      if (!ANYTHING_BUT_MATCHERS.includes(key)) {
        this.fail(
          at,
          `unknown anything-but matcher "${key}"; expected one of ${ANYTHING_BUT_MATCHERS.join(', ')}`,
        );
        return;
      }
      const inner = value[key];
      const list = Array.isArray(inner) ? inner : [inner];
      if (list.length === 0) {
        this.fail(at, `${key} needs at least one string`);
        return;
      }
      this.values += list.length - 1;
      list.forEach((s, i) => {
        const sAt = Array.isArray(inner) ? [...at, i] : at;
        if (typeof s !== 'string') this.fail(sAt, `${key} needs a string or an array of strings`);
        else if (key === 'wildcard') this.wildcard(s, sAt);
      });
      return;
    }
    this.fail(
      path,
      'anything-but needs a string, a number, an array of either, or {prefix|suffix|wildcard|equals-ignore-case}',
    );
  }
}

function validate(filter: unknown): Issue[] {
  if (!isRecord(filter)) return [{ path: [], message: 'must be an object (an EventBridge event pattern)' }];
  let json: string | undefined;
  try {
    json = JSON.stringify(filter);
  } catch {
    json = undefined;
  }
  if (json === undefined) return [{ path: [], message: 'must be JSON' }];
  if (Buffer.byteLength(json) > MAX_FILTER_BYTES) {
    return [{ path: [], message: `must be at most ${MAX_FILTER_BYTES} bytes as JSON` }];
  }
  const unstorable = storableIssue(filter, []);
  if (unstorable) return [unstorable];
  const v = new Validator();
  v.top(filter, [], 1);
  if (v.issues.length === 0 && v.values > MAX_FILTER_VALUES) {
    v.fail([], `must hold at most ${MAX_FILTER_VALUES} values and matchers in total (has ${v.values})`);
  }
  return v.issues;
}

/**
 * What the subscription's item could not hold as given (it is stored as a DynamoDB map): numbers
 * JavaScript or DynamoDB cannot keep exactly, and field names a map cannot have.
 */
function storableIssue(value: unknown, path: Array<string | number>): Issue | undefined {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      return {
        path,
        message: 'must be a whole number within ±9007199254740991; match larger ids as strings',
      };
    }
    if (value !== 0 && (Math.abs(value) < 1e-130 || Math.abs(value) >= 1e126)) {
      return { path, message: 'must lie between 1e-130 and 1e126 in magnitude (or be 0)' };
    }
    return undefined;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const issue = storableIssue(value[i], [...path, i]);
      if (issue) return issue;
    }
    return undefined;
  }
  if (isRecord(value)) {
    for (const key of Object.keys(value)) {
      if (key === '' || key === '__proto__') {
        return { path: [...path, key], message: `"${key}" is not a field name a filter can hold` };
      }
      const issue = storableIssue(value[key], [...path, key]);
      if (issue) return issue;
    }
  }
  return undefined;
}

/**
 * A subscription's `filter`: an EventBridge event pattern over `{type, data}`, bounded in size,
 * depth and values. Issues point at the bad place (`data.price.0.numeric.1`).
 */
export const FilterSchema: z.ZodMiniType<EventFilter> = z.custom<EventFilter>().check(
  z.superRefine((filter, ctx) => {
    for (const issue of validate(filter)) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path, input: filter });
    }
  }),
);

// ---------------------------------------------------------------------------------------------
// Matching

type Pattern = Record<string, unknown>;
const EMPTY: Record<string, unknown> = Object.freeze({});

/** Whether `event` passes `filter` (a filter {@link FilterSchema} accepted). Pure; never throws. */
export function matchesFilter(
  filter: EventFilter,
  event: { type: string; data: Record<string, unknown> },
): boolean {
  try {
    return matchObject(filter as Pattern, { type: event.type, data: event.data });
  } catch {
    // Unreachable for valid filters and JSON data; a filter that cannot be evaluated matches nothing.
    return false;
  }
}

function matchObject(pattern: Pattern, value: unknown): boolean {
  const obj = isRecord(value) ? value : EMPTY;
  for (const key of Object.keys(pattern)) {
    const p = pattern[key];
    if (key === '$or') {
      if (!Array.isArray(p) || !p.some((branch) => isRecord(branch) && matchObject(branch, obj)))
        return false;
    } else if (Array.isArray(p)) {
      if (!matchLeaf(p, hasOwn(obj, key) ? obj[key] : undefined)) return false;
    } else if (isRecord(p)) {
      if (!matchNested(p, hasOwn(obj, key) ? obj[key] : undefined)) return false;
    } else return false;
  }
  return true;
}

/** A nested pattern under an array of objects must match one element as a whole. */
function matchNested(pattern: Pattern, value: unknown): boolean {
  if (Array.isArray(value)) {
    const objects = flatten(value).filter(isRecord);
    if (objects.length > 0) return objects.some((o) => matchObject(pattern, o));
  }
  return matchObject(pattern, value);
}

/** Elements of an array and of the arrays within it, iteratively (deep JSON cannot overflow the stack). */
function flatten(array: unknown[]): unknown[] {
  const out: unknown[] = [];
  const stack: unknown[][] = [array];
  const index: number[] = [0];
  while (stack.length > 0) {
    const top = stack.length - 1;
    const current = stack[top] as unknown[];
    const i = index[top] as number;
    if (i >= current.length) {
      stack.pop();
      index.pop();
      continue;
    }
    index[top] = i + 1;
    const item = current[i];
    if (Array.isArray(item)) {
      stack.push(item);
      index.push(0);
    } else out.push(item);
  }
  return out;
}

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** The leaf values of a field: itself, or the scalars of its array; none for objects and absent fields. */
function leafValues(value: unknown): Scalar[] {
  if (Array.isArray(value)) return flatten(value).filter(isScalar);
  return isScalar(value) ? [value] : [];
}

function matchLeaf(leaf: unknown[], value: unknown): boolean {
  const values = leafValues(value);
  if (values.length === 0) {
    return leaf.some((m) => isRecord(m) && hasOwn(m, 'exists') && m.exists === false);
  }
  for (const m of leaf) {
    if (isRecord(m) && hasOwn(m, 'exists')) {
      if (m.exists === true) return true;
      continue;
    }
    for (const v of values) if (matchValue(m, v)) return true;
  }
  return false;
}

function lower(s: string): string {
  return s.toLowerCase();
}

function matchValue(m: unknown, v: Scalar): boolean {
  if (!isRecord(m)) return m === v;
  const [key] = Object.keys(m);
  if (key === undefined) return false;
  const arg = m[key];
  switch (key) {
    case 'prefix':
      if (typeof v !== 'string') return false;
      if (typeof arg === 'string') return v.startsWith(arg);
      return isRecord(arg) && typeof arg['equals-ignore-case'] === 'string'
        ? lower(v).startsWith(lower(arg['equals-ignore-case']))
        : false;
    case 'suffix':
      if (typeof v !== 'string') return false;
      if (typeof arg === 'string') return v.endsWith(arg);
      return isRecord(arg) && typeof arg['equals-ignore-case'] === 'string'
        ? lower(v).endsWith(lower(arg['equals-ignore-case']))
        : false;
    case 'equals-ignore-case':
      return typeof v === 'string' && typeof arg === 'string' && lower(v) === lower(arg);
    case 'wildcard':
      return typeof v === 'string' && typeof arg === 'string' && matchWildcard(arg, v);
    case 'numeric':
      return typeof v === 'number' && Array.isArray(arg) && matchNumeric(arg, v);
    case 'anything-but':
      return !excludedBy(arg, v);
    default:
      return false;
  }
}

function matchNumeric(terms: unknown[], v: number): boolean {
  for (let i = 0; i + 1 < terms.length; i += 2) {
    const bound = terms[i + 1];
    if (typeof bound !== 'number') return false;
    const ok =
      terms[i] === '='
        ? v === bound
        : terms[i] === '<'
          ? v < bound
          : terms[i] === '<='
            ? v <= bound
            : terms[i] === '>'
              ? v > bound
              : terms[i] === '>='
                ? v >= bound
                : false;
    if (!ok) return false;
  }
  return terms.length > 0;
}

/** Whether anything-but's argument excludes `v`; string forms exclude strings only. */
function excludedBy(arg: unknown, v: Scalar): boolean {
  if (Array.isArray(arg)) return arg.includes(v);
  if (!isRecord(arg)) return arg === v;
  if (typeof v !== 'string') return false;
  const [key] = Object.keys(arg);
  if (key === undefined) return false;
  const inner = arg[key];
  const list = (Array.isArray(inner) ? inner : [inner]).filter((s): s is string => typeof s === 'string');
  switch (key) {
    case 'prefix':
      return list.some((s) => v.startsWith(s));
    case 'suffix':
      return list.some((s) => v.endsWith(s));
    case 'equals-ignore-case':
      return list.some((s) => lower(s) === lower(v));
    case 'wildcard':
      return list.some((s) => matchWildcard(s, v));
    default:
      return false;
  }
}

/** The literal pieces between a wildcard's unescaped `*`s, escapes (`\*`, `\\`) resolved. */
function wildcardSegments(pattern: string): string[] {
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) {
      current += pattern[i + 1];
      i++;
    } else if (c === '*') {
      segments.push(current);
      current = '';
    } else current += c;
  }
  segments.push(current);
  return segments;
}

/**
 * `*` matches any run of characters. The first piece must start the value, the last end it, and
 * the middle ones occur in order between: taking each at its leftmost place is always right for
 * `*`-only patterns, so there is no backtracking.
 */
function matchWildcard(pattern: string, value: string): boolean {
  const segments = wildcardSegments(pattern);
  const first = segments[0] as string;
  if (segments.length === 1) return value === first;
  const last = segments[segments.length - 1] as string;
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  const end = value.length - last.length;
  let pos = first.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const segment = segments[i] as string;
    const at = value.indexOf(segment, pos);
    if (at < 0 || at + segment.length > end) return false;
    pos = at + segment.length;
  }
  return true;
}
