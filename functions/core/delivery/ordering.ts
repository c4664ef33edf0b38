import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../../commons/logger.ts';
import { DeadLetterPending } from '../errors.ts';
import type { RelayEvent } from '../event.ts';
import { METRICS } from '../metrics.ts';
import { type OrderedQueue, type OrderedStore, type PendingDelivery, scopedKey } from '../ports.ts';
import type { Subscription } from '../subscription.ts';
import type { AttemptResult } from './attempt.ts';
import { type DeliverDeps, type LoadedContext, logKeys, type Prepared, type ReceivedTask } from './deps.ts';
import { circuitWait } from './health.ts';
import type { Delivery, DeliveryStatus, DeliveryTask } from './model.ts';
import { nextDelaySeconds } from './retry.ts';
import { attemptInRound, freshDelivery, nextAttemptNumber, nextVersion, withAttempt } from './scheduled.ts';
import { DUE_TOLERANCE_MS, MAX_DELAY_SECONDS, POISON_RECEIVES } from './scheduling.ts';

/**
 * Ordered delivery (`ordering: "fifo"`): an ordered subscription's webhooks reach its endpoint
 * one at a time, in ingest order, and a failing one blocks those behind it until it succeeds or
 * is dead-lettered.
 *
 * Ingest order is not the order events reach fanout: the bus, the standard fanout queue and
 * parallel fanout invocations all reorder. So fanout does not queue ordered deliveries; it adds
 * each to its subscription's pending list in the store, sorted by ingest (`receivedAt`, the
 * position in its batch, the delivery id), and sends a wake-up to a FIFO queue whose message
 * group is the subscription. A consumer of a wake-up drains the list: it takes the oldest
 * pending delivery, waits until that one is {@link ORDER_SETTLE_MS} old (so an earlier event
 * still on its way through fanout can take its place), attempts it, and goes on with the next.
 *
 * The FIFO queue gives one consumer per subscription at a time, and the blocking: a failed head
 * is not sent back as a delayed copy (FIFO queues have no per-message delay) but holds the
 * wake-up (its visibility) until the retry is due; while it is held, no other wake-up of the
 * subscription is received. Parks (circuit open) and rate-limit waits hold it the same way.
 *
 * A head that runs out of attempts (or is refused) is dead-lettered through the standard delivery
 * queue: marked dead, then sent there as a task flagged `ordered`, whose consumer bounces it into
 * the one DLQ (see {@link prepareOrderedReturn}); the next pending delivery goes on at once. A
 * redrive brings it back to that consumer, which puts it back in the pending list at its
 * original place, for a fresh round: it is then the oldest and blocks the ones behind it again.
 */

/**
 * How old (since ingest) the oldest pending delivery must be before it is sent: the time an
 * earlier-ingested event may still need to reach fanout (bus delivery, fanout queue, a busy
 * fanout invocation). An event that takes longer (a failed fanout that comes back after its
 * visibility timeout) is delivered after later ones that were already sent.
 */
export const ORDER_SETTLE_MS = 2_000;

/** One wake-up drains for at most this long, then hands on to a fresh wake-up (the function's 90 s). */
export const ORDERED_DRAIN_MS = 45_000;

/**
 * Receives after which a held wake-up is replaced by a fresh one instead of held again: every
 * hold is a receive, and the FIFO queue's redrive policy counts receives.
 */
export const ORDERED_RENEW_RECEIVES = 10;

/**
 * The ordered queue's maxReceiveCount: past {@link ORDERED_RENEW_RECEIVES}, only receives whose
 * consumer failed (a crash, the store down) count, so this many in a row is a poison wake-up.
 */
export const ORDERED_MAX_RECEIVES = 30;

/**
 * How long a subscription's awake flag outlives what its wake-up is doing (a drain, a hold): if
 * the wake-up is lost (its consumer failing until the ordered DLQ takes it), the next fanout
 * after this wakes the subscription again.
 */
export const WAKE_LEASE_MS = 15 * 60_000;

/** How long the subscription is held when its rate-limit schedule was too contended to book. */
const CONTENDED_HOLD_MS = 1_500;

/** Prefix of `deadMessageId` while an ordered delivery's dead-letter task is on its way. */
const DEAD_TOKEN_PREFIX = 'ordered:';

/** What the ordered path needs on top of the delivery use cases' dependencies. */
export interface OrderedDeps extends DeliverDeps {
  ordered: { store: OrderedStore; queue: OrderedQueue };
}

/** Where a delivery sits in its subscription's pending list: ingest order, then batch position. */
export function orderKey(event: RelayEvent, deliveryId: string): string {
  return `${event.receivedAt}#${String(event.position ?? 0).padStart(3, '0')}#${deliveryId}`;
}

/** The ingest time (epoch ms) of a pending delivery's key. */
const ingestedAt = (key: string) => Date.parse(key.slice(0, key.indexOf('#')));

/** The pending-list entry of a task: the task as fanout made it, none of a copy's fields. */
export function pendingOf(event: RelayEvent, task: DeliveryTask): PendingDelivery {
  const { deliveryId, tenant, eventId, subscriptionId, replay } = task;
  return {
    key: orderKey(event, deliveryId),
    task: { deliveryId, tenant, eventId, subscriptionId, ...(replay ? { replay } : {}) },
  };
}

/**
 * Adds pending deliveries and wakes their subscriptions: one wake-up per subscription, and only
 * where this call set the awake flag (a subscription already awake finds them when its drain
 * reads the list). The entries are written first, so the drain a wake-up starts sees them.
 */
export async function addAndWake(
  ordered: { store: OrderedStore; queue: OrderedQueue },
  items: readonly PendingDelivery[],
  /** Who claims a subscription's awake flag for these entries (the same on a retry of this call). */
  claimer: (item: PendingDelivery) => string,
  now: Date,
): Promise<void> {
  if (items.length === 0) return;
  await ordered.store.addPending(items, now);
  const bySubscription = new Map(
    items.map((p) => [
      scopedKey(p.task.tenant, p.task.subscriptionId),
      { tenant: p.task.tenant, subscriptionId: p.task.subscriptionId, by: claimer(p) },
    ]),
  );
  const until = new Date(now.getTime() + WAKE_LEASE_MS);
  const woken = await Promise.all(
    [...bySubscription.values()].map(async ({ tenant, subscriptionId, by }) => {
      const dedupId = await ordered.store.claimWake(tenant, subscriptionId, { by, now, until });
      return dedupId ? [{ tenant, subscriptionId, dedupId }] : [];
    }),
  );
  await ordered.queue.wake(woken.flat());
}

/**
 * What a drain ended with: the list is empty (`done`), the head must wait (`holdSeconds`: hold
 * the wake-up that long), or the drain ran out of time with work left (`renew`: send a fresh
 * wake-up).
 */
export type DrainOutcome = { done: true } | { holdSeconds: number; reason: string } | { renew: true };

/**
 * drainOrdered: an ordered subscription's pending list -> the oldest delivery, once settled ->
 * checks -> attempt -> delivery log -> the next one, or a hold of the subscription until the
 * head may try again.
 */
export async function drainOrdered(
  deps: OrderedDeps,
  tenant: string,
  subscriptionId: string,
): Promise<DrainOutcome> {
  const started = deps.clock.now().getTime();
  for (;;) {
    const now = deps.clock.now().getTime();
    if (now - started > ORDERED_DRAIN_MS) return { renew: true };
    const [head] = await deps.ordered.store.headPending(tenant, subscriptionId, 1);
    if (!head) {
      // Asleep from here on, then one more look: a fanout that found the flag still set just
      // before added its entry before looking, so it is in the list now and this drain takes it.
      await deps.ordered.store.releaseWake(tenant, subscriptionId);
      const [late] = await deps.ordered.store.headPending(tenant, subscriptionId, 1);
      if (!late) return { done: true };
      const at = deps.clock.now();
      await deps.ordered.store.claimWake(tenant, subscriptionId, {
        by: randomUUID(),
        now: at,
        until: new Date(at.getTime() + WAKE_LEASE_MS),
      });
      continue;
    }
    // Settled since its ingest and since it was (last) listed: deliveries redriven or replayed
    // together are listed one by one, and each waits for the others to take their places.
    const young = Math.max(ingestedAt(head.key), head.addedAt ?? 0) + ORDER_SETTLE_MS - now;
    if (young > 0) {
      // Read the head again afterwards: an earlier event may have arrived meanwhile.
      await sleep(young);
      continue;
    }
    const step = await stepHead(deps, head);
    if (step !== 'next') return step;
  }
}

/** One look at the head: it is done with (`next`), or it must wait. */
async function stepHead(deps: OrderedDeps, head: PendingDelivery): Promise<'next' | DrainOutcome> {
  const { task } = head;
  const log = logKeys(task);
  const loaded = await deps.store.loadForTasks([task]);
  const existing = loaded.deliveries.get(task.deliveryId);
  const done = () => deps.ordered.store.removePending(head).then(() => 'next' as const);

  if (existing?.status === 'succeeded' || existing?.status === 'failed') return done();
  if (existing?.status === 'dead') {
    // Marked dead, but the pending entry is still here: a crash (or a failed removal) came
    // between the two. While no dead-letter task has claimed it, the one sent may be lost: send
    // another under a new token, which makes the first one's stale (skipped if it arrives).
    if (existing.deadMessageId === `${DEAD_TOKEN_PREFIX}${existing.deadToken}`) {
      const token = randomUUID();
      const next = {
        ...existing,
        deadToken: token,
        deadMessageId: `${DEAD_TOKEN_PREFIX}${token}`,
        updatedAt: deps.clock.now().toISOString(),
      };
      if (await deps.store.replaceDelivery(next, { deadMessageId: existing.deadMessageId }))
        await deps.tasks.enqueue([{ ...task, ordered: true, deadToken: token }]);
    }
    return done();
  }
  const record = new OrderedRecord(deps, head, existing, loaded);
  const subscription = loaded.subscriptions.get(scopedKey(task.tenant, task.subscriptionId));
  const event = loaded.events.get(scopedKey(task.tenant, task.eventId));
  if (!subscription) {
    await record.save('failed', { lastError: 'subscription was deleted' });
    logger.info('subscription deleted; ordered delivery abandoned', log);
    return done();
  }
  if (!event) return record.deadLetter('event no longer stored (past its retention)');
  if (!subscription.enabled)
    return record.deadLetter('subscription is disabled; enable it and redrive the DLQ');

  const now = deps.clock.now().getTime();
  const dueIn = existing?.nextAttemptAt ? Date.parse(existing.nextAttemptAt) - now : 0;
  if (dueIn > DUE_TOLERANCE_MS) return hold(dueIn / 1000, 'retry not yet due');

  const open = await circuitWait(deps, subscription, log);
  if (open) {
    await record.save('pending', {
      lastError: 'the endpoint is not answering (circuit open); the ordered deliveries wait',
      nextAttemptAt: new Date(now + open * 1000).toISOString(),
    });
    logger.info('circuit open; ordered subscription held', { ...log, seconds: open });
    return hold(open, 'circuit open');
  }
  const rateWait = await bookSend(deps, subscription, now);
  if (rateWait > 1_000) return hold(rateWait / 1000, 'rate limit');
  if (rateWait > 0) await sleep(rateWait);

  return attemptHead(deps, record, subscription, event);
}

/**
 * Books the head's send time at a rate-limited endpoint: ms to wait for it. A wait over a
 * second holds the subscription and books again when it comes back.
 */
async function bookSend(deps: OrderedDeps, sub: Subscription, now: number): Promise<number> {
  if (!sub.rateLimitPerSecond) return 0;
  const [at] = await deps.limiter.bookSendTimes(sub.tenant, sub.id, 1, sub.rateLimitPerSecond, new Date(now));
  // Too contended to book: hold, and book again after that.
  return at === undefined ? CONTENDED_HOLD_MS : Math.max(0, at - now);
}

/** The head's attempt and what follows: the next delivery, or a hold until its retry. */
async function attemptHead(
  deps: OrderedDeps,
  record: OrderedRecord,
  subscription: Subscription,
  event: RelayEvent,
): Promise<'next' | DrainOutcome> {
  const { task } = record.head;
  const log = logKeys(task);
  const { result, common, reason, disabled } = await attemptInRound(deps, record, subscription, event, log);
  const { roundAttempts } = common;
  if (result.outcome === 'success') {
    await record.save('succeeded', common);
    await deps.ordered.store.removePending(record.head);
    return 'next';
  }
  if (result.outcome === 'permanent') return record.deadLetter(reason, common);
  if (disabled) return record.deadLetter(`${reason}; ${disabled}`, common);
  const scheduled = nextDelaySeconds(deps.config.retry, roundAttempts, deps.random?.());
  if (scheduled === undefined)
    return record.deadLetter(`${reason}; all ${roundAttempts} attempts of the schedule failed`, common);
  const delay = Math.min(MAX_DELAY_SECONDS, Math.max(scheduled, result.retryAfterSeconds ?? 0));
  const now = deps.clock.now().getTime();
  await record.save('pending', {
    ...common,
    lastError: `${reason}; the deliveries behind it wait (ordered)`,
    nextAttemptAt: new Date(now + delay * 1000).toISOString(),
  });
  return hold(delay, 'retry');
}

/**
 * A hold of the subscription, at most {@link MAX_DELAY_SECONDS}: SQS keeps a message hidden at
 * most 12 hours from its receive, and the longest wait (a far rate-limit booking) comes back
 * and holds again.
 */
const hold = (seconds: number, reason: string): DrainOutcome => ({
  holdSeconds: Math.min(MAX_DELAY_SECONDS, seconds),
  reason,
});

/** The delivery record of an ordered head, and the writes the ordered path makes. */
class OrderedRecord {
  private readonly base: Delivery;

  constructor(
    private readonly deps: OrderedDeps,
    readonly head: PendingDelivery,
    private readonly existing: Delivery | undefined,
    loaded: LoadedContext,
  ) {
    this.base = existing ?? freshDelivery(head.task, loaded, deps.clock.now().toISOString());
  }

  roundAttempts(): number {
    return this.existing?.roundAttempts ?? 0;
  }

  nextAttemptNumber(): number {
    return nextAttemptNumber(this.base);
  }

  withAttempt(result: AttemptResult) {
    return withAttempt(this.base, result.record);
  }

  async save(status: DeliveryStatus, changes: Partial<Delivery>): Promise<void> {
    await this.deps.store.putDeliveries([
      nextVersion(this.base, status, changes, this.deps.clock.now().toISOString()),
    ]);
  }

  /**
   * Marks the head dead, sends it toward the DLQ through the delivery queue, and lets the next
   * delivery go. Marked first: if the send or the removal fails, the next drain finds it dead
   * with its token still unclaimed and sends it again.
   */
  async deadLetter(reason: string, changes: Partial<Delivery> = {}): Promise<'next'> {
    const token = randomUUID();
    await this.save('dead', {
      ...changes,
      lastError: reason,
      deadToken: token,
      deadMessageId: `${DEAD_TOKEN_PREFIX}${token}`,
      deadAt: this.deps.clock.now().toISOString(),
    });
    await this.deps.tasks.enqueue([{ ...this.head.task, ordered: true, deadToken: token }]);
    await this.deps.ordered.store.removePending(this.head);
    this.deps.metrics?.count(METRICS.deliveriesDeadLettered);
    logger.warn('ordered delivery dead-lettered; the next one goes on', {
      ...logKeys(this.head.task),
      reason,
    });
    return 'next';
  }
}

/**
 * An ordered delivery's task received from the standard delivery queue (`task.ordered`): on its
 * way to the DLQ, or back from it. The delivery record keeps the token of its latest
 * dead-lettering (`deadToken`) and, once a task claimed it, that task's message id.
 * - The dead-letter task of the latest dead-lettering (its token, unclaimed): it claims the
 *   delivery (its message id replaces the token's placeholder) and bounces to the DLQ, as every
 *   dead task does, so the queue's redrive policy moves it and any DLQ redrive brings it back.
 *   Further receives of that message bounce too.
 * - Another message with the latest token, after the claim: the claimed task redriven. The
 *   delivery goes back into its subscription's pending list at its original place, with a fresh
 *   round, and the subscription is woken; it is attempted from there, in order, never from here.
 * - An older token: a copy made stale by a later dead-lettering (a resend after a crash): skipped.
 * - A pending delivery: a redrive whose reinstating was cut short (or a duplicate of one): done
 *   again, harmlessly (the same key).
 * Anything else (succeeded, failed, unknown) is skipped.
 */
export async function prepareOrderedReturn(
  deps: DeliverDeps,
  received: ReceivedTask,
  loaded: LoadedContext,
): Promise<Prepared> {
  const { task } = received;
  const log = logKeys(task);
  const existing = loaded.deliveries.get(task.deliveryId);
  const bounce = async (delivery: Delivery): Promise<never> => {
    if (delivery.deadMessageId !== received.messageId)
      await deps.store.putDeliveries([
        { ...delivery, deadMessageId: received.messageId, updatedAt: deps.clock.now().toISOString() },
      ]);
    await deps.tasks.releaseToDeadLetter(received.receiptHandle);
    throw new DeadLetterPending(delivery.lastError ?? 'dead');
  };
  /** Back to the DLQ, listed there: what cannot be put back in its place. */
  const deadAgain = (base: Delivery, reason: string) =>
    bounce({
      ...base,
      status: 'dead',
      lastError: reason,
      ...(task.deadToken ? { deadToken: task.deadToken } : {}),
      deadAt: deps.clock.now().toISOString(),
    });

  if (existing?.status === 'dead') {
    if (existing.deadMessageId === received.messageId) return bounce(existing);
    if (!task.deadToken || task.deadToken !== existing.deadToken) {
      logger.info('stale copy of an ordered dead-letter task; skipped', log);
      return { settled: 'skipped' };
    }
    if (existing.deadMessageId === `${DEAD_TOKEN_PREFIX}${task.deadToken}`) return bounce(existing);
    // The claimed task, redriven: below.
  } else if (existing?.status !== 'pending' || existing.redrivenBy !== received.messageId) {
    // Pending: only the redrive that put it back, received again (its reinstating cut short);
    // any other copy would mark a delivery in its round dead.
    logger.info('ordered task for a delivery that is not dead, nor pending by this redrive; skipped', log);
    return { settled: 'skipped' };
  }
  if (!existing) return { settled: 'skipped' };
  const ordered = deps.ordered;
  if (!ordered) throw new Error('an ordered delivery was redriven, but no ordered queue is configured');
  const event = loaded.events.get(scopedKey(task.tenant, task.eventId));
  if (!event) return deadAgain(existing, 'event no longer stored (past its retention)');
  if (received.receiveCount >= POISON_RECEIVES)
    return deadAgain(
      existing,
      `redriven, but could not be put back in its place in ${received.receiveCount - 1} receives (the store or queue failing)`,
    );
  if (existing.status === 'dead') {
    const { nextAttemptAt: _n, deadMessageId: _d, deadAt: _a, deadToken: _t, ...rest } = existing;
    // Pending first: a drain that meets the entry before this write would take it for dead.
    await deps.store.putDeliveries([
      {
        ...rest,
        status: 'pending',
        roundAttempts: 0,
        redrivenBy: received.messageId,
        lastError: `redriven after: ${existing.lastError ?? 'dead'}; waits its turn (ordered)`,
        updatedAt: deps.clock.now().toISOString(),
      },
    ]);
  }
  await addAndWake(ordered, [pendingOf(event, task)], () => received.messageId, deps.clock.now());
  logger.info('ordered delivery redriven; back in its place in the pending list', log);
  return { settled: 'waiting' };
}
