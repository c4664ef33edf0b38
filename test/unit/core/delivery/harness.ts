import { MemoryMetrics } from '../../../../functions/adapters/local/memory-metrics.ts';
import type { RelayConfig } from '../../../../functions/core/config.ts';
import { deliverBatch } from '../../../../functions/core/delivery/batch.ts';
import type { DeliverDeps, Prepared, ReceivedTask } from '../../../../functions/core/delivery/deps.ts';
import { prepareManual } from '../../../../functions/core/delivery/manual.ts';
import type { Attempt, Delivery, DeliveryTask } from '../../../../functions/core/delivery/model.ts';
import { prepareScheduled } from '../../../../functions/core/delivery/scheduled.ts';
import type { RelayEvent } from '../../../../functions/core/event.ts';
import type { HttpResponse } from '../../../../functions/core/ports.ts';
import type { Subscription } from '../../../../functions/core/subscription.ts';
import {
  anEvent,
  aSubscription,
  type Call,
  FakeDeliveryStore,
  FakeLimiter,
  FakeSender,
  FakeTaskQueue,
  fixedClock,
  NOW,
} from '../../support/fakes.ts';

/** Two retries 10 s and 20 s apart (3 attempts a round), no jitter; nothing else surprising. */
export const config: RelayConfig = {
  retry: { delays: [10, 20], jitter: 0 },
  attemptTimeoutMs: 5000,
  responseExcerptBytes: 64,
  retentionDays: 30,
  allowPrivateTargets: true,
  allowedTargetCidrs: [],
  secretGraceSeconds: 86_400,
  deadEndpointDays: 5,
  circuitBaseSeconds: 30,
  circuitMaxSeconds: 1800,
  portalFrameAncestors: [],
};

/** A task as fanout makes it: no attempt made yet in the round. */
export const task: DeliveryTask = {
  deliveryId: 'dlv_1',
  tenant: 'acme',
  eventId: 'evt_1',
  subscriptionId: 'sub_1',
  attempt: 0,
};

/** The delayed copy sent after `attempt` attempts of the round, due now. */
export const copyOf = (attempt: number, extra: Partial<DeliveryTask> = {}): DeliveryTask => ({
  ...task,
  attempt,
  due: NOW.getTime(),
  ...extra,
});

/** An instant relative to the fixed clock, as ISO 8601. */
export const iso = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
/** An instant relative to the fixed clock, as epoch ms. */
export const at = (ms: number) => NOW.getTime() + ms;

export function pastAttempts(n: number, trigger: Attempt['trigger'] = 'scheduled'): Attempt[] {
  return Array.from({ length: n }, (_, i) => ({
    attempt: i + 1,
    at: `2026-11-22T0${i % 10}:00:00.000Z`,
    status: 500,
    durationMs: 12,
    error: 'HTTP 500',
    trigger,
  }));
}

export function aDelivery(overrides: Partial<Delivery> = {}): Delivery {
  return {
    id: 'dlv_1',
    tenant: 'acme',
    eventId: 'evt_1',
    eventType: 'shipment.delivered',
    subscriptionId: 'sub_1',
    url: 'https://receiver.example/hooks',
    status: 'pending',
    attempts: [],
    createdAt: '2026-11-22T00:00:00.000Z',
    updatedAt: '2026-11-22T00:00:00.000Z',
    ...overrides,
  };
}

export interface ReceiveOptions {
  receiveCount?: number;
  sentAt?: number;
  messageId?: string;
}

let seq = 0;
/** A received queue message; message ids are unique unless given. */
export function receive(t: DeliveryTask, opts: ReceiveOptions = {}): ReceivedTask {
  seq++;
  const messageId = opts.messageId ?? `msg-${seq}`;
  return {
    task: t,
    messageId,
    receiptHandle: `rh-${messageId}`,
    receiveCount: opts.receiveCount ?? 1,
    ...(opts.sentAt !== undefined ? { sentAt: opts.sentAt } : {}),
  };
}

/** A delivery step wired to in-memory fakes; every port call lands in one ordered log. */
export function setup(
  opts: {
    answer?: Partial<HttpResponse> | Error;
    delivery?: Delivery;
    deliveries?: Delivery[];
    /** null: no subscription (deleted). */
    subscription?: Subscription | null;
    subscriptions?: Subscription[];
    event?: boolean;
    random?: () => number;
    config?: RelayConfig;
  } = {},
) {
  const metrics = new MemoryMetrics();
  const published: RelayEvent[] = [];
  const calls: Call[] = [];
  const store = new FakeDeliveryStore(calls);
  const tasks = new FakeTaskQueue(calls);
  const limiter = new FakeLimiter(calls);
  const sender = new FakeSender(opts.answer ?? { status: 200, body: 'ok' });
  for (const d of [...(opts.delivery ? [opts.delivery] : []), ...(opts.deliveries ?? [])])
    store.deliveries.set(d.id, structuredClone(d));
  if (opts.subscription !== null) {
    const subs = opts.subscriptions ?? [opts.subscription ?? aSubscription()];
    for (const sub of subs) store.subscriptions.set(sub.id, structuredClone(sub));
  }
  if (opts.event !== false) store.events.set('evt_1', anEvent());
  const deps: DeliverDeps = {
    store,
    tasks,
    limiter,
    sender,
    clock: fixedClock(),
    config: opts.config ?? config,
    metrics,
    bus: { publish: async (events) => void published.push(...events) },
    ...(opts.random ? { random: opts.random } : {}),
  };

  /** Checks one received task with `prepare`, and attempts it when it is ready. */
  const through =
    (prepare: typeof prepareScheduled) =>
    async (t: DeliveryTask = task, receiveOpts: ReceiveOptions = {}) => {
      const received = receive(t, { messageId: 'msg-1', ...receiveOpts });
      const prepared: Prepared = await prepare(deps, received, await store.loadForTasks([t]));
      return 'settled' in prepared ? prepared.settled : prepared.ready.attempt();
    };

  const last = () => {
    const d = store.saved.at(-1);
    if (!d) throw new Error('nothing was saved');
    return d;
  };
  return {
    deps,
    store,
    tasks,
    limiter,
    sender,
    calls,
    metrics,
    published,
    last,
    /** The scheduled path for one task: prepareScheduled, then the attempt if it is ready. */
    run: through(prepareScheduled),
    /** The manual path for one task. */
    runManual: through(prepareManual),
    /** The whole batch use case. */
    batch: (received: readonly ReceivedTask[]) => deliverBatch(deps, received),
    /** Operations in the call log, in order. */
    ops: () => calls.map((c) => c.op),
  };
}

/** Yields to the event loop until `done()` holds (a bounded number of turns). */
export async function until(done: () => boolean, what = 'the condition'): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (done()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`gave up waiting for ${what}`);
}
