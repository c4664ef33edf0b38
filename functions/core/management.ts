import { testEventOf } from './catalog/catalog.ts';
import type { Delivery, DeliveryTask } from './delivery/model.ts';
import { generateSecret } from './delivery/signing.ts';
import { ApiError, badRequest, notFound } from './errors.ts';
import type { RelayEvent } from './event.ts';
import { newEventId, newSubscriptionId } from './ids.ts';
import type {
  Clock,
  DeliveryListQuery,
  EventBus,
  EventListQuery,
  EventReplayer,
  Page,
  RedriveStatus,
  ReplayStatus,
  Store,
  TaskQueue,
} from './ports.ts';
import {
  deliveryOptions,
  type Subscription,
  type SubscriptionCreate,
  type SubscriptionPatch,
} from './subscription.ts';
import type { TargetPolicy } from './targets.ts';

/** What the management API works with. */
export interface ManagementDeps {
  store: Store;
  bus: EventBus;
  tasks: TaskQueue;
  clock: Clock;
  replayer: EventReplayer;
  /** The SSRF defence: subscriptions to literal refused addresses are refused at once. */
  targets: TargetPolicy;
  /** How long a rotated-out secret keeps signing. */
  secretGraceSeconds: number;
}

const changedMeanwhile = (id: string) =>
  new ApiError(
    409,
    'conflict',
    `subscription ${id} changed (or was deleted) meanwhile; read it again and retry`,
  );

/** The version of a subscription an edit was based on. */
const versionOf = (sub: Subscription) => ({ updatedAt: sub.updatedAt, healthUpdatedAt: sub.healthUpdatedAt });

/** Old secrets signed with at once, at most (rotating again and again within a grace period). */
const MAX_PREVIOUS_SECRETS = 3;

/** The window of a subscription's health figures, and the deliveries they look at, at most. */
export const STATS_WINDOW_MS = 24 * 3600_000;
export const STATS_SCAN_LIMIT = 1000;

export interface SubscriptionStats {
  from: string;
  to: string;
  /** Deliveries looked at (of events received in the window). */
  deliveries: number;
  succeeded: number;
  failed: number;
  dead: number;
  pending: number;
  /** Succeeded of the settled (succeeded, failed, dead); null when none settled. */
  successRate: number | null;
  /** False when the window held more than {@link STATS_SCAN_LIMIT} deliveries (the figures are of the newest). */
  complete: boolean;
}

/** Deliveries one recover call looks at; the rest is left for the next call (its cursor). */
export const RECOVER_SCAN_LIMIT = 1000;

/** Subscriptions, deliveries and the DLQ: the use cases behind `/v1/...`, one tenant at a time. */
export class Management {
  constructor(private readonly deps: ManagementDeps) {}

  /** A URL whose literal host the SSRF defence refuses is a 400 now, not a failed delivery later. */
  private checkTarget(url: string, path = 'url'): void {
    const refusal = this.deps.targets.refusalForUrl(new URL(url));
    if (refusal) {
      throw new ApiError(400, 'target_refused', `${path} is refused: ${refusal}`, [
        { path, message: refusal },
      ]);
    }
  }

  /** The token URL passes the same SSRF check; custom headers may not carry a second authorization. */
  private checkDeliveryOptions(sub: Pick<Subscription, 'auth' | 'headers'>): void {
    if (sub.auth?.type === 'oauth2') this.checkTarget(sub.auth.tokenUrl, 'auth.tokenUrl');
    if (sub.auth && sub.headers && 'authorization' in sub.headers) {
      const message = 'may not be set together with auth, which sets the authorization header';
      throw badRequest(`request body is invalid: headers.authorization: ${message}`, [
        { path: 'headers.authorization', message },
      ]);
    }
  }

  async createSubscription(tenant: string, input: SubscriptionCreate): Promise<Subscription> {
    this.checkTarget(input.url);
    const now = this.deps.clock.now();
    const sub: Subscription = {
      id: newSubscriptionId(now.getTime()),
      tenant,
      url: input.url,
      eventTypes: [...new Set(input.eventTypes)],
      ...(input.description !== undefined ? { description: input.description } : {}),
      enabled: input.enabled ?? true,
      ...(input.maxInFlight !== undefined ? { maxInFlight: input.maxInFlight } : {}),
      ...(input.rateLimitPerSecond !== undefined ? { rateLimitPerSecond: input.rateLimitPerSecond } : {}),
      ...(input.ordering === 'fifo' ? { ordering: 'fifo' as const } : {}),
      ...deliveryOptions(input),
      secret: input.secret ?? generateSecret(),
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    this.checkDeliveryOptions(sub);
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
    if (patch.url !== undefined) this.checkTarget(patch.url);
    const sub = await this.getSubscription(tenant, id);
    // Re-enabling clears why the relay had disabled it.
    // Re-enabling, or pointing it at another URL, starts its health afresh: the old endpoint's
    // failures and circuit say nothing about the new one (and would disable it again at once).
    const fresh =
      (patch.enabled === true && !sub.enabled) || (patch.url !== undefined && patch.url !== sub.url);
    const {
      disabledReason: _r,
      disabledAt: _a,
      failingSince: _f,
      circuit: _c,
      healthUpdatedAt: _h,
      ...healthy
    } = sub;
    const { disabledReason: _r2, disabledAt: _a2, ...enabledCopy } = sub;
    const { rateLimitPerSecond, ordering, filter, headers, auth, format, ...rest } = patch;
    const picked = fresh ? healthy : patch.enabled === true ? enabledCopy : sub;
    // `rateLimitPerSecond: null` removes the limit; `ordering: "none"` the ordering.
    const { rateLimitPerSecond: _old, ...unlimited } = picked;
    const limited = rateLimitPerSecond === null ? unlimited : picked;
    const { ordering: _o, ...unordered } = limited;
    const ordered = ordering === 'none' ? unordered : limited;
    // filter, headers, auth and format: a given value (null included) replaces the stored one.
    const { filter: _fi, headers: _he, auth: _au, format: _fo, ...plain } = ordered;
    const options = deliveryOptions({
      filter: filter === undefined ? ordered.filter : filter,
      headers: headers === undefined ? ordered.headers : headers,
      auth: auth === undefined ? ordered.auth : auth,
      format: format ?? ordered.format,
    });
    const updated: Subscription = {
      ...plain,
      ...rest,
      ...options,
      ...(typeof rateLimitPerSecond === 'number' ? { rateLimitPerSecond } : {}),
      ...(ordering === 'fifo' ? { ordering } : {}),
      ...(patch.eventTypes ? { eventTypes: [...new Set(patch.eventTypes)] } : {}),
      updatedAt: this.deps.clock.now().toISOString(),
    };
    this.checkDeliveryOptions(updated);
    if (!(await this.deps.store.putSubscription(updated, versionOf(sub)))) throw changedMeanwhile(id);
    return updated;
  }

  /**
   * A new signing secret (given, or generated). The old one keeps signing for the grace period,
   * so receivers verifying with either secret keep working while they switch.
   */
  async rotateSecret(tenant: string, id: string, secret?: string): Promise<Subscription> {
    const sub = await this.getSubscription(tenant, id);
    const now = this.deps.clock.now();
    const iso = now.toISOString();
    const expiresAt = new Date(now.getTime() + this.deps.secretGraceSeconds * 1000).toISOString();
    const previousSecrets = [
      ...(sub.previousSecrets ?? []).filter((p) => p.expiresAt > iso),
      { secret: sub.secret, expiresAt },
    ].slice(-MAX_PREVIOUS_SECRETS);
    const rotated: Subscription = {
      ...sub,
      secret: secret ?? generateSecret(),
      previousSecrets,
      updatedAt: iso,
    };
    if (!(await this.deps.store.putSubscription(rotated, versionOf(sub)))) throw changedMeanwhile(id);
    return rotated;
  }

  async deleteSubscription(tenant: string, id: string): Promise<void> {
    if (!(await this.deps.store.deleteSubscription(tenant, id))) throw notFound('subscription', id);
  }

  /**
   * "Send test event": a `webhook.test` event through the normal path, to this subscription only;
   * with `eventType`, an event of that type carrying its catalog example instead.
   */
  async sendTestEvent(tenant: string, id: string, eventType?: string): Promise<RelayEvent> {
    const sub = await this.getSubscription(tenant, id);
    if (!sub.enabled) {
      throw new ApiError(
        409,
        'subscription_disabled',
        `subscription ${id} is disabled; enable it to send a test event`,
      );
    }
    // With an event type: that type and its example from the catalog (catalog/catalog.ts).
    const content =
      eventType === undefined
        ? {
            type: 'webhook.test',
            data: { subscriptionId: id, message: 'This is a test event from the webhook relay.' },
          }
        : await testEventOf(this.deps.store, sub, eventType);
    const now = this.deps.clock.now();
    const event: RelayEvent = {
      id: newEventId(now.getTime()),
      tenant,
      ...content,
      timestamp: now.toISOString(),
      receivedAt: now.toISOString(),
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
    filter: Omit<DeliveryListQuery, 'limit' | 'cursor'> = {},
  ): Promise<Page<Delivery>> {
    await this.getSubscription(tenant, subscriptionId);
    return this.deps.store.listDeliveriesBySubscription(subscriptionId, {
      limit,
      ...(cursor ? { cursor } : {}),
      ...filter,
    });
  }

  /**
   * How a subscription's deliveries of the last 24 h (by event receipt time) went: counts per
   * status and the success rate of the settled ones (succeeded of succeeded, failed and dead).
   * Looks at up to {@link STATS_SCAN_LIMIT} deliveries; `complete` says whether that was all.
   */
  async subscriptionStats(tenant: string, subscriptionId: string): Promise<SubscriptionStats> {
    await this.getSubscription(tenant, subscriptionId);
    const to = this.deps.clock.now();
    const from = new Date(to.getTime() - STATS_WINDOW_MS);
    const counts = { succeeded: 0, failed: 0, dead: 0, pending: 0 };
    let cursor: string | undefined;
    let seen = 0;
    do {
      const page = await this.deps.store.listDeliveriesBySubscription(subscriptionId, {
        limit: 100,
        from: from.toISOString(),
        to: to.toISOString(),
        ...(cursor ? { cursor } : {}),
      });
      for (const d of page.items) counts[d.status]++;
      seen += page.items.length;
      cursor = page.next;
    } while (cursor && seen < STATS_SCAN_LIMIT);
    const settled = counts.succeeded + counts.failed + counts.dead;
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      deliveries: seen,
      ...counts,
      successRate: settled ? counts.succeeded / settled : null,
      complete: !cursor,
    };
  }

  /** The tenant's events, newest first (by type and receipt-time window). */
  listEvents(tenant: string, query: EventListQuery): Promise<Page<RelayEvent>> {
    return this.deps.store.listEvents(tenant, query);
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

  async redriveStatus(): Promise<RedriveStatus> {
    const status = await this.deps.tasks.redriveStatus();
    if (!status) throw new ApiError(404, 'not_found', 'no DLQ redrive has been started');
    return status;
  }

  /**
   * Recover: one more attempt now for every failed or dead delivery of a subscription created
   * within the window (the endpoint is back after an outage). Looks at up to
   * {@link RECOVER_SCAN_LIMIT} deliveries per call and returns a cursor for the rest.
   */
  async recover(
    tenant: string,
    subscriptionId: string,
    window: { from: string; to: string },
    cursor?: string,
  ): Promise<{ queued: number; scanned: number; next?: string }> {
    await this.getSubscription(tenant, subscriptionId);
    let queued = 0;
    let scanned = 0;
    let next = cursor;
    do {
      const page = await this.deps.store.listDeliveriesBySubscription(subscriptionId, {
        limit: 100,
        from: window.from,
        to: window.to,
        ...(next ? { cursor: next } : {}),
      });
      scanned += page.items.length;
      const tasks: DeliveryTask[] = page.items
        .filter((d) => d.status === 'failed' || d.status === 'dead')
        .map((d) => ({
          deliveryId: d.id,
          tenant,
          eventId: d.eventId,
          subscriptionId: d.subscriptionId,
          manual: true,
        }));
      if (tasks.length) await this.deps.tasks.enqueue(tasks);
      queued += tasks.length;
      next = page.next;
    } while (next && scanned < RECOVER_SCAN_LIMIT);
    return { queued, scanned, ...(next ? { next } : {}) };
  }

  /** The replays, newest first. */
  listReplays(): Promise<ReplayStatus[]> {
    return this.deps.replayer.list();
  }

  /** Tasks in the delivery DLQ now, every tenant's (the operator's figure). */
  async deadLetterCount(): Promise<{ count: number }> {
    return { count: await this.deps.tasks.deadLetterCount() };
  }

  /** Replay every event accepted within the window to today's matching subscriptions. */
  replay(window: { from: Date; to: Date }): Promise<ReplayStatus> {
    return this.deps.replayer.start(window);
  }

  async replayStatus(id: string): Promise<ReplayStatus> {
    const status = await this.deps.replayer.status(id);
    if (!status) throw notFound('replay', id);
    return status;
  }
}
