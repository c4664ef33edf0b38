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
export const ProducerEventTypeSchema = EventTypeSchema.check(
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

/** The detail type of an entry that carries several events (a batch ingest, packed). */
export const BUS_PACK_DETAIL_TYPE = 'relay.pack';

/**
 * How full a packed entry gets: 64 KB, the chunk EventBridge bills per entry and SQS per
 * request. A bigger entry costs the same per 64 KB while making a bigger fanout message (and a
 * bigger retry when one of its events fails), so packing stops here; an event over it goes
 * alone, up to {@link MAX_BUS_EVENT_BYTES}.
 */
export const PACK_TARGET_BYTES = 64 * 1024;

/** One entry for the bus: its detail type, its detail (JSON) and the events it carries. */
export interface BusEntry {
  detailType: string;
  detail: string;
  receivedAt: string;
  events: RelayEvent[];
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');
/** Time, source and detail type as EventBridge counts them, around a detail of `n` bytes. */
const entryBytes = (detailType: string, detailBytes: number) =>
  14 + utf8(BUS_SOURCE) + utf8(detailType) + detailBytes;

/**
 * Events as few bus entries as the 64 KB chunk allows, in order: runs of consecutive events are
 * packed into one `relay.pack` entry (`{"events": [...]}`); an entry of one event is the event
 * itself, as versions before packing published every event (and as the archive holds them).
 */
export function packForBus(events: readonly RelayEvent[]): BusEntry[] {
  const entries: BusEntry[] = [];
  let run: Array<{ event: RelayEvent; json: string }> = [];
  let runBytes = 0;
  const close = () => {
    const [first] = run;
    if (!first) return;
    entries.push(
      run.length === 1
        ? {
            detailType: first.event.type,
            detail: first.json,
            receivedAt: first.event.receivedAt,
            events: [first.event],
          }
        : {
            detailType: BUS_PACK_DETAIL_TYPE,
            detail: `{"events":[${run.map((r) => r.json).join(',')}]}`,
            receivedAt: first.event.receivedAt,
            events: run.map((r) => r.event),
          },
    );
    run = [];
    runBytes = 0;
  };
  for (const event of events) {
    const json = JSON.stringify(event);
    const size = utf8(json) + 1; // and its comma
    // `{"events":[` + `]}` is 13 bytes.
    if (run.length > 0 && entryBytes(BUS_PACK_DETAIL_TYPE, 13 + runBytes + size) > PACK_TARGET_BYTES) close();
    run.push({ event, json });
    runBytes += size;
  }
  close();
  return entries;
}

const PackSchema = z.object({ events: z.array(RelayEventSchema).check(z.minLength(1)) });

/** A bus entry's detail: one event, or a pack of them. */
export const BusDetailSchema = z.union([RelayEventSchema, PackSchema]);

/** The events of a bus entry's (parsed) detail. */
export function eventsOfDetail(detail: z.infer<typeof BusDetailSchema>): RelayEvent[] {
  return 'events' in detail ? detail.events : [detail];
}
