import { z } from 'zod';
import { EVENT_FILTER_PATTERN } from './matching.ts';

const SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

const UrlSchema = z
  .string()
  .max(2048, 'must be at most 2048 characters')
  .refine((u) => URL.canParse(u) && ['http:', 'https:'].includes(new URL(u).protocol), {
    message: 'must be an absolute http:// or https:// URL',
  });

const EventTypesSchema = z
  .array(
    z
      .string()
      .max(200)
      .regex(EVENT_FILTER_PATTERN, 'must be an event type (order.created), a prefix wildcard (order.*) or *'),
  )
  .min(1, 'must list at least one event type')
  .max(100, 'must list at most 100 event types');

const SecretSchema = z
  .string()
  .regex(SECRET_PATTERN, 'must be "whsec_" followed by base64')
  .refine((s) => {
    const n = Buffer.from(s.slice(6), 'base64').length;
    return n >= 24 && n <= 64;
  }, 'must encode 24 to 64 random bytes');

/** `POST /v1/subscriptions` body. */
export const SubscriptionCreateSchema = z.strictObject({
  url: UrlSchema,
  eventTypes: EventTypesSchema,
  description: z.string().max(1000, 'must be at most 1000 characters').optional(),
  enabled: z.boolean().optional(),
  secret: SecretSchema.optional(),
});
export type SubscriptionCreate = z.infer<typeof SubscriptionCreateSchema>;

/** `PATCH /v1/subscriptions/{id}` body: any of the mutable fields, at least one. */
export const SubscriptionPatchSchema = z
  .strictObject({
    url: UrlSchema.optional(),
    eventTypes: EventTypesSchema.optional(),
    description: z.string().max(1000, 'must be at most 1000 characters').optional(),
    enabled: z.boolean().optional(),
  })
  .refine(
    (p) => Object.keys(p).length > 0,
    'must change at least one of url, eventTypes, description, enabled',
  );
export type SubscriptionPatch = z.infer<typeof SubscriptionPatchSchema>;

/** A subscription as stored. The secret never leaves through listings. */
export interface Subscription {
  id: string;
  tenant: string;
  url: string;
  eventTypes: string[];
  description?: string;
  enabled: boolean;
  secret: string;
  createdAt: string;
  updatedAt: string;
}

export type PublicSubscription = Omit<Subscription, 'secret' | 'tenant'>;

export function toPublic(sub: Subscription): PublicSubscription {
  const { secret: _secret, tenant: _tenant, ...rest } = sub;
  return rest;
}
