import { logger } from '../commons/logger.ts';
import { checkEventData, type SchemaCatalog } from './catalog/cache.ts';
import { ApiError, PartialPublish } from './errors.ts';
import { busEventBytes, type EventInput, MAX_BUS_EVENT_BYTES, type RelayEvent } from './event.ts';
import { newEventId } from './ids.ts';
import type { Clock, EventBus, EventLedger } from './ports.ts';

/** How long a request waits for another request holding the same event id to finish. */
const IN_FLIGHT_WAIT_MS = 5_000;
const IN_FLIGHT_POLL_MS = 50;

/** Gives validated inputs their id and timestamp (when the producer sent none). */
export function acceptEvents(inputs: readonly EventInput[], tenant: string, clock: Clock): RelayEvent[] {
  const now = clock.now();
  const receivedAt = now.toISOString();
  return inputs.map((input, i) => ({
    id: input.id ?? newEventId(now.getTime()),
    tenant,
    type: input.type,
    timestamp: input.timestamp ? new Date(input.timestamp).toISOString() : receivedAt,
    data: input.data as Record<string, unknown>,
    receivedAt,
    ...(inputs.length > 1 ? { position: i } : {}),
  }));
}

export interface IngestDeps {
  bus: EventBus;
  clock: Clock;
  /** The duplicate check of producer-chosen ids; without it every event is new. */
  ledger?: EventLedger;
  /** The tenant's catalog schemas that `data` must conform to; without it nothing is checked. */
  catalog?: SchemaCatalog;
}

export interface IngestResult {
  /** Every input's event id, in order; a duplicate's is the id of the event first accepted. */
  ids: string[];
  /** Events put on the bus by this call. */
  published: RelayEvent[];
  /** Inputs that repeat an id the tenant already sent within 24 h (or earlier in this batch). */
  duplicates: number;
}

/**
 * ingest: validated inputs -> events with ids -> the bus. Resolves once every new event is on
 * the bus, so a 202 means "accepted and durable", never "maybe". An event id the producer chose
 * and already sent within 24 h is a duplicate: it is not published again, concurrent requests
 * included (one claims the id, the others wait for its outcome).
 */
export async function ingest(
  deps: IngestDeps,
  inputs: readonly EventInput[],
  tenant: string,
  /** The inputs came as `{events: [...]}`: problems are named `events.{i}...`. */
  batch = inputs.length > 1,
): Promise<IngestResult> {
  // Before any claim or publish: a refused request leaves nothing behind.
  if (deps.catalog) await checkEventData(deps.catalog, inputs, tenant, batch);
  const events = acceptEvents(inputs, tenant, deps.clock);
  // A body under the API's limit can still make an event over the bus's: the envelope adds its
  // id, tenant and times. Refuse it now, clearly, rather than fail on the bus with a 5xx forever.
  events.forEach((event, i) => {
    const size = sizeOrNestedTooDeep(event, inputs.length > 1 ? `events.${i}.data` : 'data');
    if (size > MAX_BUS_EVENT_BYTES) {
      const where = inputs.length > 1 ? `events[${i}]` : 'the event';
      throw new ApiError(
        413,
        'event_too_large',
        `${where} is ${size} bytes as stored and routed, over the ${MAX_BUS_EVENT_BYTES}-byte limit; shrink data by ${size - MAX_BUS_EVENT_BYTES} bytes`,
        [
          {
            path: inputs.length > 1 ? `events.${i}.data` : 'data',
            message: `too large by ${size - MAX_BUS_EVENT_BYTES} bytes`,
          },
        ],
      );
    }
  });

  // Producer-chosen ids are checked; generated ones are new by construction.
  const chosen = new Map<string, RelayEvent>();
  const fresh: RelayEvent[] = [];
  let duplicates = 0;
  events.forEach((event, i) => {
    if (inputs[i]?.id === undefined || !deps.ledger) fresh.push(event);
    else if (chosen.has(event.id)) duplicates++;
    else chosen.set(event.id, event);
  });
  const claimed: RelayEvent[] = [];
  if (deps.ledger && chosen.size > 0) {
    const ledger = deps.ledger;
    const candidates = [...chosen.values()];
    const outcomes = await Promise.allSettled(candidates.map((e) => claimOrWait(deps, ledger, tenant, e)));
    candidates.forEach((event, i) => {
      const outcome = outcomes[i];
      if (outcome?.status !== 'fulfilled') return;
      if (outcome.value === 'claimed') claimed.push(event);
      else duplicates++;
    });
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) {
      // One id could not be claimed (a 409, a storage error): the request fails as a whole, so
      // give back the ids it did claim instead of leaving them held for the lease.
      await Promise.allSettled(claimed.map((e) => ledger.release(tenant, e.id)));
      throw failed.reason;
    }
  }

  const published = [...fresh, ...claimed];
  let confirmed = claimed;
  try {
    if (published.length) await deps.bus.publish(published);
  } catch (err) {
    // Free the ids that are not on the bus, so the producer's retry publishes them; confirm the
    // ones that are (a partial success), so the retry does not publish them twice.
    if (deps.ledger && claimed.length) {
      const ledger = deps.ledger;
      const missing = err instanceof PartialPublish ? err.unpublished : undefined;
      confirmed = missing ? claimed.filter((e) => !missing.has(e.id)) : [];
      await Promise.allSettled([
        ...claimed.filter((e) => !confirmed.includes(e)).map((e) => ledger.release(tenant, e.id)),
        ...confirmed.map((e) => ledger.markAccepted(tenant, e.id)),
      ]);
    }
    throw err;
  }
  if (deps.ledger && confirmed.length) {
    const ledger = deps.ledger;
    const marks = await Promise.allSettled(confirmed.map((e) => ledger.markAccepted(tenant, e.id)));
    const failed = marks.filter((m) => m.status === 'rejected').length;
    // The events are on the bus, so the 202 stands; a duplicate arriving after the claim's lease
    // could be published again (receivers still deduplicate on webhook-id).
    if (failed)
      logger.error('could not mark accepted event ids; their duplicate check is weaker', { failed });
  }
  return { ids: events.map((e) => e.id), published, duplicates };
}

/** Data nested so deeply that it cannot even be serialized (the stack runs out) is a 400. */
function sizeOrNestedTooDeep(event: RelayEvent, path: string): number {
  try {
    return busEventBytes(event);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new ApiError(400, 'invalid_request', `request body is invalid: ${path}: is nested too deeply`, [
      { path, message: 'is nested too deeply' },
    ]);
  }
}

async function claimOrWait(deps: IngestDeps, ledger: EventLedger, tenant: string, event: RelayEvent) {
  const deadline = Date.now() + IN_FLIGHT_WAIT_MS;
  const id = event.id;
  for (;;) {
    const outcome = await ledger.claim(tenant, id, deps.clock.now(), event.receivedAt);
    if (typeof outcome === 'object') {
      // Taken over from a request that gave up (or crashed): the event is the one that request
      // may already have put on the bus, so it keeps that receipt time (its key, its deliveries).
      event.receivedAt = outcome.claimed;
      return 'claimed';
    }
    if (outcome !== 'in_flight') return outcome;
    if (Date.now() > deadline) {
      throw new ApiError(
        409,
        'event_in_flight',
        `event ${id} is being accepted by another request right now; retry in a few seconds`,
      );
    }
    await new Promise((r) => setTimeout(r, IN_FLIGHT_POLL_MS));
  }
}
