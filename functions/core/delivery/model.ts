import * as z from 'zod/mini';
import '../zod.ts';
import { RelayEventSchema } from '../event.ts';

/**
 * - pending: another attempt is scheduled (`nextAttemptAt`) or under way
 * - succeeded: the receiver answered 2xx
 * - failed: given up outside the DLQ, with nothing to redrive (its subscription was deleted)
 * - dead: out of attempts or permanently refused; the task sits in the DLQ until redriven
 */
export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'dead';

/** One HTTP attempt, as the delivery log keeps it (the fields Svix records per attempt). */
export interface Attempt {
  attempt: number;
  at: string;
  /** HTTP status, or 0 when no response came (network error, timeout, refused target). */
  status: number;
  durationMs: number;
  /** Why it failed; absent on success. */
  error?: string;
  /** The first bytes of the response body. */
  responseBody?: string;
  trigger: 'scheduled' | 'manual';
}

export interface Delivery {
  id: string;
  tenant: string;
  eventId: string;
  eventType: string;
  subscriptionId: string;
  url: string;
  status: DeliveryStatus;
  attempts: Attempt[];
  nextAttemptAt?: string;
  lastError?: string;
  /** The queue message that is bouncing to the DLQ; later receives of it are not attempted. */
  deadMessageId?: string;
  /** When it was dead-lettered: a task copy sent before then is a stale duplicate, not a redrive. */
  deadAt?: string;
  /** An ordered delivery's dead-lettering: the token its dead-letter task carries (ordering.ts). */
  deadToken?: string;
  /** The message of the redrive that put an ordered delivery back in its list (ordering.ts). */
  redrivenBy?: string;
  /** Set when this delivery was made by replaying its event (the replay's id). */
  replay?: string;
  /** Scheduled attempts in the current round (a redrive starts a new one); parked receives don't count. */
  roundAttempts?: number;
  createdAt: string;
  updatedAt: string;
}

/**
 * The message on the delivery queue: which delivery to attempt, and (from fanout on) the event
 * itself, so the delivery step reads no event item.
 */
export const DeliveryTaskSchema = z.object({
  deliveryId: z.string(),
  tenant: z.string(),
  eventId: z.string(),
  subscriptionId: z.string(),
  /** A manual retry is one extra attempt: it never schedules more nor dead-letters. */
  manual: z.optional(z.boolean()),
  /** The replay that made this delivery, if any (see EventReplayer). */
  replay: z.optional(z.string()),
  /**
   * Not before this instant (epoch ms). A wait longer than the queue's 15-minute delay travels
   * as a chain of delayed copies; a copy that arrives early is sent on (see scheduling.ts).
   */
  due: z.optional(z.number()),
  /**
   * Scheduled attempts of the round already made when this copy was sent. A copy behind the
   * delivery log (a duplicate left by a crash between sending a copy and acknowledging) is stale.
   */
  attempt: z.optional(z.number()),
  /** Its rate-limit send time (`due`) is already booked: attempt then without booking another. */
  booked: z.optional(z.boolean()),
  /**
   * A delivery of an ordered subscription on its way to the DLQ (or redriven from it): ordered
   * deliveries are attempted from their subscription's pending list, never from this queue
   * (see ordering.ts). `deadToken` matches the dead-lettering that sent it.
   */
  ordered: z.optional(z.boolean()),
  deadToken: z.optional(z.string()),
  /**
   * The event, as fanout stored it. Tasks without it (a manual retry, an ordered delivery's
   * pending entry, a task queued by an earlier version) have it read from the store.
   */
  event: z.optional(RelayEventSchema),
});
export type DeliveryTask = z.infer<typeof DeliveryTaskSchema>;

export type PublicDelivery = Omit<Delivery, 'tenant' | 'deadMessageId' | 'deadToken' | 'redrivenBy'>;
export function toPublicDelivery(d: Delivery): PublicDelivery {
  const { tenant: _tenant, deadMessageId: _m, deadToken: _t, redrivenBy: _r, ...rest } = d;
  return rest;
}
