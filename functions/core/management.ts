import type { Delivery, DeliveryTask } from './delivery.ts';
import { ApiError, notFound } from './errors.ts';
import type { RelayEvent } from './event.ts';
import { newEventId, newSubscriptionId } from './ids.ts';
import type { Clock, EventBus, Page, RedriveStatus, Store, TaskQueue } from './ports.ts';
import { generateSecret } from './signing.ts';
import type { Subscription, SubscriptionCreate, SubscriptionPatch } from './subscription.ts';

/** What the management API works with. */
export interface ManagementDeps {
  store: Store;
  bus: EventBus;
  tasks: TaskQueue;
  clock: Clock;
}

/** Subscriptions, deliveries and the DLQ: the use cases behind `/v1/...`, one tenant at a time. */
export class Management {
  constructor(private readonly deps: ManagementDeps) {}

  async createSubscription(tenant: string, input: SubscriptionCreate): Promise<Subscription> {
    const now = this.deps.clock.now();
    const sub: Subscription = {
      id: newSubscriptionId(now.getTime()),
      tenant,
      url: input.url,
      eventTypes: [...new Set(input.eventTypes)],
      ...(input.description !== undefined ? { description: input.description } : {}),
      enabled: input.enabled ?? true,
      secret: input.secret ?? generateSecret(),
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    await this.deps.store.putSubscription(sub);
    return sub;
  }

  listSubscriptions(tenant: string): Promise<Subscription[]> {
    return this.deps.store.listSubscriptions(tenant);
  }

  async getSubscription(tenant: string, id: string): Promise<Subscription> {
    const sub = await this.deps.store.getSubscription(tenant, id);
    if (!sub) throw notFound('subscription', id);
    return sub;
  }

  async updateSubscription(tenant: string, id: string, patch: SubscriptionPatch): Promise<Subscription> {
    const sub = await this.getSubscription(tenant, id);
    const updated: Subscription = {
      ...sub,
      ...patch,
      ...(patch.eventTypes ? { eventTypes: [...new Set(patch.eventTypes)] } : {}),
      updatedAt: this.deps.clock.now().toISOString(),
    };
    await this.deps.store.putSubscription(updated);
    return updated;
  }

  async deleteSubscription(tenant: string, id: string): Promise<void> {
    if (!(await this.deps.store.deleteSubscription(tenant, id))) throw notFound('subscription', id);
  }

  /** "Send test event": a `webhook.test` event through the normal path, to this subscription only. */
  async sendTestEvent(tenant: string, id: string): Promise<RelayEvent> {
    const sub = await this.getSubscription(tenant, id);
    if (!sub.enabled) {
      throw new ApiError(
        409,
        'subscription_disabled',
        `subscription ${id} is disabled; enable it to send a test event`,
      );
    }
    const now = this.deps.clock.now();
    const event: RelayEvent = {
      id: newEventId(now.getTime()),
      tenant,
      type: 'webhook.test',
      timestamp: now.toISOString(),
      receivedAt: now.toISOString(),
      data: { subscriptionId: id, message: 'This is a test event from the webhook relay.' },
      subscriptionId: id,
    };
    await this.deps.bus.publish([event]);
    return event;
  }

  async listDeliveries(
    tenant: string,
    subscriptionId: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<Delivery>> {
    await this.getSubscription(tenant, subscriptionId);
    return this.deps.store.listDeliveriesBySubscription(subscriptionId, {
      limit,
      ...(cursor ? { cursor } : {}),
    });
  }

  async getEvent(tenant: string, id: string): Promise<{ event: RelayEvent; deliveries: Delivery[] }> {
    const event = await this.deps.store.getEvent(tenant, id);
    if (!event) throw notFound('event', id);
    return { event, deliveries: await this.deps.store.listDeliveriesByEvent(tenant, id) };
  }

  async getDelivery(tenant: string, id: string): Promise<Delivery> {
    const d = await this.deps.store.getDelivery(id);
    if (!d || d.tenant !== tenant) throw notFound('delivery', id);
    return d;
  }

  /** One more attempt now, whatever the delivery's status; the schedule is left as it was. */
  async retryDelivery(tenant: string, id: string): Promise<Delivery> {
    const d = await this.getDelivery(tenant, id);
    const task: DeliveryTask = {
      deliveryId: d.id,
      tenant,
      eventId: d.eventId,
      subscriptionId: d.subscriptionId,
      manual: true,
    };
    await this.deps.tasks.enqueue([task]);
    return d;
  }

  async listDlq(tenant: string, limit: number, cursor?: string): Promise<{ count: number } & Page<Delivery>> {
    const [count, page] = await Promise.all([
      this.deps.store.countDeadDeliveries(tenant),
      this.deps.store.listDeadDeliveries(tenant, { limit, ...(cursor ? { cursor } : {}) }),
    ]);
    return { count, ...page };
  }

  redriveDlq(): Promise<RedriveStatus> {
    return this.deps.tasks.startRedrive();
  }
}
