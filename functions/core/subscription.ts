import * as z from 'zod/mini';
import { EVENT_FILTER_PATTERN } from './matching.ts';
import { type EndpointAuth, EndpointAuthSchema, publicAuth } from './subscriptions/auth.ts';
import { type EventFilter, FilterSchema } from './subscriptions/filter.ts';
import { CustomHeadersSchema, normalizeHeaders } from './subscriptions/headers.ts';
import './zod.ts';
import type { Subscription } from './subscriptions/model.ts';

export { activeSecrets, DEFAULT_MAX_IN_FLIGHT, type Subscription } from './subscriptions/model.ts';

const SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

const UrlSchema = z.string().check(
  z.maxLength(2048, 'must be at most 2048 characters'),
  z.refine((u) => URL.canParse(u) && ['http:', 'https:'].includes(new URL(u).protocol), {
    message: 'must be an absolute http:// or https:// URL',
  }),
);

const EventTypesSchema = z
  .array(
    z
      .string()
      .check(
        z.maxLength(130),
        z.regex(
          EVENT_FILTER_PATTERN,
          'must be an event type (order.created), a prefix wildcard (order.*) or *',
        ),
      ),
  )
  .check(
    z.minLength(1, 'must list at least one event type'),
    z.maxLength(100, 'must list at most 100 event types'),
  );

const SecretSchema = z.string().check(
  z.regex(SECRET_PATTERN, 'must be "whsec_" followed by base64'),
  z.refine((s) => {
    const n = Buffer.from(s.slice(6), 'base64').length;
    return n >= 24 && n <= 64;
  }, 'must encode 24 to 64 random bytes'),
);

const DescriptionSchema = z.string().check(z.maxLength(1000, 'must be at most 1000 characters'));

export const MAX_IN_FLIGHT_RANGE = { min: 1, max: 500 } as const;
export const RATE_LIMIT_RANGE = { min: 1, max: 10_000 } as const;

const MaxInFlightSchema = z
  .int('must be a whole number')
  .check(
    z.gte(MAX_IN_FLIGHT_RANGE.min, `must be at least ${MAX_IN_FLIGHT_RANGE.min}`),
    z.lte(MAX_IN_FLIGHT_RANGE.max, `must be at most ${MAX_IN_FLIGHT_RANGE.max}`),
  );
const RateLimitSchema = z
  .number()
  .check(
    z.gte(RATE_LIMIT_RANGE.min, `must be at least ${RATE_LIMIT_RANGE.min} per second`),
    z.lte(RATE_LIMIT_RANGE.max, `must be at most ${RATE_LIMIT_RANGE.max} per second`),
  );

/**
 * `fifo`: webhooks reach the endpoint one at a time in ingest order, a failing one blocking those
 * behind it (see delivery/ordering.ts); `none` (the default): in parallel, each retried alone.
 */
export const OrderingSchema = z.enum(['none', 'fifo'], { error: 'must be "none" or "fifo"' });

/** The body's format: `json` (the default) or `xml` (core/delivery/xml.ts gives the mapping). */
export const PayloadFormatSchema = z.enum(['json', 'xml'], { error: 'must be "json" or "xml"' });
export type PayloadFormat = z.infer<typeof PayloadFormatSchema>;

/** `POST /v1/subscriptions` body. */
export const SubscriptionCreateSchema = z.strictObject({
  url: UrlSchema,
  eventTypes: EventTypesSchema,
  description: z.optional(DescriptionSchema),
  enabled: z.optional(z.boolean()),
  secret: z.optional(SecretSchema),
  maxInFlight: z.optional(MaxInFlightSchema),
  rateLimitPerSecond: z.optional(RateLimitSchema),
  ordering: z.optional(OrderingSchema),
  /** Only events matching this EventBridge-style pattern on `{type, data}` (subscriptions/filter.ts). */
  filter: z.optional(FilterSchema),
  headers: z.optional(CustomHeadersSchema),
  auth: z.optional(EndpointAuthSchema),
  format: z.optional(PayloadFormatSchema),
});
export type SubscriptionCreate = z.infer<typeof SubscriptionCreateSchema>;

const PATCHABLE = [
  'url',
  'eventTypes',
  'description',
  'enabled',
  'maxInFlight',
  'rateLimitPerSecond',
  'ordering',
  'filter',
  'headers',
  'auth',
  'format',
];

/** `PATCH /v1/subscriptions/{id}` body: any of the mutable fields, at least one. */
export const SubscriptionPatchSchema = z
  .strictObject({
    url: z.optional(UrlSchema),
    eventTypes: z.optional(EventTypesSchema),
    description: z.optional(DescriptionSchema),
    enabled: z.optional(z.boolean()),
    maxInFlight: z.optional(MaxInFlightSchema),
    /** `null` removes the limit. */
    rateLimitPerSecond: z.optional(z.nullable(RateLimitSchema)),
    ordering: z.optional(OrderingSchema),
    /** `null` removes the filter, the headers or the auth; a value replaces the whole field. */
    filter: z.optional(z.nullable(FilterSchema)),
    headers: z.optional(z.nullable(CustomHeadersSchema)),
    auth: z.optional(z.nullable(EndpointAuthSchema)),
    format: z.optional(PayloadFormatSchema),
  })
  .check(z.refine((p) => Object.keys(p).length > 0, `must change at least one of ${PATCHABLE.join(', ')}`));
export type SubscriptionPatch = z.infer<typeof SubscriptionPatchSchema>;

export type PublicSubscription = Omit<
  Subscription,
  'secret' | 'tenant' | 'previousSecrets' | 'healthUpdatedAt' | 'auth' | 'format'
> & {
  /** When the last rotation's old secret stops (or stopped) being signed with. */
  previousSecretExpiresAt?: string;
  /** The auth's type and non-secret fields only. */
  auth?: ReturnType<typeof publicAuth>;
  format: PayloadFormat;
};

/** A subscription as the API shows it: no secret, no credentials. */
export function toPublic(sub: Subscription): PublicSubscription {
  const {
    secret: _secret,
    tenant: _tenant,
    previousSecrets,
    healthUpdatedAt: _h,
    auth,
    format,
    ...rest
  } = sub;
  const last = previousSecrets?.at(-1)?.expiresAt;
  return {
    ...rest,
    format: format ?? 'json',
    ...(auth ? { auth: publicAuth(auth) } : {}),
    ...(last ? { previousSecretExpiresAt: last } : {}),
  };
}

/** The optional fields a create or a patch sets, as stored (`null` and defaults dropped). */
export function deliveryOptions(input: {
  filter?: EventFilter | null | undefined;
  headers?: Record<string, string> | null | undefined;
  auth?: EndpointAuth | null | undefined;
  format?: PayloadFormat | undefined;
}): Pick<Subscription, 'filter' | 'headers' | 'auth' | 'format'> {
  return {
    ...(input.filter ? { filter: input.filter } : {}),
    ...(input.headers && Object.keys(input.headers).length
      ? { headers: normalizeHeaders(input.headers) }
      : {}),
    ...(input.auth ? { auth: input.auth } : {}),
    ...(input.format === 'xml' ? { format: 'xml' as const } : {}),
  };
}

/** `POST /v1/subscriptions/{id}/rotate-secret` body: optionally the new secret. */
export const RotateSecretSchema = z.strictObject({ secret: z.optional(SecretSchema) });
