import { ApiError } from './errors.ts';
import { busEventBytes, type EventInput, MAX_BUS_EVENT_BYTES, type RelayEvent } from './event.ts';
import { newEventId } from './ids.ts';
import type { Clock, EventBus } from './ports.ts';

/** Gives validated inputs their id and timestamp (when the producer sent none). */
export function acceptEvents(inputs: readonly EventInput[], tenant: string, clock: Clock): RelayEvent[] {
  const now = clock.now();
  const receivedAt = now.toISOString();
  return inputs.map((input) => ({
    id: input.id ?? newEventId(now.getTime()),
    tenant,
    type: input.type,
    timestamp: input.timestamp ? new Date(input.timestamp).toISOString() : receivedAt,
    data: input.data as Record<string, unknown>,
    receivedAt,
  }));
}

/**
 * ingest: validated inputs -> events with ids -> the bus. Resolves once every event is on the
 * bus, so a 202 means "accepted and durable", never "maybe".
 */
export async function ingest(
  deps: { bus: EventBus; clock: Clock },
  inputs: readonly EventInput[],
  tenant: string,
): Promise<RelayEvent[]> {
  const events = acceptEvents(inputs, tenant, deps.clock);
  // A body under the API's limit can still make an event over the bus's: the envelope adds its
  // id, tenant and times. Refuse it now, clearly, rather than fail on the bus with a 5xx forever.
  events.forEach((event, i) => {
    const size = busEventBytes(event);
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
  await deps.bus.publish(events);
  return events;
}
