import type { Agent } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isJsonMediaType } from '../../functions/handlers/http.ts';
import { matchPath, ROUTES } from '../../functions/handlers/routes.ts';
import type { LocalRelay } from '../../functions/local/runtime.ts';
import {
  fuzzAgent,
  oddString,
  percentEncode,
  preview,
  type RawRequest,
  type RawResponse,
  Rng,
  rawRequest,
  runPool,
} from '../support/fuzz.ts';
import { waitFor } from '../support/receiver.ts';
import { type client, startTestRelay } from '../support/relay.ts';

/**
 * A storm of generated malformed requests against one local relay: bad JSON, wrong types, huge
 * and odd strings, bad auth, wrong methods, odd paths. Every answer must be a 4xx JSON error,
 * never a 5xx, and the relay must keep serving afterwards. The generator is seeded: a failure
 * names its seed and the request's number; `FUZZ_SEED=<seed>` replays the same storm.
 */

const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed2026);
const CONCURRENCY = 16;
/** Requests per family. */
const PER_FAMILY = {
  'bad-json': 240,
  'wrong-types': 320,
  'odd-strings': 220,
  auth: 180,
  'wrong-methods': 160,
  'odd-paths': 220,
} as const;
type Family = keyof typeof PER_FAMILY;
const TOTAL = Object.values(PER_FAMILY).reduce((a, b) => a + b, 0);

/** The discard port: nothing listens there, and no request of this file should create anything. */
const SINK = 'http://127.0.0.1:9/';
const PAST = '2020-01-01T00:00:00Z';
const VALID_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
/** Marker of every prototype-pollution payload; checked on Object.prototype after the storm. */
const POLLUTED = 'fuzzPolluted';

interface Ctx {
  apiKey: string;
  adminKey: string;
  /** A disabled subscription to SINK, the target of PATCH, recover and rotate-secret requests. */
  subId: string;
}

interface FuzzCase extends RawRequest {
  family: Family;
  /** Which generator made it, for the report. */
  what: string;
  headers: Record<string, string | string[]>;
  /** The exact status the contract gives this request, where it is certain. */
  status?: number;
  /**
   * Only the "accepted text" cases of the odd-strings family: odd but valid text in free-text
   * fields (event data, a description). The contract accepts them, so a 2xx is allowed; they
   * are there to push odd strings through to the store and the bus.
   */
  may2xx?: true;
  /**
   * Refused by Node's HTTP parser (raw non-ASCII bytes in the request target, an unknown method
   * token, headers over 16 KiB) before any of the relay's code runs. Reported apart.
   */
  nodeParser?: true;
}

type Json = Record<string, unknown>;

/** Sets any key, `__proto__` included, as an own enumerable property that JSON.stringify writes. */
function setKey(o: Json, key: string, value: unknown): Json {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  return o;
}
const without = (o: Json, key: string): Json => {
  delete o[key];
  return o;
};
const b64 = (s: string) => Buffer.from(s).toString('base64url');
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const validEvent = (): Json => ({ type: 'fuzz.ok', data: { n: 1 } });

function contentType(r: Rng): Record<string, string> {
  const type = r.weighted<string | undefined>([
    [10, 'application/json'],
    [2, 'application/json; charset=utf-8'],
    [1, 'text/plain'],
    [1, 'application/octet-stream'],
    [1, 'application/x-www-form-urlencoded'],
    [1, 'multipart/form-data; boundary=x'],
    [1, 'application/json; charset=utf-16'],
    [1, undefined],
  ]);
  return type ? { 'content-type': type } : {};
}

// ---------------------------------------------------------------------------------------------
// The routes that read a JSON body, each with a valid body the generators break.
// ---------------------------------------------------------------------------------------------

interface BodyTarget {
  name: string;
  method: string;
  path: string;
  admin?: true;
  template: () => Json;
}

function bodyTargets(ctx: Ctx): BodyTarget[] {
  return [
    { name: 'event', method: 'POST', path: '/v1/events', template: validEvent },
    {
      name: 'batch',
      method: 'POST',
      path: '/v1/events/batch',
      template: () => ({ events: [validEvent(), validEvent()] }),
    },
    {
      name: 'subscription',
      method: 'POST',
      path: '/v1/subscriptions',
      template: () => ({ url: SINK, eventTypes: ['fuzz.never'], enabled: false }),
    },
    {
      name: 'patch',
      method: 'PATCH',
      path: `/v1/subscriptions/${ctx.subId}`,
      template: () => ({ description: 'fuzz' }),
    },
    {
      name: 'recover',
      method: 'POST',
      path: `/v1/subscriptions/${ctx.subId}/recover`,
      template: () => ({ from: PAST }),
    },
    {
      name: 'rotate',
      method: 'POST',
      path: `/v1/subscriptions/${ctx.subId}/rotate-secret`,
      template: () => ({ secret: VALID_SECRET }),
    },
    { name: 'replay', method: 'POST', path: '/v1/replays', admin: true, template: () => ({ from: PAST }) },
    {
      name: 'api-key',
      method: 'POST',
      path: '/v1/admin/api-keys',
      admin: true,
      template: () => ({ tenant: 'fuzz' }),
    },
  ];
}

const keyFor = (ctx: Ctx, t: { admin?: true }) => (t.admin ? ctx.adminKey : ctx.apiKey);

// ---------------------------------------------------------------------------------------------
// 1. Bad JSON: every body below is not JSON, or JSON that is not an object the route takes.
// ---------------------------------------------------------------------------------------------

const insertMember = (json: string, member: string) =>
  json === '{}' ? `{${member}}` : `${json.slice(0, -1)},${member}}`;

const BAD_JSON: Array<[string, (r: Rng, json: string) => string | Buffer]> = [
  ['truncated', (r, j) => j.slice(0, r.int(0, j.length - 1))],
  [
    'trailing comma',
    (r, j) => (r.chance(0.5) || !j.includes(']') ? `${j.slice(0, -1)},}` : j.replace(']', ',]')),
  ],
  [
    'NaN, Infinity and other non-JSON values',
    (r, j) =>
      insertMember(
        j,
        `"n":${r.pick(['NaN', 'Infinity', '-Infinity', 'undefined', '0x10', '01', '.5', '+1', '1.', 'True', 'None', "'x'"])}`,
      ),
  ],
  [
    'comments',
    (r, j) => r.pick([`// comment\n${j}`, `/* c */${j}`, `{/* c */${j.slice(1)}`, `${j}\n// end`, `#${j}`]),
  ],
  ['single quotes', (_r, j) => j.replaceAll('"', "'")],
  ['unquoted keys', (_r, j) => j.replace(/"([A-Za-z]+)":/g, '$1:')],
  ['byte order mark', (_r, j) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(j)])],
  [
    'UTF-16',
    (r, j) =>
      Buffer.concat([r.chance(0.5) ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0), Buffer.from(j, 'utf16le')]),
  ],
  [
    '10,000 nested brackets',
    (r) =>
      r.pick([
        '['.repeat(10_000),
        `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
        `${'['.repeat(10_000)}${']'.repeat(9_999)}`,
        `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`,
        '{'.repeat(10_000),
      ]),
  ],
  [
    'non-UTF-8 bytes',
    (r, j) => {
      const bad = Buffer.from(
        Array.from({ length: r.int(1, 32) }, () =>
          r.pick([0x80, 0xbf, 0xc0, 0xc1, 0xed, 0xa0, 0xf5, 0xfe, 0xff]),
        ),
      );
      return r.pick([
        Buffer.concat([bad, Buffer.from(j)]),
        Buffer.concat([Buffer.from(j), bad]),
        Buffer.concat([Buffer.from(j.slice(0, 1)), bad, Buffer.from(j.slice(1))]),
        bad,
      ]);
    },
  ],
  ['empty', () => ''],
  [
    'only whitespace',
    (r) => r.pick([' ', '\n\n', '\t \r\n ', '\u00a0', '\u2028', '\ufeff', ' '.repeat(10_000)]),
  ],
  [
    'JSON that is not an object',
    (r) => r.pick(['null', 'true', 'false', '0', '-1e309', '"text"', '""', '[]', '[{}]', '[null]']),
  ],
  ['trailing garbage', (r, j) => j + r.pick(['x', '}', '{}', ',', ' null', '\u0000', ']'])],
  // The first key again, with a number: JSON.parse keeps the last one.
  ['repeated key, the last one wrong', (_r, j) => insertMember(j, `${j.slice(1, j.indexOf(':'))}:12345`)],
  [
    'raw control character in a string',
    (r, j) => j.replace('":"', `":"${r.pick(['\u0000', '\u0001', '\n', '\t', '\u001f'])}`),
  ],
  ['invalid escape', (r, j) => j.replace('":"', `":"${r.pick(['\\x41', '\\uZZZZ', '\\q', '\\U0041'])}`)],
  ['NUL between tokens', (_r, j) => j.replace(':', ':\u0000')],
  ['unterminated string', (_r, j) => `${j.slice(0, j.indexOf('":"') + 3)}abc`],
];

function badJson(r: Rng, ctx: Ctx): FuzzCase {
  const t = r.pick(bodyTargets(ctx));
  const [what, make] = r.pick(BAD_JSON);
  let body = make(r, JSON.stringify(t.template()));
  // rotate-secret without a body rotates to a generated secret: a valid request. Whitespace is not.
  if (t.name === 'rotate' && Buffer.from(body).length === 0) body = ' ';
  const type = contentType(r);
  // A body that is not sent as JSON is a 415 before it is read; an empty one is a 400 either way.
  const asJson =
    isJsonMediaType(type['content-type'] ?? '') || Buffer.from(body).toString('utf8').trim() === '';
  return {
    family: 'bad-json',
    what: `${what} (${t.name})`,
    method: t.method,
    path: t.path,
    headers: { ...bearer(keyFor(ctx, t)), ...type },
    body,
    status: asJson ? 400 : 415,
  };
}

// ---------------------------------------------------------------------------------------------
// 2. Valid JSON with wrong types, missing or extra fields and out-of-range values. Every case
//    breaks at least one rule, and no breaker can repair what another broke.
// ---------------------------------------------------------------------------------------------

type Breaker = (r: Rng, o: Json) => unknown;

const ANY_VALUES: unknown[] = [1, 'x', null, true, {}, [], { admin: true }];
// Unknown to the strict schemas (events, batch, subscriptions, patch, rotate, api keys).
const EXTRA_KEYS = [
  'extra',
  'Type',
  'DATA',
  ' type',
  'type ',
  'constructor',
  'toString',
  'hasOwnProperty',
  '__proto__',
  'tenant',
  'subscriptionId',
  'receivedAt',
  '',
  '\u0000',
  '😀',
];
const BAD_TYPES: unknown[] = [
  123,
  0,
  1.5,
  null,
  true,
  [],
  ['a.b'],
  {},
  '',
  ' ',
  '.',
  'a..b',
  '.a',
  'a.',
  'bad type!',
  'a-b',
  'a/b',
  'ümlaut.x',
  'a.*',
  '*',
  'a\u0000b',
  'a'.repeat(129),
  `a.${'b'.repeat(127)}`,
  'x'.repeat(10_000),
];
const BAD_DATA: unknown[] = [[], [1, 2], 'x', '', null, 0, 1, true, 'null', '{}'];
const BAD_IDS: unknown[] = [
  'has.dot',
  'a.b.c',
  'evt_1.2',
  '',
  ' ',
  'a b',
  'x'.repeat(129),
  'x'.repeat(1000),
  'ü',
  '😀',
  'a/b',
  '../x',
  'a\u0000',
  42,
  null,
  true,
  [],
  {},
];
const BAD_TIMESTAMPS: unknown[] = [
  'yesterday',
  '',
  ' ',
  'now',
  '2026-13-01T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '2026-01-01',
  '2026-01-01T25:00:00Z',
  '2026-01-01T00:60:00Z',
  '2026-01-01T00:00:60Z',
  '2026-01-01T00:00:00',
  '2026-01-01 00:00:00Z',
  '2026-01-01T00:00:00+25:00',
  '2026-01-01T00:00:00.Z',
  '2026-01-01T00:00:00Zjunk',
  '+275760-09-13T00:00:00Z',
  '1e309',
  'NaN',
  'Infinity',
  '-1',
  '1700000000',
  1700000000,
  0,
  -1,
  null,
  true,
  [],
  {},
  'T'.repeat(1000),
];
const BAD_URLS: unknown[] = [
  'not a url',
  'javascript:alert(1)',
  'JavaScript:alert(1)',
  'ftp://127.0.0.1:9/',
  'file:///etc/passwd',
  'data:text/plain,hi',
  'mailto:a@b.c',
  'ws://127.0.0.1:9/',
  'gopher://127.0.0.1:9/',
  '',
  ' ',
  '127.0.0.1:9',
  '//127.0.0.1:9/',
  '/relative',
  'http://',
  'http://[::1',
  `http://127.0.0.1:9/${'a'.repeat(3000)}`,
  `http://${'a'.repeat(3000)}.example/`,
  42,
  null,
  true,
  [],
  {},
  [SINK],
];
const BAD_EVENT_TYPES: unknown[] = [
  [],
  [''],
  ['a.*.b'],
  ['a b'],
  ['**'],
  ['a.**'],
  ['.*'],
  [1],
  [null],
  ['x'.repeat(131)],
  ['ok', 'not ok'],
  'a.b',
  null,
  {},
  Array.from({ length: 10_000 }, () => 'a.b'),
  Array.from({ length: 101 }, (_, i) => `t${i}`),
];
const BAD_BOOLEANS: unknown[] = ['yes', 'true', 1, 0, null, [], {}];
const BAD_SECRETS: unknown[] = [
  'plain',
  'whsec_',
  'whsec_c2hvcnQ=',
  'whsec_!!!',
  `whsec_${'A'.repeat(200)}`,
  `WHSEC_${VALID_SECRET.slice(6)}`,
  '',
  42,
  null,
];
const BAD_DESCRIPTIONS: unknown[] = ['d'.repeat(1001), 42, null, {}, [], true];
const BAD_TENANTS: unknown[] = [
  '',
  'UPPER',
  'Default',
  '_x',
  '-x',
  'x'.repeat(64),
  'a b',
  'a.b',
  'ü',
  '😀',
  'a/b',
  'default\u0000',
  42,
  null,
  true,
  [],
  {},
];
/** Never a cursor the store hands out: not base64url of an object of string key attributes. */
const BAD_CURSORS: string[] = [
  'garbage',
  '!!!',
  'x'.repeat(2049),
  b64('null'),
  b64('[]'),
  b64('"pk"'),
  b64('1'),
  b64('{not json'),
  b64('{}'),
  b64('{"pk":1}'),
  b64('{"pk":null}'),
  b64('{"pk":"x"}'),
  b64('{"pk":"x","sk":"y"}'),
  b64('{"pk":"x","evil":"y"}'),
  b64('{"__proto__":{"pk":"x"}}'),
  b64('{"pk":1e400,"sk":"DLV"}'),
  b64('{"pk":"x","sk":"y","gsi3pk":"DEAD#another-tenant","gsi3sk":"z"}'),
];
const BAD_LIMITS = [
  '-1',
  '0',
  '-0',
  '101',
  '1000',
  'abc',
  '1e309',
  '1.5',
  '1e-5',
  '',
  ' ',
  'NaN',
  'Infinity',
  '-Infinity',
  '99999999999999999999',
  'null',
  'true',
  '[]',
  '０',
];

const eventBreakers: Breaker[] = [
  (r, o) => setKey(o, 'type', r.pick(BAD_TYPES)),
  (_r, o) => without(o, 'type'),
  (r, o) => setKey(o, 'data', r.pick(BAD_DATA)),
  (_r, o) => without(o, 'data'),
  (r, o) => setKey(o, 'id', r.pick(BAD_IDS)),
  (r, o) => setKey(o, 'timestamp', r.pick(BAD_TIMESTAMPS)),
  (r, o) => setKey(o, r.pick(EXTRA_KEYS), r.pick(ANY_VALUES)),
];

const breakEvent = (r: Rng, event: Json = validEvent()): Json => {
  for (let i = r.int(1, 3); i > 0; i--) r.pick(eventBreakers)(r, event);
  return event;
};

const batchBreakers: Breaker[] = [
  (_r, o) => setKey(o, 'events', []),
  (r, o) => setKey(o, 'events', Array.from({ length: r.pick([101, 150, 1000]) }, validEvent)),
  (r, o) => setKey(o, 'events', r.pick(['x', null, {}, 1, validEvent(), [1], [null], [[]]])),
  (r, o) => {
    const events = Array.isArray(o.events) ? (o.events as Json[]) : [];
    events.splice(r.int(0, events.length), 0, breakEvent(r));
    setKey(o, 'events', events);
  },
  (r, o) => setKey(o, r.pick(EXTRA_KEYS), r.pick(ANY_VALUES)),
  (_r, o) => without(o, 'events'),
];

const subscriptionBreakers: Breaker[] = [
  (r, o) => setKey(o, 'url', r.pick(BAD_URLS)),
  (r, o) => setKey(o, 'eventTypes', r.pick(BAD_EVENT_TYPES)),
  (r, o) => setKey(o, 'enabled', r.pick(BAD_BOOLEANS)),
  (r, o) => setKey(o, 'description', r.pick(BAD_DESCRIPTIONS)),
  (r, o) => setKey(o, r.pick(EXTRA_KEYS), r.pick(ANY_VALUES)),
];

const createBreakers: Breaker[] = [
  ...subscriptionBreakers,
  (_r, o) => without(o, 'url'),
  (_r, o) => without(o, 'eventTypes'),
  (r, o) => setKey(o, 'secret', r.pick(BAD_SECRETS)),
];

const patchBreakers: Breaker[] = [
  ...subscriptionBreakers,
  // Fields a patch may not set (mass assignment), valid values or not.
  (r, o) =>
    setKey(
      o,
      r.pick(['secret', 'id', 'tenant', 'createdAt', 'updatedAt', 'previousSecrets', 'disabledReason']),
      r.pick([VALID_SECRET, 'sub_x', 'other', PAST, [], null]),
    ),
];

// Windows (recover, replay) are not strict objects: unknown keys are dropped, so no extra-key breaker.
const windowBreakers: Breaker[] = [
  (r, o) => setKey(o, 'from', r.pick(BAD_TIMESTAMPS)),
  (_r, o) => without(o, 'from'),
  (r, o) => setKey(o, 'from', r.pick(['2999-01-01T00:00:00Z', '9999-12-31T23:59:59Z'])),
  (r, o) => {
    setKey(o, 'from', '2020-01-02T00:00:00Z');
    setKey(o, 'to', r.pick(['2020-01-01T00:00:00Z', '2020-01-02T00:00:00Z', '2020-01-01T23:59:59.999Z']));
  },
  (r, o) => {
    setKey(o, 'to', r.pick(BAD_TIMESTAMPS));
  },
];
const recoverBreakers: Breaker[] = [
  ...windowBreakers,
  (r, o) => setKey(o, 'cursor', r.pick<unknown>([...BAD_CURSORS, 42, null, [], {}])),
];

const apiKeyBreakers: Breaker[] = [
  (r, o) => setKey(o, 'tenant', r.pick(BAD_TENANTS)),
  (_r, o) => without(o, 'tenant'),
  (r, o) => setKey(o, 'description', r.pick(['d'.repeat(201), 42, null, [], {}])),
  (r, o) => setKey(o, r.pick(['key', 'hash', 'id', 'admin', 'createdAt', ...EXTRA_KEYS]), r.pick(ANY_VALUES)),
];

function brokenBody(r: Rng, template: Json, breakers: Breaker[]): string {
  const o = template;
  for (let i = r.int(1, 3); i > 0; i--) r.pick(breakers)(r, o);
  return JSON.stringify(o);
}

function query(params: Array<[string, string]>): string {
  return params.map(([k, v]) => `${k}=${v}`).join('&');
}

function wrongTypes(r: Rng, ctx: Ctx): FuzzCase {
  const tenant = { ...bearer(ctx.apiKey), 'content-type': 'application/json' };
  const admin = { ...bearer(ctx.adminKey), 'content-type': 'application/json' };
  const base = { family: 'wrong-types' as const, status: 400 };
  const kind = r.pick(['event', 'batch', 'subscription', 'patch', 'recover', 'replay', 'api-key', 'query']);
  switch (kind) {
    case 'event':
      return {
        ...base,
        what: 'event',
        method: 'POST',
        path: '/v1/events',
        headers: tenant,
        body: JSON.stringify(breakEvent(r)),
      };
    case 'batch':
      return {
        ...base,
        what: 'batch',
        method: 'POST',
        path: '/v1/events/batch',
        headers: tenant,
        body: brokenBody(r, { events: Array.from({ length: r.int(1, 100) }, validEvent) }, batchBreakers),
      };
    case 'subscription':
      return {
        ...base,
        what: 'subscription',
        method: 'POST',
        path: '/v1/subscriptions',
        headers: tenant,
        body: brokenBody(r, { url: SINK, eventTypes: ['fuzz.never'], enabled: false }, createBreakers),
      };
    case 'patch':
      return {
        ...base,
        what: 'patch',
        method: 'PATCH',
        path: `/v1/subscriptions/${ctx.subId}`,
        headers: tenant,
        // An empty patch is itself invalid (it must change something).
        body: r.chance(0.1) ? '{}' : brokenBody(r, { description: 'fuzz' }, patchBreakers),
      };
    case 'recover':
      return {
        ...base,
        what: 'recover',
        method: 'POST',
        path: `/v1/subscriptions/${ctx.subId}/recover`,
        headers: tenant,
        body: brokenBody(r, { from: PAST }, recoverBreakers),
      };
    case 'replay':
      return {
        ...base,
        what: 'replay',
        method: 'POST',
        path: '/v1/replays',
        headers: admin,
        body: brokenBody(r, { from: PAST }, windowBreakers),
      };
    case 'api-key':
      return {
        ...base,
        what: 'api key',
        method: 'POST',
        path: '/v1/admin/api-keys',
        headers: admin,
        body: brokenBody(r, { tenant: 'fuzz' }, apiKeyBreakers),
      };
    default: {
      // Query strings: at least one bad limit or cursor; unknown parameters are ignored.
      const params: Array<[string, string]> = [];
      const bad = r.pick(['limit', 'cursor', 'both', 'repeated-limit']);
      if (bad === 'limit' || bad === 'both') params.push(['limit', encodeURIComponent(r.pick(BAD_LIMITS))]);
      if (bad === 'cursor' || bad === 'both')
        params.push(['cursor', encodeURIComponent(r.pick(BAD_CURSORS))]);
      if (bad === 'cursor') params.push(['limit', String(r.int(1, 100))]);
      if (bad === 'repeated-limit') params.push(['limit', '1'], ['limit', '2']);
      if (r.chance(0.3)) params.push([r.pick(['x', '__proto__', 'constructor', 'toString', '']), 'y']);
      if (r.chance(0.15)) {
        return {
          ...base,
          what: 'query: bad tenant',
          method: 'GET',
          path: `/v1/admin/api-keys?tenant=${encodeURIComponent(String(r.pick(BAD_TENANTS.filter((t) => typeof t === 'string'))))}`,
          headers: bearer(ctx.adminKey),
        };
      }
      const path = r.pick(['/v1/dlq', `/v1/subscriptions/${ctx.subId}/deliveries`]);
      return {
        ...base,
        what: `query: ${bad}`,
        method: 'GET',
        path: `${path}?${query(r.chance(0.5) ? params : params.reverse())}`,
        headers: bearer(ctx.apiKey),
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Huge and odd strings.
// ---------------------------------------------------------------------------------------------

function latin1Header(s: string): string {
  // Header values travel as bytes: UTF-8 bytes read as Latin-1, minus what no header may hold.
  return Buffer.from(s, 'utf8')
    .toString('latin1')
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}

/** A string of at least `min` code points (the unit the schemas' length limits count in). */
function oddAtLeast(r: Rng, min: number, max: number): string {
  let s = oddString(r, max);
  while ([...s].length < min) s += s;
  return s;
}

function oddStrings(r: Rng, ctx: Ctx): FuzzCase {
  const base = { family: 'odd-strings' as const };
  const tenant = { ...bearer(ctx.apiKey), 'content-type': 'application/json' };
  const admin = { ...bearer(ctx.adminKey), 'content-type': 'application/json' };
  const targets = bodyTargets(ctx);
  const kind = r.weighted([
    [25, 'huge'],
    [33, 'unicode'],
    [15, 'pollution'],
    [12, 'long-header'],
    [3, 'header-over-16KB'],
    [12, 'accepted-text'],
  ] as const);
  switch (kind) {
    case 'huge': {
      // Over the 256 KiB body limit: 413 before anything is parsed.
      const t = r.pick(targets);
      const [what, body] = r.pick<[string, () => string | Buffer]>([
        ['300 KB string field', () => JSON.stringify({ ...t.template(), pad: 'x'.repeat(300_000) })],
        ['300 KB of spaces before JSON', () => ' '.repeat(300_000) + JSON.stringify(t.template())],
        ['300 KB of euro signs', () => '€'.repeat(100_000)],
        [
          '300 KB of emoji in a field',
          () => JSON.stringify({ ...t.template(), description: '😀'.repeat(75_000) }),
        ],
        ['300 KB array', () => `[${'1,'.repeat(150_000)}1]`],
        ['300 KB of random bytes', () => Buffer.from(Array.from({ length: 300_000 }, () => r.int(0, 255)))],
      ]);
      return {
        ...base,
        what: `${what} (${t.name})`,
        method: t.method,
        path: t.path,
        headers: { ...bearer(keyFor(ctx, t)), ...contentType(r) },
        body: body(),
        status: 413,
      };
    }
    case 'unicode': {
      // Odd text where the contract takes none: 400 (or 404 for ids in paths).
      const odd = oddString(r, r.pick([20, 200, 5_000, 30_000]));
      const where = r.pick([
        'event.type',
        'event.id',
        'event.timestamp',
        'event.data',
        'event key',
        'batch type',
        'subscription.url',
        'subscription.eventTypes',
        'subscription.description',
        'patch.eventTypes',
        'patch.url',
        'recover.from',
        'recover.cursor',
        'replay.from',
        'api-key.tenant',
        'api-key.description',
        'id in path',
        'query value',
      ]);
      const post = (path: string, body: Json, headers = tenant): FuzzCase => ({
        ...base,
        what: `odd text in ${where}`,
        method: 'POST',
        path,
        headers,
        body: JSON.stringify(body),
        status: 400,
      });
      switch (where) {
        case 'event.type':
          return post('/v1/events', { type: odd, data: {} });
        case 'event.id':
          return post('/v1/events', { ...validEvent(), id: odd });
        case 'event.timestamp':
          return post('/v1/events', { ...validEvent(), timestamp: odd });
        case 'event.data':
          return post('/v1/events', { type: 'fuzz.ok', data: odd });
        case 'event key':
          return post('/v1/events', setKey(validEvent(), odd, odd));
        case 'batch type':
          return post('/v1/events/batch', { events: [validEvent(), { type: odd, data: {} }] });
        case 'subscription.url':
          return post('/v1/subscriptions', { url: odd, eventTypes: ['fuzz.never'], enabled: false });
        case 'subscription.eventTypes':
          return post('/v1/subscriptions', { url: SINK, eventTypes: [odd], enabled: false });
        case 'subscription.description':
          return post('/v1/subscriptions', {
            url: SINK,
            eventTypes: ['fuzz.never'],
            enabled: false,
            description: oddAtLeast(r, 1001, 20_000),
          });
        case 'patch.eventTypes':
        case 'patch.url':
          return {
            ...post(
              `/v1/subscriptions/${ctx.subId}`,
              where === 'patch.url' ? { url: odd } : { eventTypes: [odd] },
            ),
            method: 'PATCH',
          };
        case 'recover.from':
          return post(`/v1/subscriptions/${ctx.subId}/recover`, { from: odd });
        case 'recover.cursor':
          return post(`/v1/subscriptions/${ctx.subId}/recover`, { from: PAST, cursor: odd.slice(0, 2048) });
        case 'replay.from':
          return post('/v1/replays', { from: odd }, admin);
        case 'api-key.tenant':
          return post('/v1/admin/api-keys', { tenant: odd }, admin);
        case 'api-key.description':
          return post(
            '/v1/admin/api-keys',
            { tenant: 'fuzz', description: oddAtLeast(r, 201, 5_000) },
            admin,
          );
        case 'id in path': {
          const route = r.pick([
            '/v1/events/{}',
            '/v1/subscriptions/{}',
            '/v1/subscriptions/{}/secret',
            '/v1/subscriptions/{}/deliveries',
            '/v1/deliveries/{}',
          ]);
          return {
            ...base,
            what: `odd text in ${where}`,
            method: 'GET',
            // At most 9,000 characters: the request line must stay under Node's 16 KiB header limit.
            path: route.replace('{}', percentEncode(odd.slice(0, r.pick([10, 80, 3_000]))).slice(0, 9_000)),
            headers: bearer(ctx.apiKey),
            status: 404,
          };
        }
        default: {
          const enc = percentEncode(odd.slice(0, 1_000));
          const [path, headers] = r.pick<[string, Record<string, string>]>([
            [`/v1/dlq?limit=${enc}`, bearer(ctx.apiKey)],
            [`/v1/dlq?cursor=${enc}`, bearer(ctx.apiKey)],
            [`/v1/subscriptions/${ctx.subId}/deliveries?limit=${enc}`, bearer(ctx.apiKey)],
            [`/v1/admin/api-keys?tenant=${enc}`, bearer(ctx.adminKey)],
          ]);
          return { ...base, what: `odd text in ${where}`, method: 'GET', path, headers, status: 400 };
        }
      }
    }
    case 'pollution': {
      const p = `{"${POLLUTED}":true}`;
      const [what, method, path, body, headers] = r.pick<[string, string, string, string, Json]>([
        [
          '__proto__ in an event',
          'POST',
          '/v1/events',
          `{"__proto__":${p},"type":"fuzz.ok","data":{}}`,
          tenant,
        ],
        [
          'constructor.prototype in an event',
          'POST',
          '/v1/events',
          `{"type":"fuzz.ok","data":{},"constructor":{"prototype":${p}}}`,
          tenant,
        ],
        [
          '__proto__ in a batched event',
          'POST',
          '/v1/events/batch',
          `{"events":[{"__proto__":${p},"type":"fuzz.ok","data":{}}]}`,
          tenant,
        ],
        [
          '__proto__ beside events',
          'POST',
          '/v1/events/batch',
          `{"__proto__":${p},"events":[{"type":"fuzz.ok","data":{}}]}`,
          tenant,
        ],
        [
          '__proto__ in a subscription',
          'POST',
          '/v1/subscriptions',
          `{"__proto__":${p},"url":"${SINK}","eventTypes":["fuzz.never"],"enabled":false}`,
          tenant,
        ],
        [
          '__proto__ as the whole patch',
          'PATCH',
          `/v1/subscriptions/${ctx.subId}`,
          `{"__proto__":{"${POLLUTED}":true,"enabled":true,"url":"http://127.0.0.1:9/p"}}`,
          tenant,
        ],
        [
          '__proto__ beside a patch',
          'PATCH',
          `/v1/subscriptions/${ctx.subId}`,
          `{"description":"fuzz","__proto__":{"enabled":true}}`,
          tenant,
        ],
        [
          'constructor.prototype as the whole patch',
          'PATCH',
          `/v1/subscriptions/${ctx.subId}`,
          `{"constructor":{"prototype":${p}}}`,
          tenant,
        ],
        [
          '__proto__ holding the window',
          'POST',
          `/v1/subscriptions/${ctx.subId}/recover`,
          `{"__proto__":{"${POLLUTED}":true,"from":"${PAST}"}}`,
          tenant,
        ],
        [
          'constructor.prototype holding the window',
          'POST',
          '/v1/replays',
          `{"constructor":{"prototype":{"${POLLUTED}":true,"from":"${PAST}"}}}`,
          admin,
        ],
        [
          '__proto__ in a rotation',
          'POST',
          `/v1/subscriptions/${ctx.subId}/rotate-secret`,
          `{"__proto__":{"secret":"${VALID_SECRET}"}}`,
          tenant,
        ],
        [
          '__proto__ beside a tenant',
          'POST',
          '/v1/admin/api-keys',
          `{"tenant":"fuzz","__proto__":${p}}`,
          admin,
        ],
        [
          '__proto__ in the query string',
          'GET',
          `/v1/dlq?__proto__[${POLLUTED}]=1&constructor[prototype][${POLLUTED}]=1&limit=0`,
          '',
          bearer(ctx.apiKey),
        ],
        [
          '__proto__ and constructor as query keys',
          'GET',
          `/v1/subscriptions/${ctx.subId}/deliveries?__proto__=x&constructor=y&toString=z&limit=abc`,
          '',
          bearer(ctx.apiKey),
        ],
        [
          '__proto__ as a tenant filter',
          'GET',
          '/v1/admin/api-keys?tenant=__proto__',
          '',
          bearer(ctx.adminKey),
        ],
        [
          '__proto__ and constructor headers',
          'POST',
          '/v1/events',
          '{',
          setKey(setKey(setKey({ ...tenant }, '__proto__', 'x'), 'constructor', 'y'), 'prototype', 'z'),
        ],
      ]);
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(headers)) setKey(h, k, String(v));
      return { ...base, what, method, path, headers: h, ...(body ? { body } : {}), status: 400 };
    }
    case 'long-header': {
      const size = r.int(4_000, 12_000);
      const [what, headers, status] = r.pick<[string, Record<string, string>, number]>([
        ['long custom header', { ...tenant, 'x-fuzz-long': r.chars('abcXYZ019-_', size) }, 400],
        [
          'long bearer key',
          { 'content-type': 'application/json', authorization: `Bearer ${'k'.repeat(size)}` },
          401,
        ],
        ['long authorization', { 'content-type': 'application/json', authorization: 'x'.repeat(size) }, 401],
        [
          'long content-type',
          { ...tenant, 'content-type': `application/json; ${'a=b; '.repeat(size / 5)}` },
          400,
        ],
        [
          'long user-agent and cookie',
          { ...tenant, 'user-agent': 'u'.repeat(size / 2), cookie: 'c=v; '.repeat(size / 10) },
          400,
        ],
        [
          'a hundred headers',
          {
            ...tenant,
            ...Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`x-fuzz-${i}`, 'v'.repeat(80)])),
          },
          400,
        ],
        ['odd bytes in a header', { ...tenant, 'x-fuzz-odd': latin1Header(oddString(r, 2_000)) }, 400],
      ]);
      return { ...base, what, method: 'POST', path: '/v1/events', headers, body: '{', status };
    }
    case 'header-over-16KB':
      // Beyond Node's 16 KiB header limit: refused by Node's HTTP parser before any relay code runs.
      return {
        ...base,
        what: 'header over 16 KB',
        nodeParser: true,
        method: 'POST',
        path: '/v1/events',
        headers: { ...tenant, 'x-fuzz-huge': 'h'.repeat(r.int(17_000, 40_000)) },
        body: '{',
      };
    default: {
      // Odd but valid text in free-text fields: the contract accepts it (2xx allowed, see may2xx).
      const data = (): Json => {
        const d: Json = { text: oddString(r, 2_000), list: [oddString(r, 50), { k: oddString(r, 50) }] };
        setKey(d, oddString(r, 40), oddString(r, 200));
        if (r.chance(0.3)) setKey(d, '__proto__', { [POLLUTED]: true });
        if (r.chance(0.3)) setKey(d, 'constructor', { prototype: { [POLLUTED]: true } });
        return d;
      };
      const [what, method, path, body] = r.pick<[string, string, string, () => Json]>([
        ['odd text in event data', 'POST', '/v1/events', () => ({ type: 'fuzz.odd', data: data() })],
        [
          'odd text in batched event data',
          'POST',
          '/v1/events/batch',
          () => ({ events: Array.from({ length: r.int(1, 5) }, () => ({ type: 'fuzz.odd', data: data() })) }),
        ],
        [
          'odd text in a description',
          'PATCH',
          `/v1/subscriptions/${ctx.subId}`,
          () => ({ description: oddString(r, 1_000).slice(0, 1_000) }),
        ],
      ]);
      return { ...base, what, method, path, headers: tenant, body: JSON.stringify(body()), may2xx: true };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Auth: no key, a wrong key or scheme (401), the other kind of key (403).
// ---------------------------------------------------------------------------------------------

function concreteRoute(ctx: Ctx, path: string): string {
  if (path.startsWith('/v1/subscriptions/{id}')) return path.replace('{id}', ctx.subId);
  if (path.startsWith('/v1/admin/api-keys/{id}')) return path.replace('{id}', `key_${'0'.repeat(24)}`);
  return path.replace('{id}', 'fuzz_id');
}

/** A valid body for each route, so that only the key decides. */
function validBodyFor(route: { method: string; path: string }): string | undefined {
  if (route.method === 'GET' || route.method === 'DELETE') return undefined;
  const bodies: Record<string, Json> = {
    '/v1/events': validEvent(),
    '/v1/events/batch': { events: [validEvent()] },
    '/v1/subscriptions': { url: SINK, eventTypes: ['fuzz.never'], enabled: false },
    '/v1/subscriptions/{id}': { description: 'changed by a request without a valid key' },
    '/v1/subscriptions/{id}/rotate-secret': { secret: VALID_SECRET },
    '/v1/subscriptions/{id}/recover': { from: PAST },
    '/v1/replays': { from: PAST },
    '/v1/admin/api-keys': { tenant: 'fuzz' },
  };
  return JSON.stringify(bodies[route.path] ?? {});
}

function auth(r: Rng, ctx: Ctx): FuzzCase {
  const routes = ROUTES.filter((route) => !route.public);
  const kind = r.weighted([
    [60, 'bad'],
    [20, 'admin-on-tenant'],
    [20, 'tenant-on-admin'],
  ] as const);
  const pool =
    kind === 'admin-on-tenant'
      ? routes.filter((route) => !route.admin && !route.either)
      : kind === 'tenant-on-admin'
        ? routes.filter((route) => route.admin)
        : routes;
  const route = r.pick(pool);
  let path = concreteRoute(ctx, route.path);
  let method: string = route.method;
  if (kind === 'bad' && r.chance(0.1)) {
    path = r.pick(['/', '/v1', '/v1/nothing', '/v2/events', '/health/x']);
    method = r.pick(['GET', 'POST', 'DELETE']);
  }
  const body = validBodyFor(route);
  const json: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  const base = { family: 'auth' as const, method, path, ...(body === undefined ? {} : { body }) };
  if (kind === 'admin-on-tenant') {
    return {
      ...base,
      what: 'admin key on a tenant route',
      headers: { ...bearer(ctx.adminKey), ...json },
      status: 403,
    };
  }
  if (kind === 'tenant-on-admin') {
    return {
      ...base,
      what: 'tenant key on an admin route',
      headers: { ...bearer(ctx.apiKey), ...json },
      status: 403,
    };
  }
  const key = ctx.apiKey;
  const [what, authorization] = r.pick<[string, string | string[] | undefined]>([
    ['no Authorization', undefined],
    ['empty Authorization', ''],
    ['Bearer without a key', 'Bearer'],
    ['Bearer and spaces', 'Bearer    '],
    ['Basic scheme', `Basic ${Buffer.from(`${key}:`).toString('base64')}`],
    ['Token scheme', `Token ${key}`],
    ['key without a scheme', key],
    ['Bearer: with a colon', `Bearer: ${key}`],
    ['Bearer glued to the key', `Bearer${key}`],
    ['Digest scheme', `Digest username="${key}"`],
    ['wrong key', 'Bearer wrong'],
    ['key plus a character', `Bearer ${key}x`],
    ['key minus a character', `Bearer ${key.slice(0, -1)}`],
    ['key in upper case', `Bearer ${key.toUpperCase()}`],
    ['key twice', `Bearer ${key} ${key}`],
    ['key with a space inside', `Bearer ${key.slice(0, 2)} ${key.slice(2)}`],
    ['key with Latin-1 letters', `Bearer ${key.replace(/e/g, '\u00eb')}`],
    ['key as UTF-8 read as Latin-1', `Bearer ${latin1Header(`🔑${key}`)}`],
    ['a made-up tenant key', `Bearer rk_${r.chars('abcdefghijklmnopqrstuvwxyz0123456789_-', r.int(0, 60))}`],
    ['a made-up admin key', `Bearer adm_${r.chars('abcdefghijklmnopqrstuvwxyz', 20)}`],
    ['quoted key', `Bearer "${key}"`],
    ['two Authorization headers, the first wrong', ['Bearer wrong', `Bearer ${key}`]],
  ]);
  const headers: Record<string, string | string[]> = { ...json };
  if (authorization !== undefined) headers.authorization = authorization;
  return { ...base, what, headers, status: 401 };
}

// ---------------------------------------------------------------------------------------------
// 5. Wrong methods on known paths: 405 with the methods the path takes.
// ---------------------------------------------------------------------------------------------

const METHODS = (
  'GET POST PUT PATCH DELETE OPTIONS HEAD TRACE PROPFIND PROPPATCH MKCOL COPY MOVE LOCK UNLOCK PURGE ' +
  'SEARCH REPORT LINK UNLINK QUERY'
).split(' ');
/** Method tokens Node's HTTP parser does not know: refused before any relay code runs. */
const UNKNOWN_METHODS = ['FOO', 'BREW', 'GETS', 'FUZZ'];

function wrongMethods(r: Rng, ctx: Ctx): FuzzCase {
  const patterns = [...new Set(ROUTES.map((route) => route.path))];
  const pattern = r.pick(patterns);
  const concrete = concreteRoute(ctx, pattern);
  // Every method some route takes on this path (`GET /v1/events/batch` reads the event "batch").
  const allowed = ROUTES.filter((route) => matchPath(route.path, concrete)).map(
    (route) => route.method as string,
  );
  const path = concrete + (r.chance(0.15) ? '/' : '');
  const key = r.chance(0.5) ? ctx.apiKey : ctx.adminKey;
  const body = r.chance(0.5) ? validBodyFor({ method: 'POST', path: pattern }) : undefined;
  const headers = { ...bearer(key), ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
  if (r.chance(0.04)) {
    const method = r.pick(UNKNOWN_METHODS);
    return {
      family: 'wrong-methods',
      what: `unknown method ${method}`,
      nodeParser: true,
      method,
      path,
      headers,
    };
  }
  const method = r.pick(METHODS.filter((m) => !allowed.includes(m)));
  return {
    family: 'wrong-methods',
    what: `${method} on ${pattern}`,
    method,
    path,
    headers,
    ...(body === undefined || method === 'HEAD' ? {} : { body }),
    status: 405,
  };
}

// ---------------------------------------------------------------------------------------------
// 6. Odd paths, sent as raw request targets. Each starts from a path that is invalid for its
//    method, and is only changed in ways that cannot make it valid: the URL parser undoes dot
//    segments, backslashes and absolute forms, the relay strips trailing slashes, and every
//    other change leaves a path no route matches.
// ---------------------------------------------------------------------------------------------

/** An id segment that names nothing and cannot collapse the path to its parent (no lone `.`). */
function oddId(r: Rng): string {
  return r.pick([
    '%00',
    'a%00b',
    '%2F',
    'a%2Fb',
    '%2f..%2f',
    '%ZZ',
    '%',
    '%E2%82',
    '%ED%A0%80',
    '%F0%9F%98%80',
    '%C0%AF',
    '%FF%FE',
    '%25',
    '%2525',
    '%20',
    '%09',
    '%0D%0A',
    '%23',
    '%3F',
    '..',
    '%2e%2e',
    '.%2E',
    '...',
    'a;b=c',
    'a:b',
    ...`; , * ~ ' $ ( ! @ : = & + [ ] " < > ^ \` { } |`.split(' '),
    `sub_${'0'.repeat(26)}`,
    'a'.repeat(256),
    'a'.repeat(257),
    'a'.repeat(r.int(258, 10_000)),
    percentEncode(oddString(r, 60)),
  ]);
}

const UNKNOWN_PATHS = [
  '/',
  '/v1',
  '/v2/events',
  '/v1/nothing',
  '/V1/EVENTS',
  '/v1/Events',
  '/v1/events/batch/more',
  '/v1/subscriptions/x/y/z',
  '/api/v1/events',
  '/.env',
  '/.git/config',
  '/admin',
  '/v1/admin',
  '/health/x',
  '/healthz',
  '/v1/dlq/x/y',
  '/favicon.ico',
  '/v1/events%2Fbatch',
  '/v1%2Fevents',
  '/%76%31/events',
  '/v1/%65vents',
  '/*',
];

interface Start {
  path: string;
  what: string;
  body?: string;
  /** Overrides the method asked for (known paths come with the method they refuse). */
  method?: string;
}

/** A path invalid for `method`, the body that goes with it (never valid), and a label. */
function invalidPath(r: Rng, method: string): Start {
  const body = method === 'POST' || method === 'PATCH' ? '{' : undefined;
  const withBody = (p: { path: string; what: string }) => (body === undefined ? p : { ...p, body });
  const kind = r.weighted([
    [4, 'id'],
    [2, 'unknown'],
    [1, 'long'],
    [1, 'known'],
  ] as const);
  if (kind === 'unknown') return withBody({ path: r.pick(UNKNOWN_PATHS), what: 'unknown path' });
  if (kind === 'long') {
    const n = r.pick([257, 300, 2_000, 10_000]);
    return withBody({
      path: r.pick([`/v1/${'a'.repeat(n)}`, `/${'b'.repeat(n)}`, `/v1/events/${'c'.repeat(n)}/x`]),
      what: `${n}-character segment`,
    });
  }
  if (kind === 'known') {
    // Known paths with a method or key they refuse (the tenant key is sent).
    const [m, p] = r.pick([
      ['GET', '/v1/events/batch'],
      ['POST', '/v1/events'],
      ['POST', '/v1/events/batch'],
      ['DELETE', '/v1/subscriptions'],
      ['POST', '/v1/subscriptions'],
      ['GET', '/v1/dlq/redrive'],
      ['POST', '/v1/dlq/redrive'],
      ['PUT', '/v1/dlq'],
      ['GET', '/v1/replays'],
      ['POST', '/v1/admin/api-keys'],
      ['GET', '/v1/admin/api-keys'],
    ]);
    return { path: p, what: `${m} ${p}`, method: m, ...(m === 'POST' ? { body: '{' } : {}) };
  }
  const byMethod: Record<string, string[]> = {
    GET: [
      '/v1/events/{}',
      '/v1/subscriptions/{}',
      '/v1/subscriptions/{}/secret',
      '/v1/subscriptions/{}/deliveries',
      '/v1/deliveries/{}',
      '/v1/replays/{}',
    ],
    DELETE: ['/v1/subscriptions/{}', '/v1/admin/api-keys/{}', '/v1/events/{}'],
    POST: [
      '/v1/subscriptions/{}/test',
      '/v1/subscriptions/{}/rotate-secret',
      '/v1/subscriptions/{}/recover',
      '/v1/deliveries/{}/retry',
      '/v1/events/{}',
    ],
    PATCH: ['/v1/subscriptions/{}', '/v1/deliveries/{}'],
    PUT: ['/v1/subscriptions/{}', '/v1/events/{}', '/v1/subscriptions/{}/secret'],
  };
  const template = r.pick(byMethod[method] ?? (byMethod.GET as string[]));
  return withBody({ path: template.replace('{}', oddId(r)), what: `odd id in ${template}` });
}

/** Where the path starts in a target that may begin with a scheme and authority. */
function pathStart(p: string): number {
  const authority = /^([a-z]+:)?\/\/[^/]*/i.exec(p);
  return authority ? authority[0].length : 0;
}

const TRANSFORMS: Array<[string, (r: Rng, p: string) => string]> = [
  ['trailing slashes', (r, p) => p + r.pick(['/', '//', '///'])],
  [
    'double slash inside',
    (r, p) => {
      const slashes = [...p.matchAll(/\//g)].map((m) => m.index).filter((i) => i > pathStart(p));
      if (slashes.length === 0) return `${p}//x`;
      const i = r.pick(slashes);
      return `${p.slice(0, i)}/${p.slice(i)}`;
    },
  ],
  [
    'dot segments',
    (r, p) => {
      // Self-cancelling pairs only: `/x/..`, `/.`; inserted at a segment boundary.
      const pair = r.pick([
        '/.',
        '/%2e',
        '/%2E',
        '/x/..',
        '/v1/..',
        '/x/%2e%2e',
        '/x/.%2E',
        `/${'d'.repeat(300)}/..`,
      ]);
      const q = p.indexOf('?');
      const pathPart = q === -1 ? p : p.slice(0, q);
      const bounds = [...pathPart.matchAll(/\//g)].map((m) => m.index).filter((i) => i >= pathStart(p));
      const at = r.pick([...bounds, pathPart.length]);
      return p.slice(0, at) + pair + p.slice(at);
    },
  ],
  [
    'backslashes',
    (_r, p) => {
      const at = pathStart(p) + 1;
      return p.slice(0, at) + p.slice(at).replaceAll('/', '\\');
    },
  ],
  [
    'absolute form or authority',
    (r, p) =>
      r.pick([
        'http://127.0.0.1',
        'http://fuzz.invalid',
        'http://user:pass@fuzz.invalid:1',
        '//fuzz.invalid',
      ]) + p,
  ],
  [
    'odd query string',
    (r, p) =>
      `${p}?${r.pick([
        'a=%ZZ',
        '%00=%00',
        '__proto__=1',
        '__proto__[x]=1',
        'constructor=x',
        'toString=1',
        '&&&',
        '=',
        '?',
        '??',
        'a=1&a=2&a=3',
        'limit=abc',
        ';;',
        '%',
        'a[b]=c',
        `a=${encodeURIComponent('{"$ne":null}')}`,
        `x=${percentEncode(oddString(r, 100))}`,
        `x=${'q'.repeat(r.int(100, 4_000))}`,
      ])}`,
  ],
  ['fragment', (r, p) => `${p}#${r.pick(['', 'x', '/../../v1/subscriptions', '%00'])}`],
  [
    'percent-encoded letter',
    (r, p) => {
      const letters = [...p.matchAll(/[a-z]/g)]
        .map((m) => m.index)
        .filter((i) => i > pathStart(p) && p[i - 1] !== '%' && p[i - 2] !== '%');
      if (letters.length === 0) return p;
      const i = r.pick(letters);
      return `${p.slice(0, i)}%${p.charCodeAt(i).toString(16)}${p.slice(i + 1)}`;
    },
  ],
  ['upper case', (_r, p) => p.toUpperCase()],
];

function oddPaths(r: Rng, ctx: Ctx): FuzzCase {
  let method = r.weighted([
    [5, 'GET'],
    [2, 'POST'],
    [1, 'DELETE'],
    [1, 'PATCH'],
    [1, 'PUT'],
  ] as const) as string;
  const start = invalidPath(r, method);
  if (start.method) method = start.method;
  let path = start.path;
  const applied: string[] = [];
  for (let i = r.int(0, 2); i > 0; i--) {
    const [name, transform] = r.pick(TRANSFORMS);
    // An authority or absolute form must come first; a query or fragment last.
    if (name === 'absolute form or authority' && (applied.length || path.startsWith('//'))) continue;
    if (applied.includes('odd query string') || applied.includes('fragment')) break;
    path = transform(r, path);
    applied.push(name);
  }
  let what = `${start.what}${applied.length ? `, ${applied.join(', ')}` : ''}`;
  let nodeParser = false;
  if (r.chance(0.04)) {
    // Raw non-ASCII or DEL bytes in the request target: refused by Node's HTTP parser.
    const i = r.int(1, path.length);
    path = path.slice(0, i) + r.pick(['\u00e9', '\u00ff', '\u0080', '\u007f']) + path.slice(i);
    what += ', raw byte in the target';
    nodeParser = true;
  }
  const noKey = r.chance(0.1);
  const headers: Record<string, string> = {
    ...(noKey ? {} : bearer(ctx.apiKey)),
    ...(start.body === undefined ? {} : { 'content-type': 'application/json' }),
  };
  return {
    family: 'odd-paths',
    what: noKey ? `${what}, no key` : what,
    method,
    path,
    headers,
    ...(start.body === undefined ? {} : { body: start.body }),
    ...(nodeParser ? { nodeParser: true as const } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The storm, and what each answer must look like.
// ---------------------------------------------------------------------------------------------

const GENERATORS: Record<Family, (r: Rng, ctx: Ctx) => FuzzCase> = {
  'bad-json': badJson,
  'wrong-types': wrongTypes,
  'odd-strings': oddStrings,
  auth,
  'wrong-methods': wrongMethods,
  'odd-paths': oddPaths,
};

function generate(seed: number, ctx: Ctx): FuzzCase[] {
  const r = new Rng(seed);
  const cases: FuzzCase[] = [];
  for (const [family, n] of Object.entries(PER_FAMILY) as Array<[Family, number]>) {
    for (let i = 0; i < n; i++) cases.push(GENERATORS[family](r, ctx));
  }
  // Interleave the families, so each runs among the others' load.
  for (let i = cases.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [cases[i], cases[j]] = [cases[j] as FuzzCase, cases[i] as FuzzCase];
  }
  return cases;
}

/** What is wrong with an answer; empty when it keeps the contract. */
function problemsOf(c: FuzzCase, res: RawResponse): string[] {
  const problems: string[] = [];
  const { status } = res;
  if (status >= 500) problems.push(`${status}, a server error`);
  else if (status >= 200 && status < 300) {
    if (!c.may2xx) problems.push(`${status} to a request meant to be invalid`);
  } else if (status < 400 || status > 499) problems.push(`${status}, not a 4xx`);
  else if (c.status !== undefined && status !== c.status)
    problems.push(`${status} where ${c.status} was expected`);
  // HEAD answers carry no body by HTTP rules; a 204 has none either.
  if (c.method === 'HEAD' || status === 204) return problems;
  const type = String(res.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) problems.push(`content-type ${type || '(none)'}`);
  let body: unknown;
  try {
    body = JSON.parse(res.body.toString('utf8'));
  } catch {
    problems.push(res.body.length ? 'body is not JSON' : 'empty body');
    return problems;
  }
  if (status >= 400) {
    const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    if (typeof error?.code !== 'string' || error.code === '') problems.push('no error.code');
    if (typeof error?.message !== 'string' || error.message === '') problems.push('no error.message');
  }
  return problems;
}

interface Violation {
  index: number;
  c: FuzzCase;
  problems: string[];
  res?: RawResponse;
}

function headersPreview(headers: FuzzCase['headers']): string {
  const parts = Object.entries(headers).map(([k, v]) => {
    const value = Array.isArray(v) ? v.join(' | ') : v;
    return `${k}: ${JSON.stringify(value.slice(0, 60))}${value.length > 60 ? ` (${value.length} chars)` : ''}`;
  });
  return parts.length ? `{${parts.join(', ')}}` : '{}';
}

function report(violations: Violation[], seed: number, total: number): string {
  const groups = new Map<string, Violation[]>();
  for (const v of violations) {
    const key = v.c.nodeParser
      ? `${v.c.family} | refused by Node's HTTP parser, before the relay's code | ${v.problems.join('; ')}`
      : `${v.c.family} | ${v.c.what.replace(/ \(.*\)$/, '')} | ${v.problems.join('; ')}`;
    groups.set(key, [...(groups.get(key) ?? []), v]);
  }
  // Examples round-robin over the kinds, so every kind shows before any repeats.
  const examples: Violation[] = [];
  const lists = [...groups.values()].map((l) => [...l]);
  while (examples.length < 20 && lists.some((l) => l.length)) {
    for (const l of lists) {
      const v = l.shift();
      if (v && examples.length < 20) examples.push(v);
    }
  }
  const lines = [
    `fuzz seed ${seed} (replay: FUZZ_SEED=${seed} npx vitest run test/integration/fuzz.test.ts):`,
    `${violations.length} of ${total} requests broke the contract, ${groups.size} kinds:`,
    ...[...groups.entries()].map(([k, l]) => `  ${l.length} x ${k}`),
    'examples:',
    ...examples.map((v) => {
      const res = v.res
        ? `${v.res.status} ${v.res.headers['content-type'] ?? '(no content-type)'} ${preview(v.res.body)}`
        : '(no response)';
      return [
        `  #${v.index} [${v.c.family}: ${v.c.what}${v.c.nodeParser ? ", Node's HTTP parser" : ''}] ${v.c.method} ${JSON.stringify(v.c.path.slice(0, 200))}${v.c.path.length > 200 ? ` (${v.c.path.length} chars)` : ''}`,
        `     headers ${headersPreview(v.c.headers)}`,
        `     body ${preview(v.c.body)}`,
        `     -> ${res}: ${v.problems.join('; ')}`,
      ].join('\n');
    }),
  ];
  return lines.join('\n');
}

describe('a storm of malformed requests', () => {
  let relay: LocalRelay;
  let api: ReturnType<typeof client>;
  let agent: Agent;
  let ctx: Ctx;
  let secret: string;
  /** Ids of the odd-but-valid events the relay accepted during the storm. */
  const accepted: string[] = [];

  beforeAll(async () => {
    ({ relay, api } = await startTestRelay([0.05]));
    agent = fuzzAgent(CONCURRENCY);
    const sub = await api.subscribe(SINK, ['fuzz.never'], { enabled: false, description: 'fuzz target' });
    ctx = { apiKey: relay.apiKey, adminKey: relay.adminKey, subId: sub.id };
    secret = sub.secret;
  });
  afterAll(async () => {
    agent?.destroy();
    await relay?.close();
  });

  it(`answers ${TOTAL.toLocaleString('en-US')} generated malformed requests with 4xx JSON errors only, never a 5xx`, async () => {
    const cases = generate(SEED, ctx);
    expect(cases).toHaveLength(TOTAL);
    const port = Number(new URL(relay.url).port);
    const violations: Violation[] = [];
    await runPool(cases, CONCURRENCY, async (c, index) => {
      let res: RawResponse;
      try {
        res = await rawRequest({ port, agent }, c);
      } catch (err) {
        violations.push({ index, c, problems: [`no answer: ${(err as Error).message}`] });
        return;
      }
      const problems = problemsOf(c, res);
      if (problems.length) violations.push({ index, c, problems, res });
      else if (c.may2xx && res.status === 202 && c.path === '/v1/events') {
        accepted.push(String(JSON.parse(res.body.toString('utf8')).id));
      }
    });
    violations.sort((a, b) => a.index - b.index);
    expect(violations.length, report(violations, SEED, TOTAL)).toBe(0);
  }, 120_000);

  it('keeps serving valid requests after the storm', async () => {
    const health = await fetch(`${relay.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const sent = await api.post('/v1/events', { type: 'fuzz.alive', data: { ok: true } });
    expect(sent.status).toBe(202);
    // Fanout still runs: the event, and the odd ones accepted during the storm, get stored.
    for (const id of [sent.body.id as string, ...accepted]) {
      await waitFor(
        `event ${id} to be stored`,
        async () => (await api.get(`/v1/events/${id}`)).status === 200,
      );
    }

    // Nothing the storm sent created, changed or deleted anything.
    const subs = await api.get('/v1/subscriptions');
    expect(subs.status).toBe(200);
    expect(subs.body.subscriptions).toHaveLength(1);
    expect(subs.body.subscriptions[0]).toMatchObject({
      id: ctx.subId,
      url: SINK,
      eventTypes: ['fuzz.never'],
      enabled: false,
    });
    expect((await api.get(`/v1/subscriptions/${ctx.subId}/secret`)).body).toEqual({ secret });
    expect((await api.admin.get('/v1/admin/api-keys')).body).toEqual({ apiKeys: [] });
    expect(POLLUTED in {}).toBe(false);
  }, 60_000);
});
