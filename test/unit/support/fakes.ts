import type { Attempt, Delivery, DeliveryTask } from '../../../functions/core/delivery/model.ts';
import type { RelayEvent } from '../../../functions/core/event.ts';
import {
  type Clock,
  type DeliveryContextReader,
  type DeliveryStore,
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

/** An HttpSender that answers from a script: a response, or an error to throw. */
export class FakeSender implements HttpSender {
  readonly requests: SentRequest[] = [];
  constructor(private answer: Partial<HttpResponse> | Error = { status: 200 }) {}

  answerWith(answer: Partial<HttpResponse> | Error): this {
    this.answer = answer;
    return this;
  }

  async post(url: string, headers: Record<string, string>, body: string, timeoutMs: number) {
    this.requests.push({ url, headers, body, timeoutMs });
    if (this.answer instanceof Error) throw this.answer;
    return { status: 200, body: '', headers: {}, ...this.answer };
  }
}

/** Every port call, in order, so tests can check what happened before what. */
export type Call =
  | { op: 'putDeliveries'; deliveries: Delivery[] }
  | { op: 'enqueue'; tasks: DeliveryTask[] }
  | { op: 'retryLater'; receiptHandle: string; delaySeconds: number }
  | { op: 'releaseToDeadLetter'; receiptHandle: string }
  | { op: 'startRedrive' }
  | { op: 'disableSubscription'; tenant: string; id: string; reason: string; at: string }
  | { op: 'park'; task: DeliveryTask; delaySeconds: number }
  | { op: 'recordHealth'; id: string; change: unknown }
  | { op: 'claimProbe'; id: string; probeUntil: string }
  | {
      op: 'recordManualAttempt';
      deliveryId: string;
      update: { attempt?: Attempt; succeeded: boolean; lastError?: string; at: string };
    };

export class FakeTaskQueue implements TaskQueue {
  constructor(readonly calls: Call[] = []) {}
  async enqueue(tasks: readonly DeliveryTask[]) {
    this.calls.push({ op: 'enqueue', tasks: [...tasks] });
  }
  async park(task: DeliveryTask, delaySeconds: number) {
    this.calls.push({ op: 'park', task, delaySeconds });
  }
  async retryLater(receiptHandle: string, delaySeconds: number) {
    this.calls.push({ op: 'retryLater', receiptHandle, delaySeconds });
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
  of<K extends Call['op']>(op: K): Extract<Call, { op: K }>[] {
    return this.calls.filter((c): c is Extract<Call, { op: K }> => c.op === op);
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

  async disableSubscription(tenant: string, id: string, reason: string, at: string) {
    this.calls.push({ op: 'disableSubscription', tenant, id, reason, at });
    const sub = this.subscriptions.get(id);
    if (sub) this.subscriptions.set(id, { ...sub, enabled: false, disabledReason: reason, disabledAt: at });
  }
  async recordHealth(_tenant: string, id: string, change: Parameters<SubscriptionStore['recordHealth']>[2]) {
    this.calls.push({ op: 'recordHealth', id, change });
    const sub = this.subscriptions.get(id);
    if (!sub) return;
    if (change === 'healthy') {
      const { failingSince: _f, circuit: _c, ...rest } = sub;
      this.subscriptions.set(id, rest);
    } else {
      const { circuit: _c, ...rest } = sub;
      this.subscriptions.set(id, {
        ...(change.circuit === null ? rest : sub),
        failingSince: sub.failingSince ?? change.failingSince,
        ...(change.circuit ? { circuit: change.circuit } : {}),
      });
    }
  }
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
    this.subscriptions.set(id, { ...sub, circuit: { ...c, probeUntil } });
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
  async loadForTasks(tasks: readonly DeliveryTask[]) {
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
