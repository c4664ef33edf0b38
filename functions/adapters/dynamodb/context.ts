import type { Delivery, DeliveryTask } from '../../core/delivery/model.ts';
import type { RelayEvent } from '../../core/event.ts';
import { parseDeliveryId, receivedAtOfEventId } from '../../core/ids.ts';
import { type DeliveryContextReader, scopedKey } from '../../core/ports.ts';
import type { Subscription } from '../../core/subscription.ts';
import { strip, type TableClient } from './client.ts';
import { eventOf } from './events.ts';
import {
  deliveryKey,
  EVENT_PK_PREFIX,
  eventKey,
  type Key,
  legacyEventKey,
  subscriptionKey,
} from './table.ts';

/**
 * What the delivery step reads for a batch of tasks, in one BatchGetItem: each task's delivery
 * record and subscription, and its event only when the task does not carry it (a manual retry,
 * an ordered delivery, a task queued by an earlier version). Strongly consistent: the record
 * decides whether an attempt is due, and a stale one would repeat a success.
 */
export class DynamoDeliveryContext implements DeliveryContextReader {
  constructor(private readonly t: TableClient) {}

  async loadForTasks(tasks: readonly DeliveryTask[]) {
    const keys: Key[] = [];
    const events = new Map<string, RelayEvent>();
    for (const t of tasks) {
      keys.push(deliveryKey(t.deliveryId, t.subscriptionId), subscriptionKey(t.tenant, t.subscriptionId));
      if (t.event && t.event.tenant === t.tenant && t.event.id === t.eventId)
        events.set(scopedKey(t.tenant, t.eventId), t.event);
      else {
        // Its receipt time is in its delivery id (or a generated event id); 0.2 kept it elsewhere.
        const ms = parseDeliveryId(t.deliveryId)?.receivedAtMs;
        const receivedAt = ms === undefined ? receivedAtOfEventId(t.eventId) : new Date(ms).toISOString();
        if (receivedAt) keys.push(eventKey(t.tenant, t.eventId, receivedAt));
        keys.push(legacyEventKey(t.tenant, t.eventId));
      }
    }
    const items = await this.t.getAll(keys, { consistent: true });
    const deliveries = new Map<string, Delivery>();
    const subscriptions = new Map<string, Subscription>();
    for (const item of items) {
      const pk = String(item.pk);
      if (pk.startsWith('DLV#')) {
        const d = strip<Delivery>(item);
        deliveries.set(d.id, d);
      } else if (pk.startsWith(EVENT_PK_PREFIX) || pk.startsWith('EVT#')) {
        const e = eventOf(item);
        events.set(scopedKey(e.tenant, e.id), e);
      } else if (pk.startsWith('SUB#')) {
        const s = strip<Subscription>(item);
        subscriptions.set(scopedKey(s.tenant, s.id), s);
      }
    }
    return { deliveries, events, subscriptions };
  }
}
