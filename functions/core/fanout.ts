import { logger } from '../commons/logger.ts';
import type { DeliveryTask } from './delivery/model.ts';
import { addAndWake, pendingOf } from './delivery/ordering.ts';
import type { RelayEvent } from './event.ts';
import { deliveryId } from './ids.ts';
import { matchesAny } from './matching.ts';
import type {
  EventStore,
  OrderedQueue,
  OrderedStore,
  PendingDelivery,
  StoredEvent,
  SubscriptionStore,
  TaskQueue,
} from './ports.ts';
import type { Subscription } from './subscription.ts';
import { matchesFilter } from './subscriptions/filter.ts';

/** What fanout needs of the store. */
export type FanoutStore = Pick<EventStore, 'putEvents'> & Pick<SubscriptionStore, 'listSubscriptions'>;

/**
 * The subscriptions an event goes to: enabled ones whose event types and content filter match
 * (a non-matching event makes no delivery), or its one target (a test event).
 */
export function targetsOf(event: RelayEvent, subscriptions: readonly Subscription[]): Subscription[] {
  if (event.subscriptionId) return subscriptions.filter((s) => s.id === event.subscriptionId);
  return subscriptions.filter(
    (s) =>
      s.enabled &&
      matchesAny(s.eventTypes, event.type) &&
      (!s.filter || matchesFilter(s.filter, { type: event.type, data: event.data })),
  );
}

/** What fanout works with; `ordered` is needed once a subscription is ordered. */
export interface FanoutDeps {
  store: FanoutStore;
  tasks: TaskQueue;
  ordered?: { store: OrderedStore; queue: OrderedQueue };
}

/**
 * fanout: events -> one delivery task per (event, matching subscription) -> the event store
 * (with the deliveries' ids) and the delivery queue.
 * One task per pair means a failing endpoint is retried alone and never causes a duplicate at
 * another. Running it twice for the same events yields the same delivery ids; the delivery step
 * skips deliveries that already succeeded. A replayed event (`opts.replay`) makes new deliveries.
 * A task for an ordered subscription goes to its pending list and wakes it instead of going to
 * the delivery queue (see delivery/ordering.ts).
 */
export async function fanout(
  deps: FanoutDeps,
  events: readonly RelayEvent[],
  opts: { replay?: string } = {},
): Promise<DeliveryTask[]> {
  if (events.length === 0) return [];
  const tenants = [...new Set(events.map((e) => e.tenant))];
  const lists = await Promise.all(tenants.map((t) => deps.store.listSubscriptions(t)));
  const byTenant = new Map(tenants.map((t, i) => [t, lists[i] ?? []]));
  const tasks: DeliveryTask[] = [];
  const pending: PendingDelivery[] = [];
  const stored: StoredEvent[] = [];
  for (const event of events) {
    const targets = targetsOf(event, byTenant.get(event.tenant) ?? []);
    const deliveryIds: string[] = [];
    for (const sub of targets) {
      const task: DeliveryTask = {
        deliveryId: deliveryId(event.tenant, event.id, sub.id, event.receivedAt, opts.replay),
        tenant: event.tenant,
        eventId: event.id,
        subscriptionId: sub.id,
        // The round's count starts here; every later copy carries the log's (see scheduled.ts).
        attempt: 0,
        ...(opts.replay ? { replay: opts.replay } : {}),
      };
      deliveryIds.push(task.deliveryId);
      // A pending entry stays small: the ordered step reads the event when its turn comes.
      if (sub.ordering === 'fifo') pending.push(pendingOf(event, task));
      else tasks.push({ ...task, event });
    }
    stored.push({ event, deliveryIds });
    logger.debug('fanned out', { eventId: event.id, eventType: event.type, subscriptions: targets.length });
  }
  // Unordered tasks carry their event, so they may be queued while it is being stored; an
  // ordered one is attempted from its list and reads the event then, so it waits for the write.
  const storing = deps.store.putEvents(stored, opts.replay ? { replay: true } : {});
  await Promise.all([
    storing,
    deps.tasks.enqueue(tasks),
    pending.length > 0
      ? storing.then(() => {
          if (!deps.ordered) throw new Error('a subscription is ordered, but no ordered queue is configured');
          // The delivery id claims the awake flag: a retry of this fanout while the flag is held
          // gets the wake-up id it was given (deduplicated by SQS); after the list emptied, a fresh one.
          return addAndWake(deps.ordered, pending, (p) => p.task.deliveryId, new Date());
        })
      : undefined,
  ]);
  return [...tasks, ...pending.map((p) => p.task)];
}
