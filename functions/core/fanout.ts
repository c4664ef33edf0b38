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
  SubscriptionStore,
  TaskQueue,
} from './ports.ts';
import type { Subscription } from './subscription.ts';

/** What fanout needs of the store. */
export type FanoutStore = Pick<EventStore, 'putEvents'> & Pick<SubscriptionStore, 'listSubscriptions'>;

/** The subscriptions an event goes to: enabled ones whose filters match, or its one target. */
export function targetsOf(event: RelayEvent, subscriptions: readonly Subscription[]): Subscription[] {
  if (event.subscriptionId) return subscriptions.filter((s) => s.id === event.subscriptionId);
  return subscriptions.filter((s) => s.enabled && matchesAny(s.eventTypes, event.type));
}

/** What fanout works with; `ordered` is needed once a subscription is ordered. */
export interface FanoutDeps {
  store: FanoutStore;
  tasks: TaskQueue;
  ordered?: { store: OrderedStore; queue: OrderedQueue };
}

/**
 * fanout: events -> event store -> one delivery task per (event, matching subscription).
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
  // The event must be stored before any task for it is queued (the delivery step reads it);
  // reading the subscriptions meanwhile takes a round trip off every webhook's latency.
  const tenants = [...new Set(events.map((e) => e.tenant))];
  const [, lists] = await Promise.all([
    deps.store.putEvents(events),
    Promise.all(tenants.map((t) => deps.store.listSubscriptions(t))),
  ]);
  const byTenant = new Map(tenants.map((t, i) => [t, lists[i] ?? []]));
  const tasks: DeliveryTask[] = [];
  const pending: PendingDelivery[] = [];
  for (const event of events) {
    const targets = targetsOf(event, byTenant.get(event.tenant) ?? []);
    for (const sub of targets) {
      const task: DeliveryTask = {
        deliveryId: deliveryId(event.tenant, event.id, sub.id, opts.replay),
        tenant: event.tenant,
        eventId: event.id,
        subscriptionId: sub.id,
        // The round's count starts here; every later copy carries the log's (see scheduled.ts).
        attempt: 0,
        ...(opts.replay ? { replay: opts.replay } : {}),
      };
      if (sub.ordering === 'fifo') pending.push(pendingOf(event, task));
      else tasks.push(task);
    }
    logger.debug('fanned out', { eventId: event.id, eventType: event.type, subscriptions: targets.length });
  }
  if (pending.length > 0) {
    if (!deps.ordered) throw new Error('a subscription is ordered, but no ordered queue is configured');
    // The delivery id claims the awake flag: a retry of this fanout while the flag is held gets
    // the wake-up id it was given (deduplicated by SQS); after the list emptied, a fresh one.
    await addAndWake(deps.ordered, pending, (p) => p.task.deliveryId, new Date());
  }
  await deps.tasks.enqueue(tasks);
  return [...tasks, ...pending.map((p) => p.task)];
}
