import type { EventInput, RelayEvent } from './event.ts';
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
  await deps.bus.publish(events);
  return events;
}
