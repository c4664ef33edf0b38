import { Validator as JsonSchemaValidator, type Schema } from '@cfworker/json-schema';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { EventType } from '../../../functions/core/catalog/event-type.ts';
import type { Delivery } from '../../../functions/core/delivery/model.ts';
import type { ApiKeyRecord, RedriveStatus, ReplayStatus } from '../../../functions/core/ports.ts';
import { SubscriptionCreateSchema } from '../../../functions/core/subscription.ts';
import { type ApiDeps, makeApiHandler } from '../../../functions/handlers/api.ts';
import { type HttpResult, StaticKeyAuthenticator } from '../../../functions/handlers/http.ts';
import { makeIngestHandler } from '../../../functions/handlers/ingest.ts';
import { buildDocument, OPERATIONS, openApiDocument } from '../../../functions/handlers/openapi.ts';
import { ROUTES } from '../../../functions/handlers/routes.ts';
import { anEvent, aSubscription, fixedClock, NOW, SECRET } from '../support/fakes.ts';

interface Doc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; responses: Record<string, Response> };
}
interface Response {
  $ref?: string;
  description?: string;
  content?: { 'application/json': { schema: { $ref: string } } };
}
interface Operation {
  operationId: string;
  security: Array<Record<string, string[]>>;
  requestBody?: { content: { 'application/json': { schema: { $ref: string } } } };
  responses: Record<string, Response>;
}

const doc = openApiDocument() as Doc;
const operations = () =>
  Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, op })),
  );
/** A response, its `$ref` to components.responses followed. */
const resolve = (r: Response): Response => {
  if (!r.$ref) return r;
  const found = doc.components.responses[r.$ref.replace('#/components/responses/', '')];
  if (!found) throw new Error(`dangling ${r.$ref}`);
  return found;
};
const schemaOf = (key: string, status: number): string => {
  const [method, path] = key.split(' ') as [string, string];
  const op = doc.paths[path]?.[method.toLowerCase()];
  const ref = op && resolve(op.responses[String(status)] ?? {}).content?.['application/json'].schema.$ref;
  if (!ref) throw new Error(`${key} documents no JSON body for ${status}`);
  return ref;
};

/** A validator of the component a `$ref` names, the other components reachable from it. */
function validatorFor(ref: string): JsonSchemaValidator {
  const toDefs = (v: unknown) =>
    JSON.parse(JSON.stringify(v).replaceAll('#/components/schemas/', '#/$defs/'));
  return new JsonSchemaValidator(
    { $defs: toDefs(doc.components.schemas), $ref: toDefs(ref) } as Schema,
    '2020-12',
    false,
  );
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc as unknown as Record<string, unknown>);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect((doc as unknown as { openapi: string }).openapi).toMatch(/^3\.1\./);
  });

  it('has an operation for every route of ROUTES, and no other', () => {
    const routes = ROUTES.map((r) => `${r.method} ${r.path}`).sort();
    const documented = operations()
      .map((o) => o.key)
      .sort();
    expect(documented).toEqual(routes);
    expect(Object.keys(OPERATIONS).sort()).toEqual(routes);
  });

  it('refuses to build with a route it does not describe, or a description of no route', () => {
    const extra = { method: 'GET', path: '/v1/nothing', target: 'api' } as const;
    expect(() => buildDocument([...ROUTES, extra])).toThrow(
      'route GET /v1/nothing has no entry in OPERATIONS',
    );
    expect(() => buildDocument(ROUTES.slice(1))).toThrow('describes routes not in ROUTES: GET /health');
  });

  it('names every operation uniquely', () => {
    const ids = operations().map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives every operation a success response and the error envelope on every 4xx and 5xx', () => {
    for (const { key, op } of operations()) {
      const statuses = Object.keys(op.responses);
      expect(
        statuses.filter((s) => /^2\d\d$/.test(s)),
        key,
      ).not.toEqual([]);
      for (const status of statuses.filter((s) => /^[45]\d\d$/.test(s))) {
        const body = resolve(op.responses[status] as Response);
        expect(body.content?.['application/json'].schema, `${key} ${status}`).toEqual({
          $ref: '#/components/schemas/Error',
        });
      }
      expect(statuses, key).toContain('500');
    }
  });

  it('takes the admin key on admin routes, a tenant key on the others, and none on /health and /openapi.json', () => {
    for (const route of ROUTES) {
      const op = doc.paths[route.path]?.[route.method.toLowerCase()] as Operation;
      const expected = route.public
        ? []
        : [
            { [route.admin ? 'adminKey' : 'tenantKey']: [] },
            ...(route.either ? [{ adminKey: [] }] : []),
            ...(route.portal ? [{ portalSession: [] }] : []),
          ];
      expect(op.security, `${route.method} ${route.path}`).toEqual(expected);
      if (!route.public) expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403']));
    }
    expect(doc.paths['/health']?.get?.security).toEqual([]);
    expect(doc.paths['/openapi.json']?.get?.security).toEqual([]);
  });

  it("refuses what SubscriptionCreateSchema refuses in POST /v1/subscriptions's body schema", () => {
    const ref = doc.paths['/v1/subscriptions']?.post?.requestBody?.content['application/json'].schema.$ref;
    expect(ref).toBe('#/components/schemas/SubscriptionCreate');
    const validator = validatorFor(ref as string);
    const good = { url: 'https://receiver.example/hooks', eventTypes: ['order.*'] };
    const cases: unknown[] = [
      { eventTypes: ['order.*'] }, // no url
      { url: 'https://receiver.example/hooks' }, // no eventTypes
      { ...good, eventTypes: [] },
      { ...good, eventTypes: ['not a type'] },
      { ...good, maxInFlight: 0 },
      { ...good, maxInFlight: 1.5 },
      { ...good, enabled: 'yes' },
      { ...good, ordering: 'lifo' },
      { ...good, unknown: true },
      { ...good, secret: 'not-a-secret' },
      [good],
    ];
    for (const body of cases) {
      expect(SubscriptionCreateSchema.safeParse(body).success, JSON.stringify(body)).toBe(false);
      expect(validator.validate(body).valid, JSON.stringify(body)).toBe(false);
    }
    for (const body of [
      good,
      { ...good, description: 'd', maxInFlight: 5, ordering: 'fifo', secret: SECRET },
    ]) {
      expect(SubscriptionCreateSchema.safeParse(body).success).toBe(true);
      expect(validator.validate(body).errors).toEqual([]);
    }
  });
});

const TENANT_KEY = 'tenant-key';
const ADMIN_KEY = 'admin-key';

function request(
  method: string,
  path: string,
  opts: { key?: string; body?: unknown; query?: Record<string, string>; contentType?: string } = {},
): APIGatewayProxyEventV2 {
  return {
    rawPath: path,
    requestContext: { http: { method } },
    headers: {
      ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': opts.contentType ?? 'application/json' } : {}),
    },
    ...(opts.query ? { queryStringParameters: opts.query } : {}),
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

const auth = new StaticKeyAuthenticator({ [TENANT_KEY]: { tenant: 'acme' }, [ADMIN_KEY]: { admin: true } });

/** Every optional field set, and the internal ones the API must not show. */
const subscription = aSubscription({
  description: 'orders',
  maxInFlight: 5,
  rateLimitPerSecond: 2,
  ordering: 'fifo',
  filter: { type: ['shipment.delivered'], data: { carrier: [{ prefix: 'u' }] } },
  headers: { 'x-api-key': 'k-1' },
  auth: {
    type: 'oauth2',
    tokenUrl: 'https://auth.example/token',
    clientId: 'c',
    clientSecret: 's',
    scope: 'hooks',
  },
  format: 'xml',
  disabledReason: 'the endpoint answered 410 Gone',
  disabledAt: '2026-11-20T00:00:00.000Z',
  failingSince: '2026-11-19T00:00:00.000Z',
  circuit: { openUntil: '2026-11-23T10:05:00.000Z', timeouts: 3, probeUntil: '2026-11-23T10:06:00.000Z' },
  healthUpdatedAt: '2026-11-19T00:00:00.000Z',
  previousSecrets: [{ secret: SECRET, expiresAt: '2026-11-24T00:00:00.000Z' }],
});
const delivery: Delivery = {
  id: 'dlv_1',
  tenant: 'acme',
  eventId: 'evt_1',
  eventType: 'shipment.delivered',
  subscriptionId: 'sub_1',
  url: 'https://receiver.example/hooks',
  status: 'dead',
  attempts: [
    {
      attempt: 1,
      at: '2026-11-23T09:59:02.000Z',
      status: 500,
      durationMs: 12,
      error: 'HTTP 500',
      responseBody: 'oops',
      trigger: 'scheduled',
    },
    {
      attempt: 2,
      at: '2026-11-23T09:59:30.000Z',
      status: 0,
      durationMs: 5000,
      error: 'timed out',
      trigger: 'manual',
    },
  ],
  nextAttemptAt: '2026-11-23T10:10:00.000Z',
  lastError: 'timed out',
  deadMessageId: 'm-1',
  deadAt: '2026-11-23T09:59:31.000Z',
  deadToken: 't-1',
  redrivenBy: 'm-2',
  replay: 'rpl_1',
  roundAttempts: 2,
  createdAt: '2026-11-23T09:59:01.000Z',
  updatedAt: '2026-11-23T09:59:31.000Z',
};
const apiKey: ApiKeyRecord = {
  id: 'key_0123456789abcdef01234567',
  tenant: 'acme',
  hash: 'f'.repeat(64),
  description: 'ci',
  createdAt: '2026-11-01T00:00:00.000Z',
};
const eventType: EventType = {
  tenant: 'acme',
  name: 'order.created',
  description: 'an order',
  schema: { type: 'object', required: ['id'] },
  example: { id: 'o-1' },
  deprecated: false,
  revision: 3,
  createdAt: '2026-11-01T00:00:00.000Z',
  updatedAt: '2026-11-02T00:00:00.000Z',
};
const redrive: RedriveStatus = { status: 'RUNNING', moved: 1, total: 3 };
const replay: ReplayStatus = {
  id: 'rpl_1',
  status: 'RUNNING',
  from: '2026-11-22T00:00:00.000Z',
  to: '2026-11-23T00:00:00.000Z',
  lastReplayedAt: '2026-11-22T12:00:00.000Z',
  replayed: 10,
  reason: 'started',
};

function apiDeps(): ApiDeps {
  const store = {
    getSubscription: async (_t: string, id: string) => (id === subscription.id ? subscription : undefined),
    listSubscriptions: async () => [subscription],
    putSubscription: async () => true,
    deleteSubscription: async () => true,
    listDeliveriesBySubscription: async () => ({ items: [delivery], next: 'c2' }),
    getEvent: async () => anEvent({ position: 0, subscriptionId: 'sub_1' }),
    listEvents: async () => ({
      items: [anEvent({ position: 1, subscriptionId: 'sub_1' }), anEvent()],
      next: 'c',
    }),
    listDeliveriesByEvent: async () => [delivery],
    getDelivery: async () => delivery,
    countDeadDeliveries: async () => 1,
    listDeadDeliveries: async () => ({ items: [delivery] }),
    putApiKey: async () => {},
    listApiKeys: async () => [apiKey],
    deleteApiKey: async () => true,
    countEventTypes: async () => 1,
    putEventType: async () => true,
    listEventTypes: async () => ({ items: [eventType] }),
    getEventType: async () => eventType,
    deleteEventType: async () => true,
  };
  return {
    store: store as unknown as ApiDeps['store'],
    bus: { publish: async () => {} } as unknown as ApiDeps['bus'],
    tasks: {
      enqueue: async () => {},
      startRedrive: async () => redrive,
      deadLetterCount: async () => 3,
      redriveStatus: async () => redrive,
    } as unknown as ApiDeps['tasks'],
    replayer: { start: async () => replay, status: async () => replay, list: async () => [replay] },
    targets: { refusalForUrl: () => undefined } as unknown as ApiDeps['targets'],
    clock: fixedClock(),
    secretGraceSeconds: 3600,
    auth,
    openApi: async () => openApiDocument(),
    portal: {
      sessions: {
        putPortalSession: async () => {},
        getPortalSession: async () => ({
          id: 'pss_000000000000000000000001',
          tenant: 'acme',
          hash: 'h',
          createdAt: '2026-11-23T10:00:00.000Z',
          expiresAt: '2026-11-23T11:00:00.000Z',
        }),
        deletePortalSession: async () => true,
      },
    },
  };
}

describe('GET /openapi.json', () => {
  it('answers the document without an Authorization header', async () => {
    const deps = apiDeps();
    let asked = 0;
    const handler = makeApiHandler({
      ...deps,
      auth: {
        authenticate: async (a) => {
          asked++;
          return auth.authenticate(a);
        },
      },
    });
    const res = await handler(request('GET', '/openapi.json'));
    expect(res.statusCode).toBe(200);
    expect(res.headers?.['content-type']).toBe('application/json');
    expect(JSON.parse(res.body as string)).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    expect(asked).toBe(0);
    // Other methods on it are routes of the table like any other: authenticated first.
    expect((await handler(request('POST', '/openapi.json'))).statusCode).toBe(401);
  });
});

describe('what the handlers answer matches the document', () => {
  const api = makeApiHandler(apiDeps());
  const ingest = makeIngestHandler({ bus: { publish: async () => {} }, clock: fixedClock(), auth });
  const window = { from: new Date(NOW.getTime() - 3_600_000).toISOString() };
  const calls: Array<[route: string, status: number, event: APIGatewayProxyEventV2, target?: 'ingest']> = [
    ['GET /health', 200, request('GET', '/health')],
    [
      'POST /v1/events',
      202,
      request('POST', '/v1/events', { key: TENANT_KEY, body: { type: 'a.b', data: {} } }),
      'ingest',
    ],
    [
      'POST /v1/events/batch',
      202,
      request('POST', '/v1/events/batch', { key: TENANT_KEY, body: { events: [{ type: 'a.b', data: {} }] } }),
      'ingest',
    ],
    [
      'GET /v1/events',
      200,
      request('GET', '/v1/events', { key: TENANT_KEY, query: { type: 'shipment.delivered', limit: '5' } }),
    ],
    ['GET /v1/events/{id}', 200, request('GET', '/v1/events/evt_1', { key: TENANT_KEY })],
    ['GET /v1/subscriptions', 200, request('GET', '/v1/subscriptions', { key: TENANT_KEY })],
    [
      'POST /v1/subscriptions',
      201,
      request('POST', '/v1/subscriptions', {
        key: TENANT_KEY,
        body: {
          url: 'https://receiver.example/x',
          eventTypes: ['a.*'],
          description: 'd',
          maxInFlight: 3,
          ordering: 'fifo',
          filter: { type: ['a.b'] },
          headers: { 'X-Api-Key': 'k' },
          auth: { type: 'basic', username: 'u', password: 'p' },
          format: 'xml',
        },
      }),
    ],
    ['GET /v1/subscriptions/{id}', 200, request('GET', '/v1/subscriptions/sub_1', { key: TENANT_KEY })],
    [
      'PATCH /v1/subscriptions/{id}',
      200,
      request('PATCH', '/v1/subscriptions/sub_1', { key: TENANT_KEY, body: { description: 'x' } }),
    ],
    [
      'POST /v1/subscriptions/{id}/test',
      202,
      request('POST', '/v1/subscriptions/sub_1/test', { key: TENANT_KEY }),
    ],
    [
      'POST /v1/event-types',
      201,
      request('POST', '/v1/event-types', {
        key: TENANT_KEY,
        body: { name: 'order.created', example: { id: 'o-1' } },
      }),
    ],
    ['GET /v1/event-types', 200, request('GET', '/v1/event-types', { key: TENANT_KEY })],
    ['GET /v1/event-types/{name}', 200, request('GET', '/v1/event-types/order.created', { key: TENANT_KEY })],
    [
      'PATCH /v1/event-types/{name}',
      200,
      request('PATCH', '/v1/event-types/order.created', { key: TENANT_KEY, body: { deprecated: true } }),
    ],
    [
      'GET /v1/subscriptions/{id}/secret',
      200,
      request('GET', '/v1/subscriptions/sub_1/secret', { key: TENANT_KEY }),
    ],
    [
      'POST /v1/subscriptions/{id}/rotate-secret',
      200,
      request('POST', '/v1/subscriptions/sub_1/rotate-secret', { key: TENANT_KEY }),
    ],
    [
      'GET /v1/subscriptions/{id}/deliveries',
      200,
      request('GET', '/v1/subscriptions/sub_1/deliveries', { key: TENANT_KEY, query: { limit: '10' } }),
    ],
    ['GET /v1/deliveries/{id}', 200, request('GET', '/v1/deliveries/dlv_1', { key: TENANT_KEY })],
    [
      'POST /v1/deliveries/{id}/retry',
      202,
      request('POST', '/v1/deliveries/dlv_1/retry', { key: TENANT_KEY }),
    ],
    ['GET /v1/dlq', 200, request('GET', '/v1/dlq', { key: TENANT_KEY })],
    ['POST /v1/dlq/redrive', 202, request('POST', '/v1/dlq/redrive', { key: ADMIN_KEY })],
    ['GET /v1/dlq/redrive', 200, request('GET', '/v1/dlq/redrive', { key: ADMIN_KEY })],
    [
      'POST /v1/subscriptions/{id}/recover',
      202,
      request('POST', '/v1/subscriptions/sub_1/recover', { key: TENANT_KEY, body: window }),
    ],
    ['POST /v1/replays', 202, request('POST', '/v1/replays', { key: ADMIN_KEY, body: window })],
    ['GET /v1/replays/{id}', 200, request('GET', '/v1/replays/rpl_1', { key: ADMIN_KEY })],
    [
      'POST /v1/admin/api-keys',
      201,
      request('POST', '/v1/admin/api-keys', { key: ADMIN_KEY, body: { tenant: 'acme', description: 'd' } }),
    ],
    ['GET /v1/admin/api-keys', 200, request('GET', '/v1/admin/api-keys', { key: ADMIN_KEY })],
    ['POST /v1/portal-sessions', 201, request('POST', '/v1/portal-sessions', { key: TENANT_KEY, body: {} })],
    [
      'GET /v1/subscriptions/{id}/stats',
      200,
      request('GET', '/v1/subscriptions/sub_1/stats', { key: TENANT_KEY }),
    ],
    ['GET /v1/replays', 200, request('GET', '/v1/replays', { key: ADMIN_KEY })],
    ['GET /v1/admin/dlq', 200, request('GET', '/v1/admin/dlq', { key: ADMIN_KEY })],
    // Errors: the envelope, whatever the route.
    ['GET /v1/subscriptions/{id}', 401, request('GET', '/v1/subscriptions/sub_1')],
    ['GET /v1/subscriptions/{id}', 403, request('GET', '/v1/subscriptions/sub_1', { key: ADMIN_KEY })],
    ['GET /v1/subscriptions/{id}', 404, request('GET', '/v1/subscriptions/sub_404', { key: TENANT_KEY })],
    [
      'POST /v1/subscriptions',
      400,
      request('POST', '/v1/subscriptions', { key: TENANT_KEY, body: { eventTypes: ['a'] } }),
    ],
    [
      'POST /v1/subscriptions',
      415,
      request('POST', '/v1/subscriptions', {
        key: TENANT_KEY,
        body: { url: 'x' },
        contentType: 'text/plain',
      }),
    ],
    [
      'POST /v1/events',
      400,
      request('POST', '/v1/events', { key: TENANT_KEY, body: { type: 'relay.x', data: {} } }),
      'ingest',
    ],
  ];

  it.each(calls)('%s answers %i as documented', async (route, status, event, target) => {
    const res: HttpResult = await (target === 'ingest' ? ingest : api)(event);
    expect(res.statusCode, res.body).toBe(status);
    const result = validatorFor(schemaOf(route, status)).validate(JSON.parse(res.body as string));
    expect(result.errors).toEqual([]);
  });

  it('answers 204 without a body where the document says so', async () => {
    for (const [route, path, key] of [
      ['DELETE /v1/subscriptions/{id}', '/v1/subscriptions/sub_1', TENANT_KEY],
      ['DELETE /v1/admin/api-keys/{id}', `/v1/admin/api-keys/${apiKey.id}`, ADMIN_KEY],
      ['DELETE /v1/event-types/{name}', '/v1/event-types/order.created', TENANT_KEY],
      ['DELETE /v1/portal-sessions/{id}', '/v1/portal-sessions/pss_000000000000000000000001', TENANT_KEY],
    ] as const) {
      const [method, pattern] = route.split(' ') as [string, string];
      expect(doc.paths[pattern]?.[method.toLowerCase()]?.responses['204']).toEqual({
        description: expect.any(String),
      });
      const res = await api(request(method, path, { key }));
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');
    }
  });

  it('has a call above for every success the document lists, but the 200 of a duplicate ingest', () => {
    const covered = new Set(calls.map(([route, status]) => `${route} ${status}`));
    covered.add('GET /openapi.json 200');
    // The portal's and console's pages and files are not JSON: test/unit/handlers/portal.test.ts
    // serves them.
    for (const path of [
      '/portal',
      '/portal/app.js',
      '/portal/app.css',
      '/console',
      '/console/app.js',
      '/console/app.css',
    ])
      covered.add(`GET ${path} 200`);
    for (const { key, op } of operations()) {
      for (const status of Object.keys(op.responses).filter((s) => /^2/.test(s))) {
        if (status === '204' || (key.startsWith('POST /v1/events') && status === '200')) continue;
        expect(covered, `${key} ${status}`).toContain(`${key} ${status}`);
      }
    }
  });
});
