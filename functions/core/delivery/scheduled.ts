import { logger } from '../../commons/logger.ts';
import { DeadLetterPending } from '../errors.ts';
import type { RelayEvent } from '../event.ts';
import { METRICS } from '../metrics.ts';
import { scopedKey } from '../ports.ts';
import type { Subscription } from '../subscription.ts';
import { type AttemptResult, attemptDelivery } from './attempt.ts';
import {
  type DeliverDeps,
  type LoadedContext,
  logKeys,
  type Prepared,
  type ReceivedTask,
  type TaskResult,
} from './deps.ts';
import { circuitWait, recordHealth } from './health.ts';
import type { Attempt, Delivery, DeliveryStatus, DeliveryTask } from './model.ts';
import { nextDelaySeconds } from './retry.ts';
import { MAX_DELAY_SECONDS, POISON_RECEIVES, STALE_COPY_SLACK_MS, sendBackLater } from './scheduling.ts';

/** Attempts kept in a delivery record (DynamoDB items stop at 400 KB); older ones are dropped. */
export const MAX_LOGGED_ATTEMPTS = 50;

/**
 * The scheduled path: task -> checks -> (limits) -> attempt -> delivery log -> done | a delayed
 * copy for the next attempt | DLQ.
 *
 * `prepareScheduled` settles every task that must not attempt (a duplicate, a stale copy, one
 * bouncing to the DLQ, a deleted subscription, an open circuit...) and hands back the rest as
 * ready; the batch applies the endpoint's limits and calls `attempt()`. The log is written
 * before the received message is acknowledged, so a crash costs at most a repeated attempt
 * (same `webhook-id`), never a lost delivery. A task bound for the DLQ throws
 * {@link DeadLetterPending}: the queue's redrive policy moves it there, so redrives work the
 * same from the console, the API and locally.
 */
export async function prepareScheduled(
  deps: DeliverDeps,
  received: ReceivedTask,
  loaded: LoadedContext,
): Promise<Prepared> {
  const { task } = received;
  const existing = loaded.deliveries.get(task.deliveryId);
  const log = logKeys(task);

  if (existing?.status === 'succeeded') {
    logger.info('delivery already succeeded; duplicate task skipped', log);
    return { settled: 'skipped' };
  }
  if (existing?.status === 'dead' && existing.deadMessageId === received.messageId) {
    // Still bouncing toward the DLQ: no attempt, straight back.
    await deps.tasks.releaseToDeadLetter(received.receiptHandle);
    throw new DeadLetterPending(existing.lastError ?? 'dead');
  }
  // A dead delivery received through another message than the one that went to the DLQ was
  // redriven: a fresh round of attempts.
  const redriven = existing?.status === 'dead';
  if (redriven && received.sentAt !== undefined && existing?.deadAt) {
    // Sent before the delivery died: another copy of the task (at-least-once delivery), not a
    // redrive. Starting a fresh round for it would double the attempts.
    if (received.sentAt < Date.parse(existing.deadAt) - STALE_COPY_SLACK_MS) {
      logger.info('stale copy of a dead-lettered task; skipped', log);
      return { settled: 'skipped' };
    }
  }
  // A task written by a version before chained copies carries no count; its retries came back
  // as the same message, so neither the fence nor the poison rule below applies to it.
  const legacy = task.attempt === undefined;
  if (!legacy && !redriven && (existing?.roundAttempts ?? 0) > (task.attempt ?? 0)) {
    // The log is past this copy: a duplicate left by a crash between sending the next copy and
    // acknowledging this one. The copy that is current carries the log's count.
    logger.info('stale copy of a task (the log has moved on); skipped', log);
    return { settled: 'skipped' };
  }

  const record = new DeliveryRecord(deps, received, loaded, existing, redriven);
  if (!legacy && received.receiveCount >= POISON_RECEIVES) {
    // Earlier receives of this very message never finished (a crash, a timeout, throttling):
    // say so in the log before the queue moves it, so `GET /v1/dlq` lists it and a redrive
    // gives it a fresh round.
    return record.deadLetter(
      `${existing?.lastError ? `${existing.lastError}; ` : ''}the delivery handler did not finish ` +
        `${received.receiveCount - 1} receives of this task (a crash or timeout, or the store or queue failing)`,
    );
  }
  const subscription = loaded.subscriptions.get(scopedKey(task.tenant, task.subscriptionId));
  const event = loaded.events.get(scopedKey(task.tenant, task.eventId));
  if (!subscription) {
    await record.save('failed', { lastError: 'subscription was deleted' });
    logger.info('subscription deleted; delivery abandoned', log);
    return { settled: 'failed' };
  }
  if (!event) {
    // Events outlive their deliveries' schedule by far (retention days vs hours); a missing one
    // was expired by TTL. Keep the task in the DLQ so the loss is visible.
    return record.deadLetter('event no longer stored (past its retention)');
  }
  if (!subscription.enabled)
    return record.deadLetter('subscription is disabled; enable it and redrive the DLQ');

  const open = await circuitWait(deps, subscription, log);
  if (open) {
    // The endpoint hangs: set the task aside until the circuit closes instead of tying up an
    // invocation for a whole timeout. No attempt is spent; the round goes on afterwards.
    // Spread over up to half the wait, so a backlog does not all come back in the same second.
    const wait = open + (deps.random?.() ?? Math.random()) * (open / 2);
    if (!existing) {
      // Visible in the log from the start, as pending; later parks write nothing.
      await record.save('pending', {
        lastError: 'the endpoint is not answering (circuit open); waiting before the first attempt',
        nextAttemptAt: new Date(deps.clock.now().getTime() + wait * 1000).toISOString(),
      });
    }
    await sendBackLater(deps.tasks, task, wait, deps.clock.now().getTime());
    logger.info('circuit open; task parked', { ...log, until: subscription.circuit?.openUntil });
    return { settled: 'waiting' };
  }

  return {
    ready: {
      received,
      subscription,
      attempt: () => attemptScheduled(deps, record, subscription, event),
      wait: limitWait(deps, task),
    },
  };
}

/** One scheduled attempt and what follows from it: success, the next copy, or the DLQ. */
async function attemptScheduled(
  deps: DeliverDeps,
  record: DeliveryRecord,
  subscription: NonNullable<ReturnType<LoadedContext['subscriptions']['get']>>,
  event: NonNullable<ReturnType<LoadedContext['events']['get']>>,
): Promise<TaskResult> {
  const { task } = record.received;
  const log = logKeys(task);
  const { result, common, reason, disabled } = await attemptInRound(deps, record, subscription, event, log);
  const { roundAttempts } = common;
  if (result.outcome === 'success') {
    await record.save('succeeded', common);
    return 'succeeded';
  }
  if (result.outcome === 'permanent') return record.deadLetter(reason, common);
  if (disabled) return record.deadLetter(`${reason}; ${disabled}`, common);

  const scheduled = nextDelaySeconds(deps.config.retry, roundAttempts, deps.random?.());
  if (scheduled === undefined)
    return record.deadLetter(`${reason}; all ${roundAttempts} attempts of the schedule failed`, common);
  // A 429/503 with Retry-After waits at least as long as the receiver asked (bounded), plus a
  // spread of up to 10 % (at least 1 s): the schedule's jitter no longer applies, and copies
  // in step (a duplicate left by a crash) would otherwise keep coming back, and attempting,
  // together.
  const asked = result.retryAfterSeconds;
  const delay =
    asked !== undefined && asked >= scheduled
      ? Math.min(MAX_DELAY_SECONDS, asked + (deps.random?.() ?? Math.random()) * Math.max(1, asked / 10))
      : scheduled;
  const now = deps.clock.now().getTime();
  const wish = result.retryAfterSeconds !== undefined ? ` (Retry-After: ${result.retryAfterSeconds} s)` : '';
  // The copy goes first: if the log write then fails, this message comes back, its count still
  // matches the log, and the attempt is repeated; the other way round a failed send would leave
  // a log that has moved past every copy of the task.
  await sendBackLater(deps.tasks, task, delay, now, { attempt: roundAttempts });
  await record.save('pending', {
    ...common,
    lastError: `${reason}${wish}`,
    nextAttemptAt: new Date(now + delay * 1000).toISOString(),
  });
  return 'pending';
}

/** What a delivery record must answer for one attempt of its round. */
export interface RoundRecord {
  nextAttemptNumber(): number;
  roundAttempts(): number;
  withAttempt(result: AttemptResult): Attempt[];
}

/**
 * One scheduled attempt of a round (the scheduled and the ordered path): the POST, its log line
 * and metrics, what it says about the endpoint (410 Gone disables it; its health), and the
 * record's fields for whatever status follows.
 */
export async function attemptInRound(
  deps: DeliverDeps,
  record: RoundRecord,
  subscription: Subscription,
  event: RelayEvent,
  log: Record<string, string>,
) {
  const result = await attemptDelivery({
    sender: deps.sender,
    clock: deps.clock,
    subscription,
    event,
    attempt: record.nextAttemptNumber(),
    trigger: 'scheduled',
    timeoutMs: deps.config.attemptTimeoutMs,
    excerptBytes: deps.config.responseExcerptBytes,
  });
  const common = {
    attempts: record.withAttempt(result),
    url: subscription.url,
    eventType: event.type,
    roundAttempts: record.roundAttempts() + 1,
  };
  observeAttempt(deps, result, event.receivedAt, log);
  const reason = result.record.error ?? `HTTP ${result.record.status}`;
  if (result.record.status === 410) await disableOnGone(deps, subscription, log.deliveryId ?? '', log);
  const disabled = await recordHealth(deps, subscription, result, log);
  return { result, common, reason, disabled };
}

/** A ready task's wait for an endpoint limit: a delayed copy, no attempt spent. */
export function limitWait(deps: Pick<DeliverDeps, 'tasks' | 'clock'>, task: DeliveryTask) {
  return async (seconds: number, reason: string, booked?: boolean): Promise<TaskResult> => {
    await sendBackLater(deps.tasks, task, seconds, deps.clock.now().getTime(), booked ? { booked } : {});
    logger.debug('endpoint limit reached; task waits', { ...logKeys(task), seconds, reason });
    return 'waiting';
  };
}

/**
 * "Stop sending to this endpoint" (Standard Webhooks): the whole subscription, not only this
 * delivery. Its other tasks then go to the DLQ, from where a redrive resumes them once it is
 * enabled again.
 */
export async function disableOnGone(
  deps: Pick<DeliverDeps, 'store' | 'clock'>,
  subscription: Subscription,
  deliveryId: string,
  log: Record<string, string>,
): Promise<void> {
  const disabled = await deps.store.disableSubscription(
    subscription.tenant,
    subscription.id,
    `the receiver answered 410 Gone (delivery ${deliveryId})`,
    deps.clock.now().toISOString(),
    { updatedAt: subscription.updatedAt, healthUpdatedAt: subscription.healthUpdatedAt },
  );
  if (!disabled) {
    logger.info('410 Gone, but the subscription changed meanwhile; left as edited', log);
    return;
  }
  subscription.enabled = false;
  logger.warn('subscription disabled: receiver answered 410 Gone', log);
}

/** Logs an attempt and counts it in the metrics. */
export function observeAttempt(
  deps: Pick<DeliverDeps, 'metrics' | 'clock'>,
  result: AttemptResult,
  receivedAt: string,
  log: Record<string, string>,
): void {
  logger.info('delivery attempt', {
    ...log,
    attempt: result.record.attempt,
    status: result.record.status,
    durationMs: result.record.durationMs,
    outcome: result.outcome,
  });
  if (!deps.metrics) return;
  const succeeded = result.outcome === 'success';
  deps.metrics.count(succeeded ? METRICS.deliveriesSucceeded : METRICS.deliveriesFailed);
  deps.metrics.duration(METRICS.attemptDuration, result.record.durationMs);
  if (succeeded) {
    const latency = deps.clock.now().getTime() - Date.parse(receivedAt);
    if (Number.isFinite(latency)) deps.metrics.duration(METRICS.endToEndLatency, Math.max(0, latency));
  }
}

/** A delivery's record before its first write: pending, no attempts yet. */
export function freshDelivery(task: DeliveryTask, loaded: LoadedContext, now: string): Delivery {
  return {
    id: task.deliveryId,
    tenant: task.tenant,
    eventId: task.eventId,
    eventType: loaded.events.get(scopedKey(task.tenant, task.eventId))?.type ?? 'unknown',
    subscriptionId: task.subscriptionId,
    url: loaded.subscriptions.get(scopedKey(task.tenant, task.subscriptionId))?.url ?? '',
    status: 'pending',
    attempts: [],
    ...(task.replay ? { replay: task.replay } : {}),
    createdAt: now,
    updatedAt: now,
  };
}

/** Attempts are numbered across rounds and manual retries. */
export const nextAttemptNumber = (d: Delivery) => (d.attempts.at(-1)?.attempt ?? 0) + 1;

/** The log keeps the latest attempts; numbering goes on counting past what it drops. */
export const withAttempt = (d: Delivery, attempt: Attempt) =>
  [...d.attempts, attempt].slice(-MAX_LOGGED_ATTEMPTS);

/**
 * The record's next version: the status and the changes, over the record as read without what
 * belongs to the version before (the schedule, the last error, the dead-lettering).
 */
export function nextVersion(
  base: Delivery,
  status: DeliveryStatus,
  changes: Partial<Delivery>,
  now: string,
): Delivery {
  const { nextAttemptAt: _n, lastError: _l, deadMessageId: _d, deadAt: _t, deadToken: _k, ...rest } = base;
  return { ...rest, ...changes, status, updatedAt: now };
}

/** The delivery record of one scheduled task, as read, and the writes the scheduled path makes. */
class DeliveryRecord {
  private readonly base: Delivery;

  constructor(
    private readonly deps: DeliverDeps,
    readonly received: ReceivedTask,
    loaded: LoadedContext,
    private readonly existing: Delivery | undefined,
    /** A redrive: the round starts again. */
    private readonly redriven: boolean,
  ) {
    this.base = existing ?? freshDelivery(received.task, loaded, deps.clock.now().toISOString());
  }

  /** Scheduled attempts made in this round so far. */
  roundAttempts(): number {
    return this.redriven ? 0 : (this.existing?.roundAttempts ?? 0);
  }

  nextAttemptNumber(): number {
    return nextAttemptNumber(this.base);
  }

  withAttempt(result: AttemptResult) {
    return withAttempt(this.base, result.record);
  }

  async save(status: DeliveryStatus, changes: Partial<Delivery>): Promise<Delivery> {
    const next = nextVersion(this.base, status, changes, this.deps.clock.now().toISOString());
    await this.deps.store.putDeliveries([next]);
    return next;
  }

  async deadLetter(reason: string, changes: Partial<Delivery> = {}): Promise<never> {
    await this.save('dead', {
      ...changes,
      lastError: reason,
      deadMessageId: this.received.messageId,
      deadAt: this.deps.clock.now().toISOString(),
    });
    await this.deps.tasks.releaseToDeadLetter(this.received.receiptHandle);
    this.deps.metrics?.count(METRICS.deliveriesDeadLettered);
    logger.warn('delivery dead-lettered', { ...logKeys(this.received.task), reason });
    throw new DeadLetterPending(reason);
  }
}
