import type { EndpointAuth } from './auth.ts';
import type { EventFilter } from './filter.ts';

/*
 * A subscription as the relay keeps and delivers to it: the model the delivery path needs,
 * apart from the schemas that check what the API is sent (subscription.ts), so the delivery
 * function does not carry those.
 */

/** Requests one endpoint may have in flight across every delivery invocation, unless it says. */
export const DEFAULT_MAX_IN_FLIGHT = 50;

/** A subscription as stored. The secret never leaves through listings. */
export interface Subscription {
  id: string;
  tenant: string;
  url: string;
  eventTypes: string[];
  description?: string;
  enabled: boolean;
  /** Requests to the endpoint in flight at once, fleet-wide (absent: {@link DEFAULT_MAX_IN_FLIGHT}). */
  maxInFlight?: number;
  /** Attempts per second at most, fleet-wide; absent: no limit. */
  rateLimitPerSecond?: number;
  /** `fifo`: delivered one at a time in ingest order; absent: unordered. */
  ordering?: 'fifo';
  /** Only events matching it are delivered (absent: every event of its types). */
  filter?: EventFilter;
  /** Extra request headers on every webhook, names lower-case. */
  headers?: Record<string, string>;
  /** How the relay authenticates to the endpoint; its credentials are never listed. */
  auth?: EndpointAuth;
  /** Absent: json. */
  format?: 'xml';
  /** Why the relay disabled it (the receiver answered 410 Gone, ...); cleared on re-enabling. */
  disabledReason?: string;
  disabledAt?: string;
  secret: string;
  /** The first failure since the last success: too long ago, and the subscription is disabled. */
  failingSince?: string;
  /** The circuit breaker, when a hanging endpoint has opened it. */
  circuit?: { openUntil: string; timeouts: number; probeUntil?: string };
  /** When the relay last wrote `failingSince` or `circuit`: the version health writes and edits check. */
  healthUpdatedAt?: string;
  /** Secrets replaced by a rotation, still signed with until `expiresAt` (the grace period). */
  previousSecrets?: Array<{ secret: string; expiresAt: string }>;
  createdAt: string;
  updatedAt: string;
}

/** The secrets a delivery is signed with now: the current one, then any still in their grace period. */
export function activeSecrets(sub: Subscription, now: Date): string[] {
  const iso = now.toISOString();
  return [sub.secret, ...(sub.previousSecrets ?? []).filter((p) => p.expiresAt > iso).map((p) => p.secret)];
}
