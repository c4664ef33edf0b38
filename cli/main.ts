import { type ParseArgsConfig, parseArgs } from 'node:util';
import { matchesAny } from '../functions/core/matching.ts';
import { type EventFilter, matchesFilter } from '../functions/core/subscriptions/filter.ts';
import {
  describeAuth,
  type JsonObject,
  parseAuth,
  parseFormat,
  parseHeaders,
  readJson,
  readJsonObject,
  UsageError,
} from './args.ts';
import { ApiFailure, RelayClient, Unreachable } from './client.ts';
import { details, progressBar, table } from './format.ts';

/**
 * `relay`: the relay's command line, speaking its HTTP API, so it works the same against
 * `npm start` and a deployed stack. Exit codes: 0 done, 1 the relay refused or the operation
 * failed, 2 usage error, 3 relay unreachable.
 */

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Progress redraws in place on a terminal, and prints one line per change otherwise. */
  isTTY: boolean;
  env: Record<string, string | undefined>;
  /** Stops long-running commands (tail, waits); tests and Ctrl-C use it. */
  signal?: AbortSignal;
}

type Values = Record<string, string | boolean | string[] | undefined>;
interface Ctx {
  client: RelayClient;
  json: boolean;
  io: Io;
  values: Values;
  args: string[];
}
interface Command {
  usage: string;
  summary: string;
  options?: ParseArgsConfig['options'];
  run(ctx: Ctx): Promise<number | undefined>;
}

const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const GLOBAL_HELP = `Global options:
  --url <url>   relay API base URL (env RELAY_URL; default http://127.0.0.1:3000)
  --key <key>   API key (env RELAY_API_KEY)
  --json        print the API's JSON instead of tables
  -h, --help    help for any command
Exit codes: 0 done, 1 the relay refused or the operation failed, 2 usage error, 3 relay unreachable.`;

const enc = encodeURIComponent;

function print(ctx: Ctx, value: unknown, human: () => string): void {
  ctx.io.out(ctx.json ? `${JSON.stringify(value, null, 2)}\n` : human());
}

function need(ctx: Ctx, index: number, name: string): string {
  const value = ctx.args[index];
  if (!value) throw new UsageError(`missing <${name}>`);
  return value;
}

function str(ctx: Ctx, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A number option, passed on as given: the API checks its range and names the field if it is off. */
function numberOption(ctx: Ctx, name: string): number | undefined {
  const raw = str(ctx, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number, got "${raw}"`);
  return n;
}

/** The per-endpoint limits of `subscriptions create|update` as API fields. */
function limitFields(
  ctx: Ctx,
  allowNone: boolean,
): { maxInFlight?: number; rateLimitPerSecond?: number | null; ordering?: 'none' | 'fifo' } {
  const maxInFlight = numberOption(ctx, 'max-in-flight');
  const ordering = str(ctx, 'ordering');
  if (ordering !== undefined && ordering !== 'none' && ordering !== 'fifo')
    throw new UsageError(`--ordering must be "none" or "fifo", got "${ordering}"`);
  const rate = str(ctx, 'rate-limit');
  if (rate === 'none' && !allowNone)
    throw new UsageError('--rate-limit none only removes a limit (subscriptions update)');
  return {
    ...(maxInFlight !== undefined ? { maxInFlight } : {}),
    ...(ordering !== undefined ? { ordering } : {}),
    ...(rate === 'none'
      ? { rateLimitPerSecond: null }
      : rate !== undefined
        ? { rateLimitPerSecond: numberOption(ctx, 'rate-limit') }
        : {}),
  };
}

const LIMIT_OPTIONS = {
  'max-in-flight': { type: 'string' },
  'rate-limit': { type: 'string' },
  ordering: { type: 'string' },
} as const;

function positiveInt(ctx: Ctx, name: string, fallback: number): number {
  const raw = str(ctx, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${name} must be a positive integer, got "${raw}"`);
  return n;
}

/** A JSON option, inline or `@file`. */
async function jsonOption(ctx: Ctx, name: string): Promise<unknown> {
  const raw = str(ctx, name);
  return raw === undefined ? undefined : readJson(name, raw);
}

/** Every value of a repeatable option. */
function strs(ctx: Ctx, name: string): string[] {
  const v = ctx.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

function exclusive(ctx: Ctx, a: string, b: string): void {
  if (ctx.values[a] !== undefined && ctx.values[b] !== undefined)
    throw new UsageError(`--${a} and --${b} exclude each other`);
}

/**
 * `--filter`, `--header`, `--auth`, `--format` of `subscriptions create|update` as API fields;
 * on update `--filter null`, `--no-filter`, `--no-headers` and `--no-auth` remove a field
 * (`null`), and `--header` replaces the whole set.
 */
async function deliveryFields(ctx: Ctx, update: boolean): Promise<JsonObject> {
  const fields: JsonObject = {};
  exclusive(ctx, 'filter', 'no-filter');
  exclusive(ctx, 'header', 'no-headers');
  exclusive(ctx, 'auth', 'no-auth');
  const filter = str(ctx, 'filter');
  if (filter?.trim() === 'null') {
    if (!update) throw new UsageError('--filter null only removes a filter (subscriptions update)');
    fields.filter = null;
  } else if (filter !== undefined) {
    fields.filter = await readJsonObject('filter', filter, 'an EventBridge event pattern over {type, data}');
  }
  if (ctx.values['no-filter']) fields.filter = null;
  const headers = strs(ctx, 'header');
  if (headers.length) fields.headers = parseHeaders(headers);
  if (ctx.values['no-headers']) fields.headers = null;
  const auth = str(ctx, 'auth');
  if (auth !== undefined) fields.auth = await parseAuth(auth);
  if (ctx.values['no-auth']) fields.auth = null;
  const format = str(ctx, 'format');
  if (format !== undefined) fields.format = parseFormat(format);
  return fields;
}

const DELIVERY_OPTIONS = {
  filter: { type: 'string' },
  header: { type: 'string', multiple: true },
  auth: { type: 'string' },
  format: { type: 'string' },
} as const;
const DELIVERY_REMOVE_OPTIONS = {
  'no-filter': { type: 'boolean' },
  'no-headers': { type: 'boolean' },
  'no-auth': { type: 'boolean' },
} as const;

function list(raw: string | undefined): string[] | undefined {
  return raw
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

interface PublicDelivery {
  id: string;
  eventId: string;
  eventType: string;
  subscriptionId: string;
  url: string;
  status: string;
  attempts: Array<{
    attempt: number;
    at: string;
    status: number;
    durationMs: number;
    error?: string;
    trigger: string;
  }>;
  nextAttemptAt?: string;
  lastError?: string;
  replay?: string;
  createdAt: string;
  updatedAt: string;
}

const deliveryRow = (d: PublicDelivery) => ({
  id: d.id,
  status: d.status,
  event: d.eventType,
  attempts: d.attempts.length ? d.attempts.at(-1)?.attempt : 0,
  last: d.attempts.at(-1)?.status,
  next: d.nextAttemptAt,
  error: d.lastError,
  created: d.createdAt,
});
const DELIVERY_COLUMNS = ['id', 'status', 'event', 'attempts', 'last', 'next', 'error', 'created'];

interface Sub {
  id: string;
  url: string;
  eventTypes: string[];
  enabled: boolean;
  description?: string;
  filter?: EventFilter;
  headers?: Record<string, string>;
  /** Type and non-secret fields (the create response: in full, once). */
  auth?: JsonObject;
  format?: string;
  createdAt: string;
}
const SUB_COLUMNS = [
  'id',
  'url',
  'eventTypes',
  'enabled',
  'format',
  'filter',
  'headers',
  'auth',
  'description',
  'createdAt',
];

/** A subscription for people: the filter as JSON, headers as `name: value`, the auth's type only. */
function subView(s: Sub): Record<string, unknown> {
  return {
    ...s,
    eventTypes: s.eventTypes.join(','),
    format: s.format ?? 'json',
    filter: s.filter ? JSON.stringify(s.filter) : undefined,
    headers: s.headers
      ? Object.entries(s.headers)
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ')
      : undefined,
    auth: describeAuth(s.auth),
  };
}

/** Pretty JSON under a heading, indented, for `get` views. */
const block = (title: string, value: unknown) =>
  `${title}:\n${JSON.stringify(value, null, 2)
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}\n`;

interface EventType {
  name: string;
  description?: string;
  schema?: JsonObject;
  example?: JsonObject;
  deprecated: boolean;
  createdAt: string;
  updatedAt: string;
}
const eventTypeRow = (t: EventType) => ({
  ...t,
  schema: t.schema ? 'yes' : 'no',
  example: t.example ? 'yes' : 'no',
});
const EVENT_TYPE_COLUMNS = ['name', 'description', 'deprecated', 'schema', 'example', 'updatedAt'];
const eventTypeView = (t: EventType) =>
  details(eventTypeRow(t)) +
  (t.schema ? block('schema', t.schema) : '') +
  (t.example ? block('example', t.example) : '');

/** The `schema`, `example` and `deprecated` options of `event-types create|update`. */
async function eventTypeFields(ctx: Ctx, update: boolean): Promise<JsonObject> {
  exclusive(ctx, 'schema', 'no-schema');
  exclusive(ctx, 'example', 'no-example');
  exclusive(ctx, 'deprecated', 'not-deprecated');
  exclusive(ctx, 'description', 'no-description');
  const fields: JsonObject = {};
  const description = str(ctx, 'description');
  if (description !== undefined) fields.description = description;
  const schema = str(ctx, 'schema');
  if (schema !== undefined) fields.schema = await readJsonObject('schema', schema, 'a JSON Schema for data');
  const example = str(ctx, 'example');
  if (example !== undefined) fields.example = await readJsonObject('example', example, 'an example of data');
  if (ctx.values.deprecated) fields.deprecated = true;
  if (update) {
    if (ctx.values['no-description']) fields.description = null;
    if (ctx.values['no-schema']) fields.schema = null;
    if (ctx.values['no-example']) fields.example = null;
    if (ctx.values['not-deprecated']) fields.deprecated = false;
  }
  return fields;
}

interface PublicEvent {
  id: string;
  type: string;
  timestamp: string;
  receivedAt: string;
  data: unknown;
}

/**
 * After `send`: how many of the tenant's subscriptions the event matches (enabled, one of its
 * event types, its filter), as fanout decides; a warning on stderr when none does. Counting is
 * advice: if the listing fails, the send still succeeded.
 */
async function reportMatches(ctx: Ctx, type: string, data: unknown): Promise<void> {
  let subs: Sub[];
  try {
    subs = (await ctx.client.get<{ subscriptions: Sub[] }>('/v1/subscriptions')).subscriptions;
  } catch (err) {
    ctx.io.err(`note: could not count the matching subscriptions: ${(err as Error).message}\n`);
    return;
  }
  const event = { type, data: (data ?? {}) as Record<string, unknown> };
  const ofType = subs.filter((s) => matchesAny(s.eventTypes, type));
  const matched = ofType.filter((s) => s.enabled && (!s.filter || matchesFilter(s.filter, event)));
  if (!ctx.json) ctx.io.out(`matched ${matched.length} subscription${matched.length === 1 ? '' : 's'}\n`);
  if (matched.length === 0) {
    const disabled = ofType.filter((s) => !s.enabled).length;
    const filtered = ofType.length - disabled;
    const why = [
      ...(disabled ? [`${disabled} of its type disabled`] : []),
      ...(filtered ? [`${filtered} of its type filtered it out`] : []),
    ];
    ctx.io.err(
      `warning: no enabled subscription matches ${type}${why.length ? ` (${why.join(', ')})` : ''}; ` +
        `nothing will be delivered. Subscribe an endpoint with:\n` +
        `  relay subscriptions create --endpoint <url> --types ${type}\n`,
    );
  }
}

interface RedriveStatus {
  status: string;
  moved: number;
  total: number;
}
interface ReplayStatus {
  id: string;
  status: string;
  from: string;
  to: string;
  lastReplayedAt?: string;
  replayed?: number;
  reason?: string;
}

/** Shows progress until `poll` reports a final state; returns that state. */
async function follow<T>(
  ctx: Ctx,
  first: T,
  poll: () => Promise<T>,
  view: (s: T) => { line: string; done: boolean },
): Promise<T> {
  let state = first;
  let last = '';
  for (;;) {
    const { line, done } = view(state);
    if (!ctx.json && line !== last) {
      ctx.io.out(ctx.io.isTTY ? `\r${line}` : `${line}\n`);
      last = line;
    }
    if (done || ctx.io.signal?.aborted) break;
    await sleep(500, ctx.io.signal);
    state = await poll();
  }
  if (!ctx.json && ctx.io.isTTY) ctx.io.out('\n');
  return state;
}

const FINAL = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

const COMMANDS: Record<string, Command> = {
  send: {
    usage: 'send <type> [--data <json or @file>] [--id <event id>] [--timestamp <iso>]',
    summary: 'send one event (POST /v1/events); says how many subscriptions it matched',
    options: { data: { type: 'string' }, id: { type: 'string' }, timestamp: { type: 'string' } },
    async run(ctx) {
      const body = {
        type: need(ctx, 0, 'type'),
        data: (await jsonOption(ctx, 'data')) ?? {},
        ...(str(ctx, 'id') ? { id: str(ctx, 'id') } : {}),
        ...(str(ctx, 'timestamp') ? { timestamp: str(ctx, 'timestamp') } : {}),
      };
      const res = await ctx.client.post<{ id: string }>('/v1/events', body);
      print(ctx, res, () => `accepted ${res.id}\n`);
      await reportMatches(ctx, body.type, body.data);
      return EXIT.ok;
    },
  },
  'subscriptions list': {
    usage: 'subscriptions list',
    summary: 'list subscriptions',
    async run(ctx) {
      const res = await ctx.client.get<{ subscriptions: Sub[] }>('/v1/subscriptions');
      print(ctx, res, () => table(res.subscriptions.map(subView), SUB_COLUMNS));
      return EXIT.ok;
    },
  },
  'subscriptions get': {
    usage: 'subscriptions get <id>',
    summary: 'show one subscription',
    async run(ctx) {
      const res = await ctx.client.get<Sub>(`/v1/subscriptions/${enc(need(ctx, 0, 'id'))}`);
      print(ctx, res, () => details(subView(res)));
      return EXIT.ok;
    },
  },
  'subscriptions create': {
    usage:
      'subscriptions create --endpoint <url> --types <a.b,c.*> [--description <text>] [--secret <whsec_...>] [--disabled] [--max-in-flight <1-500>] [--rate-limit <per second>] [--ordering fifo]\n' +
      '       [--filter <event pattern json or @file>] [--header <name:value>]... [--format json|xml]\n' +
      '       [--auth basic:<user>:<password> | bearer:<token> | oauth2:<json> | <json> | @file]',
    summary: 'subscribe an endpoint; prints its signing secret once',
    options: {
      endpoint: { type: 'string' },
      types: { type: 'string' },
      description: { type: 'string' },
      secret: { type: 'string' },
      disabled: { type: 'boolean' },
      ...LIMIT_OPTIONS,
      ...DELIVERY_OPTIONS,
    },
    async run(ctx) {
      const url = str(ctx, 'endpoint');
      if (!url) throw new UsageError('missing --endpoint <url of the receiver>');
      const types = list(str(ctx, 'types'));
      if (!types?.length) throw new UsageError('missing --types <event types, comma separated>');
      const res = await ctx.client.post<Sub & { secret: string }>('/v1/subscriptions', {
        url,
        eventTypes: types,
        ...(str(ctx, 'description') ? { description: str(ctx, 'description') } : {}),
        ...(str(ctx, 'secret') ? { secret: str(ctx, 'secret') } : {}),
        ...(ctx.values.disabled ? { enabled: false } : {}),
        ...limitFields(ctx, false),
        ...(await deliveryFields(ctx, false)),
      });
      print(ctx, res, () => details(subView(res)));
      return EXIT.ok;
    },
  },
  'subscriptions update': {
    usage:
      'subscriptions update <id> [--endpoint <url>] [--types <a,b>] [--description <text>] [--enable | --disable] [--max-in-flight <1-500>] [--rate-limit <per second> | --rate-limit none] [--ordering fifo|none]\n' +
      '       [--filter <json or @file> | --no-filter] [--header <name:value>... (replaces them all) | --no-headers]\n' +
      '       [--auth basic:<user>:<password> | bearer:<token> | oauth2:<json> | <json> | @file | --no-auth] [--format json|xml]',
    summary: 'change a subscription',
    options: {
      endpoint: { type: 'string' },
      types: { type: 'string' },
      description: { type: 'string' },
      enable: { type: 'boolean' },
      disable: { type: 'boolean' },
      ...LIMIT_OPTIONS,
      ...DELIVERY_OPTIONS,
      ...DELIVERY_REMOVE_OPTIONS,
    },
    async run(ctx) {
      const id = need(ctx, 0, 'id');
      if (ctx.values.enable && ctx.values.disable)
        throw new UsageError('--enable and --disable exclude each other');
      const patch = {
        ...(str(ctx, 'endpoint') ? { url: str(ctx, 'endpoint') } : {}),
        ...(str(ctx, 'types') ? { eventTypes: list(str(ctx, 'types')) } : {}),
        ...(str(ctx, 'description') !== undefined ? { description: str(ctx, 'description') } : {}),
        ...(ctx.values.enable ? { enabled: true } : {}),
        ...(ctx.values.disable ? { enabled: false } : {}),
        ...limitFields(ctx, true),
        ...(await deliveryFields(ctx, true)),
      };
      if (Object.keys(patch).length === 0)
        throw new UsageError('nothing to change: give at least one option');
      const res = await ctx.client.patch<Sub>(`/v1/subscriptions/${enc(id)}`, patch);
      print(ctx, res, () => details(subView(res)));
      return EXIT.ok;
    },
  },
  'subscriptions delete': {
    usage: 'subscriptions delete <id>',
    summary: 'delete a subscription',
    async run(ctx) {
      const id = need(ctx, 0, 'id');
      await ctx.client.delete(`/v1/subscriptions/${enc(id)}`);
      print(ctx, { id, deleted: true }, () => `deleted ${id}\n`);
      return EXIT.ok;
    },
  },
  'subscriptions test': {
    usage: 'subscriptions test <id> [--event-type <type>]',
    summary: "send a test event to this subscription only (webhook.test, or --event-type's catalog example)",
    options: { 'event-type': { type: 'string' } },
    async run(ctx) {
      const id = need(ctx, 0, 'id');
      const type = str(ctx, 'event-type');
      const res = await ctx.client.post<{ id: string; type?: string }>(
        `/v1/subscriptions/${enc(id)}/test`,
        type !== undefined ? { eventType: type } : undefined,
      );
      print(ctx, res, () => `test event ${res.id} (${res.type ?? type ?? 'webhook.test'}) sent\n`);
      return EXIT.ok;
    },
  },
  'subscriptions rotate': {
    usage: 'subscriptions rotate <id> [--secret <whsec_...>]',
    summary: 'new signing secret; the old one keeps signing for the grace period (24 h)',
    options: { secret: { type: 'string' } },
    async run(ctx) {
      const res = await ctx.client.post<Sub & { secret: string; previousSecretExpiresAt?: string }>(
        `/v1/subscriptions/${enc(need(ctx, 0, 'id'))}/rotate-secret`,
        str(ctx, 'secret') ? { secret: str(ctx, 'secret') } : {},
      );
      print(
        ctx,
        res,
        () => `${res.secret}\n(the previous secret also signs until ${res.previousSecretExpiresAt})\n`,
      );
      return EXIT.ok;
    },
  },
  'subscriptions secret': {
    usage: 'subscriptions secret <id>',
    summary: "print a subscription's signing secret",
    async run(ctx) {
      const res = await ctx.client.get<{ secret: string }>(
        `/v1/subscriptions/${enc(need(ctx, 0, 'id'))}/secret`,
      );
      print(ctx, res, () => `${res.secret}\n`);
      return EXIT.ok;
    },
  },
  'deliveries list': {
    usage:
      'deliveries list <subscription id> [--status pending|succeeded|failed|dead] [--event-type <type>] [--from <iso>] [--to <iso>] [--limit <n>] [--cursor <next>]',
    summary: "a subscription's deliveries, newest first",
    options: {
      limit: { type: 'string' },
      cursor: { type: 'string' },
      status: { type: 'string' },
      'event-type': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
    },
    async run(ctx) {
      const q = new URLSearchParams({ limit: String(positiveInt(ctx, 'limit', 20)) });
      for (const [option, param] of [
        ['cursor', 'cursor'],
        ['status', 'status'],
        ['event-type', 'eventType'],
        ['from', 'from'],
        ['to', 'to'],
      ] as const) {
        const v = str(ctx, option);
        if (v !== undefined) q.set(param, v);
      }
      const res = await ctx.client.get<{ deliveries: PublicDelivery[]; next: string | null }>(
        `/v1/subscriptions/${enc(need(ctx, 0, 'subscription id'))}/deliveries?${q}`,
      );
      print(
        ctx,
        res,
        () =>
          table(res.deliveries.map(deliveryRow), DELIVERY_COLUMNS) +
          (res.next ? `more: --cursor ${res.next}\n` : ''),
      );
      return EXIT.ok;
    },
  },
  'subscriptions stats': {
    usage: 'subscriptions stats <id>',
    summary: "a subscription's last 24 hours: deliveries by status and the success rate",
    async run(ctx) {
      const s = await ctx.client.get<{
        deliveries: number;
        succeeded: number;
        failed: number;
        dead: number;
        pending: number;
        successRate: number | null;
        complete: boolean;
      }>(`/v1/subscriptions/${enc(need(ctx, 0, 'subscription id'))}/stats`);
      const rate =
        s.successRate === null ? 'no settled deliveries' : `${(s.successRate * 100).toFixed(1)} % succeeded`;
      print(
        ctx,
        s,
        () =>
          `${s.deliveries} deliveries in 24 h${s.complete ? '' : ' (the newest 1,000)'}: ${rate}\n` +
          `succeeded ${s.succeeded}, failed ${s.failed}, dead ${s.dead}, pending ${s.pending}\n`,
      );
      return EXIT.ok;
    },
  },
  'deliveries get': {
    usage: 'deliveries get <delivery id>',
    summary: 'one delivery with every attempt',
    async run(ctx) {
      const d = await ctx.client.get<PublicDelivery>(`/v1/deliveries/${enc(need(ctx, 0, 'delivery id'))}`);
      print(
        ctx,
        d,
        () => details(d as unknown as Record<string, unknown>) + table(d.attempts, ATTEMPT_COLUMNS),
      );
      return EXIT.ok;
    },
  },
  'deliveries retry': {
    usage: 'deliveries retry <delivery id>',
    summary: 'one more attempt now',
    async run(ctx) {
      const res = await ctx.client.post<{ id: string; status: string }>(
        `/v1/deliveries/${enc(need(ctx, 0, 'delivery id'))}/retry`,
      );
      print(ctx, res, () => `retry of ${res.id} enqueued\n`);
      return EXIT.ok;
    },
  },
  'deliveries recover': {
    usage: 'deliveries recover <subscription id> --from <iso> [--to <iso>]',
    summary: 'one more attempt for every failed or dead delivery of a subscription in a window',
    options: { from: { type: 'string' }, to: { type: 'string' } },
    async run(ctx) {
      const id = need(ctx, 0, 'subscription id');
      const from = str(ctx, 'from');
      if (!from) throw new UsageError('missing --from <ISO 8601 time>');
      let queued = 0;
      let scanned = 0;
      let cursor: string | undefined;
      do {
        const res: { queued: number; scanned: number; next: string | null } = await ctx.client.post(
          `/v1/subscriptions/${enc(id)}/recover`,
          { from, ...(str(ctx, 'to') ? { to: str(ctx, 'to') } : {}), ...(cursor ? { cursor } : {}) },
        );
        queued += res.queued;
        scanned += res.scanned;
        cursor = res.next ?? undefined;
      } while (cursor && !ctx.io.signal?.aborted);
      print(ctx, { queued, scanned }, () => `${queued} deliveries re-sent (${scanned} looked at)\n`);
      return EXIT.ok;
    },
  },
  'keys create': {
    usage: 'keys create --tenant <name> [--description <text>]   (admin key)',
    summary: "create a tenant's API key; it is shown this once",
    options: { tenant: { type: 'string' }, description: { type: 'string' } },
    async run(ctx) {
      const tenant = str(ctx, 'tenant');
      if (!tenant) throw new UsageError('missing --tenant <name>');
      const res = await ctx.client.post<{ id: string; tenant: string; key: string; createdAt: string }>(
        '/v1/admin/api-keys',
        { tenant, ...(str(ctx, 'description') ? { description: str(ctx, 'description') } : {}) },
      );
      print(ctx, res, () => `${res.key}\n(key ${res.id} of tenant ${res.tenant}; it is not shown again)\n`);
      return EXIT.ok;
    },
  },
  'keys list': {
    usage: 'keys list [--tenant <name>]   (admin key)',
    summary: 'API keys (never the keys themselves)',
    options: { tenant: { type: 'string' } },
    async run(ctx) {
      const q = str(ctx, 'tenant') ? `?tenant=${enc(str(ctx, 'tenant') as string)}` : '';
      const res = await ctx.client.get<{ apiKeys: Array<Record<string, unknown>> }>(`/v1/admin/api-keys${q}`);
      print(ctx, res, () => table(res.apiKeys, ['id', 'tenant', 'description', 'createdAt']) + KEYS_NOTE);
      return EXIT.ok;
    },
  },
  'keys revoke': {
    usage: 'keys revoke <key id>   (admin key)',
    summary: 'revoke an API key (refused everywhere within a minute)',
    async run(ctx) {
      const id = need(ctx, 0, 'key id');
      await ctx.client.delete(`/v1/admin/api-keys/${enc(id)}`);
      print(ctx, { id, revoked: true }, () => `revoked ${id}\n`);
      return EXIT.ok;
    },
  },
  'portal link': {
    usage: 'portal link [--tenant <name> (admin key)] [--expires-in <seconds, 60-86400>]',
    summary: "a link to the endpoint portal for a tenant's customer (1 h unless told)",
    options: { tenant: { type: 'string' }, 'expires-in': { type: 'string' } },
    async run(ctx) {
      const tenant = str(ctx, 'tenant');
      const expires = str(ctx, 'expires-in');
      const res = await ctx.client.post<{ id: string; tenant: string; url: string; expiresAt: string }>(
        '/v1/portal-sessions',
        {
          ...(tenant ? { tenant } : {}),
          ...(expires !== undefined ? { expiresInSeconds: positiveInt(ctx, 'expires-in', 3600) } : {}),
        },
      );
      print(
        ctx,
        res,
        () =>
          `${res.url}\n(session ${res.id} of tenant ${res.tenant}, until ${res.expiresAt}; ` +
          `end it with relay portal revoke ${res.id})\n`,
      );
      return EXIT.ok;
    },
  },
  'portal revoke': {
    usage: 'portal revoke <session id>',
    summary: 'end a portal session now (refused everywhere within 10 s)',
    async run(ctx) {
      const id = need(ctx, 0, 'session id');
      await ctx.client.delete(`/v1/portal-sessions/${enc(id)}`);
      print(ctx, { id, revoked: true }, () => `revoked ${id}\n`);
      return EXIT.ok;
    },
  },
  'events list': {
    usage: 'events list [--type <type>] [--from <iso>] [--to <iso>] [--limit <1-100>] [--cursor <next>]',
    summary: 'accepted events, newest first',
    options: {
      type: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    },
    async run(ctx) {
      const q = new URLSearchParams({ limit: String(positiveInt(ctx, 'limit', 20)) });
      for (const name of ['type', 'from', 'to', 'cursor']) {
        const v = str(ctx, name);
        if (v !== undefined) q.set(name, v);
      }
      const res = await ctx.client.get<{ events: PublicEvent[]; next: string | null }>(`/v1/events?${q}`);
      print(
        ctx,
        res,
        () =>
          table(res.events as unknown as Record<string, unknown>[], ['id', 'type', 'receivedAt']) +
          (res.next ? `more: --cursor ${res.next}\n` : ''),
      );
      return EXIT.ok;
    },
  },
  'events get': {
    usage: 'events get <event id>',
    summary: 'an event, its payload and its deliveries',
    async run(ctx) {
      const e = await ctx.client.get<PublicEvent & { deliveries: PublicDelivery[] }>(
        `/v1/events/${enc(need(ctx, 0, 'event id'))}`,
      );
      print(
        ctx,
        e,
        () =>
          details(e as unknown as Record<string, unknown>) +
          block('data', e.data) +
          `deliveries:\n${table(e.deliveries.map(deliveryRow), DELIVERY_COLUMNS)}`,
      );
      return EXIT.ok;
    },
  },
  'event-types list': {
    usage: 'event-types list [--limit <1-100>] [--cursor <next>]',
    summary: "the tenant's event-type catalog, in name order",
    options: { limit: { type: 'string' }, cursor: { type: 'string' } },
    async run(ctx) {
      const q = new URLSearchParams({ limit: String(positiveInt(ctx, 'limit', 50)) });
      const cursor = str(ctx, 'cursor');
      if (cursor !== undefined) q.set('cursor', cursor);
      const res = await ctx.client.get<{ eventTypes: EventType[]; next: string | null }>(
        `/v1/event-types?${q}`,
      );
      print(
        ctx,
        res,
        () =>
          table(res.eventTypes.map(eventTypeRow), EVENT_TYPE_COLUMNS) +
          (res.next ? `more: --cursor ${res.next}\n` : ''),
      );
      return EXIT.ok;
    },
  },
  'event-types get': {
    usage: 'event-types get <name>',
    summary: 'one event type with its schema and example',
    async run(ctx) {
      const t = await ctx.client.get<EventType>(`/v1/event-types/${enc(need(ctx, 0, 'name'))}`);
      print(ctx, t, () => eventTypeView(t));
      return EXIT.ok;
    },
  },
  'event-types create': {
    usage:
      'event-types create <name> [--description <text>] [--schema <json schema or @file>] [--example <json or @file>] [--deprecated]',
    summary: 'add an event type: ingest checks data against its schema; tests send its example',
    options: {
      description: { type: 'string' },
      schema: { type: 'string' },
      example: { type: 'string' },
      deprecated: { type: 'boolean' },
    },
    async run(ctx) {
      const t = await ctx.client.post<EventType>('/v1/event-types', {
        name: need(ctx, 0, 'name'),
        ...(await eventTypeFields(ctx, false)),
      });
      print(ctx, t, () => eventTypeView(t));
      return EXIT.ok;
    },
  },
  'event-types update': {
    usage:
      'event-types update <name> [--description <text> | --no-description] [--schema <json or @file> | --no-schema] [--example <json or @file> | --no-example] [--deprecated | --not-deprecated]',
    summary: 'change an event type',
    options: {
      description: { type: 'string' },
      'no-description': { type: 'boolean' },
      schema: { type: 'string' },
      'no-schema': { type: 'boolean' },
      example: { type: 'string' },
      'no-example': { type: 'boolean' },
      deprecated: { type: 'boolean' },
      'not-deprecated': { type: 'boolean' },
    },
    async run(ctx) {
      const name = need(ctx, 0, 'name');
      const patch = await eventTypeFields(ctx, true);
      if (Object.keys(patch).length === 0)
        throw new UsageError('nothing to change: give at least one option');
      const t = await ctx.client.patch<EventType>(`/v1/event-types/${enc(name)}`, patch);
      print(ctx, t, () => eventTypeView(t));
      return EXIT.ok;
    },
  },
  'event-types delete': {
    usage: 'event-types delete <name>',
    summary: 'remove an event type from the catalog (its events still flow)',
    async run(ctx) {
      const name = need(ctx, 0, 'name');
      await ctx.client.delete(`/v1/event-types/${enc(name)}`);
      print(ctx, { name, deleted: true }, () => `deleted ${name}\n`);
      return EXIT.ok;
    },
  },
  'dlq list': {
    usage: 'dlq list [--limit <n>] [--cursor <next>]',
    summary: 'dead deliveries, newest first, with the count',
    options: { limit: { type: 'string' }, cursor: { type: 'string' } },
    async run(ctx) {
      const q = new URLSearchParams({ limit: String(positiveInt(ctx, 'limit', 20)) });
      if (str(ctx, 'cursor')) q.set('cursor', str(ctx, 'cursor') as string);
      const res = await ctx.client.get<{ count: number; deliveries: PublicDelivery[]; next: string | null }>(
        `/v1/dlq?${q}`,
      );
      print(
        ctx,
        res,
        () =>
          `${res.count} dead deliveries\n${table(res.deliveries.map(deliveryRow), DELIVERY_COLUMNS)}` +
          (res.next ? `more: --cursor ${res.next}\n` : ''),
      );
      return EXIT.ok;
    },
  },
  'dlq redrive': {
    usage: 'dlq redrive [--no-wait]   (admin key)',
    summary: 'move every dead delivery back for a fresh round of attempts, showing progress',
    options: { 'no-wait': { type: 'boolean' } },
    async run(ctx) {
      const started = await ctx.client.post<RedriveStatus>('/v1/dlq/redrive');
      if (ctx.values['no-wait']) {
        print(ctx, started, () => `redrive ${started.status}: ${started.moved}/${started.total} moved\n`);
        return EXIT.ok;
      }
      const final = await follow(
        ctx,
        started,
        () => ctx.client.get<RedriveStatus>('/v1/dlq/redrive'),
        (s) => ({ line: `redrive ${progressBar(s.moved, s.total)} ${s.status}`, done: FINAL.has(s.status) }),
      );
      if (ctx.json) print(ctx, final, () => '');
      return final.status === 'COMPLETED' ? EXIT.ok : EXIT.failed;
    },
  },
  replay: {
    usage: 'replay --from <iso> [--to <iso>] [--no-wait]   (admin key)',
    summary: "re-deliver a window's events to today's matching subscriptions",
    options: { from: { type: 'string' }, to: { type: 'string' }, 'no-wait': { type: 'boolean' } },
    async run(ctx) {
      const from = str(ctx, 'from');
      if (!from) throw new UsageError('missing --from <ISO 8601 time>');
      const started = await ctx.client.post<ReplayStatus>('/v1/replays', {
        from,
        ...(str(ctx, 'to') ? { to: str(ctx, 'to') } : {}),
      });
      if (ctx.values['no-wait']) {
        print(ctx, started, () => `replay ${started.id} ${started.status}\n`);
        return EXIT.ok;
      }
      const final = await follow(
        ctx,
        started,
        () => ctx.client.get<ReplayStatus>(`/v1/replays/${enc(started.id)}`),
        (s) => ({
          line:
            `replay ${s.id} ${s.status}` +
            (s.replayed !== undefined ? ` ${s.replayed} events` : '') +
            (s.lastReplayedAt ? ` up to ${s.lastReplayedAt}` : '') +
            (s.reason ? ` (${s.reason})` : ''),
          done: FINAL.has(s.status),
        }),
      );
      if (ctx.json) print(ctx, final, () => '');
      return final.status === 'COMPLETED' ? EXIT.ok : EXIT.failed;
    },
  },
  tail: {
    usage: 'tail [--subscription <id>] [--interval <ms>]',
    summary: 'follow delivery attempts as they happen (Ctrl-C to stop)',
    options: { subscription: { type: 'string' }, interval: { type: 'string' } },
    async run(ctx) {
      await tail(ctx, str(ctx, 'subscription'), positiveInt(ctx, 'interval', 1000));
      return EXIT.ok;
    },
  },
};

const ATTEMPT_COLUMNS = ['attempt', 'at', 'status', 'durationMs', 'trigger', 'error'];

/**
 * The listing shows keys made through the API only: keys held in configuration (RELAY_API_KEY of
 * `npm start`, tenant `default`; the admin key) work without being stored, so they are not in it.
 */
const KEYS_NOTE =
  'Keys from configuration are not listed: the admin key, and locally RELAY_API_KEY (tenant default, printed by npm start).\n';

/**
 * Polls each subscription's newest deliveries (and re-reads the pending ones it has seen when
 * their next attempt is due) and prints every attempt made since it started, once. It sees the
 * 100 newest deliveries of each subscription, plus retries of any delivery it has already seen.
 */
async function tail(ctx: Ctx, only: string | undefined, intervalMs: number): Promise<void> {
  const since = new Date().toISOString();
  const printed = new Set<string>();
  const pending = new Map<string, string>();
  if (!ctx.json) ctx.io.out(`following attempts since ${since} (Ctrl-C to stop)\n`);
  const show = (d: PublicDelivery) => {
    for (const a of d.attempts) {
      const key = `${d.id}#${a.attempt}#${a.at}`;
      if (a.at < since || printed.has(key)) continue;
      printed.add(key);
      if (ctx.json) {
        ctx.io.out(
          `${JSON.stringify({ deliveryId: d.id, eventId: d.eventId, eventType: d.eventType, subscriptionId: d.subscriptionId, url: d.url, ...a })}\n`,
        );
      } else {
        const outcome = a.status >= 200 && a.status < 300 ? 'ok ' : 'ERR';
        ctx.io.out(
          `${a.at} ${outcome} ${String(a.status).padStart(3)} ${String(a.durationMs).padStart(5)}ms ` +
            `#${a.attempt} ${a.trigger} ${d.eventType} ${d.id} -> ${d.url}${a.error ? ` (${a.error})` : ''}\n`,
        );
      }
    }
    if (d.status === 'pending' && d.nextAttemptAt) pending.set(d.id, d.nextAttemptAt);
    else pending.delete(d.id);
  };
  while (!ctx.io.signal?.aborted) {
    const subs = only
      ? [only]
      : (await ctx.client.get<{ subscriptions: Sub[] }>('/v1/subscriptions')).subscriptions.map((s) => s.id);
    for (const id of subs) {
      const res = await ctx.client.get<{ deliveries: PublicDelivery[] }>(
        `/v1/subscriptions/${enc(id)}/deliveries?limit=100`,
      );
      for (const d of [...res.deliveries].reverse()) show(d);
    }
    const now = new Date().toISOString();
    for (const [id, due] of pending) {
      if (due <= now) show(await ctx.client.get<PublicDelivery>(`/v1/deliveries/${enc(id)}`));
    }
    await sleep(intervalMs, ctx.io.signal);
  }
}

const GROUPS: Record<string, string> = {
  subscriptions: 'manage subscriptions (list, get, create, update, delete, test, secret, rotate)',
  deliveries: 'the delivery log (list, get, retry, recover)',
  events: 'accepted events (list, get)',
  'event-types': "the tenant's event-type catalog (list, get, create, update, delete)",
  dlq: 'dead deliveries (list; redrive with the admin key)',
  keys: "tenants' API keys, with the admin key (create, list, revoke)",
  portal: 'links to the endpoint portal (link, revoke)',
};
const ALIASES: Record<string, string> = {
  subs: 'subscriptions',
  sub: 'subscriptions',
  delivery: 'deliveries',
  event: 'events',
  'event-type': 'event-types',
  types: 'event-types',
};

function usageOf(name: string): string {
  const c = COMMANDS[name] as Command;
  return `Usage: relay ${c.usage}\n\n${c.summary}\n\n${GLOBAL_HELP}\n`;
}

function mainHelp(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(22)} ${c.summary}`);
  return `relay: the webhook relay from the command line (its HTTP API, local or deployed)\n\nCommands:\n${lines.join('\n')}\n\n${GLOBAL_HELP}\n`;
}

function groupHelp(group: string): string {
  const lines = Object.entries(COMMANDS)
    .filter(([name]) => name.startsWith(`${group} `))
    .map(([name, c]) => `  ${name.padEnd(22)} ${c.summary}`);
  return `relay ${group}: ${GROUPS[group]}\n\nCommands:\n${lines.join('\n')}\n\n${GLOBAL_HELP}\n`;
}

/** Flags that take no value; every other option consumes the next word (unless `--opt=value`). */
const BOOLEAN_FLAGS = new Set([
  '--json',
  '--help',
  '-h',
  '--disabled',
  '--enable',
  '--disable',
  '--no-wait',
  '--no-filter',
  '--no-headers',
  '--no-auth',
  '--no-description',
  '--no-schema',
  '--no-example',
  '--deprecated',
  '--not-deprecated',
]);

/** The words that are not options or option values: the command and its arguments. */
function positionalWords(argv: readonly string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') words.push(a);
    else if (!a.includes('=') && !BOOLEAN_FLAGS.has(a)) i++;
  }
  return words;
}

/** Runs one command line; returns the exit code. Never throws. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  const words = positionalWords(argv);
  const first = words[0] ? (ALIASES[words[0]] ?? words[0]) : undefined;
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  if (!first) {
    (wantsHelp ? io.out : io.err)(mainHelp());
    return wantsHelp ? EXIT.ok : EXIT.usage;
  }
  let name: string | undefined;
  if (COMMANDS[first]) name = first;
  else if (GROUPS[first]) {
    const sub = words[1];
    if (sub && COMMANDS[`${first} ${sub}`]) name = `${first} ${sub}`;
    else {
      if (wantsHelp && !sub) {
        io.out(groupHelp(first));
        return EXIT.ok;
      }
      io.err(
        `${sub ? `unknown command "${first} ${sub}"` : `missing a command after "${first}"`}\n\n${groupHelp(first)}`,
      );
      return EXIT.usage;
    }
  } else {
    io.err(`unknown command "${words[0]}"\n\n${mainHelp()}`);
    return EXIT.usage;
  }
  const command = COMMANDS[name] as Command;
  if (wantsHelp) {
    io.out(usageOf(name));
    return EXIT.ok;
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...GLOBAL_OPTIONS, ...(command.options ?? {}) },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${usageOf(name)}`);
    return EXIT.usage;
  }
  const values = parsed.values as Values;
  const args = parsed.positionals.slice(name.split(' ').length);
  const relayUrl = (values.url as string | undefined) ?? io.env.RELAY_URL ?? 'http://127.0.0.1:3000';
  const key = (values.key as string | undefined) ?? io.env.RELAY_API_KEY;
  const ctx: Ctx = { client: new RelayClient(relayUrl, key), json: Boolean(values.json), io, values, args };
  try {
    return (await command.run(ctx)) ?? EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n\n${usageOf(name)}`);
      return EXIT.usage;
    }
    if (err instanceof ApiFailure) {
      io.err(
        ctx.json
          ? `${JSON.stringify({ error: { status: err.status, code: err.code, message: err.message, details: err.details } })}\n`
          : `error: ${err.message} (HTTP ${err.status} ${err.code})\n`,
      );
      return EXIT.failed;
    }
    if (err instanceof Unreachable) {
      io.err(`error: ${err.message}\n`);
      return EXIT.unreachable;
    }
    io.err(`error: ${(err as Error).message}\n`);
    return EXIT.failed;
  }
}
