import type { Attempt, Delivery, DeliveryTask } from '../../../functions/core/delivery/model.ts';
import type { RelayEvent } from '../../../functions/core/event.ts';
import {
  type Clock,
  type DeliveryContextReader,
  type DeliveryStore,
  type EndpointLimiter,
  type HttpResponse,
  type HttpSender,
  type RedriveStatus,
  type SubscriptionStore,
  scopedKey,
  type TaskQueue,
} from '../../../functions/core/ports.ts';
import type { Subscription } from '../../../functions/core/subscription.ts';

/** The instant every fake clock in the unit tests reads. */
export const NOW = new Date('2026-11-23T10:00:00.000Z');
export const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);

export const fixedClock = (at: Date = NOW): Clock => ({ now: () => new Date(at.getTime()) });

/** A valid `whsec_` secret (24 bytes). */
export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8G';

export function aSubscription(overrides: Partial<Subscription> = {}): Subscription {
  return {
    id: 'sub_1',
    tenant: 'acme',
    url: 'https://receiver.example/hooks',
    eventTypes: ['*'],
    enabled: true,
    secret: SECRET,
    createdAt: '2026-11-01T00:00:00.000Z',
    updatedAt: '2026-11-01T00:00:00.000Z',
    ...overrides,
  };
}

export function anEvent(overrides: Partial<RelayEvent> = {}): RelayEvent {
  return {
    id: 'evt_1',
    tenant: 'acme',
    type: 'shipment.delivered',
    timestamp: '2026-11-23T09:59:00.000Z',
    receivedAt: '2026-11-23T09:59:01.000Z',
    data: { shipmentId: 'shp_42', carrier: 'ups' },
    ...overrides,
  };
}

export interface SentRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

type Answer = Partial<HttpResponse> | Error;

/**
 * An HttpSender that answers from a script: a response, or an error to throw; per URL when
 * `answerAt` says so. After `hold()`, requests stay unanswered until `release()`, so a test can
 * count how many are in flight at once.
 */
export class FakeSender implements HttpSender {
  readonly requests: SentRequest[] = [];
  /** Requests sent and not yet answered. */
  inFlight = 0;
  /** The most requests that were in flight at the same time. */
  maxInFlight = 0;
  private readonly byUrl = new Map<string, Answer>();
  private held: Array<() => void> | undefined;

  constructor(private answer: Answer = { status: 200 }) {}

  answerWith(answer: Answer): this {
    this.answer = answer;
    return this;
  }

  answerAt(url: string, answer: Answer): this {
    this.byUrl.set(url, answer);
    return this;
  }

  /** From now on, requests wait for `release()`. */
  hold(): this {
    this.held ??= [];
    return this;
  }

  /** Requests waiting for an answer. */
  get waiting(): number {
    return this.held?.length ?? 0;
  }

  /** Answers the first `n` waiting requests (all by default); returns how many. */
  release(n = Number.POSITIVE_INFINITY): number {
    const answered = this.held?.splice(0, n) ?? [];
    for (const answer of answered) answer();
    return answered.length;
  }

  async post(url: string, headers: Record<string, string>, body: string, timeoutMs: number) {
    this.requests.push({ url, headers, body, timeoutMs });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const held = this.held;
      if (held) await new Promise<void>((resolve) => held.push(resolve));
      const answer = this.byUrl.get(url) ?? this.answer;
      if (answer instanceof Error) throw answer;
      return { status: 200, body: '', headers: {}, ...answer };
    } finally {
      this.inFlight--;
    }
  }
}

/** Every port call, in order, so tests can check what happened before what. */
export type Call =
  | { op: 'putDeliveries'; deliveries: Delivery[] }
  | { op: 'enqueue'; tasks: DeliveryTask[] }
  | { op: 'sendDelayed'; task: DeliveryTask; delaySeconds: number }
  | { op: 'releaseToDeadLetter'; receiptHandle: string }
  | { op: 'startRedrive' }
  | { op: 'disableSubscription'; tenant: string; id: string; reason: string; at: string }
  | { op: 'recordHealth'; id: string; change: HealthChange; seen: HealthSeen; applied: boolean }
  | { op: 'claimProbe'; id: string; probeUntil: string }
  | {
      op: 'recordManualAttempt';
      deliveryId: string;
      update: { attempt?: Attempt; succeeded: boolean; lastError?: string; at: string };
    }
  | {
      op: 'acquireSlots';
      subscriptionId: string;
      holder: string;
      wanted: number;
      limit: number;
      until: string;
      granted: number;
    }
  | { op: 'releaseSlots'; subscriptionId: string; holder: string }
  | { op: 'bookSendTimes'; subscriptionId: string; count: number; ratePerSecond: number; times: number[] };

type HealthChange = Parameters<SubscriptionStore['recordHealth']>[2];
type HealthSeen = Parameters<SubscriptionStore['recordHealth']>[3];

/** Narrows a call log to one kind of call. */
export function callsOf<K extends Call['op']>(calls: readonly Call[], op: K): Extract<Call, { op: K }>[] {
  return calls.filter((c): c is Extract<Call, { op: K }> => c.op === op);
}

export class FakeTaskQueue implements TaskQueue {
  /** Make every `sendDelayed` reject with this, to see what a failed send leaves behind. */
  failSends: Error | undefined;

  constructor(readonly calls: Call[] = []) {}
  async enqueue(tasks: readonly DeliveryTask[]) {
    this.calls.push({ op: 'enqueue', tasks: [...tasks] });
  }
  async sendDelayed(task: DeliveryTask, delaySeconds: number) {
    if (this.failSends) throw this.failSends;
    this.calls.push({ op: 'sendDelayed', task: structuredClone(task), delaySeconds });
  }
  async releaseToDeadLetter(receiptHandle: string) {
    this.calls.push({ op: 'releaseToDeadLetter', receiptHandle });
  }
  async startRedrive(): Promise<RedriveStatus> {
    this.calls.push({ op: 'startRedrive' });
    return { status: 'COMPLETED', moved: 0, total: 0 };
  }
  async redriveStatus(): Promise<RedriveStatus | undefined> {
    return undefined;
  }
  async deadLetterCount(): Promise<number> {
    return 0;
  }
  /** The delayed copies sent, in order. */
  get copies(): Array<{ task: DeliveryTask; delaySeconds: number }> {
    return this.of('sendDelayed').map(({ task, delaySeconds }) => ({ task, delaySeconds }));
  }
  of<K extends Call['op']>(op: K): Extract<Call, { op: K }>[] {
    return callsOf(this.calls, op);
  }
}

interface Lease {
  n: number;
  until: number;
}

/**
 * Fleet-wide endpoint limits in memory, with the semantics of the DynamoDB limiter: slots are
 * leases per holder that end by themselves at `until`; send times follow a virtual schedule
 * (GCRA), 1/rate apart after those booked before and never before `now`.
 */
export class FakeLimiter implements EndpointLimiter {
  private readonly slots = new Map<string, Map<string, Lease>>();
  private readonly tat = new Map<string, number>();
  private readonly failures = new Map<string, Error>();

  constructor(readonly calls: Call[] = []) {}

  /** Make every call for this subscription reject. */
  failFor(subscriptionId: string, err: Error): this {
    this.failures.set(subscriptionId, err);
    return this;
  }

  /** Another holder (another invocation) takes `n` slots until `until`. */
  occupy(tenant: string, subscriptionId: string, holder: string, n: number, until: Date): this {
    const leases = this.leases(tenant, subscriptionId);
    leases.set(holder, { n, until: until.getTime() });
    return this;
  }

  /** Slots held for the endpoint at `now` (unexpired leases). */
  held(tenant: string, subscriptionId: string, now: Date): number {
    let n = 0;
    for (const lease of this.leases(tenant, subscriptionId).values())
      if (lease.until > now.getTime()) n += lease.n;
    return n;
  }

  /** The endpoint's next free send time (epoch ms), if anything was booked. */
  nextFree(tenant: string, subscriptionId: string): number | undefined {
    return this.tat.get(scopedKey(tenant, subscriptionId));
  }

  async acquireSlots(
    tenant: string,
    subscriptionId: string,
    holder: string,
    wanted: number,
    limit: number,
    now: Date,
    until: Date,
  ): Promise<number> {
    this.check(subscriptionId);
    const leases = this.leases(tenant, subscriptionId);
    let active = 0;
    for (const [h, lease] of [...leases]) {
      if (lease.until <= now.getTime()) leases.delete(h);
      else if (h !== holder) active += lease.n;
    }
    const granted = wanted <= 0 ? 0 : Math.max(0, Math.min(wanted, limit - active));
    if (granted > 0) leases.set(holder, { n: granted, until: until.getTime() });
    this.calls.push({
      op: 'acquireSlots',
      subscriptionId,
      holder,
      wanted,
      limit,
      until: until.toISOString(),
      granted,
    });
    return granted;
  }

  async releaseSlots(tenant: string, subscriptionId: string, holder: string): Promise<void> {
    this.check(subscriptionId);
    this.calls.push({ op: 'releaseSlots', subscriptionId, holder });
    this.leases(tenant, subscriptionId).delete(holder);
  }

  async bookSendTimes(
    tenant: string,
    subscriptionId: string,
    count: number,
    ratePerSecond: number,
    now: Date,
  ): Promise<number[]> {
    this.check(subscriptionId);
    const key = scopedKey(tenant, subscriptionId);
    const interval = 1000 / ratePerSecond;
    const start = Math.max(this.tat.get(key) ?? 0, now.getTime());
    const times = Array.from({ length: Math.max(0, count) }, (_, i) => start + i * interval);
    if (count > 0) this.tat.set(key, start + count * interval);
    this.calls.push({ op: 'bookSendTimes', subscriptionId, count, ratePerSecond, times: [...times] });
    return times;
  }

  of<K extends Call['op']>(op: K): Extract<Call, { op: K }>[] {
    return callsOf(this.calls, op);
  }

  private leases(tenant: string, subscriptionId: string): Map<string, Lease> {
    const key = scopedKey(tenant, subscriptionId);
    let leases = this.slots.get(key);
    if (!leases) {
      leases = new Map();
      this.slots.set(key, leases);
    }
    return leases;
  }

  private check(subscriptionId: string): void {
    const err = this.failures.get(subscriptionId);
    if (err) throw err;
  }
}

const unused = (name: string) => () => Promise.reject(new Error(`${name} is not used by the delivery step`));

/** The delivery log in memory: keeps every saved version of every delivery. */
export class FakeDeliveryStore implements DeliveryStore, DeliveryContextReader {
  readonly deliveries = new Map<string, Delivery>();
  readonly events = new Map<string, RelayEvent>();
  readonly subscriptions = new Map<string, Subscription>();

  constructor(readonly calls: Call[] = []) {}

  get saved(): Delivery[] {
    return this.calls.flatMap((c) => (c.op === 'putDeliveries' ? c.deliveries : []));
  }

  /** Like the real store, disabling is an edit: it moves `updatedAt`. */
  async disableSubscription(
    tenant: string,
    id: string,
    reason: string,
    at: string,
    seen?: { updatedAt: string; healthUpdatedAt?: string | undefined },
  ) {
    this.calls.push({ op: 'disableSubscription', tenant, id, reason, at });
    const sub = this.subscriptions.get(id);
    if (!sub) return false;
    if (seen && (sub.updatedAt !== seen.updatedAt || sub.healthUpdatedAt !== seen.healthUpdatedAt))
      return false;
    this.subscriptions.set(id, {
      ...sub,
      enabled: false,
      disabledReason: reason,
      disabledAt: at,
      updatedAt: at,
    });
    return true;
  }
  /**
   * Conditional, like the real store: applied only over the version `seen` (its `updatedAt` and
   * its `healthUpdatedAt` or none), which then becomes `seen.at`; false otherwise.
   */
  async recordHealth(_tenant: string, id: string, change: HealthChange, seen: HealthSeen) {
    const sub = this.subscriptions.get(id);
    const applied =
      sub !== undefined && sub.updatedAt === seen.updatedAt && sub.healthUpdatedAt === seen.healthUpdatedAt;
    this.calls.push({ op: 'recordHealth', id, change: structuredClone(change), seen: { ...seen }, applied });
    if (!sub || !applied) return false;
    if (change === 'healthy') {
      const { failingSince: _f, circuit: _c, ...rest } = sub;
      this.subscriptions.set(id, { ...rest, healthUpdatedAt: seen.at });
    } else {
      const { circuit: _c, ...rest } = sub;
      this.subscriptions.set(id, {
        ...(change.circuit === null ? rest : sub),
        failingSince: sub.failingSince ?? change.failingSince,
        ...(change.circuit ? { circuit: change.circuit } : {}),
        healthUpdatedAt: seen.at,
      } as Subscription);
    }
    return true;
  }
  /** Like the real store, a claim is a health change: it moves `healthUpdatedAt` to `now`. */
  async claimProbe(
    _tenant: string,
    id: string,
    seen: { openUntil: string },
    probeUntil: string,
    now: string,
  ) {
    this.calls.push({ op: 'claimProbe', id, probeUntil });
    const sub = this.subscriptions.get(id);
    const c = sub?.circuit;
    if (!sub || !c || c.openUntil !== seen.openUntil || (c.probeUntil && c.probeUntil >= now)) return false;
    this.subscriptions.set(id, { ...sub, circuit: { ...c, probeUntil }, healthUpdatedAt: now });
    return true;
  }
  async putDeliveries(deliveries: readonly Delivery[]) {
    const copies = deliveries.map((d) => structuredClone(d));
    this.calls.push({ op: 'putDeliveries', deliveries: copies });
    for (const d of copies) this.deliveries.set(d.id, d);
  }
  async getDelivery(id: string) {
    return this.deliveries.get(id);
  }
  async replaceDelivery(next: Delivery, expected: { deadMessageId: string }) {
    if (this.deliveries.get(next.id)?.deadMessageId !== expected.deadMessageId) return false;
    await this.putDeliveries([next]);
    return true;
  }
  /** Every `loadForTasks` call's tasks (not in `calls`: a read changes nothing). */
  readonly loads: DeliveryTask[][] = [];
  /** Make `loadForTasks` reject with this. */
  failLoad: Error | undefined;

  async loadForTasks(tasks: readonly DeliveryTask[]) {
    this.loads.push(structuredClone([...tasks]));
    const failure = this.failLoad;
    if (failure) throw failure;
    // Like the real store: events and subscriptions keyed within their tenant.
    const scoped = <T extends { tenant: string }>(
      from: Map<string, T>,
      pickId: (t: DeliveryTask) => string,
    ) =>
      new Map(
        tasks.flatMap((t) => {
          const item = from.get(pickId(t));
          return item && item.tenant === t.tenant
            ? [[scopedKey(t.tenant, pickId(t)), structuredClone(item)] as const]
            : [];
        }),
      );
    return {
      deliveries: new Map(
        tasks.flatMap((t) => {
          const d = this.deliveries.get(t.deliveryId);
          return d ? [[t.deliveryId, structuredClone(d)] as const] : [];
        }),
      ),
      events: scoped(this.events, (t) => t.eventId),
      subscriptions: scoped(this.subscriptions, (t) => t.subscriptionId),
    };
  }
  async recordManualAttempt(
    deliveryId: string,
    update: { attempt?: Attempt; succeeded: boolean; lastError?: string; at: string },
  ) {
    this.calls.push({ op: 'recordManualAttempt', deliveryId, update: structuredClone(update) });
    const d = this.deliveries.get(deliveryId);
    if (!d) throw new Error('ConditionalCheckFailedException');
    if (update.attempt) d.attempts.push(structuredClone(update.attempt));
    d.updatedAt = update.at;
    if (update.succeeded) {
      d.status = 'succeeded';
      delete d.nextAttemptAt;
      delete d.lastError;
      delete d.deadMessageId;
    } else if (update.lastError) {
      d.lastError = update.lastError;
    }
  }
  listDeliveriesBySubscription = unused('listDeliveriesBySubscription');
  listDeliveriesByEvent = unused('listDeliveriesByEvent');
  listDeadDeliveries = unused('listDeadDeliveries');
  countDeadDeliveries = unused('countDeadDeliveries');
}
