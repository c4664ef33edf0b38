import * as z from 'zod/mini';
import './zod.ts';

/** `shipment.delivered`: dotted segments of letters, digits and underscores (Standard Webhooks). */
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;
/** Event ids become `webhook-id`: no `.`, bounded length. */
export const EVENT_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export const EventTypeSchema = z
  .string()
  .check(
    z.maxLength(128, "must be at most 128 characters (the bus's detail-type limit)"),
    z.regex(
      EVENT_TYPE_PATTERN,
      'must be dotted segments of letters, digits and underscores, e.g. order.created',
    ),
  );

/** Event types the relay itself publishes (`relay.subscription.disabled`): producers can't. */
const ProducerEventTypeSchema = EventTypeSchema.check(
  z.refine(
    (t) => !t.startsWith('relay.'),
    'must not start with "relay.", which is reserved for the relay\'s own events',
  ),
);

/** What a producer sends to `POST /v1/events`. */
export const EventInputSchema = z.strictObject({
  type: ProducerEventTypeSchema,
  data: z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }),
  id: z.optional(
    z.string().check(
      z.regex(EVENT_ID_PATTERN, 'must be 1-128 letters, digits, "_" or "-" (no ".")'),
      z.refine(
        (id) => !id.startsWith('evt_'),
        'must not start with "evt_", the prefix of ids the relay generates',
      ),
    ),
  ),
  timestamp: z.optional(
    z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time, e.g. 2026-11-23T10:00:00Z' }),
  ),
});
export type EventInput = z.infer<typeof EventInputSchema>;

/** The `source` of the relay's events on the bus; rules route on it. */
export const BUS_SOURCE = 'webhook-relay';

/** EventBridge refuses an entry over 256 KB (its time, source, detail type and detail). */
export const MAX_BUS_EVENT_BYTES = 256 * 1024;

/** An event's size as an EventBridge entry: the whole event is the detail. */
export function busEventBytes(event: RelayEvent): number {
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  return 14 + bytes(BUS_SOURCE) + bytes(event.type) + bytes(JSON.stringify(event));
}

export const MAX_BATCH_EVENTS = 100;
export const EventBatchInputSchema = z.strictObject({
  events: z
    .array(EventInputSchema)
    .check(
      z.minLength(1, 'must hold at least one event'),
      z.maxLength(MAX_BATCH_EVENTS, `must hold at most ${MAX_BATCH_EVENTS} events`),
    ),
});

/** An accepted event, as it travels on the bus and sits in the event store. */
export const RelayEventSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  type: z.string(),
  timestamp: z.string(),
  data: z.record(z.string(), z.unknown()),
  receivedAt: z.string(),
  /**
   * Its place (0-based) in the batch it was ingested with, when the batch held more than one:
   * events of one request share `receivedAt`, and ordered subscriptions get them in this order.
   */
  position: z.optional(z.number()),
  /** Set for events aimed at one subscription only (the "send test event" button). */
  subscriptionId: z.optional(z.string()),
});
export type RelayEvent = z.infer<typeof RelayEventSchema>;

/** The JSON body a receiver gets: the payload shape recommended by Standard Webhooks. */
export function webhookBody(event: RelayEvent): string {
  return JSON.stringify({ type: event.type, timestamp: event.timestamp, data: event.data });
}
