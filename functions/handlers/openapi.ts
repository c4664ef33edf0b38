/**
 * The OpenAPI 3.1 document of the HTTP API (`GET /openapi.json`), generated, never written by
 * hand: the operations are {@link ROUTES}, each described by its entry in {@link OPERATIONS};
 * request bodies and query strings are the very zod schemas the handlers parse with, response
 * bodies the schemas of api-schemas.ts, all converted by zod's own `z.toJSONSchema` (JSON Schema
 * draft 2020-12, the dialect of OpenAPI 3.1). A route without an entry, or an entry without a
 * route, fails the build loudly (and with it test/unit/handlers/openapi.test.ts).
 */
import * as z from 'zod/mini';
import pkg from '../../package.json' with { type: 'json' };
import { EventTypeCreateSchema, EventTypePatchSchema, TestEventSchema } from '../core/catalog/event-type.ts';
import { EventBatchInputSchema, EventInputSchema } from '../core/event.ts';
import { ApiKeyCreateSchema } from '../core/keys.ts';
import { PortalSessionCreateSchema } from '../core/portal/session.ts';
import {
  RotateSecretSchema,
  SubscriptionCreateSchema,
  SubscriptionPatchSchema,
} from '../core/subscription.ts';
import {
  FilterSchema,
  MAX_FILTER_BYTES,
  MAX_FILTER_DEPTH,
  MAX_FILTER_VALUES,
} from '../core/subscriptions/filter.ts';
import {
  DeliveryListQuerySchema,
  EventListQuerySchema,
  KeyListQuerySchema,
  PageQuerySchema,
  RecoverSchema,
  WindowSchema,
} from './api.ts';
import * as S from './api-schemas.ts';
import { MAX_BODY_BYTES } from './http.ts';
import { MAX_ID_LENGTH, ROUTES, type Route } from './routes.ts';

type Schema = z.ZodMiniType;
type Json = Record<string, unknown>;

/** Request bodies, by component name: converted as what the API accepts (`io: "input"`). */
const REQUEST_SCHEMAS: Record<string, Schema> = {
  SubscriptionCreate: SubscriptionCreateSchema,
  SubscriptionPatch: SubscriptionPatchSchema,
  RotateSecret: RotateSecretSchema,
  TestEvent: TestEventSchema,
  EventTypeCreate: EventTypeCreateSchema,
  EventTypePatch: EventTypePatchSchema,
  EventInput: EventInputSchema,
  EventBatchInput: EventBatchInputSchema,
  ApiKeyCreate: ApiKeyCreateSchema,
  PortalSessionCreate: PortalSessionCreateSchema,
  TimeWindow: WindowSchema,
  RecoverWindow: RecoverSchema,
};

/** Response bodies, by component name: converted as what the API answers (`io: "output"`). */
const RESPONSE_SCHEMAS: Record<string, Schema> = {
  Error: S.ErrorSchema,
  ErrorDetail: S.ErrorDetailSchema,
  Health: S.HealthSchema,
  OpenApiDocument: S.OpenApiDocumentSchema,
  Subscription: S.SubscriptionSchema,
  SubscriptionWithSecret: S.SubscriptionWithSecretSchema,
  SubscriptionCreated: S.SubscriptionCreatedSchema,
  PublicEndpointAuth: S.PublicEndpointAuthSchema,
  SubscriptionList: S.SubscriptionListSchema,
  Secret: S.SecretSchema,
  Attempt: S.AttemptSchema,
  Delivery: S.DeliverySchema,
  DeliveryPage: S.DeliveryPageSchema,
  DlqPage: S.DlqPageSchema,
  Event: S.EventSchema,
  EventPage: S.EventPageSchema,
  EventWithDeliveries: S.EventWithDeliveriesSchema,
  EventAccepted: S.EventAcceptedSchema,
  EventDuplicate: S.EventDuplicateSchema,
  BatchAccepted: S.BatchAcceptedSchema,
  TestEventSent: S.TestEventSentSchema,
  RetryEnqueued: S.RetryEnqueuedSchema,
  EventType: S.EventTypeSchema,
  EventTypeList: S.EventTypeListSchema,
  RedriveStatus: S.RedriveStatusSchema,
  RecoverResult: S.RecoverResultSchema,
  ReplayStatus: S.ReplayStatusSchema,
  ReplayList: S.ReplayListSchema,
  DeadLetterCount: S.DeadLetterCountSchema,
  SubscriptionStats: S.SubscriptionStatsSchema,
  ApiKey: S.ApiKeySchema,
  ApiKeyCreated: S.ApiKeyCreatedSchema,
  PortalSession: S.PortalSessionSchema,
  ApiKeyList: S.ApiKeyListSchema,
};

const TAGS = {
  Meta: 'Health and this document; no key needed.',
  Events: 'Ingest events (tenant key) and look them up with their deliveries.',
  Subscriptions: 'Endpoints, the event types they take, their signing secrets.',
  'Event types': "The tenant's event-type catalog: schemas ingest enforces, examples test events send.",
  Deliveries: 'Each webhook of an event to a subscription, with every HTTP attempt.',
  DLQ: 'Deliveries out of attempts; redriving the shared DLQ takes the admin key.',
  Replays: 'Replaying archived events (admin key).',
  'API keys': 'Tenant API keys, managed with the admin key.',
  Portal: "Links to the endpoint portal: a short-lived session for one tenant's endpoints and log.",
  Console: "The operator console's page and files; it calls the admin routes with the admin key pasted in.",
} as const;
type Tag = keyof typeof TAGS;

type SuccessStatus = 200 | 201 | 202 | 204;
/** Errors an operation may answer besides 401, 403 and 500 (which every keyed route may). */
type ErrorStatus = 400 | 404 | 409 | 413 | 415;

export interface OperationMeta {
  operationId: string;
  summary: string;
  description?: string;
  tag: Tag;
  /** Every `{name}` of the path, described. */
  params?: Record<string, string>;
  /** The query string, an object schema the handler parses it with. */
  query?: Schema;
  body?: { schema: Schema; description?: string; optional?: true };
  responses: Partial<Record<SuccessStatus, { description: string; schema?: Schema }>>;
  /** `true`: the usual meaning (components.responses); a string: what it means here. */
  errors?: Partial<Record<ErrorStatus, true | string>>;
}

const BODY_ERRORS = { 400: true, 413: true, 415: true } as const;

/** What every route of {@link ROUTES} does, keyed `"METHOD /path"`. */
export const OPERATIONS: Record<string, OperationMeta> = {
  'GET /health': {
    operationId: 'getHealth',
    summary: 'Liveness check',
    tag: 'Meta',
    responses: { 200: { description: 'The API function is up', schema: S.HealthSchema } },
  },
  'GET /portal': {
    operationId: 'getPortalPage',
    summary: 'The endpoint portal (HTML)',
    description:
      'Open the `url` of POST /v1/portal-sessions (its token is in the fragment). Strict Content-Security-Policy; framable only by RELAY_PORTAL_FRAME_ANCESTORS.',
    tag: 'Portal',
    responses: { 200: { description: 'The page (text/html)' } },
  },
  'GET /portal/app.js': {
    operationId: 'getPortalScript',
    summary: "The endpoint portal's script",
    tag: 'Portal',
    responses: { 200: { description: 'An ES module (text/javascript)' } },
  },
  'GET /portal/app.css': {
    operationId: 'getPortalStyles',
    summary: "The endpoint portal's styles",
    tag: 'Portal',
    responses: { 200: { description: 'The stylesheet (text/css)' } },
  },
  'GET /console': {
    operationId: 'getConsolePage',
    summary: 'The operator console (HTML)',
    description:
      'Tenants and their keys, the DLQ and its redrive, replays; sign in with the admin key. Strict Content-Security-Policy; never framed.',
    tag: 'Console',
    responses: { 200: { description: 'The page (text/html)' } },
  },
  'GET /console/app.js': {
    operationId: 'getConsoleScript',
    summary: "The operator console's script",
    tag: 'Console',
    responses: { 200: { description: 'An ES module (text/javascript)' } },
  },
  'GET /console/app.css': {
    operationId: 'getConsoleStyles',
    summary: "The operator console's styles",
    tag: 'Console',
    responses: { 200: { description: 'The stylesheet (text/css)' } },
  },
  'GET /openapi.json': {
    operationId: 'getOpenApiDocument',
    summary: 'This OpenAPI 3.1 document',
    tag: 'Meta',
    responses: { 200: { description: 'The document', schema: S.OpenApiDocumentSchema } },
  },
  'POST /v1/events': {
    operationId: 'ingestEvent',
    summary: 'Send an event',
    description:
      'Accepted means durable: the event is on the bus and fans out to every enabled subscription ' +
      'of the tenant whose event types match. An `id` chosen by the producer is deduplicated for 24 h.',
    tag: 'Events',
    body: { schema: EventInputSchema },
    responses: {
      202: { description: 'Accepted', schema: S.EventAcceptedSchema },
      200: {
        description: 'A duplicate of an event id accepted within 24 h; not published again',
        schema: S.EventDuplicateSchema,
      },
    },
    errors: {
      ...BODY_ERRORS,
      400: "The body is invalid, or `data` does not conform to its type's catalog schema (details name the path)",
      409: 'Another request is accepting the same event id right now (event_in_flight); retry shortly',
      413: 'The body, or the event as stored and routed, is over 256 KB (payload_too_large, event_too_large)',
    },
  },
  'POST /v1/events/batch': {
    operationId: 'ingestEventBatch',
    summary: 'Send up to 100 events at once',
    description: 'All or nothing: a 4xx or 5xx means no event of the batch was accepted by this call.',
    tag: 'Events',
    body: { schema: EventBatchInputSchema },
    responses: {
      202: { description: 'Accepted', schema: S.BatchAcceptedSchema },
      200: {
        description: 'Every event repeats an id accepted within 24 h; nothing was published',
        schema: S.BatchAcceptedSchema,
      },
    },
    errors: {
      ...BODY_ERRORS,
      400: "The body is invalid, or an event's `data` does not conform to its type's catalog schema",
      409: 'Another request is accepting one of the event ids right now (event_in_flight)',
      413: 'The body, or one event as stored and routed, is over 256 KB (payload_too_large, event_too_large)',
    },
  },
  'GET /v1/events': {
    operationId: 'listEvents',
    summary: "The tenant's events, newest first",
    description: 'Optionally of one `type`, received within `from` and `to` (inclusive).',
    tag: 'Events',
    query: EventListQuerySchema,
    responses: { 200: { description: 'A page of events', schema: S.EventPageSchema } },
    errors: { 400: 'The query string is invalid, or `to` is earlier than `from`' },
  },
  'GET /v1/events/{id}': {
    operationId: 'getEvent',
    summary: 'An event with its deliveries',
    tag: 'Events',
    params: { id: 'The event id' },
    responses: { 200: { description: 'The event', schema: S.EventWithDeliveriesSchema } },
    errors: { 404: true },
  },
  'GET /v1/subscriptions': {
    operationId: 'listSubscriptions',
    summary: "The tenant's subscriptions",
    tag: 'Subscriptions',
    responses: {
      200: { description: 'Every subscription, without secrets', schema: S.SubscriptionListSchema },
    },
  },
  'POST /v1/subscriptions': {
    operationId: 'createSubscription',
    summary: 'Create a subscription',
    description:
      'The answer holds the signing secret (generated unless given) and, this once, the credentials ' +
      'of `auth`: later answers show only its type and non-secret fields.',
    tag: 'Subscriptions',
    body: { schema: SubscriptionCreateSchema },
    responses: { 201: { description: 'Created', schema: S.SubscriptionCreatedSchema } },
    errors: {
      ...BODY_ERRORS,
      400: 'The body is invalid, or the url or auth.tokenUrl is refused (target_refused)',
    },
  },
  'GET /v1/subscriptions/{id}': {
    operationId: 'getSubscription',
    summary: 'A subscription',
    tag: 'Subscriptions',
    params: { id: 'The subscription id' },
    responses: { 200: { description: 'The subscription, without its secret', schema: S.SubscriptionSchema } },
    errors: { 404: true },
  },
  'PATCH /v1/subscriptions/{id}': {
    operationId: 'updateSubscription',
    summary: 'Change a subscription',
    description:
      'Only the fields given change. Re-enabling, or a new url, starts its health afresh; ' +
      '`rateLimitPerSecond: null` removes the limit.',
    tag: 'Subscriptions',
    params: { id: 'The subscription id' },
    body: { schema: SubscriptionPatchSchema },
    responses: { 200: { description: 'The subscription as changed', schema: S.SubscriptionSchema } },
    errors: {
      ...BODY_ERRORS,
      400: 'The body is invalid (or empty), or the url is refused (target_refused)',
      404: true,
      409: 'It changed (or was deleted) meanwhile; read it again and retry',
    },
  },
  'DELETE /v1/subscriptions/{id}': {
    operationId: 'deleteSubscription',
    summary: 'Delete a subscription',
    tag: 'Subscriptions',
    params: { id: 'The subscription id' },
    responses: { 204: { description: 'Deleted' } },
    errors: { 404: true },
  },
  'GET /v1/subscriptions/{id}/secret': {
    operationId: 'getSubscriptionSecret',
    summary: "A subscription's signing secret",
    tag: 'Subscriptions',
    params: { id: 'The subscription id' },
    responses: { 200: { description: 'The current secret', schema: S.SecretSchema } },
    errors: { 404: true },
  },
  'POST /v1/subscriptions/{id}/test': {
    operationId: 'sendTestEvent',
    summary: 'Send a test event to this subscription only',
    description:
      'Without a body, a `webhook.test` event; with `{"eventType": ...}`, that type with its example ' +
      'from the catalog (a type the subscription receives).',
    tag: 'Subscriptions',
    params: { id: 'The subscription id' },
    body: { schema: TestEventSchema, optional: true },
    responses: { 202: { description: 'The test event is on its way', schema: S.TestEventSentSchema } },
    errors: {
      ...BODY_ERRORS,
      400: 'The body is invalid, or the type is not received by the subscription or has no catalog example',
      404: true,
      409: 'The subscription is disabled (subscription_disabled)',
    },
  },
  'POST /v1/subscriptions/{id}/rotate-secret': {
    operationId: 'rotateSubscriptionSecret',
    summary: 'Rotate the signing secret',
    description:
      'The old secret keeps signing (webhooks carry both signatures) for the grace period, so ' +
      'receivers can switch without dropping a webhook. Without a body, a secret is generated.',
    tag: 'Subscriptions',
    params: { id: 'The subscription id' },
    body: { schema: RotateSecretSchema, optional: true },
    responses: {
      200: { description: 'The subscription and its new secret', schema: S.SubscriptionWithSecretSchema },
    },
    errors: { ...BODY_ERRORS, 404: true, 409: 'It changed (or was deleted) meanwhile; retry' },
  },
  'POST /v1/event-types': {
    operationId: 'createEventType',
    summary: 'Add an event type to the catalog',
    description:
      'With a `schema`, ingest refuses events of this type whose `data` does not conform (a 400 ' +
      'naming the path); an `example` must conform to it.',
    tag: 'Event types',
    body: { schema: EventTypeCreateSchema },
    responses: { 201: { description: 'Created', schema: S.EventTypeSchema } },
    errors: {
      ...BODY_ERRORS,
      400: 'The body is invalid: a bad schema, or an example it refuses',
      409: 'The type is in the catalog already (conflict), or the catalog is full (limit_reached)',
    },
  },
  'GET /v1/event-types': {
    operationId: 'listEventTypes',
    summary: "The tenant's event-type catalog, in name order",
    tag: 'Event types',
    query: PageQuerySchema,
    responses: { 200: { description: 'A page of entries', schema: S.EventTypeListSchema } },
  },
  'GET /v1/event-types/{name}': {
    operationId: 'getEventType',
    summary: 'An event type of the catalog',
    tag: 'Event types',
    params: { name: 'The event type (`order.created`)' },
    responses: { 200: { description: 'The entry', schema: S.EventTypeSchema } },
    errors: { 404: true },
  },
  'PATCH /v1/event-types/{name}': {
    operationId: 'updateEventType',
    summary: 'Change an event type',
    description: '`null` removes the description, the schema or the example.',
    tag: 'Event types',
    params: { name: 'The event type (`order.created`)' },
    body: { schema: EventTypePatchSchema },
    responses: { 200: { description: 'The entry as changed', schema: S.EventTypeSchema } },
    errors: {
      ...BODY_ERRORS,
      400: 'The body is invalid: a bad schema, or one the example does not conform to',
      404: true,
      409: 'It changed meanwhile; read it again and retry',
    },
  },
  'DELETE /v1/event-types/{name}': {
    operationId: 'deleteEventType',
    summary: 'Remove an event type from the catalog',
    description: 'Events of the type are accepted unchecked again.',
    tag: 'Event types',
    params: { name: 'The event type (`order.created`)' },
    responses: { 204: { description: 'Removed' } },
    errors: { 404: true },
  },
  'GET /v1/subscriptions/{id}/deliveries': {
    operationId: 'listSubscriptionDeliveries',
    summary: "A subscription's deliveries, newest first",
    description:
      'Optionally of one `status` or `eventType`, of events received within `from` and `to`. A filtered page may hold fewer than `limit`: follow `next`.',
    tag: 'Deliveries',
    params: { id: 'The subscription id' },
    query: DeliveryListQuerySchema,
    responses: { 200: { description: 'A page of deliveries', schema: S.DeliveryPageSchema } },
    errors: { 400: 'The query string is invalid', 404: true },
  },
  'GET /v1/subscriptions/{id}/stats': {
    operationId: 'getSubscriptionStats',
    summary: "A subscription's last 24 hours",
    description:
      'Deliveries of events received in the last 24 h by status, and the success rate of the settled ones.',
    tag: 'Subscriptions',
    params: { id: 'The subscription id' },
    responses: { 200: { description: 'The figures', schema: S.SubscriptionStatsSchema } },
    errors: { 404: true },
  },
  'GET /v1/deliveries/{id}': {
    operationId: 'getDelivery',
    summary: 'A delivery with every attempt',
    tag: 'Deliveries',
    params: { id: 'The delivery id' },
    responses: { 200: { description: 'The delivery', schema: S.DeliverySchema } },
    errors: { 404: true },
  },
  'POST /v1/deliveries/{id}/retry': {
    operationId: 'retryDelivery',
    summary: 'One more attempt now',
    description: 'Whatever its status; its schedule stays as it was.',
    tag: 'Deliveries',
    params: { id: 'The delivery id' },
    responses: { 202: { description: 'The attempt is queued', schema: S.RetryEnqueuedSchema } },
    errors: { 404: true },
  },
  'GET /v1/dlq': {
    operationId: 'listDlq',
    summary: "The tenant's dead deliveries",
    tag: 'DLQ',
    query: PageQuerySchema,
    responses: { 200: { description: 'How many, and a page of them', schema: S.DlqPageSchema } },
    errors: { 400: 'The query string is invalid' },
  },
  'POST /v1/dlq/redrive': {
    operationId: 'startDlqRedrive',
    summary: 'Move every DLQ message back to the delivery queue',
    description: 'The DLQ is shared by every tenant: the operator redrives it.',
    tag: 'DLQ',
    responses: { 202: { description: 'The redrive started', schema: S.RedriveStatusSchema } },
  },
  'GET /v1/dlq/redrive': {
    operationId: 'getDlqRedrive',
    summary: "The latest redrive's progress",
    tag: 'DLQ',
    responses: { 200: { description: 'Its progress', schema: S.RedriveStatusSchema } },
    errors: { 404: 'No redrive has been started' },
  },
  'POST /v1/subscriptions/{id}/recover': {
    operationId: 'recoverSubscription',
    summary: 'Retry the failed and dead deliveries of a time window',
    description:
      'For an endpoint back after an outage: one more attempt for each failed or dead delivery ' +
      'created within `[from, to)`. Looks at up to 1000 deliveries per call; pass `next` back as ' +
      '`cursor` for the rest.',
    tag: 'Deliveries',
    params: { id: 'The subscription id' },
    body: { schema: RecoverSchema },
    responses: { 202: { description: 'Attempts queued', schema: S.RecoverResultSchema } },
    errors: { ...BODY_ERRORS, 400: 'The body is invalid, or `to` is not later than `from`', 404: true },
  },
  'POST /v1/replays': {
    operationId: 'startReplay',
    summary: 'Replay the archived events of a time window',
    description:
      "Every event accepted within the window fans out again to today's matching subscriptions, " +
      'as new deliveries with the same `webhook-id`. A `to` in the future is taken as now.',
    tag: 'Replays',
    body: { schema: WindowSchema },
    responses: { 202: { description: 'The replay started', schema: S.ReplayStatusSchema } },
    errors: { ...BODY_ERRORS, 400: 'The body is invalid, or `to` is not later than `from`' },
  },
  'GET /v1/replays/{id}': {
    operationId: 'getReplay',
    summary: "A replay's progress",
    tag: 'Replays',
    params: { id: 'The replay id' },
    responses: { 200: { description: 'Its progress', schema: S.ReplayStatusSchema } },
    errors: { 404: true },
  },
  'GET /v1/replays': {
    operationId: 'listReplays',
    summary: 'Replays, newest first',
    tag: 'Replays',
    responses: { 200: { description: 'Each replay and its progress', schema: S.ReplayListSchema } },
  },
  'GET /v1/admin/dlq': {
    operationId: 'countDeadLetters',
    summary: 'Tasks in the delivery DLQ, every tenant',
    description: "The operator's figure (a tenant's own dead deliveries: GET /v1/dlq).",
    tag: 'DLQ',
    responses: { 200: { description: 'The count', schema: S.DeadLetterCountSchema } },
  },
  'POST /v1/portal-sessions': {
    operationId: 'createPortalSession',
    summary: 'A link to the endpoint portal for one tenant',
    description:
      'With a tenant key, for that tenant; with the admin key, for the `tenant` named. The link carries a short-lived, single-tenant token in its fragment (default 1 h, at most 24 h); put it in an iframe of your dashboard or send it to your customer.',
    tag: 'Portal',
    body: { schema: PortalSessionCreateSchema },
    responses: { 201: { description: 'The link and when it stops working', schema: S.PortalSessionSchema } },
    errors: BODY_ERRORS,
  },
  'DELETE /v1/portal-sessions/{id}': {
    operationId: 'revokePortalSession',
    summary: 'End a portal session now',
    description: 'Every function instance stops taking its token within 10 s.',
    tag: 'Portal',
    params: { id: 'The session id (`pss_...`)' },
    responses: { 204: { description: 'Revoked' } },
    errors: { 404: true },
  },
  'POST /v1/admin/api-keys': {
    operationId: 'createApiKey',
    summary: 'Create a tenant API key',
    tag: 'API keys',
    body: { schema: ApiKeyCreateSchema },
    responses: { 201: { description: 'Created; the key is shown this once', schema: S.ApiKeyCreatedSchema } },
    errors: BODY_ERRORS,
  },
  'GET /v1/admin/api-keys': {
    operationId: 'listApiKeys',
    summary: 'Tenant API keys, oldest first',
    tag: 'API keys',
    query: KeyListQuerySchema,
    responses: { 200: { description: 'The keys, without the keys themselves', schema: S.ApiKeyListSchema } },
    errors: { 400: 'The query string is invalid' },
  },
  'DELETE /v1/admin/api-keys/{id}': {
    operationId: 'revokeApiKey',
    summary: 'Revoke a tenant API key',
    description: 'Every function instance stops taking it within 60 s.',
    tag: 'API keys',
    params: { id: 'The key id (`key_...`)' },
    responses: { 204: { description: 'Revoked' } },
    errors: { 404: true },
  },
};

const ERROR_RESPONSES = {
  400: ['BadRequest', 'The request is invalid (invalid_request); `details` names each field at fault'],
  401: ['Unauthorized', 'No valid API key (unauthorized)'],
  403: ['Forbidden', 'The wrong kind of key for this route (admin_key_required, tenant_key_required)'],
  404: ['NotFound', 'No such resource (not_found)'],
  409: ['Conflict', 'The request conflicts with the current state'],
  413: ['PayloadTooLarge', `The body is over ${MAX_BODY_BYTES} bytes (payload_too_large)`],
  415: [
    'UnsupportedMediaType',
    'The body is not sent as `content-type: application/json` (unsupported_media_type)',
  ],
  500: ['InternalError', 'Something failed on our side (internal_error); the request can be retried'],
} as const;

/**
 * What zod cannot say in JSON Schema (a `z.custom` validated in code), said by hand: merged
 * over the `{}` that `unrepresentable: "any"` makes of it, wherever the schema is used.
 */
const UNREPRESENTABLE = new Map<unknown, Json>([
  [
    FilterSchema,
    {
      type: 'object',
      description:
        'An Amazon EventBridge event pattern matched against `{type, data}` of each event: exact ' +
        'values, arrays as "any of", `prefix`, `suffix`, `anything-but`, `numeric`, `exists`, ' +
        '`wildcard`, `equals-ignore-case`, `$or`; e.g. `{"data": {"total": [{"numeric": [">", 100]}]}}`. ' +
        `At most ${MAX_FILTER_BYTES} bytes, ${MAX_FILTER_DEPTH} levels deep, ${MAX_FILTER_VALUES} values.`,
    },
  ],
]);

const JSON_SCHEMA_OPTIONS = {
  target: 'draft-2020-12',
  unrepresentable: 'any',
  override: ({ zodSchema, jsonSchema }: { zodSchema: unknown; jsonSchema: Json }) => {
    const known = UNREPRESENTABLE.get(zodSchema);
    if (known) Object.assign(jsonSchema, known);
  },
} as const;
const schemaRef = (name: string) => `#/components/schemas/${name}`;

/** One registry of named schemas as JSON Schemas, referring to each other by `$ref`. */
function convertAll(schemas: Record<string, Schema>, io: 'input' | 'output'): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const converted = z.toJSONSchema(registry, { ...JSON_SCHEMA_OPTIONS, io, uri: schemaRef }).schemas;
  // `$schema` is the document's dialect already; a `$id` with a fragment is not allowed in 2020-12.
  return Object.fromEntries(
    Object.entries(converted).map(([id, { $schema: _s, $id: _i, ...rest }]) => [id, rest as Json]),
  );
}

/** The document of `routes` (exported for tests; the API serves {@link openApiDocument}). */
export function buildDocument(
  routes: readonly Route[] = ROUTES,
  operations: Record<string, OperationMeta> = OPERATIONS,
): Json {
  const components: Record<string, Json> = {};
  const names = new Map<Schema, string>();
  for (const [schemas, io] of [
    [REQUEST_SCHEMAS, 'input'],
    [RESPONSE_SCHEMAS, 'output'],
  ] as const) {
    for (const [id, json] of Object.entries(convertAll(schemas, io))) {
      if (components[id]) throw new Error(`openapi: two component schemas are named ${id}`);
      components[id] = json;
    }
    for (const [id, schema] of Object.entries(schemas)) names.set(schema, id);
  }
  const ref = (schema: Schema, where: string) => {
    const name = names.get(schema);
    if (!name)
      throw new Error(`openapi: ${where} uses a schema missing from REQUEST_SCHEMAS/RESPONSE_SCHEMAS`);
    return { $ref: schemaRef(name) };
  };
  const jsonContent = (schema: Schema, where: string) => ({
    'application/json': { schema: ref(schema, where) },
  });

  const paths: Record<string, Record<string, Json>> = {};
  const seen = new Set<string>();
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    const meta = operations[key];
    if (!meta)
      throw new Error(`openapi: route ${key} has no entry in OPERATIONS (functions/handlers/openapi.ts)`);
    seen.add(key);
    const item = paths[route.path] ?? {};
    item[route.method.toLowerCase()] = operation(route, meta, key, jsonContent);
    paths[route.path] = item;
  }
  const stale = Object.keys(operations).filter((key) => !seen.has(key));
  if (stale.length)
    throw new Error(`openapi: OPERATIONS describes routes not in ROUTES: ${stale.join(', ')}`);

  return {
    openapi: '3.1.0',
    info: {
      title: 'Webhook relay API',
      version: pkg.version,
      description:
        'Ingest events and deliver them as signed Standard Webhooks, with retries, a DLQ, redrive ' +
        'and replay. Every `/v1` route takes `Authorization: Bearer <key>`: a tenant API key, or, ' +
        'on operator routes, the admin key. Every 4xx and 5xx answers `{"error": {code, message, ' +
        'details}}`; a path the API has but not with the method used answers 405 ' +
        '(method_not_allowed), any other path 404 (route_not_found), both after authentication.',
    },
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      schemas: components,
      responses: Object.fromEntries(
        Object.values(ERROR_RESPONSES).map(([name, description]) => [
          name,
          { description, content: jsonContent(S.ErrorSchema, 'errors') },
        ]),
      ),
      securitySchemes: {
        tenantKey: {
          type: 'http',
          scheme: 'bearer',
          description: "A tenant's API key (`rk_...`, from POST /v1/admin/api-keys, or the configured key)",
        },
        adminKey: {
          type: 'http',
          scheme: 'bearer',
          description: "The operator's admin key: manages API keys, DLQ redrives and replays only",
        },
        portalSession: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A portal session token (`ps_...`, from POST /v1/portal-sessions): one tenant, the portal routes only',
        },
      },
    },
  };
}

function operation(
  route: Route,
  meta: OperationMeta,
  key: string,
  jsonContent: (schema: Schema, where: string) => Json,
): Json {
  const pathParams = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
  const described = Object.keys(meta.params ?? {});
  const undescribed = pathParams.filter((p) => !meta.params?.[p]);
  const unknown = described.filter((p) => !pathParams.includes(p));
  if (undescribed.length || unknown.length) {
    throw new Error(
      `openapi: ${key}: describe exactly its path parameters (${pathParams.join(', ') || 'none'})`,
    );
  }
  const parameters: Json[] = pathParams.map((name) => ({
    name,
    in: 'path',
    required: true,
    description: meta.params?.[name],
    schema: { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH },
  }));
  if (meta.query) {
    const query = z.toJSONSchema(meta.query, { ...JSON_SCHEMA_OPTIONS, io: 'input' });
    const required = new Set(query.required ?? []);
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      const { description, ...rest } = schema as Json;
      parameters.push({
        name,
        in: 'query',
        required: required.has(name),
        ...(description ? { description } : {}),
        schema: rest,
      });
    }
  }

  const responses: Record<string, Json> = {};
  for (const [status, { description, schema }] of Object.entries(meta.responses)) {
    responses[status] = {
      description,
      ...(schema ? { content: jsonContent(schema, `${key} ${status}`) } : {}),
    };
  }
  if (!Object.keys(responses).some((s) => s.startsWith('2'))) {
    throw new Error(`openapi: ${key} has no success response`);
  }
  const errors: Partial<Record<keyof typeof ERROR_RESPONSES, true | string>> = {
    ...meta.errors,
    ...(route.public ? {} : { 401: true, 403: forbidden(route) }),
    500: true,
  };
  for (const [status, how] of Object.entries(errors)) {
    const [name] = ERROR_RESPONSES[Number(status) as keyof typeof ERROR_RESPONSES];
    responses[status] =
      how === true
        ? { $ref: `#/components/responses/${name}` }
        : { description: how, content: jsonContent(S.ErrorSchema, key) };
  }

  const auth = route.public
    ? 'No key needed.'
    : route.admin
      ? 'Takes the admin key.'
      : "Takes a tenant's API key; the resources are that tenant's.";
  return {
    operationId: meta.operationId,
    summary: meta.summary,
    description: meta.description ? `${meta.description}\n\n${auth}` : auth,
    tags: [meta.tag],
    security: route.public
      ? []
      : [
          { [route.admin ? 'adminKey' : 'tenantKey']: [] },
          ...(route.either ? [{ adminKey: [] }] : []),
          ...(route.portal ? [{ portalSession: [] }] : []),
        ],
    ...(parameters.length ? { parameters } : {}),
    ...(meta.body
      ? {
          requestBody: {
            required: !meta.body.optional,
            ...(meta.body.description ? { description: meta.body.description } : {}),
            content: jsonContent(meta.body.schema, `${key} body`),
          },
        }
      : {}),
    responses,
  };
}

const forbidden = (route: Route) =>
  route.admin
    ? "A tenant's key on this operator route (admin_key_required)"
    : 'The admin key on this tenant route (tenant_key_required)';

let memo: Json | undefined;

/** The OpenAPI 3.1 document of every route in {@link ROUTES}, built once. */
export function openApiDocument(): object {
  memo ??= buildDocument();
  return memo;
}
