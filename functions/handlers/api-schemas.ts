/**
 * The bodies the HTTP API answers with, as zod schemas: what the OpenAPI document
 * (openapi.ts) publishes for every response. No handler parses with them; they describe what
 * the handlers build (api.ts, ingest.ts, http.ts errorResponse) from core/subscription.ts
 * toPublic, core/delivery/model.ts toPublicDelivery, core/keys.ts and the ports' statuses, and
 * test/unit/handlers/openapi.test.ts checks real answers against them.
 */
import * as z from 'zod/mini';
import { PayloadFormatSchema } from '../core/subscription.ts';
import { EndpointAuthSchema } from '../core/subscriptions/auth.ts';
import { FilterSchema } from '../core/subscriptions/filter.ts';
import '../core/zod.ts';

const isoInstant = (description: string) => z.iso.datetime().check(z.describe(`${description} (ISO 8601)`));
const count = (description: string) => z.int().check(z.minimum(0), z.describe(description));
/** The cursor of the next page, or null on the last one. */
const NextSchema = z.nullable(
  z.string().check(z.describe('Cursor of the next page (pass it as `cursor`), or null on the last page')),
);

/** `{"error": {code, message, details}}`: every 4xx and 5xx (http.ts errorResponse). */
export const ErrorDetailSchema = z.strictObject({
  path: z.string().check(z.describe('The field at fault, dotted (`events.0.type`), or `(body)`')),
  message: z.string(),
});
export const ErrorSchema = z.strictObject({
  error: z.strictObject({
    code: z
      .string()
      .check(
        z.describe(
          'Machine-readable: invalid_request, target_refused, unauthorized, admin_key_required, ' +
            'tenant_key_required, not_found, route_not_found, method_not_allowed, conflict, ' +
            'subscription_disabled, event_in_flight, payload_too_large, event_too_large, ' +
            'unsupported_media_type, internal_error, ...',
        ),
      ),
    message: z.string().check(z.describe('What went wrong, for people')),
    details: z.array(ErrorDetailSchema),
  }),
});

export const HealthSchema = z.strictObject({ status: z.literal('ok') });

/** The OpenAPI document itself (`GET /openapi.json`). */
export const OpenApiDocumentSchema = z.record(z.string(), z.unknown());

/** What listings show of an endpoint's auth (core/subscriptions/auth.ts publicAuth): no credentials. */
export const PublicEndpointAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('basic'), username: z.string() }),
  z.strictObject({ type: z.literal('bearer') }),
  z.strictObject({
    type: z.literal('oauth2'),
    tokenUrl: z.string(),
    clientId: z.string(),
    scope: z.optional(z.string()),
    audience: z.optional(z.string()),
  }),
]);

/** A subscription as the API shows it (core/subscription.ts toPublic): no secret, no credentials. */
export const SubscriptionSchema = z.strictObject({
  id: z.string(),
  url: z.string(),
  eventTypes: z.array(z.string()),
  description: z.optional(z.string()),
  enabled: z.boolean(),
  maxInFlight: z.optional(
    z.int().check(z.describe('Requests to the endpoint in flight at once, fleet-wide (absent: 50)')),
  ),
  rateLimitPerSecond: z.optional(
    z.number().check(z.describe('Attempts per second at most, fleet-wide (absent: no limit)')),
  ),
  ordering: z.optional(z.literal('fifo').check(z.describe('Absent: unordered'))),
  filter: z.optional(FilterSchema),
  headers: z.optional(
    z
      .record(z.string(), z.string())
      .check(z.describe('Extra request headers on every webhook, names lower-case')),
  ),
  auth: z.optional(PublicEndpointAuthSchema),
  format: PayloadFormatSchema,
  disabledReason: z.optional(z.string().check(z.describe('Why the relay disabled it'))),
  disabledAt: z.optional(isoInstant('When the relay disabled it')),
  failingSince: z.optional(isoInstant('The first failure since the last success')),
  circuit: z.optional(
    z.strictObject({
      openUntil: isoInstant('No attempts before this'),
      timeouts: count('Timeouts that opened it'),
      probeUntil: z.optional(isoInstant('One probe attempt is under way until this')),
    }),
  ),
  previousSecretExpiresAt: z.optional(
    isoInstant("When the last rotation's old secret stops (or stopped) being signed with"),
  ),
  createdAt: isoInstant('Created'),
  updatedAt: isoInstant('Last changed'),
});

const SecretField = z.string().check(z.describe('The signing secret (`whsec_` + base64)'));

/** A subscription with its secret: the answer to a create and to a rotation. */
export const SubscriptionWithSecretSchema = z.extend(SubscriptionSchema, { secret: SecretField });
/** The answer to a create: the secret and, once, the auth's credentials. */
export const SubscriptionCreatedSchema = z.extend(SubscriptionWithSecretSchema, {
  auth: z.optional(EndpointAuthSchema),
});
export const SubscriptionListSchema = z.strictObject({ subscriptions: z.array(SubscriptionSchema) });
export const SecretSchema = z.strictObject({ secret: SecretField });

/** One HTTP attempt of a delivery (core/delivery/model.ts Attempt). */
export const AttemptSchema = z.strictObject({
  attempt: z.int().check(z.minimum(1)),
  at: isoInstant('When it was made'),
  status: z
    .int()
    .check(z.describe('HTTP status, or 0 when no response came (network error, timeout, refused target)')),
  durationMs: z.number(),
  error: z.optional(z.string().check(z.describe('Why it failed; absent on success'))),
  responseBody: z.optional(z.string().check(z.describe('The first bytes of the response body'))),
  trigger: z.enum(['scheduled', 'manual']),
});

/** A delivery with its attempts (core/delivery/model.ts toPublicDelivery). */
export const DeliverySchema = z.strictObject({
  id: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  subscriptionId: z.string(),
  url: z.string(),
  status: z
    .enum(['pending', 'succeeded', 'failed', 'dead'])
    .check(
      z.describe(
        'pending: another attempt is scheduled or under way; succeeded: the receiver answered 2xx; ' +
          'failed: given up outside the DLQ (its subscription was deleted); dead: in the DLQ until redriven',
      ),
    ),
  attempts: z.array(AttemptSchema),
  nextAttemptAt: z.optional(isoInstant('When the next attempt is due')),
  lastError: z.optional(z.string()),
  deadAt: z.optional(isoInstant('When it was dead-lettered')),
  replay: z.optional(z.string().check(z.describe('The replay that made this delivery'))),
  roundAttempts: z.optional(
    count('Scheduled attempts in the current round (a DLQ redrive starts a new round)'),
  ),
  createdAt: isoInstant('Created'),
  updatedAt: isoInstant('Last changed'),
});

export const DeliveryPageSchema = z.strictObject({ deliveries: z.array(DeliverySchema), next: NextSchema });
export const DlqPageSchema = z.strictObject({
  count: count("Deliveries in the tenant's DLQ"),
  deliveries: z.array(DeliverySchema),
  next: NextSchema,
});

/** An accepted event as the API shows it (no tenant, no internal target). */
export const EventSchema = z.strictObject({
  id: z.string(),
  type: z.string(),
  timestamp: isoInstant("The producer's time, or when it was received"),
  data: z.record(z.string(), z.unknown()),
  receivedAt: isoInstant('When the relay accepted it'),
  position: z.optional(count('Its place in the batch it was ingested with, when that held more than one')),
});
/** `GET /v1/events`: newest first. */
export const EventPageSchema = z.strictObject({ events: z.array(EventSchema), next: NextSchema });
/** An event with its deliveries (`GET /v1/events/{id}`). */
export const EventWithDeliveriesSchema = z.extend(EventSchema, { deliveries: z.array(DeliverySchema) });

export const EventAcceptedSchema = z.strictObject({ id: z.string().check(z.describe('The event id')) });
export const EventDuplicateSchema = z.strictObject({
  id: z.string().check(z.describe('The id of the event first accepted')),
  duplicate: z.literal(true),
});
export const BatchAcceptedSchema = z.strictObject({
  ids: z.array(z.string()).check(z.describe("Every input's event id, in order")),
  duplicates: count('Inputs repeating an id already accepted within 24 h (or earlier in the batch)'),
});

export const TestEventSentSchema = z.strictObject({
  id: z.string().check(z.describe('The test event id')),
  type: z.string().check(z.describe('`webhook.test`, or the catalog type asked for')),
});

export const RetryEnqueuedSchema = z.strictObject({ id: z.string(), status: z.literal('retry_enqueued') });

/** A DLQ redrive's progress (core/ports.ts RedriveStatus). */
export const RedriveStatusSchema = z.strictObject({
  status: z.enum(['RUNNING', 'COMPLETED', 'CANCELLED', 'FAILED']),
  moved: count('Messages moved back so far'),
  total: count('Messages to move'),
});

export const RecoverResultSchema = z.strictObject({
  queued: count('Failed or dead deliveries given one more attempt'),
  scanned: count('Deliveries looked at'),
  next: NextSchema,
});

/** A replay of archived events (core/ports.ts ReplayStatus). */
export const ReplayStatusSchema = z.strictObject({
  id: z.string(),
  status: z.enum(['STARTING', 'RUNNING', 'CANCELLING', 'COMPLETED', 'CANCELLED', 'FAILED']),
  from: isoInstant('Window start'),
  to: isoInstant('Window end'),
  lastReplayedAt: z.optional(isoInstant('The time of the last event replayed')),
  replayed: z.optional(count('Events replayed so far, where the replayer can count them')),
  reason: z.optional(z.string()),
});

/** A tenant API key, without the key (core/keys.ts toPublicKey). */
export const ApiKeySchema = z.strictObject({
  id: z.string(),
  tenant: z.string(),
  description: z.optional(z.string()),
  createdAt: isoInstant('Created'),
});
export const ApiKeyCreatedSchema = z.extend(ApiKeySchema, {
  key: z.string().check(z.describe('The key (`rk_...`): shown this once, never stored')),
});
export const ApiKeyListSchema = z.strictObject({ apiKeys: z.array(ApiKeySchema) });

/** A portal session as created (core/portal/session.ts): the token is only in the url's fragment. */
export const PortalSessionSchema = z.strictObject({
  id: z.string().check(z.describe('`pss_...`: what DELETE /v1/portal-sessions/{id} takes')),
  tenant: z.string(),
  url: z.string().check(z.describe('`https://{host}/portal#token=ps_...`')),
  expiresAt: z.string(),
});

/** An entry of the tenant's event-type catalog (core/catalog/event-type.ts toPublicEventType). */
export const EventTypeSchema = z.strictObject({
  name: z.string(),
  description: z.optional(z.string()),
  schema: z.optional(
    z
      .record(z.string(), z.unknown())
      .check(z.describe('JSON Schema (draft 2020-12) that ingest checks `data` against')),
  ),
  example: z.optional(
    z
      .record(z.string(), z.unknown())
      .check(z.describe("An example `data`, sent by subscriptions' test events")),
  ),
  deprecated: z.boolean(),
  createdAt: isoInstant('Created'),
  updatedAt: isoInstant('Last changed'),
});
export const EventTypeListSchema = z.strictObject({
  eventTypes: z.array(EventTypeSchema),
  next: z.nullable(z.string()),
});

/** A subscription's last 24 h (core/management.ts subscriptionStats). */
export const SubscriptionStatsSchema = z.strictObject({
  from: isoInstant('Window start'),
  to: isoInstant('Window end (now)'),
  deliveries: count('Deliveries looked at, of events received in the window'),
  succeeded: count('Succeeded'),
  failed: count('Given up outside the DLQ'),
  dead: count('In the DLQ'),
  pending: count('Still being attempted'),
  successRate: z.nullable(
    z
      .number()
      .check(z.describe('Succeeded of the settled (succeeded, failed, dead), 0-1; null when none settled')),
  ),
  complete: z
    .boolean()
    .check(
      z.describe('False when the window held more than 1,000 deliveries (the figures are of the newest)'),
    ),
});

export const ReplayListSchema = z.strictObject({ replays: z.array(ReplayStatusSchema) });
export const DeadLetterCountSchema = z.strictObject({
  count: count('Tasks in the delivery DLQ now, every tenant (approximate, as SQS counts)'),
});
